"""Propensity model, weights, SMDs and weighted differences against R (tests/reference/propensity.R), by hand,
and on bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from tests.stats.conftest import read_ref

from ipafstudy.errors import DataValidationError, InsufficientDataError, InvalidOptionError
from ipafstudy.stats import propensity as prop
from ipafstudy.stats.propensity import (
    balancing_weights,
    bootstrap_indices,
    bootstrap_weighted_difference,
    propensity_scores,
    standardized_mean_differences,
    weighted_difference,
)

DATA = read_ref("propensity_data.csv")
FIT = read_ref("propensity_fit_r.csv").set_index("dataset")
COEF = read_ref("propensity_coef_r.csv")
PS = read_ref("propensity_ps_r.csv")
SMD = read_ref("propensity_smd_r.csv")
DIFF = read_ref("propensity_diff_r.csv")
BOOT = read_ref("propensity_boot_r.csv")
BOOT_INDEX = read_ref("propensity_boot_index_r.csv")
BOOT_CI = read_ref("propensity_boot_ci_r.csv").iloc[0]
COVARIATES = {"cohort": ["age", "fvc", "smoker", "sex", "pattern"], "n2": ["age"]}
WEIGHT_COLUMN = {"overlap": "w_overlap", "iptw": "w_iptw", "iptw_stabilized": "w_iptw_stabilized"}
TOL = {"rtol": 1e-8, "atol": 1e-10}


def _data(name: str) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    part = DATA[DATA["dataset"] == name].set_index("id")
    return part[COVARIATES[name]].copy(), part["treated"].astype(int), part["change"].astype(float)


def _weights(name: str, weighting: str) -> pd.Series:
    cov, t, _ = _data(name)
    if weighting == "none":
        return pd.Series(1.0, index=cov.index)
    method = "overlap" if weighting == "overlap" else "iptw"
    return balancing_weights(propensity_scores(cov, t), t, method, stabilized=weighting == "iptw_stabilized")


def _r_indices() -> np.ndarray:
    return BOOT_INDEX.drop(columns="replicate").to_numpy(dtype=np.int64) - 1  # R is 1-based


# --------------------------------------------------------------------------------------------- against R
@pytest.mark.parametrize("name", ["cohort", "n2"])
def test_coefficients_match_r_glm(name):
    fit = propensity_scores(*_data(name)[:2])
    ref = COEF[COEF["dataset"] == name]
    assert list(fit.coefficients["term"]) == ref["term"].tolist()
    for col in ("estimate", "se", "z", "p"):
        np.testing.assert_allclose(fit.coefficients[col], ref[col], **TOL)
    # Wald limits: R confint.default = estimate -/+ qnorm(0.975) se, worked here from R's own numbers
    q = 1.959963984540054
    np.testing.assert_allclose(fit.coefficients["ci_low"], ref["estimate"] - q * ref["se"], **TOL)
    np.testing.assert_allclose(fit.coefficients["ci_high"], ref["estimate"] + q * ref["se"], **TOL)


@pytest.mark.parametrize("name", ["cohort", "n2"])
def test_model_fit_matches_r(name):
    fit = propensity_scores(*_data(name)[:2])
    ref = FIT.loc[name]
    assert (fit.n, fit.n_treated, fit.n_control) == (ref["n"], ref["n_treated"], ref["n_control"])
    for ours, col in ((fit.deviance, "deviance"), (fit.null_deviance, "null_deviance"), (fit.aic, "aic"),
                      (fit.loglik, "loglik"), (fit.c_statistic, "c_statistic")):
        assert ours == pytest.approx(ref[col], rel=1e-9), col


@pytest.mark.parametrize("name", ["cohort", "n2"])
def test_scores_and_weights_match_r_per_patient(name):
    cov, t, _ = _data(name)
    fit = propensity_scores(cov, t)
    ref = PS[PS["dataset"] == name].set_index("id")
    assert list(fit.ps.index) == list(ref.index)
    np.testing.assert_allclose(fit.ps, ref["ps"], **TOL)
    np.testing.assert_allclose(fit.linear_predictor, ref["linear_predictor"], **TOL)
    for weighting, col in WEIGHT_COLUMN.items():
        np.testing.assert_allclose(_weights(name, weighting), ref[col], **TOL)


@pytest.mark.parametrize("name", ["cohort", "n2"])
@pytest.mark.parametrize("weighting", ["none", "overlap", "iptw", "iptw_stabilized"])
def test_smd_matches_r(name, weighting):
    cov, t, _ = _data(name)
    res = standardized_mean_differences(cov, t, None if weighting == "none" else _weights(name, weighting))
    ref = SMD[(SMD["dataset"] == name) & (SMD["weighting"] == weighting)]
    assert res.weighted == (weighting != "none")
    assert list(res.table["term"]) == ref["term"].tolist()
    assert list(res.table["binary"]) == ref["binary"].tolist()
    for col in ("mean_treated", "mean_control", "denominator", "smd"):
        np.testing.assert_allclose(res.table[col], ref[col], **TOL)
    assert res.max_abs_smd == pytest.approx(ref["smd"].abs().max(), rel=1e-8, abs=1e-10)


@pytest.mark.parametrize("name", ["cohort", "n2"])
@pytest.mark.parametrize("weighting", ["none", "overlap", "iptw", "iptw_stabilized"])
def test_weighted_difference_matches_r(name, weighting):
    _, t, change = _data(name)
    res = weighted_difference(change, t, _weights(name, weighting))
    ref = DIFF[(DIFF["dataset"] == name) & (DIFF["weighting"] == weighting)].iloc[0]
    for col in ("mean_treated", "mean_control", "difference", "ess_treated", "ess_control"):
        assert getattr(res, col) == pytest.approx(ref[col], rel=1e-9, abs=1e-12), col


@pytest.mark.parametrize(("method", "column"), [("overlap", "t_overlap"), ("iptw", "t_iptw")])
def test_bootstrap_with_r_indices_reproduces_r_replicates(method, column):
    cov, t, change = _data("cohort")
    res = bootstrap_weighted_difference(cov, t, change, method=method, indices=_r_indices())
    reps = BOOT[BOOT["replicate"] > 0]
    np.testing.assert_allclose(res.replicates, reps[column], **TOL)
    assert res.estimate == pytest.approx(BOOT.loc[BOOT["replicate"] == 0, column].iloc[0], rel=1e-9)
    assert res.n_boot == len(reps) and res.seed is None and res.resampling == "given indices"
    # R's glm warned (fitted probabilities 0 or 1) in these replicates; we count at least those as separated
    assert res.n_separated >= int(reps["glm_warned"].sum()) > 0
    if method == "overlap":
        assert (res.ci_low, res.ci_high) == pytest.approx((BOOT_CI["q7_low"], BOOT_CI["q7_high"]), rel=1e-8)


def test_a_separated_replicate_is_the_limit_of_the_fit():
    """In a replicate where no treated patient has pattern OP, the fit's limit gives those controls ps 0 (overlap
    weight 0); the others' ps are the model without pattern[OP] fitted on the rest. Worked here with the
    statsmodels path, compared with the vectorised re-fit and with R's replicate."""
    cov, t, change = _data("cohort")
    idx = _r_indices()
    reps = BOOT[BOOT["replicate"] > 0].reset_index(drop=True)
    r = int(np.flatnonzero(reps["glm_warned"].to_numpy() == 1)[0])
    rows = idx[r]
    sub_cov = cov.iloc[rows].reset_index(drop=True)
    sub_t, sub_y = t.iloc[rows].to_numpy(), change.iloc[rows].to_numpy()
    op = (sub_cov["pattern"] == "OP").to_numpy()
    assert op.any() and (sub_t[op] == 0).all()
    rest = ~op
    fit = propensity_scores(sub_cov[rest], sub_t[rest])
    w = balancing_weights(fit, sub_t[rest]).to_numpy()
    by_hand = weighted_difference(sub_y[rest], sub_t[rest], w).difference
    ours = bootstrap_weighted_difference(cov, t, change, indices=idx[[r, r]]).replicates[0]
    assert ours == pytest.approx(by_hand, rel=1e-8)
    assert reps.loc[r, "t_overlap"] == pytest.approx(by_hand, rel=1e-8)


