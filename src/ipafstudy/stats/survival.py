"""Kaplan-Meier estimate with log-log confidence limits and the median with its CI, as R ``survival`` gives them.

The product-limit estimate and Greenwood's variance come from statsmodels' ``SurvfuncRight`` (wrapped: it
returns the event times only). Around it this module builds what R's ``survfit(Surv(time, event) ~ 1,
conf.type = "log-log")`` prints: one row per distinct time (event or censoring), ``std.err`` = SE of log S,
pointwise log-log limits (undefined where S is 1 or 0), and the median with its confidence limits as R's
``print(fit)`` gives them (Brookmeyer and Crowley 1982: the median's limits are where the lower and upper
pointwise curves first reach 0.5; a curve that sits exactly on 0.5 gives the midpoint of that flat stretch).
``median_rule="quantile"`` follows R's ``quantile(fit, 0.5)`` instead (differs only for a curve ending on 0.5).
Ties: at a time with both events and censorings the censored patients count as at risk (they left after it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats as sps

from ipafstudy.errors import DataValidationError, InsufficientDataError, check_option
from ipafstudy.stats._base import ResultMixin, as_float_array, check_confidence

_TOL = math.sqrt(np.finfo(float).eps)
"""R's ``quantile.survfit`` tolerance: a curve within this of 0.5 is ON 0.5."""

CONF_TYPE = "log-log"
MedianRule = Literal["print", "quantile"]
MEDIAN_RULES: tuple[str, ...] = ("print", "quantile")


@dataclass(frozen=True, slots=True)
class KaplanMeierResult(ResultMixin):
    """Kaplan-Meier curve (one row per distinct time, as R ``survfit``) and the median with its CI.

    ``median`` / ``median_lower`` / ``median_upper`` are NaN when not reached (``median_reached`` says so):
    an upper limit is often not reached even when the median is.
    """

    n: int
    n_events: int
    n_missing: int
    time: tuple[float, ...]
    n_risk: tuple[int, ...]
    n_event: tuple[int, ...]
    n_censor: tuple[int, ...]
    surv: tuple[float, ...]
    std_err: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    median: float
    median_lower: float
    median_upper: float
    confidence: float
    conf_type: str = CONF_TYPE
    median_rule: str = "print"
    median_ci_method: str = "Brookmeyer-Crowley (log-log)"

    @property
    def median_reached(self) -> bool:
        return not math.isnan(self.median)

    def n_at_risk(self, times: Any) -> tuple[int, ...]:
        """Patients still followed at each time (time >= t), as R ``summary(fit, times=)`` ``n.risk``."""
        out = []
        for t in np.asarray(times, dtype=float).ravel():
            later = [i for i, x in enumerate(self.time) if x >= t]
            out.append(self.n_risk[later[0]] if later else 0)
        return tuple(out)

    def surv_at(self, t: float) -> float:
        """S(t): the step function, right-continuous (1 before the first time)."""
        value = 1.0
        for x, s in zip(self.time, self.surv, strict=True):
            if x > t:
                break
            value = s
        return value


def _findq(x: np.ndarray, y: np.ndarray, p: float, xmax: float) -> float:
    """R survival:::findq for one p: x = (0, times), y = (0, 1 - curve); NaN = not reached."""
    if np.all(np.isnan(y)) or np.nanmax(y) < p - _TOL:  # R: < p; the tolerance absorbs 0.5000000000000001
        return math.nan
    keep = np.ones(len(y), dtype=bool)
    seen: set[Any] = set()
    for i, v in enumerate(y):  # R duplicated(): later repeats dropped (NA repeats too)
        key = "NA" if np.isnan(v) else float(v)
        keep[i] = key not in seen
        seen.add(key)
    x, y = x[keep], y[keep]
    ok = ~np.isnan(y)  # approx() drops the NA pairs; indices still point into x

    def first_at_or_above(shift: float) -> int | None:
        for i in np.flatnonzero(ok):
            if y[i] + shift >= p:
                return int(i)
        return None

    i1, i2 = first_at_or_above(_TOL), first_at_or_above(-_TOL)
    if not np.isnan(y[-1]) and abs(p - y[-1]) < _TOL and i1 is not None:
        return float((x[i1] + xmax) / 2)
    if i1 is None or i2 is None:
        return math.nan
    return float((x[i1] + x[i2]) / 2)


