"""Which treatment rows are a given drug: names matched case-insensitively as whole words (issue 11 item 1).

Pure: used by the cohort (exposure, concomitant drugs) and by the analysis plan that declares them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

DEFAULT_EXPOSURE_NAMES = ("tacrolimus", "FK506", "FK-506", "Prograf", "Advagraf", "Envarsus")


@dataclass(frozen=True)
class DrugMatcher:
    """A drug and the names that identify it in ``treatments.drug`` (case-insensitive, whole words)."""

    drug: str
    names: tuple[str, ...]
    label: str | None = None

    def __post_init__(self) -> None:
        words = [n.strip().lower() for n in self.names if n and n.strip()]
        if not words:
            raise ValueError(f"drug {self.drug!r}: at least one name is needed")
        pattern = "|".join(re.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))
        object.__setattr__(self, "_regex", re.compile(rf"(?<![0-9a-z])(?:{pattern})(?![0-9a-z])"))

    @property
    def display(self) -> str:
        """The label printed in texts (the drug code when no label is given)."""
        return self.label or self.drug

    def matches(self, drug: object) -> bool:
        text = "" if drug is None or (isinstance(drug, float) and math.isnan(drug)) else str(drug).strip().lower()
        return bool(text) and self._regex.search(text) is not None  # type: ignore[attr-defined]


