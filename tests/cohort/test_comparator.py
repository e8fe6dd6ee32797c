"""Comparator selection and index dates (cohort.comparator) on hand-built studies; every date worked by hand.

Data cut-off 2024-12-31 (stated). HRCT scores from the conftest ``scan`` helper: both readers grade every zone
alike, so hrct_total = 6 zones x the sum of the grades given ({"ggo": 2, "consolidation": 1} -> 18).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from conftest import course, full_patient, meas, merge, patient, scan

from ipafstudy.cohort.build import build_cohort
from ipafstudy.cohort.comparator import index_date, ipaf_date
from ipafstudy.cohort.timepoints import Observation
from ipafstudy.settings import ClinicalSettings

D = dt.date
CUTOFF = D(2024, 12, 31)
SETTINGS = ClinicalSettings(data_cutoff_date=CUTOFF)
BASE = {"ggo": 2, "consolidation": 1}  # hrct_total 18
FU = {"ggo": 1}  # hrct_total 6


def ab(pid: str, day: dt.date, name: str = "ANA", result: str = "negative") -> dict[str, object]:
    return {"patient_id": pid, "test_date": day, "antibody": name, "result": result}


def untreated(pid: str, work_up: dt.date | None, scans: list[tuple[dt.date, dict[str, int]]],
              **kw: object) -> dict[str, list[dict[str, object]]]:
    part: dict[str, list[dict[str, object]]] = {"patients": [patient(pid, **kw)], "hrct_reads": []}
    for day, grades in scans:
        part["hrct_reads"] += scan(pid, day, grades)
    if work_up is not None:
        part["antibodies"] = [ab(pid, work_up), ab(pid, work_up + dt.timedelta(days=20), "RF")]
    return part


def _study():
    return merge(
        full_patient("T1", D(2023, 1, 10), None),  # treated: in the treated arm, never a candidate
        # C1: an older scan before the work-up is skipped; index = first scan on/after 2022-03-01
        untreated("C1", D(2022, 3, 1), [(D(2022, 1, 15), BASE), (D(2022, 3, 10), BASE), (D(2022, 9, 10), FU)]),
        {"measurements": [meas("C1", D(2022, 2, 20), "crp", 10.0), meas("C1", D(2022, 9, 10), "crp", 4.0)]},
        # C2: exposed later (tacrolimus from 2023-05-01, before the cut-off): not a comparator
        untreated("C2", D(2022, 2, 1), [(D(2022, 2, 10), BASE), (D(2022, 8, 10), FU)]),
        {"treatments": [course("C2", D(2023, 5, 1), None)]},
        # C3: tacrolimus starts after the cut-off: a comparator, followed up to the cut-off
        untreated("C3", D(2023, 6, 1), [(D(2023, 6, 1), BASE), (D(2024, 6, 1), FU)]),
        {"treatments": [course("C3", D(2025, 2, 1), None)]},
        # C4: no baseline value: the only scan is before the work-up
        untreated("C4", D(2022, 5, 1), [(D(2022, 4, 1), BASE)]),
        # C5: index scan but no later one
        untreated("C5", D(2022, 5, 1), [(D(2022, 5, 3), BASE)]),
        # C6: 16 years old at the index date
        untreated("C6", D(2022, 5, 1), [(D(2022, 5, 3), BASE), (D(2022, 11, 3), FU)], birth_date=D(2006, 1, 1)),
        # C7: index 2024-11-15: 47 days to the cut-off (both counted) < min_exposure_days 90
        untreated("C7", D(2024, 11, 1), [(D(2024, 11, 15), BASE), (D(2024, 12, 20), FU)]),
        # C8: no antibody test: dated from the first scan
        untreated("C8", None, [(D(2022, 7, 1), BASE), (D(2023, 1, 5), FU)]),
        # N1: not IPAF (a defined CTD) with scans: not a candidate
        untreated("N1", D(2022, 1, 1), [(D(2022, 1, 5), BASE), (D(2022, 6, 5), FU)], defined_ctd="yes"),
    )


@pytest.fixture(scope="module")
def comp():
    cohort = build_cohort(_study(), SETTINGS)
    assert cohort.analysed_ids == ("T1",)
    return cohort.comparator


def _row(comp, pid):
    return comp.patients.set_index("patient_id").loc[pid]


def test_candidates_are_ipaf_and_never_exposed(comp):
    ids = set(comp.patients["patient_id"])
    assert ids == {"C1", "C3", "C4", "C5", "C6", "C7", "C8"}  # not T1, C2 (exposed), N1 (not IPAF)
    assert comp.ids == ("C1", "C3", "C8")


def test_flow_worked_by_hand(comp):
    steps = {s.key: (s.n_removed, s.n_after, s.patient_ids) for s in comp.flow}
    assert steps["candidates"][1] == 7
    assert steps["no_index_visit"] == (1, 6, ("C4",))
    assert steps["under_age"] == (1, 5, ("C6",))
    assert steps["short_follow_up"] == (1, 4, ("C7",))
    assert steps["no_follow_up"] == (1, 3, ("C5",))
    assert steps["comparator"][1] == 3


def test_index_dates(comp):
    assert _row(comp, "C1")["ipaf_date"] == D(2022, 3, 1)
    assert _row(comp, "C1")["index_date"] == D(2022, 3, 10)  # not the 2022-01-15 scan before the work-up
    assert _row(comp, "C3")["index_date"] == D(2023, 6, 1)  # a scan on the work-up day itself counts
    assert _row(comp, "C8")["index_date"] == D(2022, 7, 1)
    assert _row(comp, "C8")["ipaf_date_source"].startswith("no dated antibody test")
    assert "after the data cut-off" in _row(comp, "C3")["note"]
    # age: born 1960-06-15, index 2022-03-10 -> 61 completed years
    assert _row(comp, "C1")["age_at_index"] == 61.0
    # observed days: 2022-03-10 .. 2024-12-31, both counted
    assert _row(comp, "C1")["follow_up_days"] == (CUTOFF - D(2022, 3, 10)).days + 1


def test_reasons_name_the_dates(comp):
    assert "2022-05-01" in _row(comp, "C4")["exclusion_reason"]
    assert "16" in _row(comp, "C6")["exclusion_reason"]
    assert "47 days" in _row(comp, "C7")["exclusion_reason"]


def test_values_from_the_index_date(comp):
    frame = comp.analysis_frame().set_index("patient_id")
    assert list(frame.index) == ["C1", "C3", "C8"]
    assert frame.loc["C1", "hrct_total_baseline"] == 18.0
    assert frame.loc["C1", "hrct_total_follow_up"] == 6.0
    assert frame.loc["C1", "hrct_total_change"] == -12.0
    assert frame.loc["C1", "hrct_total_follow_up_date"] == D(2022, 9, 10)
    # CRP: baseline 18 days before the index (within the 90-day window); follow-up by the treated arm's rule
    # (latest_complete_visit: the clinic panel mMRC/ESR/CRP/steroid dose is incomplete on 2022-09-10 -> none)
    assert frame.loc["C1", "crp_baseline"] == 10.0 and pd.isna(frame.loc["C1", "crp_change"])
    miss = comp.misses[(comp.misses["patient_id"] == "C1") & (comp.misses["outcome"] == "crp")]
    assert list(miss["cause"]) == ["no_complete_visit"]
    assert pd.isna(frame.loc["C3", "crp_baseline"])
    values = comp.values[(comp.values["patient_id"] == "C1") & (comp.values["outcome"] == "hrct_total")]
    assert sorted(values["days_from_start"]) == [0, (D(2022, 9, 10) - D(2022, 3, 10)).days]


def test_covariates_at_the_index_date(comp):
    cov = comp.covariates.set_index("patient_id")
    assert list(cov.index) == ["C1", "C3", "C8"]
    assert cov.loc["C3", "age_at_index"] == 62.0  # 1960-06-15 -> 2023-06-01
    assert cov.loc["C1", "sex"] == "female" and cov.loc["C1", "ever_smoker"] == 0


def test_follow_up_rule_applies_as_for_the_treated():
    c = build_cohort(_study(), ClinicalSettings(data_cutoff_date=CUTOFF, follow_up_rule="latest_per_measure"))
    assert c.comparator.analysis_frame().set_index("patient_id").loc["C1", "crp_change"] == -6.0


def test_start_day_setting_does_not_drop_the_index_visit():
    c = build_cohort(_study(), ClinicalSettings(data_cutoff_date=CUTOFF, baseline_includes_start_day=False))
    assert c.comparator.ids == ("C1", "C3", "C8")


def test_landmarks_from_the_index_date():
    # landmark 6 months from 2022-03-10 = 2022-09-10 (C1's follow-up scan); C3's is 12 months on (outside 30 days)
    c = build_cohort(_study(), SETTINGS, landmarks=[6], landmark_window_days=30)
    comp = c.comparator
    assert "C1" in comp.ids and "C3" not in comp.ids
    assert comp.analysis_frame().set_index("patient_id").loc["C1", "hrct_total_change"] == -12.0
    assert "C3" in next(s for s in comp.flow if s.key == "no_follow_up").patient_ids


def test_no_candidates_and_rules_directly():
    c = build_cohort(merge(full_patient("T1", D(2023, 1, 10), None)), SETTINGS)
    assert c.comparator.ids == () and len(c.comparator.analysis_frame()) == 0
    assert ipaf_date([{"test_date": D(2022, 2, 1)}, {"test_date": D(2021, 5, 1)}, {"test_date": None}]) == D(2021, 5, 1)
    assert ipaf_date([]) is None
    obs = [Observation("x", D(2021, 1, 1), 1.0, ""), Observation("x", D(2021, 6, 1), 1.0, ""),
           Observation("x", D(2026, 1, 1), 1.0, "")]
    assert index_date(obs, D(2021, 1, 2), CUTOFF) == D(2021, 6, 1)
    assert index_date(obs, D(2021, 6, 2), CUTOFF) is None  # the only later value is after the cut-off
    assert index_date(obs, None, None) == D(2021, 1, 1)


def test_treated_cohort_unchanged_by_comparators():
    with_c = build_cohort(_study(), SETTINGS)
    alone = build_cohort(merge(full_patient("T1", D(2023, 1, 10), None)), SETTINGS)
    pd.testing.assert_frame_equal(with_c.analysis_frame(), alone.analysis_frame())


def test_concomitant_drug_at_the_index_date():
    from ipafstudy.rules.drugs import DrugMatcher

    mmf = DrugMatcher("mmf", ("mycophenolate",), "MMF")
    study = merge(
        untreated("C1", D(2022, 3, 1), [(D(2022, 3, 10), BASE), (D(2022, 9, 10), FU)]),
        untreated("C2", D(2022, 3, 1), [(D(2022, 3, 10), BASE), (D(2022, 9, 10), FU)]),
        # C1 on MMF over its index day; C2's course ends the day before its index
        {"treatments": [course("C1", D(2022, 1, 1), None, drug="mycophenolate"),
                        course("C2", D(2022, 1, 1), D(2022, 3, 9), drug="mycophenolate")]},
    )
    cov = build_cohort(study, SETTINGS, concomitant=[mmf]).comparator.covariates.set_index("patient_id")
    assert cov.loc["C1", "concomitant_mmf"] == 1 and cov.loc["C2", "concomitant_mmf"] == 0
