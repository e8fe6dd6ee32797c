"""explain reads the tables of results.json in the shape ipafstudy.values.jsonable writes them."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ipafstudy.analysis.explain import trace_outcome
from ipafstudy.values import jsonable


def _dataset() -> pd.DataFrame:
    return pd.DataFrame({
        "patient_id": ["P1", "P2"],
        "esr_baseline": [30.0, 25.0], "esr_baseline_date": ["2024-01-01", "2024-01-02"],
        "esr_follow_up": [20.0, np.nan], "esr_follow_up_date": ["2024-07-01", None],
        "esr_change": [-10.0, np.nan],
    })


def _results(exclusions: object) -> dict:
    results = {"plan": {"outcomes": [{"code": "esr", "label": "ESR", "unit": "mm/h"}]}, "flow": [],
               "exclusions": exclusions}
    return json.loads(json.dumps(results, allow_nan=False))


REASON = "follow-up ESR before 180 days of exposure"
EXCLUSIONS = pd.DataFrame([{"patient_id": "P2", "outcome": "esr", "timepoint": "follow_up", "reason": REASON}])


def test_reason_read_from_the_table_shape_results_json_holds():
    trace = trace_outcome(_dataset(), _results(jsonable(EXCLUSIONS)), "esr")
    assert trace.used["patient_id"].tolist() == ["P1"]
    assert trace.left_out.to_dict("records") == [
        {"patient_id": "P2", "stage": "analysed, outcome missing", "timepoint": "follow_up", "reason": REASON}
    ]


def test_reason_read_from_an_older_list_of_records():
    trace = trace_outcome(_dataset(), _results(EXCLUSIONS.to_dict("records")), "esr")
    assert trace.left_out["reason"].tolist() == [REASON]


def test_no_recorded_reason_says_so():
    trace = trace_outcome(_dataset(), _results(jsonable(EXCLUSIONS.iloc[0:0])), "esr")
    assert trace.left_out["reason"].tolist() == ["no value recorded"]
