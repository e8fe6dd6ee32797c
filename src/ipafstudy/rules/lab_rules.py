"""Which lab-derived adverse events a study derives (issue 11 item 7); the rules themselves are in adverse_events.

Kept apart (no numpy/pandas) so the analysis plan can name the rules without loading the numeric stack.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ipafstudy.errors import InvalidOptionError

LAB_RULES: dict[str, str] = {
    "hypomagnesaemia": "hypomagnesaemia",
    "aki": "renal_insufficiency",
    "neutropenia": "neutropenia",
    "alt_increase": "alt_increased",
}
"""Lab rule -> the adverse event type its episodes are counted as."""
DEFAULT_LAB_RULES: tuple[str, ...] = ("hypomagnesaemia", "aki")
"""The reference (tacrolimus) study's rules."""


@dataclass(frozen=True)
class LabRules:
    """Which lab-derived adverse events a study derives, with the limits of normal the CTCAE grades need.

    ``neutrophils_lln`` (10^9/L) and ``alt_uln`` (U/L) are the laboratory's limits; the defaults (2.0 and 40)
    are common adult reference limits, to be replaced by the study laboratory's own.
    """

    rules: tuple[str, ...] = DEFAULT_LAB_RULES
    neutrophils_lln: float = 2.0
    alt_uln: float = 40.0

    def __post_init__(self) -> None:
        unknown = [r for r in self.rules if r not in LAB_RULES]
        if unknown:
            raise InvalidOptionError(f"unknown lab rule(s) {unknown}; known rules are {list(LAB_RULES)}")
        if len(set(self.rules)) != len(self.rules):
            raise InvalidOptionError(f"lab rules are repeated: {list(self.rules)}")
        if not (math.isfinite(self.neutrophils_lln) and 0.5 < self.neutrophils_lln < 10):
            raise InvalidOptionError(f"neutrophils_lln {self.neutrophils_lln!r} x 10^9/L must lie between 0.5 and 10")
        if not (math.isfinite(self.alt_uln) and 0 < self.alt_uln <= 1000):
            raise InvalidOptionError(f"alt_uln {self.alt_uln!r} U/L must be positive (at most 1000)")

    @property
    def event_types(self) -> tuple[str, ...]:
        return tuple(LAB_RULES[r] for r in self.rules)
