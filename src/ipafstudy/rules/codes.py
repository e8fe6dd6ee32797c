"""The study's codes, each spelled once: HRCT zones and patterns, and the outcome codes built from them.

Pure Python, so the data schema, the rules, the cohort and the analysis plan all import the same tuples
without importing pandas.
"""

from __future__ import annotations

from typing import Final

ZONES: Final = ("RU", "RM", "RL", "LU", "LM", "LL")
"""HRCT lung zones: right/left upper, middle, lower."""
PATTERNS: Final = ("ggo", "fibrosis", "honeycombing", "consolidation")
"""HRCT patterns graded per zone; their grades sum to the total score."""

HRCT_OUTCOMES: Final[dict[str, str]] = {"hrct_total": "total", **{f"hrct_{p}": p for p in PATTERNS}}
"""Outcome code -> the consensus score column it reads."""
MEASUREMENT_OUTCOMES: Final = ("mmrc", "esr", "crp", "methylprednisolone_dose")
"""Outcomes read from the measurements table (the code is the measurement variable)."""
OUTCOME_CODES: Final[tuple[str, ...]] = (*HRCT_OUTCOMES, *MEASUREMENT_OUTCOMES)
"""Every outcome a plan may name, in the study's table order."""
TIMEPOINTS: Final = ("baseline", "follow_up")
"""The two time points of every outcome, in order (also the column suffixes of the analysis dataset)."""
