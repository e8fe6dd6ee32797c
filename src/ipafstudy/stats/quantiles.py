"""Quartiles under the three conventions users meet (SPSS/Prism, R default, Tukey hinges).

The medians agree; Q1/Q3 differ between programs for small n, which is the classic source of
"your IQR is wrong" reports, so the method is an explicit option echoed in the result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ipafstudy.errors import check_option
from ipafstudy.stats._base import ResultMixin, as_float_array

QuantileMethod = Literal["spss", "r7", "tukey"]
QUANTILE_METHODS = ("spss", "r7", "tukey")
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


def quantiles(x: Any, *, method: QuantileMethod = "spss") -> QuantileResult:
    """Quartiles with a named definition.

    ``spss`` (default): position (n + 1)p, Hyndman-Fan type 6, SPSS "weighted average" and Prism.
    ``r7``: R ``quantile()`` default and numpy default (type 7). ``tukey``: hinges as R ``fivenum``
    and SPSS "Tukey's hinges". Missing values are dropped and counted.

    >>> quantiles([1, 2, 3, 4]).q1, quantiles([1, 2, 3, 4], method="r7").q1
    (1.25, 1.75)
    """
    check_option("quantiles", "method", method, QUANTILE_METHODS)
    arr = as_float_array(x, caller="quantiles", name="x")
    ok = arr[~np.isnan(arr)]
    n_missing = int(arr.size - ok.size)
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
    arr = as_float_array(x, caller="describe_continuous", name="x")
    ok = arr[~np.isnan(arr)]
    n_missing = int(arr.size - ok.size)
    if ok.size == 0:
        return DescribeResult(math.nan, math.nan, math.nan, math.nan, 0, n_missing, "no non-missing values")
    sd = float(np.std(ok, ddof=1)) if ok.size > 1 else math.nan
    reason = "" if ok.size > 1 else "SD needs at least 2 values"
    return DescribeResult(float(ok.mean()), sd, float(ok.min()), float(ok.max()), int(ok.size), n_missing, reason)
