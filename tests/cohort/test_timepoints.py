"""Baseline window edges, ties, follow-up rules: each expectation worked out by hand from the dates."""

from __future__ import annotations

import datetime as dt

import pytest

from ipafstudy.cohort.timepoints import (
    Observation,
    TimepointMiss,
    TimepointValue,
    check_outcomes,
    choose_baseline,
    patient_timepoints,
)
from ipafstudy.errors import InvalidOptionError
from ipafstudy.settings import ClinicalSettings

D = dt.date
START = D(2023, 4, 1)


def ob(outcome: str, day: dt.date, value: float, src: str = "m.csv row 2") -> Observation:
    return Observation(outcome, day, value, src)


def days(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


@pytest.mark.parametrize(
    ("offset", "settings", "found"),
    [
        (0, ClinicalSettings(), True),
        (0, ClinicalSettings(baseline_includes_start_day=False), False),
        (-90, ClinicalSettings(), True),
        (-91, ClinicalSettings(), False),
        (-91, ClinicalSettings(baseline_window_days=91), True),
        (-1, ClinicalSettings(baseline_window_days=0), False),
        (0, ClinicalSettings(baseline_window_days=0), True),
        (1, ClinicalSettings(), False),  # after start is never baseline
    ],
)
def test_baseline_window_edges(offset, settings, found):
    res = choose_baseline("P1", "crp", [ob("crp", days(offset), 5.0)], START, settings)
    assert isinstance(res, TimepointValue) is found
    if found:
        assert res.days_from_start == offset and res.date == days(offset)
    else:
        assert isinstance(res, TimepointMiss) and "baseline window" in res.reason


def test_baseline_closest_to_start_wins():
    obs = [ob("crp", days(-80), 1.0), ob("crp", days(-5), 2.0), ob("crp", days(-30), 3.0)]
    res = choose_baseline("P1", "crp", obs, START, ClinicalSettings())
    assert res.value == 2.0 and res.days_from_start == -5


def test_tie_on_same_day_is_the_mean_with_all_sources():
    obs = [ob("crp", days(-5), 4.0, "m.csv row 9"), ob("crp", days(-5), 7.0, "m.csv row 3")]
    res = choose_baseline("P1", "crp", obs, START, ClinicalSettings())
    assert res.value == pytest.approx((4.0 + 7.0) / 2)
    assert "row 3" in res.source and "row 9" in res.source
    # order of rows does not change the choice
    res2 = choose_baseline("P1", "crp", list(reversed(obs)), START, ClinicalSettings())
    assert res2 == res


def test_miss_reports_nearest_value_outside_window():
    res = choose_baseline("P1", "crp", [ob("crp", days(-120), 1.0)], START, ClinicalSettings())
    assert isinstance(res, TimepointMiss) and "-120 days" in res.reason


MEASURES = ("mmrc", "esr", "crp")


def _obs_visits() -> dict[str, list[Observation]]:
    # Visit at +60: all three measures. Visit at +120: mmrc and esr only (incomplete). +150: crp only.
    out: dict[str, list[Observation]] = {m: [ob(m, days(-3), 10.0)] for m in MEASURES}
    for m in MEASURES:
        out[m].append(ob(m, days(60), 1.0))
    out["mmrc"].append(ob("mmrc", days(120), 2.0))
    out["esr"].append(ob("esr", days(120), 2.0))
    out["crp"].append(ob("crp", days(150), 3.0))
    return out


def _fu(values):
    return {v.outcome: (v.days_from_start, v.value) for v in values if v.timepoint == "follow_up"}


def test_latest_complete_visit_takes_all_from_the_complete_date():
    values, misses = patient_timepoints("P1", _obs_visits(), START, days(200), MEASURES, ClinicalSettings())
    assert _fu(values) == {"mmrc": (60, 1.0), "esr": (60, 1.0), "crp": (60, 1.0)}
    assert misses == []


def test_latest_per_measure_takes_each_latest():
    settings = ClinicalSettings(follow_up_rule="latest_per_measure")
    values, _ = patient_timepoints("P1", _obs_visits(), START, days(200), MEASURES, settings)
    assert _fu(values) == {"mmrc": (120, 2.0), "esr": (120, 2.0), "crp": (150, 3.0)}


def test_follow_up_stops_at_end_of_exposure():
    settings = ClinicalSettings(follow_up_rule="latest_per_measure")
    values, _ = patient_timepoints("P1", _obs_visits(), START, days(120), MEASURES, settings)
    assert _fu(values) == {"mmrc": (120, 2.0), "esr": (120, 2.0), "crp": (60, 1.0)}


def test_no_complete_visit_gives_per_outcome_reasons():
    obs = {"mmrc": [ob("mmrc", days(30), 1.0)], "esr": [ob("esr", days(40), 1.0)]}
    values, misses = patient_timepoints("P1", obs, START, days(100), ("mmrc", "esr"), ClinicalSettings())
    fu = [m for m in misses if m.timepoint == "follow_up"]
    assert [m.outcome for m in fu] == ["mmrc", "esr"]
    assert all("no complete follow-up visit" in m.reason for m in fu)
    assert not [v for v in values if v.timepoint == "follow_up"]


def test_value_on_start_day_is_not_follow_up():
    values, misses = patient_timepoints("P1", {"crp": [ob("crp", START, 1.0)]}, START, days(100), ("crp",),
                                        ClinicalSettings())
    assert [(v.timepoint, v.days_from_start) for v in values] == [("baseline", 0)]
    assert [(m.timepoint) for m in misses] == ["follow_up"]


def test_all_missing_patient():
    values, misses = patient_timepoints("P1", {}, START, days(100), MEASURES, ClinicalSettings())
    assert values == [] and len(misses) == 2 * len(MEASURES)


def test_outcome_list_is_checked():
    with pytest.raises(InvalidOptionError, match="fev1"):
        check_outcomes(["hrct_total", "fev1"], "hrct_total")
    with pytest.raises(InvalidOptionError, match="primary_outcome"):
        check_outcomes(["crp"], "hrct_total")
    with pytest.raises(InvalidOptionError, match="twice"):
        check_outcomes(["crp", "crp"], "crp")


def test_each_value_and_miss_records_the_rule_applied_and_why():
    """HRCT follow-up is the latest usable scan whatever follow_up_rule says; a miss names its cause."""
    outcomes = ("hrct_total", "mmrc", "esr")
    obs = {
        # scans: one before the start, one after the end of treatment -> no follow-up scan, later ones after end
        "hrct_total": [ob("hrct_total", days(-10), 20.0, "scan"), ob("hrct_total", days(130), 18.0, "scan")],
        # measures on different dates -> no complete visit; a value 120 days before start -> baseline too old
        "mmrc": [ob("mmrc", days(-120), 2.0), ob("mmrc", days(30), 1.0)],
        "esr": [ob("esr", days(-3), 30.0), ob("esr", days(40), 20.0)],
    }
    values, misses = patient_timepoints("P1", obs, START, days(100), outcomes, ClinicalSettings())
    rules = {(v.outcome, v.timepoint): v.rule for v in values}
    assert rules == {("hrct_total", "baseline"): "closest_before_start", ("esr", "baseline"): "closest_before_start"}
    got = {(m.outcome, m.timepoint): (m.rule, m.cause) for m in misses}
    assert got == {
        ("hrct_total", "follow_up"): ("latest_usable_scan", "only_after_end"),
        ("mmrc", "baseline"): ("closest_before_start", "only_before_window"),
        ("mmrc", "follow_up"): ("latest_complete_visit", "no_complete_visit"),
        ("esr", "follow_up"): ("latest_complete_visit", "no_complete_visit"),
    }
    hrct_fu = next(m for m in misses if m.outcome == "hrct_total")
    assert "usable HRCT scan" in hrct_fu.reason and "complete" not in hrct_fu.reason
    # every scan before the start; a scan in the follow-up window that was excluded (open flags) is named
    only_before = {"hrct_total": [ob("hrct_total", days(-10), 20.0, "scan")]}
    _, m1 = patient_timepoints("P1", only_before, START, days(100), ("hrct_total",), ClinicalSettings())
    assert [(m.timepoint, m.cause) for m in m1] == [("follow_up", "only_before_start")]
    _, m2 = patient_timepoints("P1", only_before, START, days(100), ("hrct_total",), ClinicalSettings(),
                               unusable_scan_dates=(days(50),), hrct_note="; scan excluded: open flags")
    assert [(m.timepoint, m.cause) for m in m2] == [("follow_up", "scan_not_usable")]
    assert m2[0].reason.endswith("open flags")
    # a patient with no scan at all, and with scans only after the start (baseline)
    _, m3 = patient_timepoints("P1", {}, START, days(100), ("hrct_total",), ClinicalSettings())
    assert {m.cause for m in m3} == {"no_values"}
    later = {"hrct_total": [ob("hrct_total", days(50), 20.0, "scan")]}
    _, m4 = patient_timepoints("P1", later, START, days(100), ("hrct_total",), ClinicalSettings())
    assert [(m.timepoint, m.cause) for m in m4] == [("baseline", "none_before_start")]
    # under latest_per_measure the measures record that rule, scans keep theirs
    v5, _ = patient_timepoints("P1", obs, START, days(100), outcomes,
                               ClinicalSettings(follow_up_rule="latest_per_measure"))
    assert {(v.outcome, v.rule) for v in v5 if v.timepoint == "follow_up"} == {
        ("mmrc", "latest_per_measure"), ("esr", "latest_per_measure")}
