"""Quartiles (types 6, 7, Tukey hinges), mean/SD and Shapiro-Wilk against R."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ipafstudy.errors import DataValidationError
from ipafstudy.stats import describe_continuous, quantiles, shapiro_wilk

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
