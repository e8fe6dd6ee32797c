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


# --- any measurement variable as an outcome (issue 11 item 3) -------------------------------------------------------

def _clinic_and_pft() -> dict[str, list[Observation]]:
    """Clinic visits (mmrc, esr) at +60 (both) and +120 (both); lung function (fvc %, dlco %) at +90 (both) and
    +150 (fvc only); baselines at -3 (clinic) and -20 (lung function)."""
    out = {m: [ob(m, days(-3), 10.0), ob(m, days(60), 1.0), ob(m, days(120), 2.0)] for m in ("mmrc", "esr")}
    out["fvc_pct_pred"] = [ob("fvc_pct_pred", days(-20), 70.0), ob("fvc_pct_pred", days(90), 72.0),
                           ob("fvc_pct_pred", days(150), 75.0)]
    out["dlco_pct_pred"] = [ob("dlco_pct_pred", days(-20), 50.0), ob("dlco_pct_pred", days(90), 48.0)]
    return out


def test_any_catalogue_variable_gets_baseline_and_follow_up():
    obs = {"six_mwd_m": [ob("six_mwd_m", days(-10), 300.0), ob("six_mwd_m", days(80), 350.0)]}
    values, misses = patient_timepoints("P1", obs, START, days(200), ("six_mwd_m",), ClinicalSettings())
    assert [(v.timepoint, v.days_from_start, v.value) for v in values] == [("baseline", -10, 300.0),
                                                                          ("follow_up", 80, 350.0)]
    assert misses == []
    # alone in its panel: its own latest value, recorded as such (not a "complete visit")
    assert values[1].rule == "latest_per_measure"
    assert check_outcomes(["six_mwd_m", "fvc_pct_pred", "kl6"], "kl6") == ("six_mwd_m", "fvc_pct_pred", "kl6")


def test_complete_visit_is_per_panel_so_adding_fvc_never_moves_the_clinic_follow_up():
    obs = _clinic_and_pft()
    clinic_only, _ = patient_timepoints("P1", obs, START, days(200), ("mmrc", "esr"), ClinicalSettings())
    both, misses = patient_timepoints("P1", obs, START, days(200), ("mmrc", "esr", "fvc_pct_pred", "dlco_pct_pred"),
                                      ClinicalSettings())
    assert _fu(clinic_only) == {"mmrc": (120, 2.0), "esr": (120, 2.0)}
    # clinic measures keep +120; the lung function panel's latest complete session is +90 (+150 lacks DLCO)
    assert _fu(both) == {"mmrc": (120, 2.0), "esr": (120, 2.0), "fvc_pct_pred": (90, 72.0),
                         "dlco_pct_pred": (90, 48.0)}
    assert misses == []
    assert {v.rule for v in both if v.timepoint == "follow_up"} == {"latest_complete_visit"}
    # FVC alone: its own latest value (+150)
    fvc, _ = patient_timepoints("P1", obs, START, days(200), ("fvc_pct_pred",), ClinicalSettings())
    assert _fu(fvc) == {"fvc_pct_pred": (150, 75.0)}
    # latest_per_measure: each its own latest
    per, _ = patient_timepoints("P1", obs, START, days(200), ("esr", "fvc_pct_pred", "dlco_pct_pred"),
                                ClinicalSettings(follow_up_rule="latest_per_measure"))
    assert _fu(per) == {"esr": (120, 2.0), "fvc_pct_pred": (150, 75.0), "dlco_pct_pred": (90, 48.0)}


def test_declared_variable_is_its_own_panel_unless_it_names_one():
    from ipafstudy.rules.units import BUILTIN_VARIABLES, LUNG_FUNCTION, MeasurementVariable

    obs = _clinic_and_pft()
    obs["dlco_abs"] = [ob("dlco_abs", days(-20), 5.0), ob("dlco_abs", days(150), 4.0)]
    outcomes = ("fvc_pct_pred", "dlco_abs")
    own = BUILTIN_VARIABLES.with_declared([MeasurementVariable("dlco_abs", "DLCO", "mmol/min/kPa", 0, 20)], {})
    values, _ = patient_timepoints("P1", obs, START, days(200), outcomes, ClinicalSettings(), catalogue=own)
    assert _fu(values) == {"fvc_pct_pred": (150, 75.0), "dlco_abs": (150, 4.0)}
    joined = BUILTIN_VARIABLES.with_declared(
        [MeasurementVariable("dlco_abs", "DLCO", "mmol/min/kPa", 0, 20, panel=LUNG_FUNCTION)], {})
    obs["dlco_abs"].append(ob("dlco_abs", days(90), 4.5))
    values, _ = patient_timepoints("P1", obs, START, days(200), outcomes, ClinicalSettings(), catalogue=joined)
    assert _fu(values) == {"fvc_pct_pred": (150, 75.0), "dlco_abs": (150, 4.0)}  # both measured at +150
    values, _ = patient_timepoints("P1", obs, START, days(200), (*outcomes, "dlco_pct_pred"), ClinicalSettings(),
                                   catalogue=joined)  # dlco % lacks +150: the whole panel comes from +90
    assert _fu(values) == {"fvc_pct_pred": (90, 72.0), "dlco_abs": (90, 4.5), "dlco_pct_pred": (90, 48.0)}
    with pytest.raises(InvalidOptionError, match="dlco_abs"):
        check_outcomes(["dlco_abs"], "dlco_abs")  # not in the built-in catalogue
    assert check_outcomes(["dlco_abs"], "dlco_abs", own) == ("dlco_abs",)
