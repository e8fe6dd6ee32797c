"""slope_model against R lme4 REML (tests/reference/slopes.R): fixed effects, SEs, variance components, logLik."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from ipafstudy.errors import DataValidationError, InsufficientDataError, InvalidOptionError
from ipafstudy.stats import slope_model

from .conftest import read_ref

DATA = read_ref("slopes_data.csv")
R_FIXED = read_ref("slopes_fixed_r.csv")
R_FIT = read_ref("slopes_fit_r.csv")
TOL = 1e-4


def _data(name: str) -> pd.DataFrame:
    return DATA[DATA["dataset"] == name].reset_index(drop=True)


def _r_fixed(dataset: str, model: str) -> dict[str, tuple[float, float]]:
    part = R_FIXED[(R_FIXED["dataset"] == dataset) & (R_FIXED["model"] == model)]
    return {str(r.term).replace("(Intercept)", "Intercept"): (r.estimate, r.se) for r in part.itertuples()}


def _r_fit(dataset: str, model: str) -> pd.Series:
    return R_FIT[(R_FIT["dataset"] == dataset) & (R_FIT["model"] == model)].iloc[0]


def _check_fixed(res, ref: dict[str, tuple[float, float]]) -> None:
    for term in res.fixed:
        est, se = ref[term.term]
        assert term.estimate == pytest.approx(est, abs=TOL), term.term
        assert term.se == pytest.approx(se, abs=TOL), term.term


def _check_fit(res, ref: pd.Series) -> None:
    assert res.n_observations == ref["n_obs"] and res.n_subjects == ref["n_subjects"]
    assert res.variance.intercept == pytest.approx(ref["var_intercept"], rel=TOL)
    assert res.variance.residual == pytest.approx(ref["var_residual"], rel=TOL)
    if not pd.isna(ref["var_slope"]):
        assert res.variance.slope == pytest.approx(ref["var_slope"], rel=TOL)
        assert res.variance.covariance == pytest.approx(ref["cov_intercept_slope"], rel=TOL)
    else:
        assert res.variance.slope is None and res.variance.covariance is None
    assert res.loglik == pytest.approx(ref["loglik"], abs=TOL)


def test_random_slope_reml_matches_lme4_unbalanced_with_a_single_visit_patient():
    data = _data("unbalanced")
    assert (data.groupby("id").size() == 1).sum() == 1  # the design really holds a patient with one visit
    res = slope_model(data, value="value", time="time", subject="id")
    assert res.status == "converged" and not res.fallback and res.model == "random_slope"
    assert res.n_subjects_one_value == 1
    _check_fixed(res, _r_fixed("unbalanced", "slope"))
    _check_fit(res, _r_fit("unbalanced", "slope"))
    assert res.slope is res.fixed[1] and res.slope.term == "time"


def test_wald_z_interval_and_p_worked_by_hand():
    res = slope_model(_data("unbalanced"), value="value", time="time", subject="id")
    est, se = _r_fixed("unbalanced", "slope")["time"]
    z975 = 1.959963984540054
    assert res.slope.ci_low == pytest.approx(est - z975 * se, abs=TOL)
    assert res.slope.ci_high == pytest.approx(est + z975 * se, abs=TOL)
    assert res.slope.p == pytest.approx(2 * sps.norm.sf(abs(est / se)), rel=1e-3)


def test_piecewise_matches_lme4_and_difference_is_the_post_term():
    res = slope_model(_data("unbalanced"), value="value", time="time", subject="id", change_point=0)
    ref = _r_fixed("unbalanced", "piecewise")
    _check_fixed(res, ref)
    _check_fit(res, _r_fit("unbalanced", "piecewise"))
    assert res.slope is None
    assert res.slope_before.estimate == pytest.approx(ref["time"][0], abs=TOL)
    assert res.slope_after.estimate == pytest.approx(ref["slope_after"][0], abs=TOL)
    assert res.slope_after.se == pytest.approx(ref["slope_after"][1], abs=TOL)
    assert res.slope_difference.estimate == pytest.approx(ref["post"][0], abs=TOL)
    assert res.slope_difference.se == pytest.approx(ref["post"][1], abs=TOL)


def test_random_intercept_and_ml_match_lme4():
    res = slope_model(_data("unbalanced"), value="value", time="time", subject="id", random_slope=False)
    assert res.model == "random_intercept" and not res.fallback
    _check_fixed(res, _r_fixed("unbalanced", "intercept"))
    _check_fit(res, _r_fit("unbalanced", "intercept"))
    ml = slope_model(_data("unbalanced"), value="value", time="time", subject="id", reml=False)
    _check_fixed(ml, _r_fixed("unbalanced", "slope_ml"))
    _check_fit(ml, _r_fit("unbalanced", "slope_ml"))


def test_singular_random_slope_falls_back_to_random_intercept_and_says_so():
    assert bool(_r_fit("flat", "slope")["singular"])  # lme4 calls this fit singular
    res = slope_model(_data("flat"), value="value", time="time", subject="id")
    assert res.fallback and res.model == "random_intercept"
    assert res.status.startswith("fell back to a random-intercept model:")
    assert "random-slope variance is estimated at zero" in res.status
    _check_fixed(res, _r_fixed("flat", "intercept"))
    _check_fit(res, _r_fit("flat", "intercept"))


def test_row_order_and_input_untouched():
    data = _data("unbalanced")
    copy = data.copy()
    a = slope_model(data, value="value", time="time", subject="id")
    b = slope_model(data.sample(frac=1.0, random_state=3), value="value", time="time", subject="id")
    pd.testing.assert_frame_equal(data, copy)
    assert a.to_dict() == b.to_dict()


def test_missing_values_are_dropped_and_counted_out():
    data = _data("unbalanced").copy()
    data.loc[0, "value"] = np.nan
    res = slope_model(data, value="value", time="time", subject="id")
    assert res.n_observations == 60


@pytest.mark.parametrize(
    ("frame", "kwargs", "error", "words"),
    [
        (pd.DataFrame({"id": ["a", "a"], "time": [0, 1], "value": [1.0, 2.0]}), {}, InsufficientDataError,
         "1 subject(s)"),
        (pd.DataFrame({"id": ["a", "b"], "time": [1, 1], "value": [1.0, 2.0]}), {}, InsufficientDataError,
         "same time"),
        (pd.DataFrame({"id": ["a", "a", "b", "b"], "time": [0.5, 1, 0.5, 2], "value": [1.0, 2, 3, 4]}),
         {"change_point": 0}, InsufficientDataError, "no value before the change point"),
        (pd.DataFrame({"id": ["a", "b"], "time": [0, 1], "value": ["x", 2.0]}), {}, DataValidationError,
         "must be numeric"),
        (pd.DataFrame({"id": ["a", "b"], "t": [0, 1], "value": [1.0, 2.0]}), {}, DataValidationError,
         "no column(s) ['time']"),
        (pd.DataFrame({"id": ["a", "b"], "time": [0, 1], "value": [1.0, math.inf]}), {}, DataValidationError,
         "infinite"),
        (pd.DataFrame({"id": ["a", "b"], "time": [0, 1], "value": [1.0, 2.0]}), {"change_point": "x"},
         DataValidationError, "not a number"),
    ],
)
def test_bad_input(frame, kwargs, error, words):
    with pytest.raises(error) as exc:
        slope_model(frame, value="value", time="time", subject="id", **kwargs)
    assert words in str(exc.value)


def test_bad_confidence():
    with pytest.raises(InvalidOptionError):
        slope_model(_data("unbalanced"), value="value", time="time", subject="id", confidence=1.5)


def test_two_patients_two_visits_is_fitted_or_explained():
    frame = pd.DataFrame({"id": ["a", "a", "b", "b", "c", "c"], "time": [0, 1, 0, 1, 0, 1],
                          "value": [10.0, 8, 12, 11, 9, 6]})
    with pytest.raises(InsufficientDataError):  # 6 values: too few for 2 fixed + 3 random-slope parameters + 1
        slope_model(frame.iloc[:4], value="value", time="time", subject="id")
    res = slope_model(frame, value="value", time="time", subject="id", random_slope=False)
    # balanced design, random intercept: the fixed slope is the mean of the per-patient slopes
    assert res.slope.estimate == pytest.approx(np.mean([-2, -1, -3]), abs=1e-6)


def test_statsmodels_engine_agrees_with_lme4_and_falls_back_alike():
    """The wrapped statsmodels MixedLM (engine="statsmodels") on the same references: fixed effects and SEs to
    1e-4, variance components to 1e-3 relative (its optimizer stops earlier), and the same singular fallback."""
    res = slope_model(_data("unbalanced"), value="value", time="time", subject="id", engine="statsmodels")
    assert res.engine == "statsmodels" and res.status == "converged" and res.model == "random_slope"
    _check_fixed(res, _r_fixed("unbalanced", "slope"))
    ref = _r_fit("unbalanced", "slope")
    assert res.variance.slope == pytest.approx(ref["var_slope"], rel=1e-3)
    assert res.loglik == pytest.approx(ref["loglik"], abs=TOL)
    flat = slope_model(_data("flat"), value="value", time="time", subject="id", engine="statsmodels")
    assert flat.fallback and flat.model == "random_intercept"
    _check_fixed(flat, _r_fixed("flat", "intercept"))


@pytest.mark.parametrize("engine", ["profiled", "statsmodels"])
@pytest.mark.parametrize("values", [[0.0] * 8, [3.0 + 2.0 * t for t in (0, 1, 0, 1, 0, 1, 0, 1)]])
def test_values_exactly_on_one_line_are_explained_not_fitted(engine, values):
    """All values 0 (or on one line): no residual variance, the deviance has no minimum. Before the guard the
    optimizer ran 400,000 deviance evaluations (about a minute) on this before giving up."""
    frame = pd.DataFrame({"id": list("aabbccdd"), "time": [0, 1] * 4, "value": values})
    with pytest.raises(InsufficientDataError, match="exactly on one line"):
        slope_model(frame, value="value", time="time", subject="id", engine=engine)


def test_a_nearly_flat_outcome_is_still_fitted():
    frame = pd.DataFrame({"id": list("aabbccdd"), "time": [0, 1] * 4,
                          "value": [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]})
    res = slope_model(frame, value="value", time="time", subject="id", random_slope=False)
    # balanced design: the fixed slope is the mean of the per-patient slopes (0, 1, 0, 0)
    assert res.slope.estimate == pytest.approx(0.25, abs=1e-6)
