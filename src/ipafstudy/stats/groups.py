"""Independent groups: Mann-Whitney U, Kruskal-Wallis, chi-square / Fisher's exact test, pairwise follow-ups.

SPSS conventions by default (normal approximation with tie correction, no continuity
correction; Pearson chi-square without Yates unless an expected count is below 5, then
Fisher). R's choices are options, and each result names the test and options it used.
Two groups: ``mann_whitney``; two or more: ``kruskal_wallis``; any r x c table: ``compare_categorical``;
after an overall test of 3+ groups: ``pairwise_mann_whitney`` / ``pairwise_categorical`` (Holm by default).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps
from scipy.special import gammaln

from ipafstudy.conventions import (
    ADJUST_METHODS,
    CATEGORICAL_TESTS,
    DEFAULT_CONTINUITY,
    DEFAULT_MANN_WHITNEY_METHOD,
    DEFAULT_TIE_DECIMALS,
    MANN_WHITNEY_METHODS,
    AdjustMethod,
    CategoricalTest,
    MannWhitneyMethod,
)
from ipafstudy.errors import DataValidationError, InsufficientDataError, StatisticalWarning, check_option
from ipafstudy.stats._base import ResultMixin, non_missing, tie_sizes, tie_values
from ipafstudy.stats._exact import rank_sum_pmf, two_sided_p
from ipafstudy.stats.pvalues import adjust_p

MAX_FISHER_TABLES = 5_000_000  # nodes visited before giving up (seconds, not minutes)


@dataclass(frozen=True, slots=True)
class MannWhitneySettings(ResultMixin):
    """Options actually used."""

    method: str
    continuity: bool
    tie_decimals: int | None = DEFAULT_TIE_DECIMALS
    alternative: str = "two-sided"
    u_reported: str = "min(U1, U2)"


@dataclass(frozen=True, slots=True)
class MannWhitneyResult(ResultMixin):
    """Mann-Whitney U. ``u1`` is the U of the first group (x); ``z`` is signed by x vs y."""

    u: float
    u1: float
    z: float
    p: float
    r: float
    n1: int
    n2: int
    n_missing_x: int
    n_missing_y: int
    settings: MannWhitneySettings
    reason: str = ""


def mann_whitney(
    x: Any,
    y: Any,
    *,
    method: MannWhitneyMethod = DEFAULT_MANN_WHITNEY_METHOD,
    continuity: bool = DEFAULT_CONTINUITY,
    tie_decimals: int | None = DEFAULT_TIE_DECIMALS,
) -> MannWhitneyResult:
    """Mann-Whitney U test of x against y (two-sided), missing values dropped and counted.

    U1 = R1 - n1(n1+1)/2 with R1 the rank sum of x (average ranks); ``u = min(U1, U2)`` as SPSS.
    z = (U1 - n1 n2 / 2) / sqrt(n1 n2 / 12 * ((N + 1) - sum(t^3 - t) / (N (N - 1)))), positive when
    x tends to be larger. ``continuity=True`` matches R ``wilcox.test(correct=TRUE)``.
    ``method="exact"`` uses the exact permutation distribution of the rank sum given the observed
    ranks (ties included); without ties it equals R ``wilcox.test(exact=TRUE)``.
    r = |z| / sqrt(n1 + n2). If all values are equal, z = 0 and p = 1 with a ``reason``.
    Values equal to ``tie_decimals`` decimal places are ties (None: exact doubles, as R).

    >>> res = mann_whitney([1, 2, 3], [4, 5, 6, 7])
    >>> res.u, res.u1
    (0.0, 0.0)
    """
    caller = "mann_whitney"
    check_option(caller, "method", method, MANN_WHITNEY_METHODS)
    check_option(caller, "continuity", continuity, (True, False))
    xo, missing_x = non_missing(x, caller=caller, name="x")
    yo, missing_y = non_missing(y, caller=caller, name="y")
    n1, n2 = int(xo.size), int(yo.size)
    if n1 == 0 or n2 == 0:
        raise InsufficientDataError(
            f"{caller}(): each group needs at least one non-missing value (got n1 = {n1}, n2 = {n2})"
        )
    pooled = tie_values(np.concatenate([xo, yo]), tie_decimals, caller=caller)
    settings = MannWhitneySettings(method, bool(continuity), tie_decimals)
    ranks = sps.rankdata(pooled, method="average")
    r1 = float(ranks[:n1].sum())
    u1 = r1 - n1 * (n1 + 1) / 2.0
    u2 = n1 * n2 - u1
    big_n = n1 + n2
    ties = tie_sizes(pooled)
    var = n1 * n2 / 12.0 * ((big_n + 1) - float(np.sum(ties**3 - ties)) / (big_n * (big_n - 1)))
    missing = (missing_x, missing_y)
    if var <= 0:
        return MannWhitneyResult(
            min(u1, u2), u1, 0.0, 1.0, 0.0, n1, n2, *missing, settings,
            "all values are equal: no difference to test; reported as z = 0, p = 1 (R returns NaN)",
        )
    dev = u1 - n1 * n2 / 2.0
    if continuity:
        dev = math.copysign(max(abs(dev) - 0.5, 0.0), dev) if dev != 0 else 0.0
    z = dev / math.sqrt(var)
    if method == "exact":
        support, probs = rank_sum_pmf(ranks, n1)
        p = two_sided_p(support, probs, r1)
    else:
        p = float(min(1.0, 2.0 * sps.norm.sf(abs(z))))
    r = abs(z) / math.sqrt(big_n)
    return MannWhitneyResult(min(u1, u2), u1, z, p, r, n1, n2, *missing, settings)


@dataclass(frozen=True, slots=True)
class CategoricalSettings(ResultMixin):
    """Options actually used."""

    test: str
    min_expected_for_pearson: float = 5.0
    continuity: bool = False
    fisher_two_sided: str = "sum of tables with probability <= observed (relative tolerance 1e-7, as R)"


@dataclass(frozen=True, slots=True)
class CategoricalResult(ResultMixin):
    """Chi-square or Fisher result; the Pearson and Fisher values are both kept when computed."""

    test: str
    statistic: float
    p: float
    min_expected: float
    dof: int
    n: int
    n_expected_below_5: int
    chi2: float
    chi2_p: float
    fisher_p: float
    table: list
    settings: CategoricalSettings
    reason: str = ""


def _compositions(total: int, caps: tuple[int, ...]) -> list[tuple[int, ...]]:
    """All vectors v with sum ``total`` and 0 <= v_i <= caps_i (one column of a table)."""
    out: list[tuple[int, ...]] = []
    k = len(caps)
    suffix = [sum(caps[i + 1 :]) for i in range(k)]
    vec = [0] * k

    def rec(i: int, left: int) -> None:
        if i == k - 1:
            if left <= caps[i]:
                vec[i] = left
                out.append(tuple(vec))
            return
        for v in range(max(0, left - suffix[i]), min(caps[i], left) + 1):
            vec[i] = v
            rec(i + 1, left - v)

    rec(0, total)
    return out


def fisher_exact_rxc(table: np.ndarray) -> float:
    """Two-sided Fisher (Freeman-Halton) p, exact, for any r x c table of counts.

    Hand-written because scipy's r x c ``fisher_exact`` (>= 1.15) works through resampling-test
    machinery rather than R's exact network algorithm. This is a small network algorithm:
    columns are filled one at a time; for each node (column, remaining row totals) the largest and
    smallest attainable sums of log(n_ij!) over the remaining columns and the total probability of
    all completions are memoised, so whole sub-trees are added or skipped at once. The two-sided
    p sums the probabilities of tables no more probable than the observed one, with R's relative
    tolerance 1e-7. 2 x 2 tables go through the same code.
    """
    t = np.asarray(table, dtype=np.int64)
    col_order = np.argsort(-t.sum(axis=0), kind="stable")
    t = t[:, col_order]
    rows = tuple(int(v) for v in t.sum(axis=1))
    cols = tuple(int(v) for v in t.sum(axis=0))
    n = int(t.sum())
    n_cols = len(cols)
    lfact = gammaln(np.arange(n + 2) + 1.0)
    const = float(sum(lfact[r] for r in rows) + sum(lfact[c] for c in cols) - lfact[n])

    def g(vec: tuple[int, ...]) -> float:
        return float(sum(lfact[v] for v in vec))

    # Observed statistic: sum of log(n_ij!); tables with a sum >= target are at most as probable.
    target = float(sum(g(tuple(int(v) for v in t[:, j])) for j in range(n_cols))) - math.log1p(1e-7)
    bounds: dict[tuple[int, tuple[int, ...]], tuple[float, float, float]] = {}
    budget = [MAX_FISHER_TABLES]

    def spend() -> None:
        budget[0] -= 1
        if budget[0] < 0:
            raise InsufficientDataError(
                f"compare_categorical(): the {t.shape[0]} x {n_cols} table with n = {n} is too large for the "
                "exact enumeration of Fisher's test; use test='pearson'"
            )

    def node(j: int, remaining: tuple[int, ...]) -> tuple[float, float, float]:
        """(max sum g, min sum g, log of sum exp(-sum g)) over all completions from column j."""
        key = (j, tuple(sorted(remaining)))
        if key in bounds:
            return bounds[key]
        if j == n_cols - 1:
            value = g(remaining)
            out = (value, value, -value)
        else:
            hi, lo, logs = -math.inf, math.inf, []
            for vec in _compositions(cols[j], remaining):
                spend()
                gv = g(vec)
                sub_hi, sub_lo, sub_log = node(j + 1, tuple(r - v for r, v in zip(remaining, vec, strict=True)))
                hi, lo = max(hi, gv + sub_hi), min(lo, gv + sub_lo)
                logs.append(sub_log - gv)
            out = (hi, lo, float(np.logaddexp.reduce(logs)))
        bounds[key] = out
        return out

    def tail(j: int, remaining: tuple[int, ...], prefix: float) -> float:
        hi, lo, log_all = node(j, remaining)
        if prefix + lo >= target:
            return math.exp(const - prefix + log_all)
        if prefix + hi < target:
            return 0.0
        total = 0.0
        for vec in _compositions(cols[j], remaining):
            spend()
            rest = tuple(r - v for r, v in zip(remaining, vec, strict=True))
            total += tail(j + 1, rest, prefix + g(vec))
        return total

    if n_cols == 1:
        return 1.0
    return min(1.0, tail(0, rows, 0.0))


def compare_categorical(table: Any, *, test: CategoricalTest = "auto") -> CategoricalResult:
    """Association in an r x c table of counts: Pearson chi-square (no Yates) or Fisher's exact.

    ``test="auto"`` (default, SPSS/study rule): Pearson unless any expected count is below 5,
    then Fisher (Freeman-Halton for tables larger than 2 x 2). If that exact enumeration is too large
    (see ``MAX_FISHER_TABLES``), "auto" reports Pearson with a ``reason`` and a StatisticalWarning
    instead of failing. ``"pearson"`` / ``"fisher"`` force a test (a forced Fisher that is too large
    raises). Rows or columns whose total is zero are dropped first (SPSS does the same) and noted.

    >>> compare_categorical([[10, 10], [10, 10]]).p
    1.0
    """
    caller = "compare_categorical"
    check_option(caller, "test", test, CATEGORICAL_TESTS)
    raw = table.to_numpy() if isinstance(table, pd.DataFrame) else np.asarray(table)
    try:
        counts = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        raise DataValidationError(None, f"{caller}(): the table must hold counts (numbers)") from None
    if counts.ndim != 2:
        raise DataValidationError(None, f"{caller}(): the table must be 2-D (rows x columns), got {counts.ndim}-D")
    if np.isnan(counts).any() or (counts < 0).any() or not np.allclose(counts, np.round(counts)):
        raise DataValidationError(None, f"{caller}(): counts must be non-negative whole numbers without blanks")
    counts = np.round(counts).astype(np.int64)
    keep_r, keep_c = counts.sum(axis=1) > 0, counts.sum(axis=0) > 0
    reason = ""
    if not keep_r.all() or not keep_c.all():
        reason = f"dropped {int((~keep_r).sum())} empty row(s) and {int((~keep_c).sum())} empty column(s)"
    used = counts[keep_r][:, keep_c]
    if used.shape[0] < 2 or used.shape[1] < 2:
        raise InsufficientDataError(
            f"{caller}(): after dropping empty rows/columns the table is {used.shape[0]} x {used.shape[1]}; "
            "a comparison needs at least 2 non-empty rows and 2 non-empty columns"
        )
    n = int(used.sum())
    expected = np.outer(used.sum(axis=1), used.sum(axis=0)) / n
    chi2 = float(np.sum((used - expected) ** 2 / expected))
    dof = (used.shape[0] - 1) * (used.shape[1] - 1)
    chi2_p = float(sps.chi2.sf(chi2, dof))
    min_expected = float(expected.min())
    n_below = int((expected < 5).sum())
    chosen = test if test != "auto" else ("fisher" if min_expected < 5 else "pearson")
    fisher_p = math.nan
    if chosen == "fisher":
        try:
            fisher_p = fisher_exact_rxc(used)
        except InsufficientDataError as exc:
            if test != "auto":
                raise
            # "auto" on a table too large to enumerate: Pearson, flagged (a warning, so reports list it).
            chosen = "pearson"
            reason = "; ".join(filter(None, [reason, (
                f"an expected count is below 5 but Fisher's exact test is too large to enumerate ({exc}); "
                "Pearson chi-square reported, its p-value may be inaccurate")]))
            warnings.warn(f"{caller}(): {reason}", StatisticalWarning, stacklevel=2)
    settings = CategoricalSettings(test=test)
    if chosen == "fisher":
        return CategoricalResult(
            "fisher", math.nan, fisher_p, min_expected, dof, n, n_below, chi2, chi2_p, fisher_p,
            used.tolist(), settings, reason,
        )
    return CategoricalResult(
        "pearson", chi2, chi2_p, min_expected, dof, n, n_below, chi2, chi2_p, fisher_p, used.tolist(), settings, reason
    )


@dataclass(frozen=True, slots=True)
class KruskalWallisSettings(ResultMixin):
    """Options actually used."""

    tie_decimals: int | None = DEFAULT_TIE_DECIMALS
    tie_correction: bool = True
    distribution: str = "chi-square, df = k - 1 (k = groups with data)"


@dataclass(frozen=True, slots=True)
class KruskalWallisResult(ResultMixin):
    """Kruskal-Wallis H (tie-corrected, as R ``kruskal.test`` and SPSS). Per-group tuples follow ``groups``."""

    h: float
    h_uncorrected: float
    tie_correction: float
    dof: int
    p: float
    n: int
    groups: tuple[str, ...]
    n_per_group: tuple[int, ...]
    n_missing: tuple[int, ...]
    mean_ranks: tuple[float, ...]
    settings: KruskalWallisSettings
    reason: str = ""


def _named_samples(groups: Any, caller: str) -> list[tuple[str, Any]]:
    """(label, values) per group from a mapping {label: values} or a sequence of samples (labels "1".."k")."""
    if isinstance(groups, pd.DataFrame):
        raise DataValidationError(
            None, f"{caller}(): pass the groups as a mapping {{label: values}} or a list of samples, not a DataFrame"
        )
    if isinstance(groups, Mapping):
        return [(str(k), v) for k, v in groups.items()]
    try:
        items = list(groups)
    except TypeError:
        raise DataValidationError(
            None, f"{caller}(): pass the groups as a mapping {{label: values}} or a list of samples"
        ) from None
    return [(str(i + 1), v) for i, v in enumerate(items)]


def kruskal_wallis(groups: Any, *, tie_decimals: int | None = DEFAULT_TIE_DECIMALS) -> KruskalWallisResult:
    """Kruskal-Wallis test of k independent groups, missing values dropped and counted per group.

    ``groups``: a mapping {label: values} (order kept) or a sequence of samples. Pooled average ranks;
    H = 12 / (N (N + 1)) sum R_i^2 / n_i - 3 (N + 1), divided by the tie correction
    C = 1 - sum(t^3 - t) / (N^3 - N); p from chi-square with k - 1 df, k = groups with at least one
    value (a group with no value is kept in the result with n = 0 and noted in ``reason``, as R drops
    unused factor levels). Equals R ``kruskal.test`` and SPSS. With two groups H = z^2 of
    ``mann_whitney`` (same p). Fewer than two groups with data raise InsufficientDataError (R: "all
    observations are in the same group"). All values equal: H = 0, p = 1 with a ``reason`` (R returns
    NaN), the same convention as ``mann_whitney``. ``tie_decimals`` as in ``mann_whitney``.

    >>> res = kruskal_wallis({"a": [1, 2, 3], "b": [4, 5, 6], "c": [7, 8, 9]})
    >>> round(res.h, 4), res.dof, res.mean_ranks
    (7.2, 2, (2.0, 5.0, 8.0))
    """
    caller = "kruskal_wallis"
    named = _named_samples(groups, caller)
    labels, samples, missing = [], [], []
    for label, values in named:
        ok, n_miss = non_missing(values, caller=caller, name=f"group {label!r}")
        labels.append(label)
        samples.append(ok)
        missing.append(n_miss)
    sizes = [int(s.size) for s in samples]
    used = [i for i, n in enumerate(sizes) if n > 0]
    if len(used) < 2:
        raise InsufficientDataError(
            f"{caller}(): at least two groups need a non-missing value (got {len(used)} of {len(named)}: "
            + ", ".join(f"{lab} n = {n}" for lab, n in zip(labels, sizes, strict=True)) + ")"
        )
    settings = KruskalWallisSettings(tie_decimals)
    pooled = tie_values(np.concatenate([samples[i] for i in used]), tie_decimals, caller=caller)
    ranks = sps.rankdata(pooled, method="average")
    big_n = int(pooled.size)
    mean_ranks = [math.nan] * len(samples)
    start, h0 = 0, 0.0
    for i in used:
        part = ranks[start : start + sizes[i]]
        start += sizes[i]
        mean_ranks[i] = float(part.mean())
        h0 += float(part.sum()) ** 2 / sizes[i]
    h0 = 12.0 / (big_n * (big_n + 1)) * h0 - 3.0 * (big_n + 1)
    ties = tie_sizes(pooled)
    correction = 1.0 - float(np.sum(ties**3 - ties)) / (big_n**3 - big_n)
    dof = len(used) - 1
    notes = []
    empty = [labels[i] for i, n in enumerate(sizes) if n == 0]
    if empty:
        notes.append(f"group(s) {', '.join(empty)} have no value and were left out (df = {dof})")
    common = (big_n, tuple(labels), tuple(sizes), tuple(missing), tuple(mean_ranks), settings)
    if correction <= 0:
        notes.append("all values are equal: no difference to test; reported as H = 0, p = 1 (R returns NaN)")
        return KruskalWallisResult(0.0, 0.0, 0.0, dof, 1.0, *common, "; ".join(notes))
    h = max(h0 / correction, 0.0)  # rounding can leave -1e-15 when all groups have the same mean rank
    p = float(sps.chi2.sf(h, dof))
    return KruskalWallisResult(h, h0, correction, dof, p, *common, "; ".join(notes))


@dataclass(frozen=True, slots=True)
class PairwiseComparison(ResultMixin):
    """One pair: the test used, its statistic and raw p, and the adjusted p (NaN when not computed)."""

    group1: str
    group2: str
    n1: int
    n2: int
    test: str
    statistic: float
    p: float
    p_adjusted: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PairwiseResult(ResultMixin):
    """Every pair of groups (in group order: 1-2, 1-3, ..., 2-3, ...) with p adjusted over the computed pairs."""

    comparisons: tuple[PairwiseComparison, ...]
    adjust: str
    n_tests: int
    settings: Any

    def pair(self, group1: str, group2: str) -> PairwiseComparison:
        """The comparison of two groups, in either order."""
        for c in self.comparisons:
            if {c.group1, c.group2} == {str(group1), str(group2)} and c.group1 != c.group2:
                return c
        raise KeyError(f"no comparison of {group1!r} with {group2!r}")


def _pairwise(rows: list[dict[str, Any]], adjust: AdjustMethod, settings: Any) -> PairwiseResult:
    """Adjust the raw p-values (NaN = not computed, not counted in m, as R ``p.adjust``) and freeze."""
    adjusted = adjust_p([r["p"] for r in rows], method=adjust) if rows else np.array([])
    comparisons = tuple(
        PairwiseComparison(**r, p_adjusted=float(a)) for r, a in zip(rows, adjusted, strict=True)
    )
    n_tests = int(sum(1 for r in rows if not math.isnan(r["p"])))
    return PairwiseResult(comparisons, adjust, n_tests, settings)


def pairwise_mann_whitney(
    groups: Any,
    *,
    adjust: AdjustMethod = "holm",
    method: MannWhitneyMethod = DEFAULT_MANN_WHITNEY_METHOD,
    continuity: bool = DEFAULT_CONTINUITY,
    tie_decimals: int | None = DEFAULT_TIE_DECIMALS,
) -> PairwiseResult:
    """Mann-Whitney U for every pair of groups (each pair ranked on its own), p adjusted by Holm (or BH).

    Equals R ``pairwise.wilcox.test(x, g, p.adjust.method = "holm", exact = FALSE, correct = FALSE)``;
    R's own defaults differ (``correct = TRUE``; exact p for n < 50 without ties), so they are passed
    explicitly there and here they are the SPSS options of ``mann_whitney``. ``statistic`` is U1 of
    ``group1`` (R's W). A pair where a group has no value gets p = NaN with a ``reason`` and is not
    counted in the adjustment.

    >>> res = pairwise_mann_whitney({"a": [1, 2, 3], "b": [4, 5, 6], "c": [7, 8, 9, 10]})
    >>> [(c.group1, c.group2) for c in res.comparisons], res.n_tests
    ([('a', 'b'), ('a', 'c'), ('b', 'c')], 3)
    """
    caller = "pairwise_mann_whitney"
    check_option(caller, "adjust", adjust, ADJUST_METHODS)
    check_option(caller, "method", method, MANN_WHITNEY_METHODS)
    check_option(caller, "continuity", continuity, (True, False))
    tie_values(np.zeros(1), tie_decimals, caller=caller)  # the option checked once, with this caller's name
    named = _named_samples(groups, caller)
    samples = [(label, non_missing(v, caller=caller, name=f"group {label!r}")[0]) for label, v in named]
    rows = []
    for (l1, x), (l2, y) in itertools.combinations(samples, 2):
        row: dict[str, Any] = {"group1": l1, "group2": l2, "n1": int(x.size), "n2": int(y.size),
                               "test": "Mann-Whitney U"}
        try:
            res = mann_whitney(x, y, method=method, continuity=continuity, tie_decimals=tie_decimals)
            row.update(statistic=res.u1, p=res.p, reason=res.reason)
        except InsufficientDataError as exc:
            row.update(statistic=math.nan, p=math.nan, reason=str(exc))
        rows.append(row)
    settings = MannWhitneySettings(method, bool(continuity), tie_decimals)
    return _pairwise(rows, adjust, settings)


def pairwise_categorical(
    table: Any, *, adjust: AdjustMethod = "holm", test: CategoricalTest = "auto"
) -> PairwiseResult:
    """Every pair of ROWS (groups) of a groups x categories table compared by ``compare_categorical``.

    Each pair's 2 x c table is tested on its own with ``test`` (``"auto"``: Pearson without Yates,
    Fisher if an expected count of that pair's table is below 5); p adjusted by Holm (or BH) over the
    pairs that could be tested. Row labels come from a DataFrame's index, else "1".."k". A pair whose
    table has fewer than two non-empty columns (e.g. both groups in one category) gets p = NaN with a
    ``reason``. ``statistic`` is the Pearson chi-square when Pearson was used, else NaN. As R: a loop
    over pairs of ``chisq.test(correct = FALSE)`` / ``fisher.test`` and ``p.adjust(method = "holm")``.

    >>> res = pairwise_categorical([[10, 0], [0, 10], [5, 5]])
    >>> [c.test for c in res.comparisons]
    ['pearson', 'fisher', 'fisher']
    """
    caller = "pairwise_categorical"
    check_option(caller, "adjust", adjust, ADJUST_METHODS)
    check_option(caller, "test", test, CATEGORICAL_TESTS)
    labels = [str(v) for v in table.index] if isinstance(table, pd.DataFrame) else None
    raw = table.to_numpy() if isinstance(table, pd.DataFrame) else np.asarray(table)
    try:
        counts = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        raise DataValidationError(None, f"{caller}(): the table must hold counts (numbers)") from None
    if counts.ndim != 2:
        raise DataValidationError(None, f"{caller}(): the table must be 2-D (groups x categories)")
    labels = labels or [str(i + 1) for i in range(counts.shape[0])]
    rows = []
    for i, j in itertools.combinations(range(counts.shape[0]), 2):
        sub = counts[[i, j]]
        row: dict[str, Any] = {"group1": labels[i], "group2": labels[j], "n1": int(np.nansum(sub[0])),
                               "n2": int(np.nansum(sub[1]))}
        try:
            res = compare_categorical(sub, test=test)
            row.update(test=res.test, statistic=res.statistic, p=res.p, reason=res.reason)
        except InsufficientDataError as exc:
            row.update(test="", statistic=math.nan, p=math.nan, reason=str(exc))
        rows.append(row)
    return _pairwise(rows, adjust, CategoricalSettings(test=test))
