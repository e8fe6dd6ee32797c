"""Two independent groups: Mann-Whitney U and chi-square / Fisher's exact test.

SPSS conventions by default (normal approximation with tie correction, no continuity
correction; Pearson chi-square without Yates unless an expected count is below 5, then
Fisher). R's choices are options, and each result names the test and options it used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats as sps
from scipy.special import gammaln

from ipafstudy.errors import DataValidationError, InsufficientDataError, check_option
from ipafstudy.stats._base import ResultMixin, as_float_array, tie_sizes
from ipafstudy.stats._exact import rank_sum_pmf, two_sided_p
from ipafstudy.stats.paired import TEST_METHODS, TestMethod

CategoricalTest = Literal["auto", "pearson", "fisher"]
CATEGORICAL_TESTS = ("auto", "pearson", "fisher")
MAX_FISHER_TABLES = 2_000_000


@dataclass(frozen=True, slots=True)
class MannWhitneySettings(ResultMixin):
    """Options actually used."""

    method: str
    continuity: bool
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
    x: Any, y: Any, *, method: TestMethod = "asymptotic", continuity: bool = False
) -> MannWhitneyResult:
    """Mann-Whitney U test of x against y (two-sided), missing values dropped and counted.

    U1 = R1 - n1(n1+1)/2 with R1 the rank sum of x (average ranks); ``u = min(U1, U2)`` as SPSS.
    z = (U1 - n1 n2 / 2) / sqrt(n1 n2 / 12 * ((N + 1) - sum(t^3 - t) / (N (N - 1)))), positive when
    x tends to be larger. ``continuity=True`` matches R ``wilcox.test(correct=TRUE)``.
    ``method="exact"`` uses the exact permutation distribution of the rank sum given the observed
    ranks (ties included); without ties it equals R ``wilcox.test(exact=TRUE)``.
    r = |z| / sqrt(n1 + n2). If all values are equal, z = 0 and p = 1 with a ``reason``.

    >>> res = mann_whitney([1, 2, 3], [4, 5, 6, 7])
    >>> res.u, res.u1
    (0.0, 0.0)
    """
    caller = "mann_whitney"
    check_option(caller, "method", method, TEST_METHODS)
    check_option(caller, "continuity", continuity, (True, False))
    settings = MannWhitneySettings(method, bool(continuity))
    xa = as_float_array(x, caller=caller, name="x")
    ya = as_float_array(y, caller=caller, name="y")
    xo, yo = xa[~np.isnan(xa)], ya[~np.isnan(ya)]
    n1, n2 = int(xo.size), int(yo.size)
    if n1 == 0 or n2 == 0:
        raise InsufficientDataError(
            f"{caller}(): each group needs at least one non-missing value (got n1 = {n1}, n2 = {n2})"
        )
    pooled = np.concatenate([xo, yo])
    ranks = sps.rankdata(pooled, method="average")
    r1 = float(ranks[:n1].sum())
    u1 = r1 - n1 * (n1 + 1) / 2.0
    u2 = n1 * n2 - u1
    big_n = n1 + n2
    ties = tie_sizes(pooled)
    var = n1 * n2 / 12.0 * ((big_n + 1) - float(np.sum(ties**3 - ties)) / (big_n * (big_n - 1)))
    missing = (int(xa.size - n1), int(ya.size - n2))
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


def _log_table_prob(cells: np.ndarray, rows: np.ndarray, cols: np.ndarray, n: int) -> float:
    return float(
        gammaln(rows + 1).sum() + gammaln(cols + 1).sum() - gammaln(n + 1) - gammaln(cells + 1).sum()
    )


def fisher_exact_rxc(table: np.ndarray) -> float:
    """Two-sided Fisher (Freeman-Halton) p by full enumeration of tables with the observed margins.

    Hand-written because scipy's r x c ``fisher_exact`` (>= 1.15) works through resampling-test
    machinery rather than R's exact network algorithm; for the small tables of a clinical
    cohort plain enumeration is exact and fast. 2 x 2 tables go through the same code.
    """
    t = np.asarray(table, dtype=np.int64)
    rows, cols = t.sum(axis=1), t.sum(axis=0)
    n = int(t.sum())
    log_obs = _log_table_prob(t, rows, cols, n)
    const = float(gammaln(rows + 1).sum() + gammaln(cols + 1).sum() - gammaln(n + 1))
    n_rows, n_cols = t.shape
    threshold = log_obs + math.log1p(1e-7)
    lg = gammaln(np.arange(n + 1) + 1.0)
    total = 0.0
    visited = 0

    def compositions(total_count: int, caps: np.ndarray) -> Any:
        """All vectors v with sum total_count and 0 <= v <= caps."""
        k = caps.size
        suffix = np.concatenate([np.cumsum(caps[::-1])[::-1][1:], [0]])
        vec = np.zeros(k, dtype=np.int64)

        def rec(i: int, left: int) -> Any:
            if i == k - 1:
                if left <= caps[i]:
                    vec[i] = left
                    yield vec
                return
            lo = max(0, left - int(suffix[i]))
            hi = min(int(caps[i]), left)
            for v in range(lo, hi + 1):
                vec[i] = v
                yield from rec(i + 1, left - v)

        yield from rec(0, total_count)

    def fill(j: int, remaining: np.ndarray, acc: float) -> None:
        nonlocal total, visited
        if j == n_cols - 1:
            visited += 1
            if visited > MAX_FISHER_TABLES:
                raise InsufficientDataError(
                    f"compare_categorical(): the {n_rows} x {n_cols} table with n = {n} has too many tables to "
                    "enumerate for Fisher's exact test; use test='pearson'"
                )
            logp = const - acc - float(lg[remaining].sum())
            if logp <= threshold:
                total += math.exp(logp)
            return
        for column in compositions(int(cols[j]), remaining):
            fill(j + 1, remaining - column, acc + float(lg[column].sum()))

    fill(0, rows.copy(), 0.0)
    return min(1.0, total)


def compare_categorical(table: Any, *, test: CategoricalTest = "auto") -> CategoricalResult:
    """Association in an r x c table of counts: Pearson chi-square (no Yates) or Fisher's exact.

    ``test="auto"`` (default, SPSS/study rule): Pearson unless any expected count is below 5,
    then Fisher (Freeman-Halton for tables larger than 2 x 2). ``"pearson"`` / ``"fisher"`` force
    a test. Rows or columns whose total is zero are dropped first (SPSS does the same) and noted.

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
    fisher_p = fisher_exact_rxc(used) if chosen == "fisher" else math.nan
    settings = CategoricalSettings(test=test)
    if chosen == "fisher":
        return CategoricalResult(
            "fisher", math.nan, fisher_p, min_expected, dof, n, n_below, chi2, chi2_p, fisher_p,
            used.tolist(), settings, reason,
        )
    return CategoricalResult(
        "pearson", chi2, chi2_p, min_expected, dof, n, n_below, chi2, chi2_p, fisher_p, used.tolist(), settings, reason
    )
