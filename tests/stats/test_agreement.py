"""ICC (psych::ICC) and weighted kappa (psych::cohen.kappa and a hand computation in R)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ipafstudy.errors import DataValidationError, InsufficientDataError
from ipafstudy.stats import icc, weighted_kappa
from ipafstudy.stats.agreement import koo_li_band, landis_koch_band

from .conftest import read_ref, records

ICC_DATA = {
    name: part.pivot(index="subject", columns="rater", values="rating")
    for name, part in read_ref("icc_data.csv").groupby("dataset")
}
R_ICC = records("icc_r.csv")


@pytest.mark.parametrize("case", R_ICC, ids=lambda c: f"{c['dataset']}-{c['model']}")
def test_icc_matches_psych(case):
    """R: psych::ICC(na.omit(ratings))$results, rows ICC1 ... ICC3k."""
    res = icc(ICC_DATA[case["dataset"]], model=case["model"])
    assert res.value == pytest.approx(case["value"], rel=1e-10)
    assert res.ci_low == pytest.approx(case["ci_low"], rel=1e-8)
    assert res.ci_high == pytest.approx(case["ci_high"], rel=1e-8)
    assert res.f == pytest.approx(case["f"], rel=1e-10)
    assert (res.df1, res.df2) == (case["df1"], case["df2"])
    assert res.p == pytest.approx(case["p"], rel=1e-7)


def test_icc_listwise_and_band():
    res = icc(ICC_DATA["hrct_readers"])
    assert (res.n_subjects, res.n_raters, res.n_excluded) == (10, 2, 2)
    assert res.band == "excellent"


def test_icc_by_hand_icc3():
    # 3 subjects x 2 raters; rater 2 = rater 1 + 1 -> consistency ICC(3,1) = 1 is degenerate, so perturb:
    x = np.array([[1.0, 2.0], [3.0, 3.0], [5.0, 7.0]])
    n, k = x.shape
    grand = x.mean()
    ssr = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ssc = n * ((x.mean(axis=0) - grand) ** 2).sum()
    sse = ((x - grand) ** 2).sum() - ssr - ssc
    msr, mse = ssr / (n - 1), sse / ((n - 1) * (k - 1))
    assert icc(pd.DataFrame(x), model="ICC3_1").value == pytest.approx((msr - mse) / (msr + (k - 1) * mse))


def test_icc_degenerate():
    with pytest.raises(InsufficientDataError, match="at least 2 subjects"):
        icc(pd.DataFrame({"r1": [1.0], "r2": [2.0]}))
    with pytest.raises(InsufficientDataError, match="identical"):
        icc(pd.DataFrame({"r1": [1.0, 1.0], "r2": [1.0, 1.0]}))
    perfect = icc(pd.DataFrame({"r1": [1.0, 2.0, 3.0], "r2": [1.0, 2.0, 3.0]}))
    assert perfect.value == 1.0 and perfect.band == "excellent"


def test_icc_constant_offset_between_readers_is_not_perfect_absolute_agreement():
    # Reader 2 scores every scan one point higher. Worked by hand: grand mean 12.5,
    # MSR = 2 * (6^2 + 0 + 6^2) / 2 = 72, MSC = 3 * (0.5^2 + 0.5^2) / 1 = 1.5, MSE = 0.
    # ICC(A,1) = MSR / (MSR + k * MSC / n) = 72 / (72 + 2 * 1.5 / 3) = 72 / 73.
    offset = pd.DataFrame({"r1": [6.0, 12.0, 18.0], "r2": [7.0, 13.0, 19.0]})
    absolute = icc(offset, model="ICC2_1")
    assert absolute.value == pytest.approx(72 / 73)
    assert "offset" in absolute.reason
    assert icc(offset, model="ICC2_k").value == pytest.approx(72 / (72 + 1.5 / 3))
    # Consistency (ICC3) ignores a constant offset: perfect.
    assert icc(offset, model="ICC3_1").value == 1.0


KAPPA_DATA = {
    name: (part["a"].to_numpy(dtype=float), part["b"].to_numpy(dtype=float))
    for name, part in read_ref("kappa_data.csv").groupby("dataset")
}
R_KAPPA = records("kappa_r.csv")


@pytest.mark.parametrize("case", R_KAPPA, ids=lambda c: f"{c['dataset']}-{c['weights']}")
def test_kappa_matches_r(case):
    """R: psych::cohen.kappa(cbind(a, b), w = agreement weights, levels = 0:4) and a hand formula."""
    a, b = KAPPA_DATA[case["dataset"]]
    res = weighted_kappa(a, b, weights=case["weights"])
    assert res.value == pytest.approx(case["psych"], rel=1e-10)
    assert res.value == pytest.approx(case["hand"], rel=1e-10)
    assert res.n == case["n"]


def test_kappa_by_hand_two_categories():
    # 2x2 agreement table [[2, 1], [1, 2]] / 6: po = 4/6, pe = 0.5 -> kappa = 1/3.
    res = weighted_kappa([0, 0, 0, 1, 1, 1], [0, 0, 1, 0, 1, 1], weights="unweighted", categories=[0, 1])
    assert res.value == pytest.approx(1 / 3)
    assert res.band == "fair"


def test_kappa_out_of_range_rating_named():
    with pytest.raises(DataValidationError, match=r"rater b.*\[7\.0\]"):
        weighted_kappa([0, 1, 2], [0, 1, 7])


def test_kappa_single_category_documented():
    res = weighted_kappa([2, 2, 2], [2, 2, 2])
    assert math.isnan(res.value) and res.reason


@pytest.mark.parametrize(("value", "band"), [(-0.1, "poor"), (0.2, "slight"), (0.4, "fair"), (0.6, "moderate"),
                                             (0.8, "substantial"), (0.81, "almost perfect")])
def test_landis_koch(value, band):
    assert landis_koch_band(value) == band


@pytest.mark.parametrize(("value", "band"), [(0.49, "poor"), (0.5, "moderate"), (0.75, "good"), (0.9, "good"),
                                             (0.91, "excellent")])
def test_koo_li(value, band):
    assert koo_li_band(value) == band


def test_kappa_non_numeric_categories_rejected():
    with pytest.raises(DataValidationError, match="numeric scores"):
        weighted_kappa([1, 2], [1, 2], categories=["mild", "severe"])
