"""mMRC dyspnoea grade (Bestall et al. 1999; clinical-rules.md s.4).

The modified MRC scale runs 0-4; the original MRC scale runs 1-5 (= mMRC + 1). Input declares
its scale, and a value outside the declared range (or not a whole number) is an error.
"""

from __future__ import annotations

import math
from typing import Any

from ipafstudy.errors import check_option
from ipafstudy.rules.common import RuleInputError, float_or_nan

MMRC_DESCRIPTIONS: dict[int, str] = {
    0: "breathless only with strenuous exercise",
    1: "short of breath when hurrying on level ground or walking up a slight hill",
    2: "walks slower than people of the same age on level ground because of breathlessness, "
    "or has to stop for breath at own pace",
    3: "stops for breath after about 100 yards (91 m) or a few minutes on level ground",
    4: "too breathless to leave the house, or breathless when dressing",
}
SCALE_RANGES: dict[str, tuple[int, int]] = {"mmrc": (0, 4), "mrc": (1, 5)}


def to_mmrc(value: Any, scale: str = "mmrc") -> int:
    """The mMRC grade (0-4) of a value recorded on the declared scale ('mmrc' 0-4 or 'mrc' 1-5).

    >>> to_mmrc(3, "mrc"), to_mmrc(3.0, "mmrc")
    (2, 3)
    """
    check_option("to_mmrc", "scale", scale, tuple(SCALE_RANGES))
    low, high = SCALE_RANGES[scale]
    number = float_or_nan(value)
    if isinstance(value, bool) or math.isnan(number) or number != int(number) or not low <= number <= high:
        raise RuleInputError(
            f"dyspnoea grade {value!r} is not a whole number {low}-{high} on the declared {scale.upper()} scale"
        )
    return int(number) - (1 if scale == "mrc" else 0)


def describe_mmrc(grade: int) -> str:
    """The wording of an mMRC grade, for reports."""
    if grade not in MMRC_DESCRIPTIONS:
        raise RuleInputError(f"mMRC grade {grade!r} is not 0-4")
    return MMRC_DESCRIPTIONS[grade]