# --------------------------------------------------------------------------------------------- by hand
def test_overlap_weights_balance_every_model_term_exactly():
    # Li, Morgan, Zaslavsky (2018): with a logistic ps model that has an intercept, the overlap-weighted means of
    # every model term are equal in the two arms (the score equations of the fit).
    cov, t, _ = _data("cohort")
    fit = propensity_scores(cov, t)
    res = standardized_mean_differences(cov, t, balancing_weights(fit, t))
    model_terms = res.table[res.table["term"].isin(fit.terms)]
    assert len(model_terms) == len(fit.terms) - 1
    np.testing.assert_allclose(model_terms["smd"], 0.0, atol=1e-9)
    assert res.max_abs_smd < 1e-9  # the reference level NSIP too: its indicator is 1 - the other two


def test_all_one_weights_give_the_plain_differences():
    cov, t, change = _data("cohort")
    ones = np.ones(len(t))
    res = weighted_difference(change, t, ones)
    assert res.difference == pytest.approx(change[t == 1].mean() - change[t == 0].mean(), rel=1e-12)
    assert (res.ess_treated, res.ess_control) == (t.sum(), (1 - t).sum())
    before = standardized_mean_differences(cov, t).table
    after = standardized_mean_differences(cov, t, ones).table
    pd.testing.assert_frame_equal(before, after)


