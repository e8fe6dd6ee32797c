"""Kruskal-Wallis and pairwise (Holm-adjusted) Mann-Whitney / categorical tests against R and by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ipafstudy.errors import DataValidationError, InsufficientDataError, StatisticalWarning
from ipafstudy.stats import (
    compare_categorical,
    kruskal_wallis,
    mann_whitney,
    pairwise_categorical,
    pairwise_mann_whitney,
)
from ipafstudy.stats import groups as groups_module

from .conftest import read_ref, records

_DATA = read_ref("groups_k_data.csv")
SAMPLES: dict[str, dict[str, np.ndarray]] = {
    name: {g: part.loc[part["group"] == g, "value"].to_numpy(dtype=float) for g in dict.fromkeys(part["group"])}
    for name, part in _DATA.groupby("dataset", sort=False)
}
R_KW = records("kruskal_r.csv")
R_PW = records("pairwise_wilcox_r.csv")
R_TABLES = records("pairwise_tables_r.csv")


@pytest.mark.parametrize("case", [c for c in R_KW if c["dataset"] != "all_equal"], ids=lambda c: c["dataset"])
def test_kruskal_wallis_matches_r(case):
    """R: kruskal.test(value ~ group) (and coin::kruskal_test, same statistic)."""
    res = kruskal_wallis(SAMPLES[case["dataset"]])
    assert res.h == pytest.approx(case["h"], rel=1e-10)
    assert res.h == pytest.approx(case["coin_h"], rel=1e-10)
    assert res.dof == case["dof"]
    assert res.p == pytest.approx(case["p"], rel=1e-10)


def test_kruskal_wallis_by_hand_with_ties():
    # pooled: a = 1, 2, 2; b = 2, 3; c = 4, 4. Ranks: 1 -> 1; the three 2s -> 3; 3 -> 5; the two 4s -> 6.5.
    res = kruskal_wallis({"a": [1, 2, 2], "b": [2, 3], "c": [4, 4]})
    big_n = 7
    h0 = 12 / (big_n * (big_n + 1)) * ((1 + 3 + 3) ** 2 / 3 + (3 + 5) ** 2 / 2 + 13**2 / 2) - 3 * (big_n + 1)
    c = 1 - ((3**3 - 3) + (2**3 - 2)) / (big_n**3 - big_n)
    assert res.h_uncorrected == pytest.approx(h0, rel=1e-12)
    assert res.tie_correction == pytest.approx(c, rel=1e-12)
    assert res.h == pytest.approx(h0 / c, rel=1e-12)
    assert res.mean_ranks == pytest.approx((7 / 3, 4.0, 6.5))
    assert res.groups == ("a", "b", "c") and res.n_per_group == (3, 2, 2)


def test_kruskal_wallis_two_groups_equals_mann_whitney_z_squared():
    s = SAMPLES["two_groups"]
    kw, mw = kruskal_wallis(s), mann_whitney(s["a"], s["b"])
    assert kw.h == pytest.approx(mw.z**2, rel=1e-12)
    assert kw.p == pytest.approx(mw.p, rel=1e-10)


def test_kruskal_wallis_missing_counted_and_empty_group_kept_with_n0():
    res = kruskal_wallis(SAMPLES["missing"])
    assert res.n_missing == (2, 1, 1) and res.n_per_group == (5, 5, 3) and res.n == 13
    empty = kruskal_wallis(SAMPLES["empty_level"])
    assert empty.n_per_group == (4, 4, 0) and empty.dof == 1 and math.isnan(empty.mean_ranks[2])
    assert "c have no value" in empty.reason


def test_kruskal_wallis_all_equal_is_h0_p1_with_reason():
    res = kruskal_wallis(SAMPLES["all_equal"])
    assert (res.h, res.p, res.dof) == (0.0, 1.0, 2)
    assert "all values are equal" in res.reason


def test_kruskal_wallis_fewer_than_two_groups_with_data_raises():
    with pytest.raises(InsufficientDataError, match=r"at least two groups need a non-missing value.*b n = 0"):
        kruskal_wallis({"a": [1, 2], "b": [np.nan]})
    with pytest.raises(InsufficientDataError, match="got 1 of 1"):
        kruskal_wallis([[1, 2, 3]])


def test_kruskal_wallis_sequence_input_and_bad_values():
    res = kruskal_wallis([[1, 2], pd.Series([3, None]), np.array([4.0, 5.0])])
    assert res.groups == ("1", "2", "3") and res.n_missing == (0, 1, 0)
    with pytest.raises(DataValidationError, match="group 'b' must be numeric"):
        kruskal_wallis({"a": [1, 2], "b": ["x"]})
    with pytest.raises(DataValidationError, match="not a DataFrame"):
        kruskal_wallis(pd.DataFrame({"a": [1, 2]}))


def test_kruskal_wallis_tie_decimals():
    # 0.1 + 0.2 != 0.3 in binary: with the default 10 decimals they tie, with None (R) they do not.
    groups = {"a": [0.1 + 0.2, 1.0], "b": [0.3, 2.0], "c": [5.0, 6.0]}
    tied, raw = kruskal_wallis(groups), kruskal_wallis(groups, tie_decimals=None)
    assert tied.tie_correction < 1 and raw.tie_correction == 1
    assert tied.settings.tie_decimals == 10 and raw.settings.tie_decimals is None


def _pairs(dataset: str) -> list[dict]:
    return [c for c in R_PW if c["dataset"] == dataset]


@pytest.mark.parametrize("dataset", sorted({c["dataset"] for c in R_PW}))
def test_pairwise_mann_whitney_matches_r_holm(dataset):
    """R: pairwise.wilcox.test(value, group, p.adjust.method='holm', exact=FALSE, correct=FALSE)."""
    res = pairwise_mann_whitney(SAMPLES[dataset])
    for case in _pairs(dataset):
        pair = res.pair(case["group1"], case["group2"])
        assert pair.p == pytest.approx(case["p"], rel=1e-10)
        assert pair.p_adjusted == pytest.approx(case["p_holm"], rel=1e-10)
    assert res.n_tests == len(_pairs(dataset))


def test_pairwise_mann_whitney_empty_group_not_counted():
    res = pairwise_mann_whitney(SAMPLES["empty_level"])
    assert [(c.group1, c.group2) for c in res.comparisons] == [("a", "b"), ("a", "c"), ("b", "c")]
    assert res.n_tests == 1
    assert math.isnan(res.pair("a", "c").p) and math.isnan(res.pair("c", "b").p_adjusted)
    assert "n2 = 0" in res.pair("a", "c").reason


def test_pairwise_mann_whitney_by_hand_holm_and_options():
    groups = SAMPLES["no_ties4"]
    raw = [mann_whitney(groups[a], groups[b]).p for a, b in (("a", "b"), ("a", "c"), ("a", "d"),
                                                             ("b", "c"), ("b", "d"), ("c", "d"))]
    order = np.argsort(raw)
    holm = np.empty(6)
    running = 0.0
    for rank, i in enumerate(order):  # Holm step-down worked out: (m - rank) p, made monotone, capped at 1
        running = max(running, min(1.0, (6 - rank) * raw[i]))
        holm[i] = running
    res = pairwise_mann_whitney(groups)
    assert [c.p_adjusted for c in res.comparisons] == pytest.approx(holm.tolist(), rel=1e-12)
    assert res.comparisons[0].statistic == mann_whitney(groups["a"], groups["b"]).u1
    bh = pairwise_mann_whitney(groups, adjust="bh", continuity=True)
    assert bh.adjust == "bh" and bh.settings.continuity is True
    assert bh.comparisons[0].p == pytest.approx(mann_whitney(groups["a"], groups["b"], continuity=True).p)


def _table(case: dict) -> np.ndarray:
    return np.array([int(v) for v in case["cells"].split()]).reshape(int(case["nrow"]), -1)


@pytest.mark.parametrize("dataset", sorted({c["dataset"] for c in R_TABLES}))
def test_pairwise_categorical_matches_r_holm(dataset):
    """R: per pair of rows chisq.test(correct=FALSE) or fisher.test (expected < 5), then p.adjust('holm')."""
    cases = [c for c in R_TABLES if c["dataset"] == dataset]
    res = pairwise_categorical(_table(cases[0]))
    for case in cases:
        pair = res.pair(str(case["group1"]), str(case["group2"]))
        if isinstance(case["test"], float) and math.isnan(case["test"]):
            assert math.isnan(pair.p) and math.isnan(pair.p_adjusted) and pair.reason
            continue
        assert pair.test == case["test"]
        assert pair.p == pytest.approx(case["p"], rel=1e-9)  # Fisher: enumeration sums, R to ~1e-12
        assert pair.p_adjusted == pytest.approx(case["p_holm"], rel=1e-9)
        if pair.test == "pearson":
            assert pair.statistic == pytest.approx(case["chi2"], rel=1e-10)
            assert pair.p == pytest.approx(case["chi2_p"], rel=1e-10)


def test_pairwise_categorical_labels_from_dataframe_index_and_options():
    table = pd.DataFrame([[12, 18], [30, 5], [20, 15]], index=["MSA", "MAA", "none"], columns=["yes", "no"])
    res = pairwise_categorical(table, test="fisher")
    assert [(c.group1, c.group2) for c in res.comparisons] == [("MSA", "MAA"), ("MSA", "none"), ("MAA", "none")]
    assert {c.test for c in res.comparisons} == {"fisher"} and res.settings.test == "fisher"
    assert res.pair("MAA", "MSA").p == pytest.approx(compare_categorical([[12, 18], [30, 5]], test="fisher").p)
    with pytest.raises(DataValidationError, match="2-D"):
        pairwise_categorical([1, 2, 3])
    with pytest.raises(KeyError, match="'MSA' with 'other'"):
        res.pair("MSA", "other")


def test_compare_categorical_auto_falls_back_to_pearson_when_fisher_too_large(monkeypatch):
    table = [[5, 10, 3], [8, 2, 6], [3, 7, 4]]  # expected counts < 5: "auto" picks Fisher
    assert compare_categorical(table).test == "fisher"
    monkeypatch.setattr(groups_module, "MAX_FISHER_TABLES", 3)
    with pytest.warns(StatisticalWarning, match="too large to enumerate"):
        res = compare_categorical(table)
    assert res.test == "pearson" and "p-value may be inaccurate" in res.reason
    assert res.p == pytest.approx(res.chi2_p) and math.isnan(res.fisher_p)
    with pytest.raises(InsufficientDataError, match="too large"):
        compare_categorical(table, test="fisher")  # a forced Fisher still raises


def test_pairwise_all_equal_pair_is_p1_and_counted_in_holm():
    # b and c hold only 5s: mann_whitney reports p = 1 (R: NaN, left out of p.adjust); the pair stays in m = 3.
    groups = {"a": [1.0, 2.0, 3.0, 4.0], "b": [5.0, 5.0], "c": [5.0, 5.0, 5.0]}
    res = pairwise_mann_whitney(groups)
    bc = res.pair("b", "c")
    assert (bc.p, bc.p_adjusted) == (1.0, 1.0) and "all values are equal" in bc.reason
    assert res.n_tests == 3
    raw_ab = mann_whitney(groups["a"], groups["b"]).p
    raw_ac = mann_whitney(groups["a"], groups["c"]).p
    smaller, larger = sorted([raw_ab, raw_ac])
    assert min(res.pair("a", "b").p_adjusted, res.pair("a", "c").p_adjusted) == pytest.approx(3 * smaller)
    assert max(res.pair("a", "b").p_adjusted, res.pair("a", "c").p_adjusted) == pytest.approx(
        max(3 * smaller, 2 * larger))
