"""Spearman correlation and the matrix against R cor.test / p.adjust."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from ipafstudy.errors import DataValidationError
from ipafstudy.stats import adjust_p, spearman, spearman_matrix

from .conftest import read_ref, records

FRAME = read_ref("correlation_data.csv")
R_SPEARMAN = records("spearman_r.csv")


@pytest.mark.parametrize("case", R_SPEARMAN, ids=lambda c: f"{c['var1']}-{c['var2']}")
def test_spearman_matches_r(case):
    """R: cor.test(x, y, method='spearman', exact=FALSE) on pairwise complete cases."""
    res = spearman(FRAME[case["var1"]], FRAME[case["var2"]])
    assert res.n == case["n"]
    if math.isnan(case["p"]):
        assert math.isnan(res.p) and res.reason  # constant column or n < 3: documented NaN
    else:
        assert res.rho == pytest.approx(case["rho"], rel=1e-12)
        assert res.p == pytest.approx(case["p"], rel=1e-8)


def test_spearman_t_approximation_by_hand():
    x, y = [1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5]
    d2 = sum((a - b) ** 2 for a, b in zip(x, y, strict=True))  # no ties: rho = 1 - 6 sum d^2 / (n (n^2 - 1))
    rho = 1 - 6 * d2 / (6 * 35)
    t = rho * math.sqrt(4 / (1 - rho**2))
    from scipy import stats as sps

    res = spearman(x, y)
    assert res.rho == pytest.approx(rho)
    assert res.p == pytest.approx(2 * sps.t.sf(t, 4))


def test_matrix_matches_r_and_adjusts_core_family():
    core = FRAME[["hrct", "ggo", "crp", "esr"]]
    res = spearman_matrix(core, adjust="holm")
    bh = spearman_matrix(core, adjust="bh")
    long = res.to_long().set_index(["var1", "var2"])
    long_bh = bh.to_long().set_index(["var1", "var2"])
    for case in R_SPEARMAN:
        key = (case["var1"], case["var2"])
        if key not in long.index:
            continue
        assert long.loc[key, "rho"] == pytest.approx(case["rho"], rel=1e-12)
        assert long.loc[key, "p_adjusted"] == pytest.approx(case["p_holm_core"], rel=1e-8)
        assert long_bh.loc[key, "p_adjusted"] == pytest.approx(case["p_bh_core"], rel=1e-8)
        assert long.loc[key, "n"] == case["n"]
    assert res.rho.loc["ggo", "hrct"] == res.rho.loc["hrct", "ggo"]
    assert list(long.columns) == ["rho", "p", "n", "p_adjusted", "stars", "stars_adjusted"]
    assert (long["stars"] == "***").all()
    payload = res.to_dict()
    assert json.loads(json.dumps(payload, allow_nan=False)) == payload
    assert payload["rho"]["columns"][0] == "index" and len(payload["rho"]["records"]) == len(res.rho)


def test_matrix_with_degenerate_columns_does_not_crash():
    res = spearman_matrix(FRAME)
    assert math.isnan(res.rho.loc["hrct", "const"])
    assert res.n.loc["hrct", "sparse"] == 2
    assert res.p_adjusted is None
    assert math.isnan(res.to_long()["p_adjusted"].iloc[0])


def test_series_aligned_by_index():
    x = pd.Series([1.0, 2.0, 3.0, 4.0], index=list("abcd"))
    y = pd.Series([40.0, 10.0, 30.0, 20.0], index=list("dacb"))  # y by id: a 10, b 20, c 30, d 40
    assert spearman(x, y).rho == pytest.approx(1.0)


def test_matrix_rejects_non_frame():
    with pytest.raises(DataValidationError):
        spearman_matrix(np.zeros((3, 3)))


P_ADJ = read_ref("p_adjust_r.csv")


@pytest.mark.parametrize("method", ["holm", "bh"])
def test_adjust_p_matches_r_with_nan_in_place(method):
    """R: p.adjust(p, 'holm' / 'BH'); NA stays NA and is not counted."""
    out = adjust_p(P_ADJ["p"].to_numpy(), method=method)
    np.testing.assert_allclose(out, P_ADJ[method].to_numpy(), rtol=1e-12, equal_nan=True)
    series = adjust_p(pd.Series(P_ADJ["p"].to_numpy(), index=[f"t{i}" for i in range(len(P_ADJ))]), method=method)
    assert list(series.index) == [f"t{i}" for i in range(len(P_ADJ))]


def test_spearman_ties_values_equal_as_written_numbers():
    # Decimal ties: x ranks 1.5, 1.5, 3 vs 1, 2, 3 -> rho = 1.5 / sqrt(1.5 * 2) = sqrt(3) / 2 (worked by hand).
    x, y = [0.1 + 0.2, 0.3, 1.0], [1.0, 2.0, 3.0]
    assert spearman(x, y).rho == pytest.approx(math.sqrt(3) / 2, rel=1e-12)
    # Exact doubles: x ranks 2, 1, 3 -> rho = 1 / sqrt(2 * 2) = 0.5.
    assert spearman(x, y, tie_decimals=None).rho == pytest.approx(0.5, rel=1e-12)
