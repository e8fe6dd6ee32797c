"""Table 6 detail: maximum CTCAE grade per patient and episode outcomes (issue 12 item 3), worked by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from ipafstudy.analysis.ae_detail import grade_and_outcome
from ipafstudy.analysis.results import Count
from ipafstudy.analysis.study import adverse_events

EPISODES = pd.DataFrame({
    "patient_id": ["P1", "P1", "P2", "P3", "P3", "P4"],
    "event": ["infection"] * 6,
    "grade": pd.array([1, 3, 2, None, None, 5], dtype="Int64"),
    "outcome": ["resolved", "ongoing", "resolved", None, "unknown", "fatal"],
    "during_treatment": [True] * 6,
    "serious": ["no", "yes", "no", "no", "no", "yes"],
    "led_to_discontinuation": ["no"] * 6,
    "led_to_dose_change": ["no"] * 6,
})


def test_max_grade_per_patient_and_outcome_per_episode_by_hand():
    got = grade_and_outcome(EPISODES)
    # P1: max(1, 3) = 3; P2: 2; P3: no grade -> unknown; P4: 5
    assert got["max_grade"] == {"1": 0, "2": 1, "3": 1, "4": 0, "5": 1, "unknown": 1}
    # 6 episodes: 2 resolved, 1 ongoing, 1 fatal, blank + 'unknown' -> 2 unknown
    assert got["outcome"] == {"resolved": 2, "ongoing": 1, "fatal": 1, "unknown": 2}
    assert sum(got["max_grade"].values()) == EPISODES["patient_id"].nunique()
    assert sum(got["outcome"].values()) == len(EPISODES)


def test_no_episode_gives_zeros():
    got = grade_and_outcome(EPISODES.iloc[0:0])
    assert set(got["max_grade"].values()) == {0} and set(got["outcome"].values()) == {0}


def test_adverse_event_rows_carry_the_detail():
    summary = pd.DataFrame([{"event": "infection", "n_patients": 4, "n_analysed": 10, "percent": 40.0,
                             "n_events": 6, "n_recorded": 6, "n_lab_derived": 0}])
    (row,) = adverse_events(summary, EPISODES)
    assert row.patients == Count(n=4, denominator=10)
    assert row.extra["max_grade"]["3"] == 1 and row.extra["outcome"]["unknown"] == 2
    assert row.extra["serious"] == 2


@pytest.mark.parametrize("grades", [[None], [pd.NA]])
def test_missing_grade_spellings(grades):
    frame = pd.DataFrame({"patient_id": ["P1"], "grade": grades, "outcome": ["resolved"]})
    assert grade_and_outcome(frame)["max_grade"]["unknown"] == 1
