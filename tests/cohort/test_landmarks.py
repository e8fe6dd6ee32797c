"""Landmark follow-up (plan timepoints.follow_up.rule: landmarks): every expectation worked out by hand from the dates.

Start 2023-04-01 throughout: the 6-month landmark is 2023-10-01, the 12-month landmark 2024-04-01.
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import course, meas, merge, patient, scan

from ipafstudy.cohort.build import build_cohort
from ipafstudy.cohort.explain import explain_patient
from ipafstudy.cohort.landmarks import (
    LANDMARK_RULE,
    add_months,
    any_landmark_miss,
    choose_landmark,
    landmark_code,
    landmark_month,
    patient_landmarks,
)
from ipafstudy.cohort.timepoints import Observation, TimepointMiss, TimepointValue

D = dt.date
START = D(2023, 4, 1)
M6 = D(2023, 10, 1)


def ob(day: dt.date, value: float, outcome: str = "esr", src: str = "m.csv row 2") -> Observation:
    return Observation(outcome, day, value, src)


def at(n: int, base: dt.date = M6) -> dt.date:
    return base + dt.timedelta(days=n)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (D(2023, 4, 1), 6, D(2023, 10, 1)),
        (D(2023, 4, 1), 12, D(2024, 4, 1)),
        (D(2021, 8, 31), 6, D(2022, 2, 28)),  # February has no 31st: its last day
        (D(2023, 8, 31), 6, D(2024, 2, 29)),  # leap year
        (D(2021, 12, 31), 2, D(2022, 2, 28)),  # crosses the year
        (D(2022, 1, 31), 1, D(2022, 2, 28)),
        (D(2022, 3, 31), 1, D(2022, 4, 30)),
        (D(2020, 2, 29), 12, D(2021, 2, 28)),
        (D(2023, 11, 15), 14, D(2025, 1, 15)),
    ],
)
def test_landmark_date_is_calendar_months_clamped_to_the_month_end(start, months, expected):
    assert add_months(start, months) == expected


def test_codes():
    assert landmark_code(6) == "m6" and landmark_month("m12") == 12
    assert landmark_month("follow_up") is None and landmark_month("baseline") is None


def test_closest_value_in_the_window_wins():
    obs = [ob(at(-21), 1.0), ob(at(10), 2.0), ob(at(50), 3.0), ob(at(-200), 4.0)]
    res = choose_landmark("P1", "esr", obs, START, None, 6, 45)
    assert isinstance(res, TimepointValue)
    assert (res.value, res.date, res.timepoint, res.rule) == (2.0, at(10), "m6", LANDMARK_RULE)
    assert res.days_from_start == (at(10) - START).days == 193


@pytest.mark.parametrize(("offset", "found"), [(-45, True), (45, True), (-46, False), (46, False), (0, True)])
def test_window_edges_are_inclusive(offset, found):
    res = choose_landmark("P1", "esr", [ob(at(offset), 7.0)], START, None, 6, 45)
    assert isinstance(res, TimepointValue) is found
    if not found:
        assert res.cause == "outside_window"
        assert f"nearest value on {at(offset).isoformat()} ({offset:+d} days from the landmark)" in res.reason
        assert "6-month landmark 2023-10-01" in res.reason and "window_days=45" in res.reason


def test_tie_in_distance_takes_the_earlier_value():
    res = choose_landmark("P1", "esr", [ob(at(10), 2.0), ob(at(-10), 1.0)], START, None, 6, 45)
    assert (res.value, res.date) == (1.0, at(-10))


def test_same_day_values_are_averaged():
    res = choose_landmark("P1", "esr", [ob(at(3), 10.0, src="a row 2"), ob(at(3), 13.0, src="a row 3")],
                          START, None, 6, 45)
    assert res.value == 11.5 and res.source.startswith("mean of 2 same-day values")


def test_values_after_the_end_of_treatment_are_not_used():
    end = at(-5)  # treatment stopped 5 days before the landmark
    res = choose_landmark("P1", "esr", [ob(at(2), 9.0), ob(at(-30), 5.0)], START, end, 6, 45)
    assert (res.value, res.date) == (5.0, at(-30))  # the closer value is off treatment
    miss = choose_landmark("P1", "esr", [ob(at(2), 9.0)], START, end, 6, 45)
    assert isinstance(miss, TimepointMiss) and miss.cause == "only_after_end"
    on_end_day = choose_landmark("P1", "esr", [ob(end, 4.0)], START, end, 6, 45)
    assert on_end_day.value == 4.0  # the end day itself is on treatment


def test_values_on_or_before_the_start_day_are_not_landmark_values():
    # a 1-month landmark with a 45-day window reaches back before the start
    res = choose_landmark("P1", "esr", [ob(START, 3.0), ob(START - dt.timedelta(days=5), 2.0)], START, None, 1, 45)
    assert isinstance(res, TimepointMiss) and res.cause == "only_before_start"


def test_no_values_at_all():
    res = choose_landmark("P1", "esr", [], START, None, 6, 45)
    assert isinstance(res, TimepointMiss) and res.cause == "no_values" and res.rule == LANDMARK_RULE


def test_patient_landmarks_each_outcome_each_landmark_and_scan_causes():
    m12 = D(2024, 4, 1)
    obs = {
        "esr": [ob(at(5), 20.0), ob(at(-3, m12), 15.0)],
        "hrct_total": [ob(at(30, m12), 12.0, "hrct_total", "HRCT consensus scan")],
    }
    vals, misses = patient_landmarks(
        "P1", obs, START, None, ["hrct_total", "esr"], [6, 12], 45, scan_outcomes=("hrct_total",),
        hrct_note=" [1 scan excluded]", unusable_scan_dates=(at(1),),
    )
    assert [(v.outcome, v.timepoint, v.value) for v in vals] == [
        ("hrct_total", "m12", 12.0), ("esr", "m6", 20.0), ("esr", "m12", 15.0)]
    assert [(m.outcome, m.timepoint, m.cause) for m in misses] == [("hrct_total", "m6", "scan_not_usable")]
    assert misses[0].reason.startswith("no usable HRCT scan") and misses[0].reason.endswith(" [1 scan excluded]")
    assert any_landmark_miss(misses, vals, "hrct_total", [6, 12]) is None  # it has the 12-month value


def test_any_landmark_miss_common_or_mixed_cause():
    vals, misses = patient_landmarks("P1", {"esr": [ob(at(100), 1.0)]}, START, None, ["esr"], [6], 45)
    reason, cause = any_landmark_miss(misses, vals, "esr", [6])
    assert cause == "outside_window" and reason.startswith("no value at any landmark: no esr value within 45 days")
    end = at(20)
    vals, misses = patient_landmarks("P1", {"esr": [ob(at(30), 1.0)]}, START, end, ["esr"], [6, 12], 45)
    assert [m.cause for m in misses] == ["only_after_end", "outside_window"]
    assert any_landmark_miss(misses, vals, "esr", [6, 12])[1] == "no_landmark_value"


def _landmark_study():
    """P1: ESR and HRCT at both landmarks; P2: nothing near 12 months (analysed on its 6-month value);
    P3: a value 4 days after the 6-month landmark but after its treatment ended (2022-07-01), far from 12 months."""
    s = D(2022, 1, 10)
    parts = []
    for pid, end, days in (("P1", None, (180, 368)), ("P2", None, (175,)), ("P3", D(2022, 7, 1), (185,))):
        ms = [meas(pid, s - dt.timedelta(days=5), "esr", 40.0)]
        reads = scan(pid, s - dt.timedelta(days=5), {"ggo": 3})
        for i, d in enumerate(days):
            day = s + dt.timedelta(days=d)
            ms.append(meas(pid, day, "esr", 30.0 - 10 * i))
            reads += scan(pid, day, {"ggo": 2 - i})
        parts.append({"patients": [patient(pid)], "treatments": [course(pid, s, end)], "measurements": ms,
                      "hrct_reads": reads})
    return merge(*parts)


def test_build_cohort_with_landmarks_worked_by_hand():
    # start 2022-01-10: 6 months = 2022-07-10 (day 181), 12 months = 2023-01-10 (day 365)
    cohort = build_cohort(_landmark_study(), outcomes=["hrct_ggo", "esr"], primary_outcome="hrct_ggo",
                          landmarks=(6, 12), landmark_window_days=45)
    assert cohort.analysed_ids == ("P1", "P2")
    frame = cohort.analysis_frame().set_index("patient_id")
    assert frame.loc["P1", "esr_m6"] == 30.0 and frame.loc["P1", "esr_m12"] == 20.0
    assert frame.loc["P1", "esr_change_m12"] == -20.0 and frame.loc["P1", "esr_change_m6"] == -10.0
    assert frame.loc["P1", "hrct_ggo_m12"] == 6.0  # grade 1 in six zones
    # the follow-up columns repeat the analysis landmark (default: the last)
    assert frame.loc["P1", "esr_follow_up"] == 20.0 and frame.loc["P2", "esr_follow_up"] != frame.loc["P2", "esr_m6"]
    assert str(frame.loc["P1", "esr_m12_date"]) == "2023-01-13"
    miss = cohort.outcome_exclusions.set_index(["patient_id", "outcome", "timepoint"])
    assert miss.loc[("P2", "esr", "m12"), "cause"] == "outside_window"
    step = {s.key: s for s in cohort.flow}["no_follow_up"]
    assert step.patient_ids == ("P3",) and "any landmark" in step.reason
    assert [(b.key, b.n) for b in step.breakdown] == [("no_landmark_value", 1)]  # after end at 6, outside at 12
    assert cohort.timepoint_rules["esr"] == {"baseline": "closest_before_start", "follow_up": LANDMARK_RULE,
                                             "m6": LANDMARK_RULE, "m12": LANDMARK_RULE}
    assert cohort.follow_up_timepoints == ("m6", "m12")
    md = cohort.missing_data().set_index(["outcome", "timepoint"])
    assert md.loc[("esr", "m12"), "n_missing"] == 1 and ("esr", "follow_up") not in md.index


def test_build_cohort_analysis_landmark_fills_the_follow_up_columns():
    cohort = build_cohort(_landmark_study(), outcomes=["hrct_ggo", "esr"], primary_outcome="hrct_ggo",
                          landmarks=(6, 12), landmark_window_days=45, analysis_landmark=6)
    frame = cohort.analysis_frame().set_index("patient_id")
    assert frame.loc["P2", "esr_follow_up"] == 30.0 and frame.loc["P2", "esr_change"] == -10.0


def test_explain_patient_lists_each_landmark_with_its_rule_and_cause():
    cohort = build_cohort(_landmark_study(), outcomes=["hrct_ggo", "esr"], primary_outcome="hrct_ggo",
                          landmarks=(6, 12), landmark_window_days=45)
    text = explain_patient(cohort, "P2")
    assert "follow-up at landmarks 6, 12 months" in text
    assert "esr m6: 30 on 2022-07-04" in text and "rule closest_to_landmark" in text
    assert "esr m12: missing - no esr value within 45 days of the 12-month landmark 2023-01-10" in text
    assert "cause outside_window" in text and "follow_up:" not in text
