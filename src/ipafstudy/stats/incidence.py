"""Event rates per person-time with exact Poisson (Garwood) confidence limits.

Garwood (1936): for x events in T units of person-time the exact two-sided limits of the rate are
chi2(alpha/2; 2x) / (2T) and chi2(1 - alpha/2; 2x + 2) / (2T), the lower limit 0 when x = 0. This is what
R's ``poisson.test(x, T)$conf.int`` gives (it writes the same limits as gamma quantiles).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scipy import stats as sps

from ipafstudy.errors import DataValidationError, InsufficientDataError
from ipafstudy.stats._base import ResultMixin, check_confidence

METHOD = "exact Poisson (Garwood)"


@dataclass(frozen=True, slots=True)
class PoissonRateResult(ResultMixin):
    """``events`` in ``exposure`` person-time units; ``rate``/``lower``/``upper`` per ``per`` units."""

    events: int
    exposure: float
    per: float
    rate: float
    lower: float
    upper: float
    confidence: float
    method: str = METHOD


def poisson_rate(events: Any, exposure: Any, *, per: float = 100.0, confidence: float = 0.95) -> PoissonRateResult:
    """Rate of ``events`` per ``per`` units of ``exposure`` (episodes per 100 patient-years) with Garwood limits."""
    caller = "poisson_rate"
    conf = check_confidence(caller, confidence)
    try:
        x, t, scale = float(events), float(exposure), float(per)
    except (TypeError, ValueError):
        raise DataValidationError(
            None, f"{caller}(): events, exposure and per must be numbers; got {events!r}, {exposure!r}, {per!r}"
        ) from None
    if not (math.isfinite(x) and x >= 0 and x == int(x)):
        raise DataValidationError(None, f"{caller}(): events must be a whole number >= 0; got {events!r}")
    if not math.isfinite(scale) or scale <= 0:
        raise DataValidationError(None, f"{caller}(): per must be a positive number; got {per!r}")
    if not math.isfinite(t) or t < 0:
        raise DataValidationError(None, f"{caller}(): exposure must be a finite number >= 0; got {exposure!r}")
    if t == 0:
        raise InsufficientDataError(f"{caller}(): no exposure time (0), so no rate")
    alpha = 1 - conf
    lower = 0.0 if x == 0 else float(sps.chi2.ppf(alpha / 2, 2 * x)) / 2
    upper = float(sps.chi2.ppf(1 - alpha / 2, 2 * x + 2)) / 2
    return PoissonRateResult(
        events=int(x), exposure=t, per=scale, rate=x / t * scale, lower=lower / t * scale, upper=upper / t * scale,
        confidence=conf,
    )
