"""Small shared pieces of the rules layer: the input error and tri-state helpers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ipafstudy.errors import IpafstudyError
from ipafstudy.values import is_missing

TriState = bool | None

_TRUE_WORDS = frozenset({"yes", "y", "true"})
_FALSE_WORDS = frozenset({"no", "n", "false"})
_UNKNOWN_WORDS = frozenset({"unknown", ""})


class RuleInputError(IpafstudyError, ValueError):
    """A value handed to a clinical rule is outside what the rule can read (names value and field)."""


def as_tristate(value: Any, *, field: str, owner: str = "") -> TriState:
    """Read True / False / None; also 'yes'/'no'/'unknown', NaN and pd.NA (blank cells) as unknown.

    Anything else is an error naming the field, because guessing would change a classification.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, np.bool_):  # from a pandas row
        return bool(value)
    if is_missing(value):
        return None
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        if word in _UNKNOWN_WORDS:
            return None
    where = f" of {owner}" if owner else ""
    raise RuleInputError(
        f"{field}{where}: value {value!r} is not a yes/no/unknown finding; use True, False or None"
    )


def float_or_nan(value: Any) -> float:
    """``float(value)``, or NaN when it cannot be read as a number (each rule words its own error)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
