"""Table 6 detail (issue 12 item 3): each patient's maximum CTCAE grade and the episodes' outcomes, per event type.

* Maximum grade: per patient, the highest grade among that patient's on-treatment episodes of the type
  (recorded grade, else the lab rule's grade); a patient none of whose episodes has a grade is ``unknown``.
* Outcome: per EPISODE (each episode has its own outcome): resolved, ongoing, fatal; a blank or ``unknown``
  outcome (lab-derived episodes have none) is ``unknown``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ipafstudy.values import is_missing

GRADES = ("1", "2", "3", "4", "5")
OUTCOMES = ("resolved", "ongoing", "fatal")


def grade_and_outcome(sub: pd.DataFrame) -> dict[str, Any]:
    """``{"max_grade": {"1": n, ..., "5": n, "unknown": n}, "outcome": {"resolved": n, ..., "unknown": n}}``."""
    grades = dict.fromkeys((*GRADES, "unknown"), 0)
    outcomes = dict.fromkeys((*OUTCOMES, "unknown"), 0)
    if len(sub) and "grade" in sub.columns:
        for _pid, part in sub.groupby("patient_id", sort=True):
            known = [int(g) for g in part["grade"] if not is_missing(g)]
            grades[str(max(known)) if known else "unknown"] += 1
    if len(sub) and "outcome" in sub.columns:
        for value in sub["outcome"]:
            word = "unknown" if is_missing(value) else str(value).strip().lower()
            outcomes[word if word in OUTCOMES else "unknown"] += 1
    return {"max_grade": grades, "outcome": outcomes}
