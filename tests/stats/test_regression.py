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
    payload = json.loads(json.dumps(res.to_dict(), allow_nan=True))
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
