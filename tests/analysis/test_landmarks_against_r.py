"""Landmark follow-up on the bundled cohort agrees with R (tests/reference/landmarks_end_to_end.R).

R selects the 6- and 12-month values of the measurement outcomes again from the raw measurements table (lubridate's
calendar months, its own window, tie and same-day rules) and recomputes Table 2's per-landmark Wilcoxon p and the
Holm adjustment across landmarks. Refresh after a change of the pipeline:
``python tests/analysis/test_landmarks_against_r.py && Rscript tests/reference/landmarks_end_to_end.R``.
"""

from __future__ import annotations

import hashlib
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ipafstudy.analysis.dataset import read_dataset
from ipafstudy.analysis.plan import AnalysisPlan, plan_from_dict
from ipafstudy.analysis.study import analyse_dataset
from ipafstudy.cohort.build import build_cohort
from ipafstudy.data.loaders import load_study
from ipafstudy.reporting.report import dataset_csv

REF = Path(__file__).resolve().parents[1] / "reference"
RERUN = "run `python tests/analysis/test_landmarks_against_r.py && Rscript tests/reference/landmarks_end_to_end.R`"
MEASURES = ("mmrc", "esr", "crp", "methylprednisolone_dose")


def landmark_plan() -> AnalysisPlan:
    return plan_from_dict({"timepoints": {"follow_up": {"rule": "landmarks", "months": [6, 12], "window_days": 45}}})


def fresh_inputs() -> tuple[str, str]:
    """(analysis_dataset.csv, landmarks_exposure.csv) of the bundled cohort under the landmark plan."""
    from ipafstudy.analysis.study import run_study

    plan = landmark_plan()
    study = load_study(str(resources.files("ipafstudy") / "example_data"))
    cohort = build_cohort(study, plan.settings, outcomes=list(plan.outcome_codes), primary_outcome=plan.primary_outcome,
                          exposure=plan.exposure_drug, landmarks=plan.landmarks, landmark_window_days=45)
    lines = ["patient_id,start,end"] + [
        f"{pid},{cohort.exposures[pid].start.isoformat()},"
        f"{cohort.exposures[pid].end.isoformat() if cohort.exposures[pid].end else ''}" for pid in cohort.analysed_ids
    ]
    return dataset_csv(run_study(study, plan)), "\n".join(lines) + "\n"


def read_r(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / f"landmarks_r_{name}.csv", comment="#", dtype={"patient_id": str})


def test_inputs_regenerate_from_the_bundled_cohort():
    dataset, exposure = fresh_inputs()
    assert dataset == (REF / "landmarks_analysis_dataset.csv").read_text(encoding="utf-8"), f"dataset changed; {RERUN}"
    assert exposure == (REF / "landmarks_exposure.csv").read_text(encoding="utf-8"), f"exposures changed; {RERUN}"


@pytest.mark.parametrize("name", ["values", "paired"])
def test_r_outputs_were_computed_from_the_committed_inputs(name: str) -> None:
    header = (REF / f"landmarks_r_{name}.csv").read_text(encoding="utf-8").splitlines()[0]
    for file in ("landmarks_analysis_dataset.csv", "landmarks_exposure.csv"):
        md5 = hashlib.md5((REF / file).read_bytes()).hexdigest()
        assert f"{file} md5 {md5}" in header, f"landmarks_r_{name}.csv is stale; {RERUN}"


def test_landmark_values_match_r_selection_from_the_raw_table():
    data = read_dataset(REF / "landmarks_analysis_dataset.csv").set_index("patient_id")
    r = read_r("values")
    assert len(r) > 50, "R selected too few values to be a check"
    got = {(pid, o, m): (data.loc[pid, f"{o}_m{m}"], data.loc[pid, f"{o}_m{m}_date"])
           for pid in data.index for o in MEASURES for m in (6, 12) if not pd.isna(data.loc[pid, f"{o}_m{m}"])}
    want = {(row.patient_id, row.outcome, int(row.month)): (float(row.value), row.date) for row in r.itertuples()}
    assert set(got) == set(want)
    bad = {k: (got[k], want[k]) for k in want if got[k][1] != want[k][1] or not np.isclose(got[k][0], want[k][0])}
    assert not bad, bad


def test_table2_landmark_p_and_holm_match_r():
    plan = plan_from_dict({"timepoints": {"follow_up": {"rule": "landmarks", "months": [6, 12], "window_days": 45}},
                           "statistics": {"bootstrap_resamples": 200}})
    res = analyse_dataset(read_dataset(REF / "landmarks_analysis_dataset.csv"), plan)
    r = read_r("paired").set_index(["outcome", "month"])
    ours = {(lo.paired.code, lo.month): lo for lo in res.landmark_paired}
    assert len(ours) == len(r) == 18
    for (code, month), row in r.iterrows():
        lo = ours[(code, int(month))]
        assert lo.paired.n_pairs == row["n_pairs"]
        assert lo.paired.wilcoxon.p == pytest.approx(row["p"], rel=1e-9, abs=1e-15), (code, month)
        assert lo.p_holm == pytest.approx(row["p_holm"], rel=1e-9, abs=1e-15), (code, month)


if __name__ == "__main__":  # writes the R script's inputs (see the module docstring)
    dataset, exposure = fresh_inputs()
    (REF / "landmarks_analysis_dataset.csv").write_text(dataset, encoding="utf-8")
    (REF / "landmarks_exposure.csv").write_text(exposure, encoding="utf-8")
    sys.exit(0)
