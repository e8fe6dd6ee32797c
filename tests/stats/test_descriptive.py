"""Quartiles (types 6, 7, Tukey hinges), mean/SD and Shapiro-Wilk against R."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ipafstudy.errors import DataValidationError, InvalidOptionError
from ipafstudy.stats import boxplot_stats, describe_continuous, percentile, quantiles, shapiro_wilk

from .conftest import read_ref, records

DATA = {k: g["value"].to_numpy(dtype=float) for k, g in read_ref("descriptive_data.csv").groupby("dataset")}
R_DESC = records("descriptive_r.csv")
COLUMN = {"spss": "type6", "r7": "type7", "tukey": "fivenum"}


@pytest.mark.parametrize("method", ["spss", "r7", "tukey"])
@pytest.mark.parametrize("case", R_DESC, ids=lambda c: c["dataset"])
def test_quartiles_match_r(case, method):
    """R: quantile(x, type = 6 / 7, na.rm = TRUE) and fivenum(x)."""
    res = quantiles(DATA[case["dataset"]], method=method)
    col = COLUMN[method]
    assert res.q1 == pytest.approx(case[f"q1_{col}"], rel=1e-12)
    assert res.median == pytest.approx(case[f"median_{col}"], rel=1e-12)
    assert res.q3 == pytest.approx(case[f"q3_{col}"], rel=1e-12)
    assert (res.n, res.n_missing, res.method) == (case["n"], case["n_missing"], method)


def test_type6_by_hand():
    # n = 4, position (n + 1) p: Q1 at 1.25 -> 1 + 0.25 (2 - 1) = 1.25; Q3 at 3.75 -> 3.75.
    res = quantiles([4, 1, 3, 2])
    assert (res.q1, res.median, res.q3) == (1.25, 2.5, 3.75)


@pytest.mark.parametrize("case", R_DESC, ids=lambda c: c["dataset"])
def test_mean_sd_and_shapiro_match_r(case):
    x = DATA[case["dataset"]]
    desc = describe_continuous(x)
    assert desc.mean == pytest.approx(case["mean"], rel=1e-12)
    if math.isnan(case["sd"]):
        assert math.isnan(desc.sd) and desc.reason
    else:
        assert desc.sd == pytest.approx(case["sd"], rel=1e-12)
    sw = shapiro_wilk(x)
    if math.isnan(case["shapiro_w"]):
        assert math.isnan(sw.w) and math.isnan(sw.p) and sw.reason
    else:
        assert sw.w == pytest.approx(case["shapiro_w"], rel=1e-6)
        assert sw.p == pytest.approx(case["shapiro_p"], rel=1e-4)


def test_all_missing_is_documented_nan():
    res = quantiles([np.nan, None])
    assert math.isnan(res.median) and res.n == 0 and res.n_missing == 2 and res.reason
    desc = describe_continuous(pd.Series([np.nan]))
    assert desc.n == 0 and desc.reason


def test_non_numeric_rejected_with_row():
    with pytest.raises(DataValidationError, match="'x2'"):
        quantiles(pd.Series([1.0, "abc"], index=["x1", "x2"]))


def test_nullable_integer_series_supported():
    res = quantiles(pd.Series([1, 2, None, 4], dtype="Int64"), method="r7")
    assert (res.n, res.n_missing, res.median) == (3, 1, 2.0)


@pytest.mark.parametrize(("method", "col"), [("spss", "type6"), ("r7", "type7")])
@pytest.mark.parametrize("case", R_DESC, ids=lambda c: c["dataset"])
def test_percentile_10_90_matches_r(case, method, col):
    """R: quantile(x, c(0.1, 0.9), type = 6 / 7, na.rm = TRUE)."""
    x = DATA[case["dataset"]]
    assert percentile(x, 10, method=method) == pytest.approx(case[f"p10_{col}"], rel=1e-12)
    assert percentile(x, 90, method=method) == pytest.approx(case[f"p90_{col}"], rel=1e-12)


def test_percentile_tukey_only_quartiles():
    assert percentile([1, 2, 3, 4], 25, method="tukey") == 1.5
    with pytest.raises(InvalidOptionError, match="q=10"):
        percentile([1, 2, 3, 4], 10, method="tukey")
    with pytest.raises(InvalidOptionError, match="q=101"):
        percentile([1, 2], 101)
    assert math.isnan(percentile([np.nan], 50))


def test_boxplot_tukey_whiskers_by_hand():
    # x = 1..9 and 30: type 6 Q1 at 2.75 -> 2.75, Q3 at 8.25 -> 8.25, IQR 5.5 -> fences -5.5 and 16.5.
    x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 30]
    box = boxplot_stats(x, whisker="tukey")
    assert (box.q1, box.q3) == (2.75, 8.25)
    assert (box.whisker_low, box.whisker_high, box.outliers) == (1.0, 9.0, [30.0])
    minmax = boxplot_stats(x)
    assert (minmax.whisker_low, minmax.whisker_high, minmax.outliers) == (1.0, 30.0, [])
    hinges = boxplot_stats(x, method="tukey")
    assert (hinges.q1, hinges.q3) == (3.0, 8.0)


def test_boxplot_all_missing():
    box = boxplot_stats([np.nan])
    assert math.isnan(box.median) and box.reason and box.n_missing == 1
