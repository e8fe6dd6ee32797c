"""Wilcoxon signed-rank and Hodges-Lehmann against R (wilcox.test, coin) and hand-worked formulas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from ipafstudy.errors import DataValidationError, InsufficientDataError, InvalidOptionError
from ipafstudy.stats import hodges_lehmann, wilcoxon_signed_rank

from .conftest import records

R_WILCOXON = records("paired_r.csv")


@pytest.mark.parametrize("case", R_WILCOXON, ids=lambda c: f"{c['dataset']}-{c['call'][:40]}")
def test_wilcoxon_matches_r(case, paired_data):
    """R: wilcox.test(after, before, paired=TRUE, exact=FALSE, correct=..., digits.rank=...) and coin.

    R's default (digits.rank = Inf, and coin) ties only identical doubles: tie_decimals=None. With
    digits.rank = 7 differences equal as written numbers tie: our default tie_decimals.
    """
    before, after = paired_data[case["dataset"]]
    ties = {} if case["ties"] == "decimal" else {"tie_decimals": None}
    res = wilcoxon_signed_rank(
        before, after, zero_method=case["zero_method"].replace("wilcoxon", "wilcox"),
        continuity=bool(case["continuity"]), method=case["method"], **ties,
    )
    if case["dataset"] == "all_zero":
        # Documented deliberate difference: R returns NaN, we report SPSS's z = 0, p = 1 with a reason.
        assert math.isnan(case["p"])
        assert (res.z, res.p, res.n_nonzero) == (0.0, 1.0, 0)
        assert "all paired differences are zero" in res.reason
        return
    assert res.p == pytest.approx(case["p"], rel=1e-9, abs=1e-12)
    if not math.isnan(case["v"]):
        assert res.w_plus == pytest.approx(case["v"])
    if not math.isnan(case["z"]):
        assert res.z == pytest.approx(case["z"], rel=1e-9)


def test_differences_equal_as_written_numbers_are_ties_by_default():
    # 1.98 -> 1.04 and 1.62 -> 0.68 are both -0.94, but the two doubles differ in the last bit.
    before, after = [1.98, 1.62, 3.0], [1.04, 0.68, 1.0]
    assert (1.04 - 1.98) != (0.68 - 1.62)
    # Decimal ties: |d| = 0.94, 0.94, 2 -> ranks 1.5, 1.5, 3 (all negative): W+ = 0, t = 2.
    res = wilcoxon_signed_rank(before, after)
    assert (res.w_plus, res.w_minus) == (0.0, 6.0)
    var = 3 * 4 * 7 / 24 - (2**3 - 2) / 48
    assert res.z == pytest.approx((0 - 3) / math.sqrt(var), rel=1e-12)
    assert res.settings.tie_decimals == 10
    # Exact doubles (R's default): no tie, the variance has no tie correction.
    exact = wilcoxon_signed_rank(before, after, tie_decimals=None)
    assert exact.z == pytest.approx(-3 / math.sqrt(3 * 4 * 7 / 24), rel=1e-12)
    assert exact.settings.tie_decimals is None


def test_floating_point_noise_is_not_a_change():
    # 0.1 + 0.2 is stored as 0.30000000000000004: a patient recorded 0.3 before and after (one value
    # converted from another unit) is unchanged, not "increased".
    res = wilcoxon_signed_rank([0.1 + 0.2, 1.0, 2.0], [0.3, 3.0, 5.0])
    assert (res.n_unchanged, res.n_increased) == (1, 2)
    assert wilcoxon_signed_rank([0.1 + 0.2, 1.0, 2.0], [0.3, 3.0, 5.0], tie_decimals=None).n_decreased == 1


@pytest.mark.parametrize("bad", [-1, 16, 2.5, True, "10"])
def test_tie_decimals_must_be_none_or_0_to_15(bad):
    with pytest.raises(InvalidOptionError, match="tie_decimals"):
        wilcoxon_signed_rank([1, 2, 3], [2, 3, 5], tie_decimals=bad)


def test_wilcoxon_z_by_hand_with_ties_and_zeros():
    """SPSS formula from statistics.md worked step by step on a small case."""
    before = [5, 5, 5, 5, 5, 5, 5, 5]
    after = [3, 5, 7, 4, 6, 2, 4, 5]  # d = -2, 0, 2, -1, 1, -3, -1, 0
    # Non-zero |d|: 2, 2, 1, 1, 3, 1 -> ranks: the three 1s share (1+2+3)/3 = 2, the two 2s (4+5)/2 = 4.5, 3 -> 6.
    # Positive d: +2 (4.5), +1 (2) -> W+ = 6.5; W- = 21 - 6.5 = 14.5; n = 6.
    n = 6
    w_plus = 6.5
    mean = n * (n + 1) / 4  # 10.5
    ties = (3**3 - 3) + (2**3 - 2)  # 24 + 6 = 30
    var = n * (n + 1) * (2 * n + 1) / 24 - ties / 48  # 22.75 - 0.625 = 22.125
    z = (w_plus - mean) / math.sqrt(var)
    p = 2 * (1 - 0.5 * (1 + math.erf(abs(z) / math.sqrt(2))))
    res = wilcoxon_signed_rank(before, after)
    assert (res.n_pairs, res.n_nonzero, res.n_increased, res.n_decreased, res.n_unchanged) == (8, 6, 2, 4, 2)
    assert (res.w_plus, res.w_minus) == (6.5, 14.5)
    assert res.z == pytest.approx(z, rel=1e-12)
    assert res.p == pytest.approx(p, rel=1e-12)
    assert res.r == pytest.approx(abs(z) / math.sqrt(8))
    assert res.rank_biserial == pytest.approx((6.5 - 14.5) / 21)
    assert wilcoxon_signed_rank(before, after, effect_size_n="nonzero").r == pytest.approx(abs(z) / math.sqrt(6))
    assert wilcoxon_signed_rank(before, after, effect_size_n="observations").r == pytest.approx(abs(z) / 4)


def test_wilcoxon_pratt_by_hand():
    """Pratt: zeros take ranks 1..n0 then are dropped (d = 0, 0, 1, -2, 3)."""
    # |d| ranks including zeros: 0,0 -> 1.5 each; 1 -> 3; 2 -> 4; 3 -> 5. Signed: +3, -4, +5.
    res = wilcoxon_signed_rank([0, 0, 0, 0, 0], [0, 0, 1, -2, 3], zero_method="pratt")
    w_plus = 3 + 5
    mean = (3 + 4 + 5) / 2  # E = sum(r)/2
    var = (9 + 16 + 25) / 4  # V = sum(r^2)/4
    assert res.w_plus == w_plus
    assert res.z == pytest.approx((w_plus - mean) / math.sqrt(var))


def test_continuity_correction_by_hand():
    before, after = [0, 0, 0, 0], [1, 2, 3, -4]  # W+ = 6, E = 5, V = 7.5
    res = wilcoxon_signed_rank(before, after, continuity=True)
    assert res.z == pytest.approx((6 - 5 - 0.5) / math.sqrt(7.5))
    assert res.settings.continuity is True


def test_exact_without_ties_is_classical_table():
    """n = 5, all positive: P(W+ = 15) = 1/32, two-sided 1/16 (textbook table)."""
    res = wilcoxon_signed_rank([0] * 5, [1, 2, 3, 4, 5], method="exact")
    assert res.p == pytest.approx(2 / 32)


def test_pairs_by_patient_id_not_order():
    before = pd.Series([10.0, 20.0, 30.0, 40.0], index=["p1", "p2", "p3", "p4"])
    after = pd.Series([44.0, 9.0, 21.0], index=["p4", "p1", "p2"])  # p3 has no follow-up; order shuffled
    res = wilcoxon_signed_rank(before, after)
    # d: p1 = -1, p2 = +1, p4 = +4 -> ranks 1.5, 1.5, 3 -> W+ = 4.5
    assert (res.n_pairs, res.n_excluded, res.w_plus, res.w_minus) == (3, 1, 4.5, 1.5)
    positional = wilcoxon_signed_rank([10.0, 20.0, 40.0], [9.0, 21.0, 44.0])
    assert positional.p == res.p


def test_inputs_not_modified():
    before = pd.Series([1.0, np.nan, 3.0], index=["a", "b", "c"])
    after = pd.Series([2.0, 2.0, 1.0], index=["a", "b", "c"])
    copy_b, copy_a = before.copy(), after.copy()
    wilcoxon_signed_rank(before, after)
    pd.testing.assert_series_equal(before, copy_b)
    pd.testing.assert_series_equal(after, copy_a)


def test_no_pairs_raises():
    with pytest.raises(InsufficientDataError, match="no patient has both"):
        wilcoxon_signed_rank([1.0, np.nan], [np.nan, 2.0])


def test_duplicated_patient_id_raises():
    with pytest.raises(DataValidationError, match="duplicated patient ids"):
        wilcoxon_signed_rank(pd.Series([1, 2], index=["a", "a"]), pd.Series([1, 2], index=["a", "b"]))


def test_mixed_series_and_list_raises():
    with pytest.raises(DataValidationError, match="both"):
        wilcoxon_signed_rank(pd.Series([1, 2]), [1, 2])


def test_unequal_arrays_raise():
    with pytest.raises(DataValidationError, match="paired by position"):
        wilcoxon_signed_rank([1, 2, 3], [1, 2])


def test_non_numeric_value_named():
    with pytest.raises(DataValidationError, match=r"'p2'.*'n/a'"):
        wilcoxon_signed_rank(pd.Series([1, "n/a"], index=["p1", "p2"]), pd.Series([1, 2], index=["p1", "p2"]))


def test_all_zero_documented_and_json_safe():
    res = wilcoxon_signed_rank([1, 2, 3], [1, 2, 3])
    d = res.to_dict()
    assert d["p"] == 1.0 and d["z"] == 0.0 and d["reason"]
    assert d["settings"]["zero_method"] == "wilcox"


def test_deterministic_and_scipy_agrees_when_all_options_explicit():
    rng = np.random.default_rng(7)
    b, a = rng.normal(size=30), rng.normal(size=30)
    res = wilcoxon_signed_rank(b, a)
    ref = sps.wilcoxon(a - b, zero_method="wilcox", correction=False, alternative="two-sided", method="approx")
    assert res.p == pytest.approx(ref.pvalue, rel=1e-10)


HL = records("hodges_lehmann_r.csv")


@pytest.mark.parametrize("case", HL, ids=lambda c: f"{c['dataset']}-{c['confidence']}")
def test_hodges_lehmann_matches_r(case, paired_data):
    """R: wilcox.test(after, before, paired=TRUE, exact=TRUE, conf.int=TRUE, conf.level=...)."""
    before, after = paired_data[case["dataset"]]
    res = hodges_lehmann(before, after, confidence=case["confidence"])
    assert res.estimate == pytest.approx(case["estimate"], rel=1e-12)
    assert res.ci_low == pytest.approx(case["ci_low"], rel=1e-12)
    assert res.ci_high == pytest.approx(case["ci_high"], rel=1e-12)
    assert res.achieved_confidence >= case["confidence"]


def test_hodges_lehmann_by_hand():
    # d = 1, 2, 4 -> Walsh averages 1, 1.5, 2.5, 2, 3, 4 -> median 2.25; n = 3 cannot reach 95 %: min..max.
    res = hodges_lehmann([0, 0, 0], [1, 2, 4])
    assert res.estimate == 2.25
    assert (res.ci_low, res.ci_high) == (1.0, 4.0)
    assert res.achieved_confidence == pytest.approx(0.75)  # 1 - 2 * P(W+ <= 0) = 1 - 2/8
    assert "too small" in res.reason


def test_hodges_lehmann_large_n_normal_ranks_close_to_exact():
    rng = np.random.default_rng(5)
    b = rng.normal(size=301)
    a = b + rng.normal(0.3, 1.0, size=301)
    approx = hodges_lehmann(b, a)
    exact = hodges_lehmann(b[:300], a[:300])
    assert "normal approximation" in approx.reason and exact.reason == ""
    assert approx.achieved_confidence == pytest.approx(0.95, abs=0.002)
    assert exact.achieved_confidence == pytest.approx(0.95, abs=0.002)


def test_conventions_table_matches_r_rows(paired_data):
    """Each row equals the R/coin value recorded for that convention in paired_r.csv."""
    from ipafstudy.stats import wilcoxon_conventions

    before, after = paired_data["ties_zeros"]
    table = wilcoxon_conventions(before, after).to_frame().set_index("convention")
    ref = {(c["call"].split("(")[0], c["zero_method"], c["continuity"], c["method"]): c["p"] for c in R_WILCOXON
           if c["dataset"] == "ties_zeros"}
    assert table.loc["spss", "p"] == pytest.approx(ref[("wilcox.test", "wilcox", False, "asymptotic")], rel=1e-9)
    assert table.loc["r_default", "p"] == pytest.approx(ref[("wilcox.test", "wilcox", True, "asymptotic")], rel=1e-9)
    pratt = ref[("coin::wilcoxsign_test", "pratt", False, "asymptotic")]
    assert table.loc["coin_pratt", "p"] == pytest.approx(pratt, rel=1e-9)
    assert table.loc["exact", "p"] == pytest.approx(ref[("coin::wilcoxsign_test", "wilcoxon", False, "exact")])
    assert table.loc["exact_pratt", "p"] == pytest.approx(ref[("coin::wilcoxsign_test", "pratt", False, "exact")])


def test_conventions_no_pairs_gives_reasons():
    from ipafstudy.stats import wilcoxon_conventions

    rows = wilcoxon_conventions([np.nan], [1.0]).rows
    assert all(math.isnan(r["p"]) and "no patient" in r["reason"] for r in rows)


def test_auto_is_exact_without_ties_up_to_25_nonzero():
    # 5 positive differences 1..5, no ties: exact two-sided p = 2 / 2**5 = 0.0625 (all signs +).
    # The normal approximation would give z = (15 - 7.5) / sqrt(55 / 4) = 2.0226, p = 0.0431.
    res = wilcoxon_signed_rank([0] * 5, [1, 2, 3, 4, 5], method="auto")
    assert res.method_used == "exact"
    assert res.settings.method == "auto"
    assert res.p == pytest.approx(0.0625, abs=1e-12)
    assert res.min_attainable_p == pytest.approx(0.0625, abs=1e-15)
    n25 = wilcoxon_signed_rank([0] * 25, list(range(1, 26)), method="auto")
    assert n25.method_used == "exact"
    assert n25.p == pytest.approx(2 * 0.5**25, rel=1e-9)


def test_auto_is_asymptotic_with_ties_or_more_than_25_nonzero():
    from scipy.stats import norm

    tied = wilcoxon_signed_rank([0] * 5, [1, 1, 2, 3, 4], method="auto")
    assert tied.method_used == "asymptotic"
    # ranks 1.5, 1.5, 3, 4, 5 all positive: W+ = 15, E = 7.5, V = sum(r^2)/4 = 54.5/4
    z = (15 - 7.5) / math.sqrt(54.5 / 4)
    assert tied.p == pytest.approx(2 * norm.sf(z), rel=1e-12)
    n26 = wilcoxon_signed_rank([0] * 26, list(range(1, 27)), method="auto")
    assert n26.method_used == "asymptotic"
    z26 = (351 - 26 * 27 / 4) / math.sqrt(26 * 27 * 53 / 24)
    assert n26.p == pytest.approx(2 * norm.sf(z26), rel=1e-12)


def test_zero_differences_do_not_block_auto_exact():
    # zeros are dropped before ranking (SPSS); the 3 non-zero differences 1, 2, 3 do not tie.
    res = wilcoxon_signed_rank([0, 0, 0, 0], [0, 1, 2, -3], method="auto")
    assert (res.method_used, res.n_nonzero) == ("exact", 3)
    # W+ = 3, W- = 3: |W+ - 3| = 0, every outcome is at least as extreme: p = 1
    assert res.p == pytest.approx(1.0)


def test_method_used_and_min_attainable_p_recorded():
    asym = wilcoxon_signed_rank([0, 0, 0], [1, 2, 0])
    assert asym.method_used == "asymptotic" and asym.min_attainable_p == pytest.approx(0.5)
    none = wilcoxon_signed_rank([1, 2], [1, 2], method="auto")
    assert none.method_used == "none" and none.min_attainable_p == 1.0
    assert wilcoxon_signed_rank([0] * 3, [1, 2, 3], method="exact").to_dict()["method_used"] == "exact"


def test_unknown_method_named():
    with pytest.raises(InvalidOptionError, match="method"):
        wilcoxon_signed_rank([0, 1], [1, 3], method="automatic")
