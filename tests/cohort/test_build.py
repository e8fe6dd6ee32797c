"""build_cohort on a hand-built study: every expected count, date and score is worked out in the comments."""

from __future__ import annotations

import datetime as dt
import json
import math

import pandas as pd
import pytest
from conftest import D, course, full_patient, make_study, meas, merge, patient, scan

from ipafstudy.cohort.build import build_cohort
from ipafstudy.cohort.explain import explain_patient
from ipafstudy.errors import InvalidOptionError
from ipafstudy.settings import ClinicalSettings

S = D(2023, 1, 1)  # tacrolimus start of everyone below
CUTOFF = D(2023, 12, 31)


def _study():
    parts = [
        full_patient("P01", S, None),                                    # analysed, ongoing
        full_patient("P02", S, D(2023, 8, 1), interstitial_pneumonia="no"),  # not IPAF
        full_patient("P03", S, D(2023, 8, 1), inflammatory_arthritis="unknown",  # indeterminate: clinical
                     hrct_pattern="uip"),                                # unknown, morphologic not met
        {"patients": [patient("P04")]},                                  # no tacrolimus
        full_patient("P05", S, D(2023, 8, 1), birth_date=D(2005, 1, 2)),  # 17 on 1 Jan 2023
        full_patient("P06", S, D(2023, 3, 30), fu_days=60),              # 1 Jan-30 Mar = 89 days
        full_patient("P07", S, D(2023, 8, 1), base_days=-91),            # baseline 91 days before
        full_patient("P08", S, D(2023, 8, 1), birth_date=D(2005, 1, 1), fu_days=89),  # 18 today; 30 Mar
    ]
    # P09: eligible, but its follow-up scan has an open flag -> no follow-up of the primary outcome.
    p9 = full_patient("P09", S, D(2023, 8, 1))
    fu9 = S + dt.timedelta(days=150)
    p9["hrct_reads"] = [r for r in p9["hrct_reads"] if r["scan_date"] != fu9] + scan(
        "P09", fu9, {"ggo": 1}, flagged_zone="RU")
    # P10: analysed; mmrc missing at the follow-up visit -> no complete visit -> 4 secondary follow-ups missing.
    p10 = full_patient("P10", S, D(2023, 8, 1))
    fu10 = S + dt.timedelta(days=150)
    p10["measurements"] = [m for m in p10["measurements"] if not (m["date"] == fu10 and m["variable"] == "mmrc")]
    p10["measurements"].append(meas("P10", S + dt.timedelta(days=100), "mmrc", 1))
    p10["patients"][0]["smoking"] = "former"
    return merge(*parts, p9, p10, {"measurements": [meas("P04", CUTOFF, "crp", 1.0)]})


@pytest.fixture(scope="module")
def cohort():
    return build_cohort(_study())


def test_cutoff_is_latest_record_date(cohort):
    assert cohort.data_cutoff_date == CUTOFF


def test_flow_worked_by_hand(cohort):
    got = {s.key: s.patient_ids for s in cohort.flow}
    assert got == {
        "screened": tuple(f"P{i:02d}" for i in range(1, 11)),
        "not_ipaf": ("P02", "P03"),
        "no_tacrolimus": ("P04",),
        "under_age": ("P05",),
        "short_exposure": ("P06",),
        "no_baseline": ("P07",),
        "no_follow_up": ("P09",),
        "analysed": ("P01", "P08", "P10"),
    }
    step = next(s for s in cohort.flow if s.key == "not_ipaf")
    assert {b.key: b.patient_ids for b in step.breakdown} == {"entry_not_met": ("P02",), "fewer_domains": (),
                                                              "indeterminate": ("P03",)}
    assert cohort.analysed_ids == ("P01", "P08", "P10")


def test_screening_table(cohort):
    sc = cohort.screening.set_index("patient_id")
    assert sc.at["P01", "ongoing"] and sc.at["P01", "tacrolimus_end"] == CUTOFF
    assert sc.at["P01", "exposure_days"] == 365  # 2023 is not a leap year, both ends counted
    assert sc.at["P06", "exposure_days"] == 31 + 28 + 30
    assert sc.at["P08", "age_at_start"] == 18.0 and sc.at["P05", "age_at_start"] == 17.0
    assert sc.at["P03", "ipaf_status"] == "indeterminate"
    assert sc.at["P09", "exclusion_step"] == "no_follow_up"
    assert "open" in sc.at["P09", "exclusion_reason"]
    assert "91" in sc.at["P07", "exclusion_reason"] or "-91 days" in sc.at["P07", "exclusion_reason"]
    assert list(sc["analysed"]) == [pid in ("P01", "P08", "P10") for pid in sc.index]


def test_hrct_scores_and_dates(cohort):
    af = cohort.analysis_frame().set_index("patient_id")
    # baseline scan: ggo 2 and consolidation 1 in all 6 zones (both readers): ggo 12, consolidation 6, total 18
    # follow-up scan: ggo 1 everywhere: ggo 6, total 6
    assert af.at["P01", "hrct_total_baseline"] == 18 and af.at["P01", "hrct_total_follow_up"] == 6
    assert af.at["P01", "hrct_total_change"] == -12
    assert af.at["P01", "hrct_consolidation_change"] == -6
    assert af.at["P01", "hrct_total_baseline_date"] == S - dt.timedelta(days=10)
    # P08: follow-up 89 days after 1 Jan 2023 = 31 Mar 2023
    assert af.at["P08", "hrct_total_follow_up_date"] == D(2023, 3, 31)
    assert af.at["P01", "esr_change"] == -10 and af.at["P01", "methylprednisolone_dose_follow_up"] == 8