def _minmin(time: np.ndarray, curve: np.ndarray) -> float:
    """R survival's print()/summary()$table median: the first time the curve is <= 0.5; a curve ON 0.5 that later
    drops gives the midpoint of that flat stretch; NaN = not reached."""
    keep = ~np.isnan(curve) & (curve < 0.5 + _TOL)
    if not keep.any():
        return math.nan
    x, y = time[keep], curve[keep]
    if abs(y[0] - 0.5) < _TOL and np.any(y < y[0]):
        return float((x[0] + x[np.flatnonzero(y < y[0])[0]]) / 2)
    return float(x[0])


def kaplan_meier(
    time: Any, event: Any, *, confidence: float = 0.95, median_rule: MedianRule = "print"
) -> KaplanMeierResult:
    """Kaplan-Meier curve and median (log-log CI) of right-censored times; ``event`` is 1 (event) or 0 (censored).

    Pairs with a missing time or event are dropped and counted in ``n_missing``. Times must be >= 0.
    ``median_rule``: ``"print"`` (R ``print(fit)``) or ``"quantile"`` (R ``quantile(fit, 0.5)``); they differ only
    when a curve ENDS exactly on 0.5 (print: the time it got there; quantile: midpoint with the last time).
    """
    caller = "kaplan_meier"
    conf = check_confidence(caller, confidence)
    check_option(caller, "median_rule", median_rule, MEDIAN_RULES)
    t = as_float_array(time, caller=caller, name="time")
    e = as_float_array(event, caller=caller, name="event")
    if t.shape != e.shape:
        raise DataValidationError(None, f"{caller}(): time has {t.size} values but event has {e.size}")
    keep = ~(np.isnan(t) | np.isnan(e))
    t, e = t[keep], e[keep]
    if np.any((e != 0) & (e != 1)):
        bad = sorted(set(e[(e != 0) & (e != 1)].tolist()))[:5]
        raise DataValidationError(None, f"{caller}(): event must be 1 (event) or 0 (censored); found {bad}")
    if np.any(t < 0):
        raise DataValidationError(None, f"{caller}(): time must be >= 0; found {float(t[t < 0].min())}")
    if t.size == 0:
        raise InsufficientDataError(f"{caller}(): no patient with a time and an event status")
    times = np.unique(t)
    n_event = np.array([int(((t == x) & (e == 1)).sum()) for x in times])
    n_censor = np.array([int(((t == x) & (e == 0)).sum()) for x in times])
    n_risk = np.array([int((t >= x).sum()) for x in times])
    surv = np.ones(times.size)
    var_log = np.zeros(times.size)  # Greenwood: sum d / (n (n - d)) = var(log S)
    if e.sum() > 0:
        from statsmodels.duration.survfunc import SurvfuncRight

        fit = SurvfuncRight(t, e)
        last_event = np.searchsorted(fit.surv_times, times, side="right") - 1  # last event time <= each time
        surv = np.where(last_event >= 0, fit.surv_prob[np.maximum(last_event, 0)], 1.0)
        d, n = n_event.astype(float), n_risk.astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            term = np.where(d > 0, d / (n * (n - d)), 0.0)
        var_log = np.cumsum(term)
    std_err = np.sqrt(var_log)
    z = float(sps.norm.ppf(1 - (1 - conf) / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        xx = np.where((surv == 0) | (surv == 1), np.nan, surv)
        se2 = z * std_err / np.log(xx)
        lower = np.exp(-np.exp(np.log(-np.log(xx)) - se2))
        upper = np.exp(-np.exp(np.log(-np.log(xx)) + se2))
    if median_rule == "print":
        quant = [_minmin(times, curve) for curve in (surv, lower, upper)]
    else:
        x = np.concatenate(([0.0], times))
        quant = [_findq(x, np.concatenate(([0.0], 1 - curve)), 0.5, float(times[-1])) for curve in (surv, lower, upper)]
    return KaplanMeierResult(
        n=int(t.size), n_events=int(e.sum()), n_missing=int((~keep).sum()),
        time=tuple(float(v) for v in times), n_risk=tuple(int(v) for v in n_risk),
        n_event=tuple(int(v) for v in n_event), n_censor=tuple(int(v) for v in n_censor),
        surv=tuple(float(v) for v in surv), std_err=tuple(float(v) for v in std_err),
        lower=tuple(float(v) for v in lower), upper=tuple(float(v) for v in upper),
        median=quant[0], median_lower=quant[1], median_upper=quant[2], confidence=conf, median_rule=median_rule,
    )
