"""Shapiro-Wilk normality test (Royston's algorithm via scipy, as SPSS and R ``shapiro.test``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

from ipafstudy.stats._base import ResultMixin, non_missing


@dataclass(frozen=True, slots=True)
class ShapiroResult(ResultMixin):
    """W and p on the non-missing values; NaN with ``reason`` when the test cannot run."""

    w: float
    p: float
    n: int
    n_missing: int
    reason: str = ""


def shapiro_wilk(x: Any) -> ShapiroResult:
    """Shapiro-Wilk W and p. n < 3 or all values equal -> NaN with a reason (R refuses both).

    >>> round(shapiro_wilk([2.1, 3.4, 1.9, 5.6, 4.4, 3.3]).w, 4)
    0.9414
    """
    ok, n_missing = non_missing(x, caller="shapiro_wilk")
    if ok.size < 3:
        return ShapiroResult(math.nan, math.nan, int(ok.size), n_missing, "Shapiro-Wilk needs at least 3 values")
    if np.ptp(ok) == 0:
        return ShapiroResult(math.nan, math.nan, int(ok.size), n_missing, "all values are identical")
    reason = "n > 5000: p-value approximate (R shapiro.test refuses n > 5000)" if ok.size > 5000 else ""
    res = sps.shapiro(ok)
    return ShapiroResult(float(res.statistic), float(res.pvalue), int(ok.size), n_missing, reason)