def test_smd_worked_by_hand_continuous_and_binary():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 5.0, 4.0], "flag": [1, 0, 1, 1, 0]})
    t = [1, 1, 0, 0, 0]
    res = standardized_mean_differences(frame, t).table.set_index("term")
    # x: treated 1, 2 (mean 1.5, var 0.5); control 3, 5, 4 (mean 4, var 1) -> (1.5 - 4) / sqrt(0.75)
    assert res.loc["x", "smd"] == pytest.approx(-2.5 / math.sqrt(0.75), rel=1e-12)
    # flag: p1 = 1/2, p0 = 2/3 -> (1/2 - 2/3) / sqrt((1/4 + 2/9) / 2)
    assert res.loc["flag", "smd"] == pytest.approx((-1 / 6) / math.sqrt((1 / 4 + 2 / 9) / 2), rel=1e-12)
    assert bool(res.loc["flag", "binary"]) and not bool(res.loc["x", "binary"])
    # weighted: control weights 1, 0, 1 -> control mean (3 + 4) / 2; the denominator stays unweighted
    w = standardized_mean_differences(frame, t, [1, 1, 1, 0, 1]).table.set_index("term")
    assert w.loc["x", "smd"] == pytest.approx((1.5 - 3.5) / math.sqrt(0.75), rel=1e-12)
    assert w.loc["x", "denominator"] == res.loc["x", "denominator"]


def test_smd_is_nan_when_a_term_is_constant_within_both_arms():
    frame = pd.DataFrame({"flag": [1, 1, 0, 0], "x": [1.0, 2.0, 1.5, 2.5]})
    res = standardized_mean_differences(frame, [1, 1, 0, 0])
    assert res.undefined == ("flag",)
    assert math.isnan(res.table.set_index("term").loc["flag", "smd"])
    assert json.loads(json.dumps(res.to_dict(), allow_nan=False))  # NaN becomes null


