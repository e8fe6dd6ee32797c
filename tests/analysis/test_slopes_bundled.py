"""Slopes on the bundled cohort agree with lme4 (tests/reference/study_slopes.R) to 1e-4."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from ipafstudy.analysis import slopes
from ipafstudy.analysis.additional import PartContext
from ipafstudy.analysis.plan import AnalysisPlan
from ipafstudy.analysis.study import _Notes
from ipafstudy.cohort.build import build_cohort
from ipafstudy.data.loaders import load_study

REF = Path(__file__).resolve().parents[1] / "reference"
TOL = 1e-4


@pytest.fixture(scope="module")
def bundled():
    plan = AnalysisPlan()
    study = load_study(resources.files("ipafstudy") / "example_data")
    cohort = build_cohort(study, plan.settings, outcomes=list(plan.outcome_codes),
                          primary_outcome=plan.primary_outcome)
    return plan, cohort


def test_committed_model_data_are_what_the_code_builds(bundled):
    plan, cohort = bundled
    committed = pd.read_csv(REF / "study_slopes_data.csv", comment="#", dtype={"patient_id": str})
    for (code, model), part in committed.groupby(["outcome", "model"], sort=False):
        built = slopes.model_frames(cohort, code, plan.settings.baseline_window_days, 2)[model]
        assert built["patient_id"].tolist() == part["patient_id"].tolist(), (code, model)
        assert built["years"].to_numpy() == pytest.approx(part["years"].to_numpy(), abs=1e-12)
        assert built["value"].to_numpy() == pytest.approx(part["value"].to_numpy(), abs=1e-12)


def test_every_outcome_matches_lme4(bundled):
    plan, cohort = bundled
    result = slopes.run(PartContext(pd.DataFrame(), plan, cohort, _Notes()))
    ref = pd.read_csv(REF / "study_slopes_r.csv", comment="#")
    rows = {r.code: r for r in result.rows}
    assert len(ref) == 2 * len(plan.outcome_codes)
    for r in ref.itertuples():
        fit = getattr(rows[r.outcome], r.model)
        assert fit.model == r.random, (r.outcome, r.model)
        assert (fit.n_observations, fit.n_subjects) == (r.n_obs, r.n_patients)
        slope = fit.slope if r.model == "overall" else fit.slope_before
        assert slope.estimate == pytest.approx(r.slope, abs=TOL), (r.outcome, r.model)
        assert slope.se == pytest.approx(r.slope_se, abs=TOL), (r.outcome, r.model)
        if r.model == "piecewise":
            assert fit.slope_difference.estimate == pytest.approx(r.post, abs=TOL)
            assert fit.slope_difference.se == pytest.approx(r.post_se, abs=TOL)
            assert fit.slope_after.estimate == pytest.approx(r.slope_after, abs=TOL)
            assert fit.slope_after.se == pytest.approx(r.slope_after_se, abs=TOL)
        assert fit.variance.intercept == pytest.approx(r.var_intercept, rel=TOL)
        assert fit.variance.residual == pytest.approx(r.var_residual, rel=TOL)
        assert fit.loglik == pytest.approx(r.loglik, abs=TOL)
