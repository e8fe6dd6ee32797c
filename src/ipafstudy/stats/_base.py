"""Shared plumbing for ``ipafstudy.stats``: result mixin and input coercion.

Kept private so the public surface stays the functions and their result classes; every
public function converts its inputs here so that the same bad input gets the same message.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

import numpy as np
import pandas as pd

from ipafstudy.conventions import MAX_TIE_DECIMALS
from ipafstudy.errors import DataValidationError, InvalidOptionError
from ipafstudy.values import jsonable


class ResultMixin:
    """``to_dict()`` for frozen result dataclasses: JSON-safe, settings included."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dict of every field, as :func:`ipafstudy.values.jsonable` (NaN becomes None)."""
        return {f.name: jsonable(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


def tie_values(values: np.ndarray, tie_decimals: int | None, *, caller: str) -> np.ndarray:
    """The values as rank tests compare them: rounded to ``tie_decimals`` decimal places.

    Why: a difference or a converted unit carries binary noise (1.04 - 1.98 and 0.68 - 1.62 are both
    -0.94 on paper but differ in the last bit), which would break a tie, or make an unchanged
    patient "changed", by chance. Ten decimals is far below any clinical measurement's precision.
    """
    if tie_decimals is None:
        return values
    whole = isinstance(tie_decimals, (int, np.integer)) and not isinstance(tie_decimals, bool)
    if not whole or not 0 <= tie_decimals <= MAX_TIE_DECIMALS:
        raise InvalidOptionError(
            f"{caller}(): tie_decimals={tie_decimals!r} is not valid; "
            f"expected None or an integer from 0 to {MAX_TIE_DECIMALS}"
        )
    return np.round(values, int(tie_decimals))


def check_confidence(caller: str, confidence: float) -> float:
    """The confidence level as a float strictly between 0 and 1, else one uniformly worded error."""
    try:
        value = float(confidence)
    except (TypeError, ValueError):
        value = math.nan
    if not 0 < value < 1:
        raise InvalidOptionError(f"{caller}(): confidence={confidence!r} is not valid; expected a number in (0, 1)")
    return value


def check_integer(caller: str, name: str, value: Any, *, low: int, high: int | None = None, expected: str) -> None:
    """Raise unless ``value`` is a true integer (not bool, not float) in ``[low, high]``; ``expected`` words it."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or value < low
        or (high is not None and value > high)
    ):
        raise InvalidOptionError(f"{caller}(): {name}={value!r} is not valid; expected {expected}")


def _bad_value_message(caller: str, name: str, raw: Sequence[Any] | pd.Series) -> str:
    series = raw if isinstance(raw, pd.Series) else pd.Series(list(raw), dtype=object)
    for label, item in series.items():
        if item is None or item is pd.NA:
            continue
        try:
            float(item)
        except (TypeError, ValueError):
            return (
                f"{caller}(): {name} must be numeric; row/id {label!r} holds {item!r}. "
                "Fix or blank that value (blanks are treated as missing and counted)."
            )
    return f"{caller}(): {name} must be numeric"


def as_float_array(x: Any, *, caller: str, name: str) -> np.ndarray:
    """1-D float array (missing -> NaN); non-numeric entries raise a message naming the row."""
    if isinstance(x, pd.DataFrame):
        raise DataValidationError(None, f"{caller}(): {name} must be one column (a Series), not a DataFrame")
    try:
        if isinstance(x, pd.Series):
            arr = x.to_numpy(dtype=float, na_value=np.nan)
        else:
            arr = np.asarray(
                [np.nan if (v is None or v is pd.NA) else v for v in np.ravel(np.asarray(x, dtype=object))],
                dtype=float,
            )
    except (TypeError, ValueError):
        raise DataValidationError(None, _bad_value_message(caller, name, x)) from None
    if arr.ndim != 1:
        arr = arr.ravel()
    if np.isinf(arr).any():
        raise DataValidationError(None, f"{caller}(): {name} contains infinite values; fix them or blank them")
    return arr.copy()


def non_missing(x: Any, *, caller: str, name: str = "x") -> tuple[np.ndarray, int]:
    """The non-missing values of ``x`` in input order, and how many were missing (reported, never hidden)."""
    arr = as_float_array(x, caller=caller, name=name)
    ok = arr[~np.isnan(arr)]
    return ok, int(arr.size - ok.size)


def as_float_series(x: Any, *, caller: str, name: str) -> pd.Series:
    """Float Series keeping the index (patient id); the input is never modified."""
    if not isinstance(x, pd.Series):
        return pd.Series(as_float_array(x, caller=caller, name=name))
    return pd.Series(as_float_array(x, caller=caller, name=name), index=x.index, name=x.name)


def pair_values(before: Any, after: Any, *, caller: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Complete pairs (before, after) and the number of patients dropped for a missing side.

    Two Series are paired BY INDEX (patient id), whatever their order; arrays/lists by position.
    """
    b_series, a_series = isinstance(before, pd.Series), isinstance(after, pd.Series)
    if b_series != a_series:
        raise DataValidationError(
            None,
            f"{caller}(): pass both before and after as pandas Series (paired by patient id) "
            "or both as arrays/lists (paired by position), not one of each",
        )
    if b_series:
        for label, s in (("before", before), ("after", after)):
            dup = s.index[s.index.duplicated()]
            if len(dup):
                raise DataValidationError(
                    None,
                    f"{caller}(): {label} has duplicated patient ids {sorted(map(str, set(dup)))[:5]}; "
                    "each patient must appear once per timepoint",
                )
        b = as_float_series(before, caller=caller, name="before")
        a = as_float_series(after, caller=caller, name="after")
        joined = pd.concat([b.rename("before"), a.rename("after")], axis=1, join="outer", sort=True)
        bv = joined["before"].to_numpy(dtype=float)
        av = joined["after"].to_numpy(dtype=float)
    else:
        bv = as_float_array(before, caller=caller, name="before")
        av = as_float_array(after, caller=caller, name="after")
        if bv.shape != av.shape:
            raise DataValidationError(
                None,
                f"{caller}(): before has {bv.size} values but after has {av.size}; arrays are paired by "
                "position, so pass Series indexed by patient id to pair unequal lists",
            )
    keep = ~(np.isnan(bv) | np.isnan(av))
    return bv[keep], av[keep], int((~keep).sum())


def tie_sizes(values: np.ndarray) -> np.ndarray:
    """Sizes of the groups of equal values (only groups of 2 or more)."""
    _, counts = np.unique(values, return_counts=True)
    return counts[counts > 1]