def test_iptw_and_stabilized_weights_by_hand():
    ps, t = [0.2, 0.5, 0.8, 0.4], [1, 1, 0, 0]
    assert balancing_weights(ps, t, "iptw").tolist() == pytest.approx([5.0, 2.0, 5.0, 1 / 0.6])
    # stabilised: times P(T = 1) = 1/2 for treated, P(T = 0) = 1/2 for controls
    assert balancing_weights(ps, t, "iptw", stabilized=True).tolist() == pytest.approx([2.5, 1.0, 2.5, 1 / 1.2])
    assert balancing_weights(ps, t).tolist() == pytest.approx([0.8, 0.5, 0.8, 0.4])
    idx = pd.Index(["a", "b", "c", "d"])
    out = balancing_weights(pd.Series(ps, index=idx), pd.Series(t, index=idx[::-1]).iloc[::-1])
    assert list(out.index) == list(idx) and out.name == "weight"


def test_dummy_coding_is_documented_and_deterministic():
    rng = np.random.default_rng(3)
    n = 30
    t = np.r_[np.ones(15, dtype=int), np.zeros(15, dtype=int)]
    levels = np.array(["b", "c", "a"])[rng.integers(0, 3, n)]
    x = rng.normal(size=n)
    as_text = propensity_scores(pd.DataFrame({"x": x, "g": levels}), t)
    assert as_text.terms == ("Intercept", "x", "g[b]", "g[c]") and as_text.levels == {"g": ("a", "b", "c")}
    # a pandas Categorical keeps its category order (first = reference); unobserved categories are dropped
    cat = pd.Categorical(levels, categories=["z", "c", "a", "b"])
    as_cat = propensity_scores(pd.DataFrame({"x": x, "g": cat}), t)
    assert as_cat.terms == ("Intercept", "x", "g[a]", "g[b]") and as_cat.levels == {"g": ("c", "a", "b")}
    # the reference level changes coefficients, never the fitted scores
    np.testing.assert_allclose(as_cat.ps, as_text.ps, rtol=1e-10)
    # booleans are 0/1 numbers
    flag = propensity_scores(pd.DataFrame({"x": x, "f": x > 0.3}), t)
    assert flag.terms == ("Intercept", "x", "f")


def test_vectorised_refit_equals_the_glm_fit():
    cov, t, change = _data("cohort")
    same = np.tile(np.arange(len(t)), (3, 1))
    res = bootstrap_weighted_difference(cov, t, change, indices=same)
    np.testing.assert_allclose(res.replicates, res.estimate, rtol=1e-10)
    assert (res.ci_low, res.ci_high) == pytest.approx((res.estimate, res.estimate), rel=1e-10)
    assert res.n_separated == 0 and res.n_not_converged == 0


def test_bootstrap_is_seeded_and_independent_of_block_size(monkeypatch):
    cov, t, change = _data("cohort")
    a = bootstrap_weighted_difference(cov, t, change, n_boot=300, seed=7)
    b = bootstrap_weighted_difference(cov, t, change, n_boot=300, seed=7)
    np.testing.assert_array_equal(a.replicates, b.replicates)
    c = bootstrap_weighted_difference(cov, t, change, n_boot=300, seed=8)
    assert not np.array_equal(a.replicates, c.replicates)
    monkeypatch.setattr(prop, "_CHUNK_CELLS", 7 * 40 * 13)  # blocks of 13 replicates
    d = bootstrap_weighted_difference(cov, t, change, n_boot=300, seed=7)
    np.testing.assert_allclose(d.replicates, a.replicates, rtol=1e-12)
    assert a.seed == 7 and a.resampling == "patients within each arm"
    # the resamples a seed draws are public, so a run's replicates can be recomputed elsewhere
    again = bootstrap_weighted_difference(cov, t, change, indices=bootstrap_indices(t, 300, 7))
    np.testing.assert_array_equal(again.replicates, a.replicates)
    lo, hi = np.quantile(a.replicates, [0.025, 0.975])
    assert (a.ci_low, a.ci_high) == (lo, hi)
    assert "replicates" not in a.to_dict()
    json.dumps(a.to_dict(), allow_nan=False)


def test_stratified_resampling_keeps_each_row_in_its_arm():
    t = np.array([1, 0, 1, 1, 0, 0, 0])
    idx = prop._resample(t, 50, 1, stratified=True)
    assert (t[idx] == t).all()
    free = prop._resample(t, 200, 1, stratified=False)
    assert not (t[free] == t).all()


