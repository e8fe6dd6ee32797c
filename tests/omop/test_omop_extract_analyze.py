"""A CDM with study follow-up (omop.synth_followup) -> ``omop extract`` -> ``validate`` and ``analyze`` run.

The persons are built so that each one is IPAF (ILD, Raynaud's = clinical, NSIP on HRCT = morphologic), on
tacrolimus for a year, with the follow-up records synth_followup writes; so every one of them must be analysed,
and each patient's mMRC baseline in the analysis dataset must be the value generated for the visit before the
start (the closest one within the baseline window: there is exactly one).
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import yaml
from tests.omop.test_omop_extract import EXTRA, _ids_only, build_cdm

from ipafstudy.cli import main
from ipafstudy.omop.synth_followup import followup_rows

N = 24
EPOCH = dt.date(1970, 1, 1)
FAST = {"statistics": {"bootstrap_resamples": 200},
        "additional": {k: {"enabled": False} for k in ("slopes", "power", "time_to_event", "incidence")}}


def _day(d: dt.date) -> int:
    return (d - EPOCH).days


def _rows(ids: dict[str, int]) -> tuple[dict[str, list[dict]], dict]:
    rng = np.random.default_rng(7)
    persons = np.arange(1, N + 1)
    start = np.array([_day(dt.date(2021, 1, 4)) + 9 * i for i in range(N)])
    end = start + 364
    units = {"mmrc": ids["unit:No matching concept"], "esr": ids["unit:mm/h"], "crp": ids["unit:mg/L"],
             "methylprednisolone_dose": ids["unit:mg/d"]}
    follow = followup_rows(persons, start, end, ids, units, rng,
                           {"measurement": 1000, "observation": 1000, "condition_occurrence": 1000})
    rows: dict[str, list[dict]] = {"person": [], "condition_occurrence": [], "observation": [], "drug_exposure": [],
                                   "measurement": []}
    for i, p in enumerate(persons):
        day0 = EPOCH + dt.timedelta(days=int(start[i]))
        rows["person"].append({"person_id": int(p), "gender_concept_id": 8532 if i % 2 else 8507,
                               "year_of_birth": 1950 + i, "month_of_birth": 3, "day_of_birth": 1})
        rows["condition_occurrence"].append({"condition_occurrence_id": int(p), "person_id": int(p),
                                             "condition_concept_id": ids["interstitial_pneumonia"],
                                             "condition_start_date": dt.date(2020, 6, 1)})
        for n, (name, value) in enumerate((("raynaud", ids["answer_yes"]), ("hrct_read", ids["hrct_nsip"]))):
            rows["observation"].append({"observation_id": 10 * int(p) + n, "person_id": int(p),
                                        "observation_concept_id": ids[name], "observation_date": dt.date(2020, 6, 1),
                                        "value_as_concept_id": value})
        rows["drug_exposure"].append({"drug_exposure_id": int(p), "person_id": int(p),
                                      "drug_concept_id": ids["tacrolimus"], "drug_exposure_start_date": day0,
                                      "drug_exposure_end_date": day0 + dt.timedelta(days=364), "quantity": 2.0,
                                      "dose_unit_source_value": "mg/day", "route_concept_id": ids["route_oral"]})
    for table, columns in follow.items():
        size = len(columns["person_id"])
        for r in range(size):
            row = {}
            for key, values in columns.items():
                value = values[r]
                if key.endswith("_date"):
                    value = EPOCH + dt.timedelta(days=int(value))
                elif isinstance(value, np.floating):
                    value = None if np.isnan(value) else float(value)
                elif isinstance(value, np.integer):
                    value = int(value)
                row[key] = value
            rows[table].append(row)
    return rows, {"follow": follow, "start": start}


def test_extract_runs_through_validate_and_analyze(tmp_path, capsys):
    ids = _ids_only()
    rows, made = _rows(ids)
    db = tmp_path / "cdm.duckdb"
    build_cdm(db, rows)
    data, report = tmp_path / "data", tmp_path / "report"
    assert main(["omop", "extract", str(db), "--out", str(data), "--concepts", str(EXTRA)]) == 0
    assert main(["validate", str(data)]) == 0
    plan = tmp_path / "plan.yaml"
    plan.write_text(yaml.safe_dump(FAST))
    assert main(["analyze", str(data), "--out", str(report), "--plan", str(plan)]) == 0, capsys.readouterr().err
    dataset = pd.read_csv(report / "analysis_dataset.csv", dtype={"patient_id": str})
    assert sorted(dataset["patient_id"], key=int) == [str(p) for p in range(1, N + 1)]
    # mMRC baseline = the generated value of the visit before the start (the only one in the window)
    m = made["follow"]["measurement"]
    before = m["measurement_date"] <= made["start"][m["person_id"] - 1]
    is_mmrc = (m["measurement_concept_id"] == ids["mmrc"]) & before
    expected = pd.Series(m["value_as_number"][is_mmrc], index=m["person_id"][is_mmrc].astype(str))
    assert len(expected) == N
    got = dataset.set_index("patient_id")["mmrc_baseline"]
    assert (got.loc[expected.index].to_numpy() == expected.to_numpy()).all()
    results = json.loads((report / "results.json").read_text())
    assert "hrct_total" in json.dumps(results)
