"""Linear regression against NIST StRD certified values and R (lm, car::vif, lmtest::bptest)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from ipafstudy.errors import InsufficientDataError, InvalidOptionError
from ipafstudy.stats import linear_regression

from .conftest import read_ref, records
from .nist_strd import LONGLEY, LONGLEY_CERTIFIED, NORRIS_CERTIFIED, NORRIS_X, NORRIS_Y


def _check_certified(res, cert, rel_b, rel_se):
    np.testing.assert_allclose(res.terms["b"].to_numpy(), cert["b"], rtol=rel_b)
    np.testing.assert_allclose(res.terms["se"].to_numpy(), cert["se"], rtol=rel_se)
    assert res.residual_sd == pytest.approx(cert["residual_sd"], rel=rel_se)
    assert res.r2 == pytest.approx(cert["r2"], rel=1e-10)
    assert res.f == pytest.approx(cert["f"], rel=rel_se)


def test_norris_certified():
    res = linear_regression(pd.DataFrame({"y": NORRIS_Y, "x": NORRIS_X}), "y", ["x"])
    _check_certified(res, NORRIS_CERTIFIED, 1e-10, 1e-9)
    assert (res.n, res.df_resid) == (36, 34)


def test_longley_certified():
    res = linear_regression(pd.DataFrame(LONGLEY), "y", ["x1", "x2", "x3", "x4", "x5", "x6"])
    _check_certified(res, LONGLEY_CERTIFIED, 1e-9, 1e-9)  # LRE >= 9 on the hardest classic case
    assert list(res.terms.index) == ["Intercept", "x1", "x2", "x3", "x4", "x5", "x6"]


FRAME = read_ref("regression_data.csv")
R_TERMS = read_ref("regression_terms_r.csv").set_index("term")
R_FIT = records("regression_fit_r.csv")[0]
PREDICTORS = ["base_consolidation", "base_ggo", "smoking", "base_total"]


@pytest.fixture(scope="module")
def fitted():
    return linear_regression(FRAME, "delta_total", PREDICTORS)


@pytest.mark.parametrize("column", ["b", "se", "ci_low", "ci_high", "beta", "t", "p", "vif"])
def test_terms_match_r(fitted, column):
    """R: lm(); confint(); lm() on scale()d model frame for beta; car::vif()."""
    ours = fitted.terms[column]
    ref = R_TERMS[column].reindex(ours.index)
    np.testing.assert_allclose(ours.to_numpy(), ref.to_numpy(), rtol=1e-8, equal_nan=True)


def test_fit_matches_r(fitted):
    """R: summary(lm) R2/adj R2/F, lmtest::bptest(studentize=TRUE), shapiro.test(residuals)."""
    assert (fitted.n, fitted.n_dropped, fitted.df_resid) == (R_FIT["n"], R_FIT["n_dropped"], R_FIT["df_resid"])
    for ours, key in [(fitted.r2, "r2"), (fitted.adj_r2, "adj_r2"), (fitted.f, "f"), (fitted.f_p, "f_p"),
                      (fitted.residual_sd, "residual_sd"), (fitted.heteroscedasticity.lm, "bp_lm"),
                      (fitted.heteroscedasticity.p, "bp_p")]:
        assert ours == pytest.approx(R_FIT[key], rel=1e-7), key
    assert fitted.residual_normality.w == pytest.approx(R_FIT["shapiro_w"], rel=1e-6)
    assert fitted.residual_normality.p == pytest.approx(R_FIT["shapiro_p"], rel=1e-4)


def test_simple_regression_by_hand():
    x = [1.0, 2.0, 3.0, 4.0, 5.0]
    y = [2.0, 4.0, 5.0, 4.0, 5.0]
    # Sxx = 10, Sxy = 6 -> b = 0.6, a = 4 - 0.6 * 3 = 2.2; beta = b * sd_x / sd_y = r.
    res = linear_regression(pd.DataFrame({"y": y, "x": x}), "y", ["x"])
    assert res.terms.loc["x", "b"] == pytest.approx(0.6)
    assert res.terms.loc["Intercept", "b"] == pytest.approx(2.2)
    assert res.terms.loc["x", "beta"] == pytest.approx(float(np.corrcoef(x, y)[0, 1]))
    assert res.terms.loc["x", "vif"] == 1.0
    assert math.isnan(res.terms.loc["Intercept", "beta"])


def test_listwise_deletion_counted_and_json():
    frame = pd.DataFrame({"y": [1, 2, 3, np.nan, 5, 6], "a": [1, 3, 2, 4, np.nan, 5], "b": [0, 1, 0, 1, 0, 1]})
    res = linear_regression(frame, "y", ["a", "b"])
    assert (res.n, res.n_dropped) == (4, 2)
    payload = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert payload["terms"]["records"][0]["term"] == "Intercept"
    assert payload["settings"]["predictors"] == ["a", "b"]


def test_constant_predictor_named():
    frame = pd.DataFrame({"y": [1.0, 2, 3, 4, 5], "a": [1.0, 2, 3, 5, 4], "smoking": [1, 1, 1, 1, 1]})
    with pytest.raises(InsufficientDataError, match="smoking"):
        linear_regression(frame, "y", ["a", "smoking"])


def test_singular_design_named():
    frame = pd.DataFrame({"y": [1.0, 3, 2, 5, 4, 6], "a": [1.0, 2, 3, 4, 5, 7], "b": [2.0, 1, 1, 3, 2, 2]})
    frame["total"] = frame["a"] + frame["b"]
    with pytest.raises(InsufficientDataError, match=r"singular design.*'a'.*'b'.*'total'"):
        linear_regression(frame, "y", ["a", "b", "total"])


def test_too_few_cases():
    with pytest.raises(InsufficientDataError, match="complete cases"):
        linear_regression(pd.DataFrame({"y": [1.0, 2.0], "a": [1.0, 3.0]}), "y", ["a"])


@pytest.mark.parametrize(
    ("outcome", "predictors"), [("nope", ["a"]), ("y", ["nope"]), ("y", ["y"]), ("y", []), ("y", "a")]
)
def test_bad_column_choices(outcome, predictors):
    frame = pd.DataFrame({"y": [1.0, 2, 3, 4], "a": [1.0, 3, 2, 4]})
    with pytest.raises(InvalidOptionError):
        linear_regression(frame, outcome, predictors)


R_HC3 = read_ref("regression_hc3_r.csv").set_index("term")
R_BP = records("regression_bp_r.csv")[0]
R_DIAG = read_ref("regression_diagnostics_r.csv")


@pytest.fixture(scope="module")
def fitted_hc3():
    return linear_regression(FRAME, "delta_total", PREDICTORS, robust_se="hc3")


def test_hc3_reference_formula_equals_car_hccm():
    # the two R computations (base matrices and car::hccm(type = "hc3")) agree, so the reference is the formula
    np.testing.assert_allclose(R_HC3["se_hc3"], R_HC3["se_hc3_car"], rtol=1e-10)


@pytest.mark.parametrize(("ours", "ref"), [("b", "b"), ("se", "se_hc3"), ("t", "t"), ("p", "p"),
                                            ("ci_low", "ci_low"), ("ci_high", "ci_high")])
def test_hc3_terms_match_r(fitted_hc3, ours, ref):
    """R: HC3 by (X'X)^-1 X' diag(e^2/(1-h)^2) X (X'X)^-1; t, p and CI with the residual df."""
    np.testing.assert_allclose(fitted_hc3.terms[ours].to_numpy(), R_HC3[ref].reindex(fitted_hc3.terms.index),
                               rtol=1e-8)


def test_hc3_changes_only_se_t_p_ci(fitted, fitted_hc3):
    assert fitted_hc3.settings.robust_se == "hc3" and fitted.settings.robust_se == "none"
    for col in ("b", "beta", "vif"):
        np.testing.assert_allclose(fitted_hc3.terms[col], fitted.terms[col], rtol=1e-12, equal_nan=True)
    assert (fitted_hc3.r2, fitted_hc3.f) == (fitted.r2, fitted.f)
    assert not np.allclose(fitted_hc3.terms["se"], fitted.terms["se"])


def test_hc3_simple_regression_by_hand():
    # x = 0, 1, 2, y = 0, 2, 1: b = 0.5, a = 0.5, residuals -0.5, 1, -0.5; h = 5/6, 1/3, 5/6 (Sxx = 2).
    # HC3 slope variance = sum((x_i - 1)^2 e_i^2 / (1 - h_i)^2) / Sxx^2 = (0.25*36 + 0 + 0.25*36) / 4 = 4.5
    res = linear_regression(pd.DataFrame({"y": [0.0, 2.0, 1.0], "x": [0.0, 1.0, 2.0]}), "y", ["x"], robust_se="hc3")
    assert res.terms.loc["x", "se"] == pytest.approx(math.sqrt(4.5))
    assert res.terms.loc["x", "t"] == pytest.approx(0.5 / math.sqrt(4.5))


def test_hc3_refused_when_a_case_has_leverage_one():
    # the only case with x = 1 fixes the dummy's coefficient alone: h = 1, HC3 divides by 0
    frame = pd.DataFrame({"y": [1.0, 2.0, 3.0, 5.0, 4.0], "d": [0, 0, 0, 1, 0], "x": [1.0, 2.0, 3.0, 4.0, 6.0]})
    with pytest.raises(InsufficientDataError, match="leverage 1"):
        linear_regression(frame, "y", ["d", "x"], robust_se="hc3")
    assert linear_regression(frame, "y", ["d", "x"]).n == 5  # the OLS fit itself is fine


def test_robust_se_option_checked():
    with pytest.raises(InvalidOptionError, match="robust_se"):
        linear_regression(FRAME, "delta_total", PREDICTORS, robust_se="hc1")


def test_breusch_pagan_is_koenker_studentised(fitted):
    """We report Koenker's n R^2 form (lmtest::bptest default), not the original Breusch-Pagan 1979 form."""
    assert R_BP["koenker_formula"] == pytest.approx(R_BP["koenker_lmtest"], rel=1e-9)
    assert fitted.heteroscedasticity.lm == pytest.approx(R_BP["koenker_formula"], rel=1e-8)
    assert fitted.heteroscedasticity.p == pytest.approx(R_BP["koenker_p"], rel=1e-7)
    assert fitted.heteroscedasticity.df == R_BP["df"] == 4
    assert abs(fitted.heteroscedasticity.lm - R_BP["original_formula"]) > 0.1


@pytest.mark.parametrize(("ours", "ref"), [("fitted", "fitted"), ("residuals", "residual"),
                                            ("standardized", "standardized"), ("leverage", "leverage"),
                                            ("qq_theoretical", "qq_theoretical")])
def test_diagnostics_match_r(fitted, ours, ref):
    """R: fitted(), residuals(), rstandard(), hatvalues(), qqnorm(rstandard())$x on the complete cases."""
    np.testing.assert_allclose(getattr(fitted.diagnostics, ours), R_DIAG[ref], rtol=1e-8, atol=1e-12)


def test_sparse_binary_and_cases_per_predictor():
    # 21 cases: d has 2 ones (2/21 = 9.5 % < 10 %), e has 3 ones (14.3 %); 21 / 3 predictors = 7 < 10.
    rng = np.random.default_rng(3)
    x = rng.normal(size=21)
    d = np.zeros(21)
    d[[4, 9]] = 1
    e = np.zeros(21)
    e[[1, 2, 3]] = 1
    frame = pd.DataFrame({"y": x + rng.normal(size=21), "x": x, "d": d, "e": e})
    res = linear_regression(frame, "y", ["x", "d", "e"])
    assert [(s.predictor, s.minority_value, s.n_minority, s.n) for s in res.sparse_binary] == [("d", 1.0, 2, 21)]
    assert res.cases_per_predictor == pytest.approx(7.0)
    assert res.few_cases_per_predictor is True
    # 20 cases, 2 predictors: 10 per predictor is not "fewer than 10"; a 2 of 20 minority is exactly 10 %
    ok = linear_regression(frame.iloc[:20].assign(d=[1, 1] + [0] * 18), "y", ["x", "d"])
    assert ok.few_cases_per_predictor is False and ok.sparse_binary == ()


def test_diagnostics_with_a_leverage_one_case_match_r():
    """R: rstandard() is NaN for the only smoker (leverage 1) and qqnorm() leaves it out (ppoints(n - 1))."""
    ref = read_ref("regression_diagnostics_lev1_r.csv")
    frame = FRAME.copy()
    frame["smoking"] = 0
    frame.loc[1, "smoking"] = 1
    res = linear_regression(frame, "delta_total", PREDICTORS)
    diag = res.diagnostics
    assert diag.n_leverage_one == 1
    np.testing.assert_allclose(diag.leverage, ref["leverage"], rtol=1e-8)
    np.testing.assert_allclose(diag.standardized, ref["standardized"], rtol=1e-8, equal_nan=True)
    np.testing.assert_allclose(diag.qq_theoretical, ref["qq_theoretical"], rtol=1e-8, equal_nan=True)
    assert [(s.predictor, s.n_minority) for s in res.sparse_binary] == [("smoking", 1)]
    with pytest.raises(InsufficientDataError, match="leverage 1"):
        linear_regression(frame, "delta_total", PREDICTORS, robust_se="hc3")
