"""Exposure: course joining, ongoing to cut-off, inclusive day counting, age at start."""

from __future__ import annotations

import datetime as dt

from conftest import D, course, frame, make_study, meas, patient

from ipafstudy.cohort.exposure import age_at, age_at_start, patient_exposure, resolve_cutoff, tacrolimus_exposures
from ipafstudy.settings import ClinicalSettings


def test_single_closed_course_counts_both_ends():
    # 1 Jan to 31 Mar 2023: 31 + 28 + 31 = 90 days on the drug.
    exp = patient_exposure("P1", [course("P1", D(2023, 1, 1), D(2023, 3, 31))], D(2024, 1, 1))
    assert (exp.start, exp.end, exp.ongoing, exp.exposure_days) == (D(2023, 1, 1), D(2023, 3, 31), False, 90)


def test_drug_name_is_case_insensitive_and_other_drugs_ignored():
    rows = [course("P1", D(2023, 1, 1), D(2023, 1, 10), drug="  TACROLIMUS "),
            course("P1", D(2022, 1, 1), D(2022, 12, 1), drug="methylprednisolone")]
    exp = patient_exposure("P1", rows, D(2024, 1, 1))
    assert exp.start == D(2023, 1, 1) and exp.exposure_days == 10


def test_contiguous_courses_join_and_gap_stops():
    rows = [
        course("P1", D(2023, 1, 1), D(2023, 1, 31)),
        course("P1", D(2023, 2, 1), D(2023, 2, 28)),   # next day: continues
        course("P1", D(2023, 2, 20), D(2023, 3, 10)),  # overlaps: continues
        course("P1", D(2023, 3, 12), D(2023, 6, 1)),   # 1 day without drug (11 Mar): re-challenge
    ]
    exp = patient_exposure("P1", frame("treatments", rows).to_dict("records"), D(2024, 1, 1))
    assert exp.end == D(2023, 3, 10)
    assert exp.exposure_days == 31 + 28 + 10
    assert (exp.n_courses, exp.n_courses_joined, exp.n_courses_ignored) == (4, 3, 1)
    assert len(exp.sources) == 3 and exp.sources[0] == "treatments.csv row 2"


def test_course_order_in_file_does_not_matter():
    rows = [course("P1", D(2023, 2, 1), D(2023, 2, 28)), course("P1", D(2023, 1, 1), D(2023, 1, 31))]
    assert patient_exposure("P1", rows, D(2024, 1, 1)).exposure_days == 59


def test_ongoing_runs_to_cutoff():
    exp = patient_exposure("P1", [course("P1", D(2023, 1, 1), None)], D(2023, 3, 30))
    assert exp.ongoing and exp.end == D(2023, 3, 30) and exp.exposure_days == 89


def test_end_after_cutoff_is_clipped_and_ongoing():
    exp = patient_exposure("P1", [course("P1", D(2023, 1, 1), D(2023, 12, 31))], D(2023, 1, 31))
    assert exp.ongoing and exp.exposure_days == 31


def test_course_after_cutoff_is_not_exposure():
    exp = patient_exposure("P1", [course("P1", D(2024, 1, 1), None)], D(2023, 12, 31))
    assert not exp.exposed and "after the data cut-off" in exp.note


def test_no_tacrolimus():
    exp = patient_exposure("P1", [], D(2023, 1, 1))
    assert not exp.exposed and exp.exposure_days is None


def test_cutoff_default_is_latest_record_date_and_setting_wins():
    study = make_study(
        [patient("P1", birth_date=D(2030, 1, 1))],  # birth dates are not follow-up records
        treatments=[course("P1", D(2023, 1, 1), None)],
        measurements=[meas("P1", D(2023, 5, 4), "crp", 3.0)],
    )
    assert resolve_cutoff(study, ClinicalSettings()) == D(2023, 5, 4)
    assert resolve_cutoff(study, ClinicalSettings(data_cutoff_date=D(2023, 2, 1))) == D(2023, 2, 1)
    exp = tacrolimus_exposures(study, ClinicalSettings())["P1"]
    assert exp.exposure_days == (D(2023, 5, 4) - D(2023, 1, 1)).days + 1


def test_age_exactly_on_birthday_and_day_before():
    assert age_at(D(2005, 3, 10), D(2023, 3, 10)) == 18
    assert age_at(D(2005, 3, 10), D(2023, 3, 9)) == 17
    assert age_at(D(2004, 2, 29), D(2022, 2, 28)) == 17  # leap-day birthday turns on 1 March
    assert age_at(D(2004, 2, 29), D(2022, 3, 1)) == 18


def test_age_from_index_when_no_birth_date():
    assert age_at_start({"birth_date": None, "age_at_index": 61.5}, D(2023, 1, 1)) == (61.5, "age_at_index")
    assert age_at_start({"birth_date": None, "age_at_index": float("nan")}, D(2023, 1, 1)) == (None, "missing")
    assert age_at_start({"birth_date": dt.date(1970, 1, 2)}, D(2023, 1, 1)) == (52.0, "birth_date")
