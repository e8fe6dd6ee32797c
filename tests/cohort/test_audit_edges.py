"""Audit: the spec's eligibility and time-point edges, end to end through build_cohort.

Every expectation is worked by hand from the dates below (clinical-rules.md s.5): age >= 18 at the
tacrolimus start (a birthday on the start day counts), exposure >= 90 days counting the first and
the last day, treatment still running at the cut-off ends at the cut-off, baseline within
[start - 90, start], follow-up after the start up to the end of exposure (end day included).
"""

from __future__ import annotations

import datetime as dt

from conftest import D, full_patient, merge

from ipafstudy.cohort.build import build_cohort
from ipafstudy.settings import ClinicalSettings

START = D(2023, 1, 1)
CUTOFF = D(2023, 3, 31)  # 1 Jan to 31 Mar 2023 = 31 + 28 + 31 = 90 days, first and last day counted
SETTINGS = ClinicalSettings(data_cutoff_date=CUTOFF)


def _study():
    return merge(
        # 18th birthday on the start day: 18 -> eligible; born one day later: still 17 -> under age
        full_patient("A18", START, D(2023, 3, 31), fu_days=80, birth_date=D(2005, 1, 1)),
        full_patient("A17", START, D(2023, 3, 31), fu_days=80, birth_date=D(2005, 1, 2)),
        # closed course of exactly 90 days (1 Jan - 31 Mar) -> eligible; one day shorter (89) -> too short
        full_patient("E90", START, D(2023, 3, 31), fu_days=89),  # follow-up ON the last day of exposure counts
        full_patient("E89", START, D(2023, 3, 30), fu_days=80),
        # still running at the cut-off: ends at the cut-off, 90 days -> eligible
        full_patient("ONG", START, None, fu_days=80),
        # baseline 90 days before start is inside the window, 91 days is not
        full_patient("B90", START, D(2023, 3, 31), base_days=-90, fu_days=80),
        full_patient("B91", START, D(2023, 3, 31), base_days=-91, fu_days=80),
        # the only follow-up is the day after the end of exposure (31 Mar + 1): no follow-up
        full_patient("FUX", START, D(2023, 3, 31), fu_days=90),
    )


def test_edges_end_to_end():
    c = build_cohort(_study(), SETTINGS)
    s = c.screening.set_index("patient_id")
    assert c.analysed_ids == ("A18", "B90", "E90", "ONG")
    assert dict(s["exclusion_step"].dropna()) == {
        "A17": "under_age", "E89": "short_exposure", "B91": "no_baseline", "FUX": "no_follow_up"}
    assert (s.at["A18", "age_at_start"], s.at["A17", "age_at_start"]) == (18.0, 17.0)
    assert (s.at["E90", "exposure_days"], s.at["E89", "exposure_days"]) == (90, 89)
    assert (bool(s.at["ONG", "ongoing"]), s.at["ONG", "tacrolimus_end"], s.at["ONG", "exposure_days"]) == (
        True, CUTOFF, 90)
    assert s.at["B90", "baseline_date"] == START - dt.timedelta(days=90)
    assert s.at["E90", "follow_up_date"] == CUTOFF


def test_thresholds_move_with_the_settings():
    # min_age 19 removes A18; min_exposure_days 89 admits E89; a 91-day window admits B91
    s = ClinicalSettings(data_cutoff_date=CUTOFF, min_age=19, min_exposure_days=89, baseline_window_days=91)
    c = build_cohort(_study(), s)
    assert c.analysed_ids == ("B90", "B91", "E89", "E90", "ONG")
