"""Paired before/after comparison: Wilcoxon signed-rank test and Hodges-Lehmann estimate.

Defaults reproduce SPSS (zeros dropped, average ranks, tie-corrected normal approximation, no
continuity correction, two-sided); R ``wilcox.test``, coin and exact tests are options, and
every result echoes the options it used. Differences are ``after - before``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

from ipafstudy.conventions import (
    DEFAULT_CONFIDENCE,
    DEFAULT_CONTINUITY,
    DEFAULT_EFFECT_SIZE_N,
    DEFAULT_TIE_DECIMALS,
    DEFAULT_WILCOXON_METHOD,
    DEFAULT_ZERO_METHOD,
    EFFECT_SIZE_NS,
    WILCOXON_METHODS,
    ZERO_METHODS,
    EffectSizeN,
    WilcoxonMethod,
    ZeroMethod,
)
from ipafstudy.errors import InsufficientDataError, check_option
from ipafstudy.stats._base import ResultMixin, check_confidence, pair_values, tie_values
from ipafstudy.stats._exact import signed_rank_pmf, two_sided_p

#: ``method="auto"`` uses the exact distribution up to this many non-zero differences (when none tie).
AUTO_EXACT_MAX_NONZERO = 25
#: Below this many non-zero differences no two-sided p can reach 0.05: the smallest is 2 / 2**n (n = 5: 0.0625).
FEW_NONZERO_PAIRS = 6
MAX_EXACT_HL_N = 300
ALL_ZERO_REASON = (
    "all paired differences are zero: no change to test; reported as z = 0, p = 1 "
    "(SPSS prints p = 1.000; R wilcox.test returns NaN)"
)


@dataclass(frozen=True, slots=True)
class WilcoxonSettings(ResultMixin):
    """Options actually used."""

    zero_method: str
    continuity: bool
    method: str
    effect_size_n: str
    tie_decimals: int | None = DEFAULT_TIE_DECIMALS
    alternative: str = "two-sided"
    difference: str = "after - before"


@dataclass(frozen=True, slots=True)
class WilcoxonResult(ResultMixin):
    """Wilcoxon signed-rank test.

    ``z`` is signed: positive when after tends to exceed before (SPSS shows the same |z|).
    ``r = |z| / sqrt(N)`` with N chosen by ``settings.effect_size_n``; ``rank_biserial`` is the
    matched-pairs rank-biserial correlation (W+ - W-) / (W+ + W-). ``reason`` is non-empty when
    a convention had to be applied (all differences zero).
    """

    n_pairs: int
    n_nonzero: int
    n_increased: int
    n_decreased: int
    n_unchanged: int
    n_excluded: int
    w_plus: float
    w_minus: float
    z: float
    p: float
    r: float
    rank_biserial: float
    settings: WilcoxonSettings
    reason: str = ""
    method_used: str = "asymptotic"
    min_attainable_p: float = 1.0


def _auto_method(abs_nonzero: np.ndarray) -> str:
    """``exact`` when no two non-zero |differences| tie and there are at most 25 of them, else ``asymptotic``."""
    no_ties = np.unique(abs_nonzero).size == abs_nonzero.size
    return "exact" if no_ties and abs_nonzero.size <= AUTO_EXACT_MAX_NONZERO else "asymptotic"


def wilcoxon_signed_rank(
    before: Any,
    after: Any,
    *,
    zero_method: ZeroMethod = DEFAULT_ZERO_METHOD,
    continuity: bool = DEFAULT_CONTINUITY,
    method: WilcoxonMethod = DEFAULT_WILCOXON_METHOD,
    effect_size_n: EffectSizeN = DEFAULT_EFFECT_SIZE_N,
    tie_decimals: int | None = DEFAULT_TIE_DECIMALS,
) -> WilcoxonResult:
    """Wilcoxon signed-rank test of ``after - before``.

    Parameters
    ----------
    before, after
        Two pandas Series paired BY INDEX (patient id, any order) or two equal-length arrays
        paired by position. Patients missing either side are dropped and counted (``n_excluded``).
    zero_method : {"wilcox", "pratt"}
        ``wilcox`` (SPSS, R): drop zero differences before ranking. ``pratt`` (coin, rstatix):
        rank zeros with the others, then drop their ranks.
    continuity : bool
        Subtract 0.5 from |W+ - E(W+)| (R ``wilcox.test(correct=TRUE)``). Default False (SPSS).
    method : {"asymptotic", "exact", "auto"}
        ``exact`` uses the exact permutation distribution of W+ given the observed ranks (ties and
        Pratt zeros included, as coin ``distribution="exact"``); without ties it is the classical
        table used by R ``wilcox.test(exact=TRUE)``. ``auto`` is exact when no two non-zero
        |differences| tie and there are at most 25 of them, else asymptotic; ``method_used`` says which
        was applied. z and r always come from the normal formula.
    effect_size_n : {"pairs", "nonzero", "observations"}
        N in r = |z| / sqrt(N): all analysed pairs (default), non-zero pairs, or 2 x pairs.
    tie_decimals : int or None
        Differences equal to this many decimal places are ties, and a difference that rounds to 0 is
        a zero (default 10: removes floating-point noise such as 1.04 - 1.98 vs 0.68 - 1.62). None
        compares exact doubles, as R ``wilcox.test`` (``digits.rank = Inf``).

    Notes
    -----
    z = (W+ - E) / sqrt(V), with E = sum(ranks) / 2 and V = sum(ranks**2) / 4 over the ranks that
    carry a sign. For ``wilcox`` this equals n(n+1)/4 and n(n+1)(2n+1)/24 - sum(t^3 - t)/48.
    When every difference is zero there is nothing to rank: the result is z = 0, p = 1, r = 0
    with ``reason`` set (SPSS prints p = 1.000; R returns NaN) so tables stay complete and the
    reader is told why (``method_used = "none"``). ``min_attainable_p`` = 2 / 2**n_nonzero is the
    smallest two-sided exact p any data with this many non-zero differences can give (all signs
    equal); below :data:`FEW_NONZERO_PAIRS` it exceeds 0.05, so no change can be shown.

    >>> res = wilcoxon_signed_rank([1, 2, 3, 4, 5], [2, 4, 3, 7, 9])
    >>> res.n_nonzero, res.w_plus, round(res.p, 4)
    (4, 10.0, 0.0679)
    """
    caller = "wilcoxon_signed_rank"
    check_option(caller, "zero_method", zero_method, ZERO_METHODS)
    check_option(caller, "continuity", continuity, (True, False))
    check_option(caller, "method", method, WILCOXON_METHODS)
    check_option(caller, "effect_size_n", effect_size_n, EFFECT_SIZE_NS)
    b, a, n_excluded = pair_values(before, after, caller=caller)
    d = tie_values(a - b, tie_decimals, caller=caller)
    settings = WilcoxonSettings(zero_method, bool(continuity), method, effect_size_n, tie_decimals)
    n_pairs = int(d.size)
    if n_pairs == 0:
        raise InsufficientDataError(
            f"{caller}(): no patient has both a before and an after value ({n_excluded} excluded for a missing side); "
            "if both sides hold values, check that the patient ids match (e.g. 'P01' vs 1)"
        )
    nonzero = d != 0
    n_nonzero = int(nonzero.sum())
    n_inc, n_dec = int((d > 0).sum()), int((d < 0).sum())
    n_unchanged = n_pairs - n_nonzero
    if n_nonzero == 0:
        return WilcoxonResult(
            n_pairs, 0, 0, 0, n_unchanged, n_excluded, 0.0, 0.0, 0.0, 1.0, 0.0, math.nan, settings, ALL_ZERO_REASON,
            "none", 1.0,
        )
    if zero_method == "wilcox":
        ranks = sps.rankdata(np.abs(d[nonzero]), method="average")
        signs = np.sign(d[nonzero])
    else:
        all_ranks = sps.rankdata(np.abs(d), method="average")
        ranks = all_ranks[nonzero]
        signs = np.sign(d[nonzero])
    w_plus = float(ranks[signs > 0].sum())
    w_minus = float(ranks[signs < 0].sum())
    mean = float(ranks.sum()) / 2.0
    var = float(np.sum(ranks**2)) / 4.0
    dev = w_plus - mean
    if continuity:
        dev = math.copysign(max(abs(dev) - 0.5, 0.0), dev) if dev != 0 else 0.0
    z = dev / math.sqrt(var)
    used = _auto_method(np.abs(d[nonzero])) if method == "auto" else method
    if used == "exact":
        support, probs = signed_rank_pmf(ranks)
        p = two_sided_p(support, probs, w_plus)
    else:
        p = float(min(1.0, 2.0 * sps.norm.sf(abs(z))))
    n_for_r = {"pairs": n_pairs, "nonzero": n_nonzero, "observations": 2 * n_pairs}[effect_size_n]
    r = abs(z) / math.sqrt(n_for_r)
    rank_biserial = (w_plus - w_minus) / (w_plus + w_minus)
    return WilcoxonResult(
        n_pairs, n_nonzero, n_inc, n_dec, n_unchanged, n_excluded, w_plus, w_minus, z, p, r, rank_biserial, settings,
        "", used, min(1.0, 2.0 * 0.5**n_nonzero),
    )


@dataclass(frozen=True, slots=True)
class HodgesLehmannResult(ResultMixin):
    """Hodges-Lehmann estimate (median of Walsh averages) and its distribution-free CI."""

    estimate: float
    ci_low: float
    ci_high: float
    n: int
    n_excluded: int
    confidence: float
    achieved_confidence: float
    reason: str = ""


def hodges_lehmann(before: Any, after: Any, confidence: float = DEFAULT_CONFIDENCE) -> HodgesLehmannResult:
    """Hodges-Lehmann pseudo-median of ``after - before`` with the Wilcoxon (Walsh average) CI.

    All differences, zeros included, form the n(n+1)/2 Walsh averages (d_i + d_j)/2, i <= j
    (Hollander & Wolfe). The CI is [W_(k), W_(M+1-k)] with k from the exact signed-rank
    distribution without ties (R ``wilcox.test(conf.int=TRUE, exact=TRUE)`` on tie- and
    zero-free data); ``achieved_confidence`` is the exact coverage of that interval.

    >>> hodges_lehmann([0, 0, 0], [1, 2, 4]).estimate  # Walsh averages 1, 1.5, 2, 2.5, 3, 4
    2.25
    """
    caller = "hodges_lehmann"
    conf = check_confidence(caller, confidence)
    b, a, n_excluded = pair_values(before, after, caller=caller)
    d = np.sort(a - b)
    n = int(d.size)
    if n == 0:
        raise InsufficientDataError(f"{caller}(): no complete before/after pairs ({n_excluded} excluded)")
    i, j = np.triu_indices(n)
    walsh = np.sort((d[i] + d[j]) / 2.0)
    estimate = float(np.median(walsh))
    alpha = 1.0 - conf
    m = walsh.size
    reason = ""
    if n > MAX_EXACT_HL_N:
        # Normal approximation to the signed-rank distribution (exact counting would be slow).
        mean, sd = n * (n + 1) / 4.0, math.sqrt(n * (n + 1) * (2 * n + 1) / 24.0)
        k = max(1, math.floor(mean - sps.norm.ppf(1 - alpha / 2) * sd))
        achieved = 1.0 - 2.0 * float(sps.norm.cdf((k - 1 + 0.5 - mean) / sd))
        reason = f"n = {n} > {MAX_EXACT_HL_N}: interval ranks from the normal approximation"
    else:
        support, probs = signed_rank_pmf(np.arange(1, n + 1, dtype=float))
        cdf = np.cumsum(probs)
        # k = largest count with P(W+ <= k - 1) <= alpha/2 (R: qu <- qsignrank(alpha/2, n), qu >= 1).
        below = support[cdf <= alpha / 2 + 1e-12]
        k = int(below.max()) + 1 if below.size else 0
        if k < 1:
            k = 1
            reason = (
                f"n = {n} is too small for {conf:.0%} coverage; the widest interval (min to max) is given, as R does"
            )
        achieved = 1.0 - 2.0 * float(probs[support <= k - 1].sum())
    return HodgesLehmannResult(
        estimate, float(walsh[k - 1]), float(walsh[m - k]), n, n_excluded, conf, achieved, reason
    )


# (label, program equivalent, zero_method, continuity, method)
CONVENTIONS = (
    ("spss", "SPSS / Prism: zeros dropped, tie-corrected normal, no continuity", "wilcox", False, "asymptotic"),
    ("r_default", "R wilcox.test(paired=TRUE, exact=FALSE) (correct=TRUE), pingouin", "wilcox", True, "asymptotic"),
    ("coin_pratt", "coin::wilcoxsign_test(zero.method='Pratt'), rstatix", "pratt", False, "asymptotic"),
    ("exact", "coin::wilcoxsign_test(distribution='exact'); R exact=TRUE without ties", "wilcox", False, "exact"),
    ("exact_pratt", "coin::wilcoxsign_test(zero.method='Pratt', distribution='exact')", "pratt", False, "exact"),
)


@dataclass(frozen=True, slots=True)
class ConventionsResult(ResultMixin):
    """The same paired test under each program's convention, so disagreements can be explained."""

    rows: list

    def to_frame(self) -> Any:
        """One row per convention: convention, equivalent, zero_method, continuity, method, w_plus, z, p."""
        import pandas as pd

        return pd.DataFrame(self.rows)


def wilcoxon_conventions(before: Any, after: Any) -> ConventionsResult:
    """Wilcoxon signed-rank p under SPSS, R default, coin/Pratt and exact conventions side by side.

    >>> table = wilcoxon_conventions([5, 5, 5, 5, 5], [4, 5, 2, 1, 3]).to_frame()
    >>> list(table["convention"])
    ['spss', 'r_default', 'coin_pratt', 'exact', 'exact_pratt']
    """
    rows = []
    for label, equivalent, zero_method, continuity, method in CONVENTIONS:
        try:
            res = wilcoxon_signed_rank(before, after, zero_method=zero_method, continuity=continuity, method=method)
            z, p, w_plus, reason = res.z, res.p, res.w_plus, res.reason
        except InsufficientDataError as exc:
            z, p, w_plus, reason = math.nan, math.nan, math.nan, str(exc)
        rows.append({"convention": label, "equivalent": equivalent, "zero_method": zero_method,
                     "continuity": continuity, "method": method, "w_plus": w_plus, "z": z, "p": p, "reason": reason})
    return ConventionsResult(rows)