def test_excluded_scan_listed(cohort):
    ex = cohort.hrct.excluded_scans
    assert list(ex["patient_id"]) == ["P09"] and ex.iloc[0]["n_open_flags"] == 4  # 4 patterns in zone RU


def test_secondary_missing_is_per_outcome(cohort):
    ex = cohort.outcome_exclusions
    p10 = ex[ex["patient_id"] == "P10"]
    assert sorted(p10["outcome"]) == sorted(["mmrc", "esr", "crp", "methylprednisolone_dose"])
    assert set(p10["timepoint"]) == {"follow_up"}
    af = cohort.analysis_frame().set_index("patient_id")
    assert math.isnan(af.at["P10", "esr_change"]) and af.at["P10", "hrct_total_change"] == -12
    md = cohort.missing_data().set_index(["outcome", "timepoint"])
    assert md.at[("esr", "follow_up"), "n_missing"] == 1 and md.at[("esr", "baseline"), "n_missing"] == 0


def test_latest_per_measure_recovers_p10():
    c = build_cohort(_study(), ClinicalSettings(follow_up_rule="latest_per_measure"))
    af = c.analysis_frame().set_index("patient_id")
    assert af.at["P10", "esr_change"] == -10 and af.at["P10", "mmrc_follow_up_date"] == S + dt.timedelta(days=100)


def test_covariates_and_frame_shape(cohort):
    cov = cohort.covariates.set_index("patient_id")
    assert list(cov.index) == ["P01", "P08", "P10"]
    assert cov.at["P10", "ever_smoker"] == 1 and cov.at["P01", "ever_smoker"] == 0
    assert cov.at["P01", "clinical_inflammatory_arthritis"] and not cov.at["P01", "clinical_raynaud"]
    assert cov.at["P01", "domain_combination"] == "clinical + morphologic"
    af = cohort.analysis_frame()
    assert list(af.columns[:3]) == ["patient_id", "antibody_group", "ever_smoker"]
    assert af.shape == (3, 3 + 5 * len(cohort.outcomes))


def test_settings_change_the_flow():
    c = build_cohort(_study(), ClinicalSettings(baseline_window_days=91, min_exposure_days=89))
    assert set(c.analysed_ids) == {"P01", "P06", "P07", "P08", "P10"}
    c = build_cohort(_study(), ClinicalSettings(missing_feature_means="absent"))
    assert next(s for s in c.flow if s.key == "not_ipaf").patient_ids == ("P02", "P03")


def test_to_dict_is_json(cohort):
    text = json.dumps(cohort.to_dict(), allow_nan=False)
    back = json.loads(text)
    # every table in the one JSON table shape, its columns as in the frame (no index column added)
    assert back["screening"]["columns"] == list(cohort.screening.columns)
    assert len(back["screening"]["records"]) == len(cohort.screening)
    for name in ("classification", "values", "outcome_exclusions", "covariates", "adverse_events", "agreement"):
        assert set(back[name]) == {"columns", "records"} and "index" not in back[name]["columns"], name
    assert '"analysed_ids": ["P01", "P08", "P10"]' in text


def test_deterministic():
    a, b = build_cohort(_study()), build_cohort(_study())
    pd.testing.assert_frame_equal(a.analysis_frame(), b.analysis_frame())
    assert a.flow == b.flow


def test_primary_outcome_choice():
    c = build_cohort(_study(), outcomes=["crp", "hrct_total"], primary_outcome="crp")
    assert c.outcomes == ("crp", "hrct_total")
    # P09 has crp at baseline and follow-up: with crp primary it is analysed (its HRCT follow-up is missing)
    assert "P09" in c.analysed_ids
    with pytest.raises(InvalidOptionError):
        build_cohort(_study(), outcomes=["crp"], primary_outcome="hrct_total")


def test_one_patient_and_all_missing():
    c = build_cohort(merge(full_patient("P01", S, None)))
    assert c.analysed_ids == ("P01",)
    c = build_cohort(make_study([patient("X1")], treatments=[course("X1", S, D(2023, 6, 1))]))
    assert c.analysed_ids == () and c.flow[-1].n_after == 0
    assert c.analysis_frame().empty and c.adverse_event_summary["n_patients"].sum() == 0


def test_explain(cohort):
    text = explain_patient(cohort, "P09")
    assert "EXCLUDED at step 'no_follow_up'" in text and "open" in text
    # P09's follow-up scan has an open flag: the miss names the scan rule and that cause
    assert "hrct_total [primary] follow_up: missing" in text
    assert "(rule latest_usable_scan; cause scan_not_usable)" in text
    text = explain_patient(cohort, "P01")
    assert "ANALYSED" in text and "hrct_total [primary] baseline: 18" in text
    assert "rule closest_before_start)" in text and "rule latest_usable_scan)" in text
    with pytest.raises(InvalidOptionError, match="ZZ"):
        explain_patient(cohort, "ZZ")


def test_empty_study_and_all_unknown_patient():
    c = build_cohort(make_study([]))
    assert c.flow[0].n_after == 0 and c.analysis_frame().shape == (0, 3 + 5 * len(c.outcomes))
    assert json.loads(json.dumps(c.to_dict(), allow_nan=False))["analysed_ids"] == []
    blank = {k: None for k in ("interstitial_pneumonia", "alternative_etiology_excluded", "defined_ctd",
                               "inflammatory_arthritis", "hrct_pattern", "biopsy_pattern")}
    c = build_cohort(make_study([patient("X", **blank)]))
    row = c.screening.iloc[0]
    assert row["ipaf_status"] == "indeterminate" and row["exclusion_step"] == "not_ipaf"
    assert "indeterminate" in row["exclusion_reason"]