def test_unstratified_bootstrap_that_empties_an_arm_is_an_error():
    cov, t, change = _data("n2")
    with pytest.raises(InsufficientDataError, match="left one arm empty"):
        bootstrap_weighted_difference(cov, t, change, indices=np.array([[0, 1, 2, 3], [0, 0, 1, 1]]))


def test_two_patients_per_arm():
    cov, t, change = _data("n2")
    res = bootstrap_weighted_difference(cov, t, change, n_boot=200, seed=1)
    assert res.n_boot == 200
    # with 2 per arm many resamples duplicate one patient per arm (age constant within an arm) and separate
    assert 0 < res.n_separated < 200 and res.n_not_converged == 0
    assert np.isfinite(res.replicates).all()


def test_inputs_are_not_modified():
    cov, t, change = _data("cohort")
    before = (cov.copy(), t.copy(), change.copy())
    fit = propensity_scores(cov, t)
    standardized_mean_differences(cov, t, balancing_weights(fit, t))
    bootstrap_weighted_difference(cov, t, change, n_boot=20)
    pd.testing.assert_frame_equal(cov, before[0])
    pd.testing.assert_series_equal(t, before[1])
    pd.testing.assert_series_equal(change, before[2])


# --------------------------------------------------------------------------------------------- bad input
def test_missing_covariates_and_bad_treatment_are_listed_together():
    cov, t, _ = _data("cohort")
    cov.loc["P03", "age"] = np.nan
    cov.loc[["P05", "P07"], "pattern"] = None
    t = t.astype(float)
    t["P09"] = 2
    with pytest.raises(DataValidationError) as info:
        propensity_scores(cov, t)
    text = str(info.value)
    assert "3 problem(s)" in text
    assert "'age' is missing for 1 patient(s) (rows/ids 'P03')" in text
    assert "'pattern' is missing for 2 patient(s) (rows/ids 'P05', 'P07')" in text
    assert "treated must be 0 (control) or 1 (treated); rows/ids 'P09'" in text


@pytest.mark.parametrize(
    ("column", "message"),
    [([4.0, 4.0, 4.0, 4.0, 4.0], "constant covariate(s) 'k' (every patient has 4)"),
     (["x"] * 5, "constant covariate(s) 'k' (every patient has 'x')")],
)
def test_constant_covariate_is_named(column, message):
    frame = pd.DataFrame({"age": [50.0, 60.0, 55.0, 70.0, 65.0], "k": column})
    with pytest.raises(InsufficientDataError) as info:
        propensity_scores(frame, [1, 0, 1, 0, 0])
    assert message in str(info.value)
    with pytest.raises(InsufficientDataError, match="'k'"):
        standardized_mean_differences(frame, [1, 0, 1, 0, 0])


def test_separation_by_one_numeric_covariate_is_named():
    frame = pd.DataFrame({"age": [70.0, 75.0, 72.0, 50.0, 55.0, 70.0], "fvc": [60.0, 70.0, 80.0, 75.0, 65.0, 72.0]})
    with pytest.raises(InsufficientDataError) as info:
        propensity_scores(frame, [1, 1, 1, 0, 0, 0])
    text = str(info.value)
    assert "covariate 'age': every treated patient has age >= 70 and every control patient age <= 70" in text
    assert "separation" in text and "fvc" not in text


def test_separation_by_a_category_is_named():
    cov, t, _ = _data("cohort")
    only_controls = cov[~((cov["pattern"] == "OP") & (t == 1))]
    with pytest.raises(InsufficientDataError) as info:
        propensity_scores(only_controls, t[only_controls.index])
    assert "covariate 'pattern': every patient with pattern = 'OP' (n = " in str(info.value)
    assert "is a control patient" in str(info.value)


