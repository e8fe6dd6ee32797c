"""Quartiles under the three conventions users meet (SPSS/Prism, R default, Tukey hinges).

The medians agree; Q1/Q3 differ between programs for small n, which is the classic source of
"your IQR is wrong" reports, so the method is an explicit option echoed in the result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ipafstudy.conventions import (
    DEFAULT_QUANTILE_METHOD,
    DEFAULT_WHISKER_RULE,
    QUANTILE_METHODS,
    WHISKER_RULES,
    QuantileMethod,
    WhiskerRule,
)
from ipafstudy.errors import InvalidOptionError, check_option
from ipafstudy.stats._base import ResultMixin, non_missing

_NUMPY_METHOD = {"spss": "weibull", "r7": "linear"}


@dataclass(frozen=True, slots=True)
class QuantileResult(ResultMixin):
    """Q1, median, Q3 of the non-missing values; ``reason`` says why values are NaN."""

    q1: float
    median: float
    q3: float
    n: int
    n_missing: int
    method: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class DescribeResult(ResultMixin):
    """Mean, SD (n - 1 denominator, as SPSS/R/Prism), min, max."""

    mean: float
    sd: float
    min: float
    max: float
    n: int
    n_missing: int
    reason: str = ""


def tukey_hinges(values: np.ndarray) -> tuple[float, float, float]:
    """Lower hinge, median, upper hinge exactly as R ``fivenum`` (values sorted or not)."""
    x = np.sort(values)
    n = x.size
    n4 = math.floor((n + 3) / 2) / 2
    positions = (n4, (n + 1) / 2, n + 1 - n4)
    out = [0.5 * (x[math.floor(d) - 1] + x[math.ceil(d) - 1]) for d in positions]
    return float(out[0]), float(out[1]), float(out[2])


def quantiles(x: Any, *, method: QuantileMethod = DEFAULT_QUANTILE_METHOD) -> QuantileResult:
    """Quartiles with a named definition.

    ``spss`` (default): position (n + 1)p, Hyndman-Fan type 6, SPSS "weighted average" and Prism.
    ``r7``: R ``quantile()`` default and numpy default (type 7). ``tukey``: hinges as R ``fivenum``
    and SPSS "Tukey's hinges". Missing values are dropped and counted.

    >>> quantiles([1, 2, 3, 4]).q1, quantiles([1, 2, 3, 4], method="r7").q1
    (1.25, 1.75)
    """
    check_option("quantiles", "method", method, QUANTILE_METHODS)
    ok, n_missing = non_missing(x, caller="quantiles")
    if ok.size == 0:
        return QuantileResult(math.nan, math.nan, math.nan, 0, n_missing, method, "no non-missing values")
    if method == "tukey":
        q1, med, q3 = tukey_hinges(ok)
    else:
        q1, med, q3 = (float(v) for v in np.quantile(ok, [0.25, 0.5, 0.75], method=_NUMPY_METHOD[method]))
    return QuantileResult(q1, med, q3, int(ok.size), n_missing, method)


def describe_continuous(x: Any) -> DescribeResult:
    """Mean, SD (ddof = 1), min, max, n and n missing; SD is NaN with a reason when n < 2.

    >>> describe_continuous([1, 2, 3, None]).sd
    1.0
    """
    ok, n_missing = non_missing(x, caller="describe_continuous")
    if ok.size == 0:
        return DescribeResult(math.nan, math.nan, math.nan, math.nan, 0, n_missing, "no non-missing values")
    sd = float(np.std(ok, ddof=1)) if ok.size > 1 else math.nan
    reason = "" if ok.size > 1 else "SD needs at least 2 values"
    return DescribeResult(float(ok.mean()), sd, float(ok.min()), float(ok.max()), int(ok.size), n_missing, reason)




def percentile(x: Any, q: float, *, method: QuantileMethod = DEFAULT_QUANTILE_METHOD) -> float:
    """One sample percentile (q in 0-100) under a named definition; NaN when no values.

    ``tukey`` only defines 25, 50 and 75 (the hinges and the median).

    >>> percentile([1, 2, 3, 4], 25), percentile([1, 2, 3, 4], 25, method="r7")
    (1.25, 1.75)
    """
    check_option("percentile", "method", method, QUANTILE_METHODS)
    try:
        qf = float(q)
    except (TypeError, ValueError):
        qf = math.nan
    if not 0 <= qf <= 100:
        raise InvalidOptionError(f"percentile(): q={q!r} is not valid; expected a number from 0 to 100")
    if method == "tukey" and qf not in (25.0, 50.0, 75.0):
        raise InvalidOptionError(f"percentile(): q={q!r} is not valid with method='tukey'; expected one of 25, 50, 75")
    ok, _ = non_missing(x, caller="percentile")
    if ok.size == 0:
        return math.nan
    if method == "tukey":
        return tukey_hinges(ok)[{25.0: 0, 50.0: 1, 75.0: 2}[qf]]
    return float(np.quantile(ok, qf / 100.0, method=_NUMPY_METHOD[method]))


@dataclass(frozen=True, slots=True)
class BoxplotStats(ResultMixin):
    """What a box plot draws, computed with the same quartile method as the tables."""

    q1: float
    median: float
    q3: float
    whisker_low: float
    whisker_high: float
    outliers: list
    n: int
    n_missing: int
    method: str
    whisker: str
    reason: str = ""


def boxplot_stats(
    x: Any, *, method: QuantileMethod = DEFAULT_QUANTILE_METHOD, whisker: WhiskerRule = DEFAULT_WHISKER_RULE
) -> BoxplotStats:
    """Box (Q1, median, Q3 by ``method``) and whiskers: ``minmax`` (Prism default) or ``tukey``.

    ``tukey`` whiskers reach the most extreme values within 1.5 x IQR of the box; values beyond
    are listed in ``outliers``. With ``minmax`` there are no outliers.

    >>> b = boxplot_stats([1, 2, 3, 4, 5, 6, 7, 8, 9, 30], whisker="tukey")
    >>> b.whisker_high, b.outliers
    (9.0, [30.0])
    """
    check_option("boxplot_stats", "method", method, QUANTILE_METHODS)
    check_option("boxplot_stats", "whisker", whisker, WHISKER_RULES)
    qs = quantiles(x, method=method)
    ok = np.sort(non_missing(x, caller="boxplot_stats")[0])
    if ok.size == 0:
        return BoxplotStats(math.nan, math.nan, math.nan, math.nan, math.nan, [], 0, qs.n_missing, method, whisker,
                            qs.reason)
    if whisker == "minmax":
        low, high, outliers = float(ok[0]), float(ok[-1]), []
    else:
        iqr = qs.q3 - qs.q1
        lo_fence, hi_fence = qs.q1 - 1.5 * iqr, qs.q3 + 1.5 * iqr
        inside = ok[(ok >= lo_fence) & (ok <= hi_fence)]
        low, high = float(inside.min()), float(inside.max())
        outliers = [float(v) for v in ok[(ok < lo_fence) | (ok > hi_fence)]]
    return BoxplotStats(qs.q1, qs.median, qs.q3, low, high, outliers, qs.n, qs.n_missing, method, whisker)
