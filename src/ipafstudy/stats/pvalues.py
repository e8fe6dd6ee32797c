"""Multiplicity adjustment and p-value presentation.

Adjusted p-values are shown beside the raw ones, never instead of them (statistics.md), so
``adjust_p`` returns a new object and keeps NaN (a test that could not be run) in place.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd

from ipafstudy.conventions import ADJUST_METHODS, AdjustMethod
from ipafstudy.errors import DataValidationError, check_option
from ipafstudy.stats._base import check_integer


def _as_probability(p: Any, caller: str) -> float:
    """One p-value as float (None/NaN -> NaN); anything non-numeric is a clear data error."""
    if p is None:
        return math.nan
    try:
        value = float(p)
    except (TypeError, ValueError):
        raise DataValidationError(None, f"{caller}(): p={p!r} is not a number") from None
    if value < 0 or value > 1:
        raise DataValidationError(None, f"{caller}(): p={value!r} is not a probability (0 to 1)")
    return value


def adjust_p(pvalues: Any, method: AdjustMethod = "holm") -> Any:
    """Holm (step-down FWER) or Benjamini-Hochberg (FDR) adjusted p-values, as R ``p.adjust``.

    NaN entries are kept in place and do not count towards the number of tests m.
    A pandas Series comes back as a Series with the same index; anything else as a numpy array.

    >>> adjust_p([0.01, 0.04, float("nan"), 0.03], method="holm").round(3).tolist()
    [0.03, 0.06, nan, 0.06]
    """
    check_option("adjust_p", "method", method, ADJUST_METHODS)
    try:
        if isinstance(pvalues, pd.Series):
            p = pvalues.to_numpy(dtype=float, na_value=np.nan)
        else:
            p = np.asarray([np.nan if v is None else v for v in np.ravel(np.asarray(pvalues, dtype=object))],
                           dtype=float)
    except (TypeError, ValueError):
        raise DataValidationError(None, "adjust_p(): p-values must be numbers (blank/NaN allowed)") from None
    if np.any((p < 0) | (p > 1)):
        raise DataValidationError(None, "adjust_p(): p-values must lie between 0 and 1")
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    m = q.size
    if m:
        order = np.argsort(q, kind="mergesort")
        sorted_p = q[order]
        if method == "holm":
            adj = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * sorted_p))
        else:
            ranks = np.arange(1, m + 1)
            adj = np.minimum.accumulate((m / ranks * sorted_p)[::-1])[::-1]
            adj = np.minimum(1.0, adj)
        back = np.empty(m)
        back[order] = adj
        out[ok] = back
    if isinstance(pvalues, pd.Series):
        return pd.Series(out, index=pvalues.index, name=pvalues.name)
    return out


#: Floats are rounded to this many significant digits before any half-up rounding for print.
SEEN_SIGNIFICANT_DIGITS = 12


def decimal_as_seen(value: float | int | Decimal) -> Decimal:
    """The decimal number a person reads off a float: its shortest repr rounded to 12 significant digits.

    Arithmetic leaves binary noise in the 16th-17th digit (0.455 computed as 0.45499999999999996,
    -1.575 as -1.5749999999999997); rounding that noise away first makes half-up rounding act on the
    half the reader sees. Integers and Decimals are exact and kept as they are.

    >>> decimal_as_seen(0.45499999999999996), decimal_as_seen(-1.5749999999999997), decimal_as_seen(7)
    (Decimal('0.455000000000'), Decimal('-1.57500000000'), Decimal('7'))
    """
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    exact = Decimal(repr(float(value)))
    if not exact.is_finite() or exact == 0:
        return exact
    quantum = Decimal(1).scaleb(exact.adjusted() - (SEEN_SIGNIFICANT_DIGITS - 1))
    return exact.quantize(quantum, rounding=ROUND_HALF_UP)


def round_half_up(value: float | int | Decimal, decimals: int) -> Decimal:
    """Half-up rounding (halves away from zero) of :func:`decimal_as_seen` to ``decimals`` places.

    The one rounding rule of every printed number, p-values included.

    >>> str(round_half_up(0.45499999999999996, 2)), str(round_half_up(-1.575, 2)), str(round_half_up(2.5, 0))
    ('0.46', '-1.58', '3')
    """
    return decimal_as_seen(value).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def format_p(p: float, *, digits: int = 3) -> str:
    """Journal-style p: ``"<0.001"`` below 10**-digits, else fixed ``digits`` decimals; NaN -> ``"NA"``.

    >>> format_p(0.0004), format_p(0.0123), format_p(1.0)
    ('<0.001', '0.012', '1.000')
    """
    check_integer("format_p", "digits", digits, low=1, high=10, expected="an integer from 1 to 10")
    value = _as_probability(p, "format_p")
    if math.isnan(value):
        return "NA"
    threshold = 10.0 ** (-digits)
    if value < threshold:
        return f"<{threshold:.{digits}f}"
    # Half-up on the decimal a person sees (12 significant digits), like every other number in our tables.
    return str(round_half_up(value, digits))


def significance_stars(p: float) -> str:
    """``***`` p < 0.001, ``**`` p < 0.01, ``*`` p < 0.05, else ``""`` (also for NaN)."""
    value = _as_probability(p, "significance_stars")
    if math.isnan(value):
        return ""
    if value < 0.001:
        return "***"
    if value < 0.01:
        return "**"
    if value < 0.05:
        return "*"
    return ""