def test_separation_by_a_combination_is_found_by_the_linear_program():
    # neither x nor z alone separates, x + z does (treated x + z >= 1, control x + z <= 0)
    frame = pd.DataFrame({"x": [2.0, -1.0, 0.5, 1.0, -2.0, 0.0], "z": [-1.0, 2.0, 0.5, -2.0, 1.0, -0.5]})
    t = [1, 1, 1, 0, 0, 0]
    with pytest.raises(InsufficientDataError) as info:
        propensity_scores(frame, t)
    assert "covariates 'x', 'z' together" in str(info.value)


def test_fewer_patients_than_parameters():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 1.0, 2.0], "c": [0.0, 1.0, 5.0]})
    with pytest.raises(InsufficientDataError, match="3 patients are fewer than the 4 parameters"):
        propensity_scores(frame, [1, 0, 1])


def test_collinear_covariates_are_named():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "b": [2.0, 4.0, 6.0, 8.0, 10.0, 12.0],
                          "c": [1.0, 0.0, 1.0, 1.0, 0.0, 0.0]})
    with pytest.raises(InsufficientDataError, match=r"collinear.*terms a, b"):
        propensity_scores(frame, [1, 0, 0, 1, 1, 0])


def test_one_arm_only():
    with pytest.raises(InsufficientDataError, match="got 3 treated, 0 control"):
        propensity_scores(pd.DataFrame({"a": [1.0, 2.0, 3.0]}), [1, 1, 1])


def test_treated_series_with_other_labels_and_wrong_length():
    cov, t, _ = _data("n2")
    with pytest.raises(DataValidationError, match="not the patients' labels"):
        propensity_scores(cov, pd.Series([1, 1, 0, 0], index=list("WXYZ")))
    with pytest.raises(DataValidationError, match="treated has 3 values but there are 4 patients"):
        propensity_scores(cov, [1, 0, 1])
    with pytest.raises(DataValidationError, match="pandas DataFrame"):
        propensity_scores(cov["age"], t)


def test_weights_and_scores_bad_values():
    with pytest.raises(DataValidationError, match="strictly between 0 and 1"):
        balancing_weights([0.0, 0.5, 0.5, 0.5], [1, 1, 0, 0], "iptw")
    assert balancing_weights([1.0, 0.5, 0.5, 0.0], [1, 1, 0, 0]).tolist() == [0.0, 0.5, 0.5, 0.0]
    with pytest.raises(DataValidationError, match="ps is missing"):
        balancing_weights([np.nan, 0.5, 0.5, 0.5], [1, 1, 0, 0])
    with pytest.raises(InvalidOptionError, match="stabilized=True is not valid with method='overlap'"):
        balancing_weights([0.5, 0.5], [1, 0], stabilized=True)
    with pytest.raises(DataValidationError, match="weights must be finite and >= 0"):
        weighted_difference([1.0, 2.0, 3.0], [1, 0, 0], [1.0, -1.0, 1.0])
    with pytest.raises(InsufficientDataError, match="treated patients' weights sum to 0"):
        weighted_difference([1.0, 2.0, 3.0], [1, 0, 0], [0.0, 1.0, 1.0])
    with pytest.raises(DataValidationError, match="change is missing for rows/ids 1"):
        weighted_difference([1.0, np.nan, 3.0], [1, 0, 0], [1.0, 1.0, 1.0])


def test_bootstrap_bad_options():
    cov, t, change = _data("n2")
    with pytest.raises(InvalidOptionError, match="0-based row positions"):
        bootstrap_weighted_difference(cov, t, change, indices=np.array([[1, 2, 3, 4], [1, 2, 3, 4]]))
    with pytest.raises(InvalidOptionError, match="2-D integer array"):
        bootstrap_weighted_difference(cov, t, change, indices=np.array([0, 1, 2, 3]))
    with pytest.raises(DataValidationError, match="treated must be 0"):
        bootstrap_indices([1, 0, 2], 5, 1)
    with pytest.raises(InvalidOptionError, match="n_boot=0"):
        bootstrap_indices([1, 0], 0, 1)
    with pytest.raises(DataValidationError, match="change is missing for rows/ids 'B'"):
        bootstrap_weighted_difference(cov, t, change.replace(1.5, np.nan))


