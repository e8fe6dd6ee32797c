"""Mann-Whitney U, Pearson chi-square and Fisher's exact test against R and hand computation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ipafstudy.errors import DataValidationError, InsufficientDataError
from ipafstudy.stats import compare_categorical, mann_whitney
from ipafstudy.stats.groups import fisher_exact_rxc

from .conftest import read_ref, records

GROUPS = {
    (name, group): part["value"].to_numpy(dtype=float)
    for (name, group), part in read_ref("groups_data.csv").groupby(["dataset", "group"])
}
R_MW = records("mann_whitney_r.csv")


@pytest.mark.parametrize("case", R_MW, ids=lambda c: f"{c['dataset']}-{c['method']}-{c['continuity']}")
def test_mann_whitney_matches_r(case):
    """R: wilcox.test(x, y, exact=FALSE, correct=...) and coin::wilcox_test(distribution='exact')."""
    x, y = GROUPS[(case["dataset"], "x")], GROUPS[(case["dataset"], "y")]
    res = mann_whitney(x, y, method=case["method"], continuity=bool(case["continuity"]))
    assert res.p == pytest.approx(case["p"], rel=1e-9)
    if not math.isnan(case["w"]):
        assert res.u1 == pytest.approx(case["w"])  # R's W is U of the first sample
        assert res.u == pytest.approx(min(case["w"], res.n1 * res.n2 - case["w"]))
    if not math.isnan(case["z"]):
        # coin orders the factor levels x, y and reports the statistic of x: same sign as ours.
        assert res.z == pytest.approx(case["z"], rel=1e-9)


def test_mann_whitney_by_hand():
    x, y = [1, 2, 2, 5], [2, 3, 4]
    # pooled ranks: 1 -> 1; the three 2s -> 3; 3 -> 5; 4 -> 6; 5 -> 7. R1 = 1 + 3 + 3 + 7 = 14.
    u1 = 14 - 4 * 5 / 2  # 4
    var = 4 * 3 / 12 * ((7 + 1) - (3**3 - 3) / (7 * 6))
    z = (u1 - 6) / math.sqrt(var)
    res = mann_whitney(x, y)
    assert (res.u1, res.u) == (4.0, 4.0)
    assert res.z == pytest.approx(z)
    assert res.r == pytest.approx(abs(z) / math.sqrt(7))


def test_mann_whitney_missing_counted_and_all_equal_documented():
    res = mann_whitney([1, np.nan, 1], pd.Series([1, 1, None]))
    assert (res.n1, res.n2, res.n_missing_x, res.n_missing_y) == (2, 2, 1, 1)
    assert (res.z, res.p) == (0.0, 1.0) and res.reason


def test_mann_whitney_empty_group_raises():
    with pytest.raises(InsufficientDataError, match="n2 = 0"):
        mann_whitney([1, 2], [np.nan])


TABLES = records("tables_r.csv")


def _table(case: dict) -> np.ndarray:
    cells = np.array([int(v) for v in case["cells"].split()])
    return cells.reshape(int(case["nrow"]), -1)


@pytest.mark.parametrize("case", TABLES, ids=lambda c: c["dataset"])
def test_tables_match_r(case):
    """R: chisq.test(t, correct=FALSE) and fisher.test(t) (incl. r x c)."""
    table = _table(case)
    pearson = compare_categorical(table, test="pearson")
    assert pearson.statistic == pytest.approx(case["chi2"], rel=1e-10)
    assert pearson.p == pytest.approx(case["chi2_p"], rel=1e-9)
    assert pearson.dof == case["dof"]
    assert pearson.min_expected == pytest.approx(case["min_expected"])
    fisher = compare_categorical(table, test="fisher")
    assert fisher.test == "fisher"
    assert fisher.p == pytest.approx(case["fisher_p"], rel=1e-9)
    auto = compare_categorical(table)
    assert auto.test == ("fisher" if case["min_expected"] < 5 else "pearson")
    assert auto.chi2 == pytest.approx(case["chi2"], rel=1e-10)


def test_pearson_by_hand_no_yates():
    # [[10, 20], [20, 10]]: every expected 15; chi2 = 4 * 25 / 15.
    res = compare_categorical([[10, 20], [20, 10]])
    assert res.test == "pearson"
    assert res.statistic == pytest.approx(100 / 15)


def test_fisher_2x2_by_hand_hypergeometric():
    # [[3, 0], [0, 3]]: P(observed) = 1/20; two-sided = P(x=3) + P(x=0) = 2/20.
    assert fisher_exact_rxc(np.array([[3, 0], [0, 3]])) == pytest.approx(0.1)


def test_empty_rows_dropped_and_noted():
    res = compare_categorical(pd.DataFrame([[4, 6], [0, 0], [3, 9]]))
    assert res.table == [[4, 6], [3, 9]] and "empty row" in res.reason


@pytest.mark.parametrize(
    ("table", "error"),
    [([[1, 2, 3]], InsufficientDataError), ([[1, -1], [2, 2]], DataValidationError),
     ([[1.5, 1], [2, 2]], DataValidationError), ([1, 2, 3], DataValidationError),
     ([[0, 0], [0, 5]], InsufficientDataError)],
)
def test_bad_tables(table, error):
    with pytest.raises(error):
        compare_categorical(table)


def test_result_json_safe():
    import json

    payload = compare_categorical([[3, 1], [1, 3]]).to_dict()
    assert json.loads(json.dumps(payload, allow_nan=False)) == payload  # raises on NaN; tuples would not round-trip
    assert payload["n"] == 8


def test_fisher_too_large_table_has_clear_error(monkeypatch):
    import ipafstudy.stats.groups as groups

    monkeypatch.setattr(groups, "MAX_FISHER_TABLES", 10)
    with pytest.raises(InsufficientDataError, match="test='pearson'"):
        compare_categorical([[8, 6, 2], [10, 5, 3], [4, 6, 4]], test="fisher")


def test_mann_whitney_ties_values_equal_as_written_numbers():
    # 0.1 + 0.2 is stored as 0.30000000000000004. Decimal ties (default): pooled 0.3, 1, 0.3, 2 ->
    # ranks 1.5, 3, 1.5, 4; R1 = 4.5, U1 = 4.5 - 3 = 1.5. Exact doubles: x ranks 2, 3 -> U1 = 2.
    assert mann_whitney([0.1 + 0.2, 1.0], [0.3, 2.0]).u1 == 1.5
    assert mann_whitney([0.1 + 0.2, 1.0], [0.3, 2.0], tie_decimals=None).u1 == 2.0