def test_series_are_matched_by_label_and_lists_by_position():
    idx = pd.Index(["a", "b", "c", "d"])
    w = pd.Series([1.0, 3.0, 1.0, 1.0], index=idx)
    by_position = weighted_difference([1.0, 3.0, 0.0, 2.0], [1, 1, 0, 0], w)
    t = pd.Series([1, 1, 0, 0], index=idx)
    shuffled = weighted_difference(pd.Series([2.0, 0.0, 3.0, 1.0], index=idx[::-1]), t, w)
    assert by_position.difference == shuffled.difference == pytest.approx(2.5 - 1.0)
    # a list is read in the order of the first Series given (here change's d, c, b, a: d and c treated)
    reversed_order = weighted_difference(pd.Series([2.0, 0.0, 3.0, 1.0], index=idx[::-1]), [1, 1, 0, 0], w)
    assert reversed_order.difference == pytest.approx((2.0 + 0.0) / 2 - (3 * 3.0 + 1.0) / 4)


@pytest.mark.parametrize(
    ("dropped", "rows_where"),
    [("smoker", lambda c: c["smoker"] == 0),            # 0/1 covariate constant in the replicate (= intercept)
     ("pattern[OP]", lambda c: c["pattern"] != "OP")],  # a level absent from the replicate (all-zero column)
)
def test_replicate_with_an_aliased_term_equals_the_fit_without_it(dropped, rows_where):
    """R's glm gives such a term NA (aliased) and the fit of the other terms; the vectorised re-fit must too."""
    cov, t, change = _data("cohort")
    keep = np.flatnonzero(rows_where(cov).to_numpy())
    rng = np.random.default_rng(5)
    rows = np.concatenate([rng.choice(keep[t.to_numpy()[keep] == arm], size=int((t == arm).sum()))
                           for arm in (1, 0)])
    order = np.argsort(np.r_[np.flatnonzero(t.to_numpy() == 1), np.flatnonzero(t.to_numpy() == 0)])
    rows = rows[order]  # keep every row in its own arm, as the stratified bootstrap does
    sub = cov.iloc[rows].reset_index(drop=True)
    columns = [c for c in cov.columns if c != dropped]
    if dropped == "pattern[OP]":
        sub["pattern"] = sub["pattern"].astype(str)
        columns = list(cov.columns)
    sub_t, sub_y = t.to_numpy()[rows], change.to_numpy()[rows]
    fit = propensity_scores(sub[columns], sub_t)
    assert dropped not in fit.terms
    by_hand = weighted_difference(sub_y, sub_t, balancing_weights(fit, sub_t))
    ours = bootstrap_weighted_difference(cov, t, change, indices=np.vstack([rows, rows]))
    np.testing.assert_allclose(ours.replicates, by_hand.difference, rtol=1e-9)
    assert ours.n_separated == 0


def test_unstratified_bootstrap_is_seeded_and_labelled():
    cov, t, change = _data("cohort")
    a = bootstrap_weighted_difference(cov, t, change, n_boot=100, seed=3, stratified=False)
    b = bootstrap_weighted_difference(cov, t, change, n_boot=100, seed=3, stratified=False)
    np.testing.assert_array_equal(a.replicates, b.replicates)
    assert a.resampling == "patients" and a.estimate == b.estimate
    s = bootstrap_weighted_difference(cov, t, change, n_boot=100, seed=3)
    assert not np.array_equal(a.replicates, s.replicates)


def test_smd_with_one_patient_in_an_arm_has_no_sd_for_continuous_terms():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 5.0], "flag": [1, 0, 1, 0]})
    res = standardized_mean_differences(frame, [1, 0, 0, 0]).table.set_index("term")
    assert math.isnan(res.loc["x", "smd"])  # R var() of one value is NA
    # flag: p1 = 1, p0 = 1/3: denominator sqrt((0 + 2/9) / 2)
    assert res.loc["flag", "smd"] == pytest.approx((2 / 3) / math.sqrt(1 / 9), rel=1e-12)
