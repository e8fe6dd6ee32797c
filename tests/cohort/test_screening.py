"""The ordered screening flow: counts, order, first failed step wins, indeterminate listed separately."""

from __future__ import annotations

import datetime as dt
import itertools

from ipafstudy.cohort.exposure import Exposure
from ipafstudy.cohort.screening import FLOW_KEYS, PatientScreen, build_flow, exclusion, render_flow
from ipafstudy.settings import ClinicalSettings

D = dt.date


def exp(pid: str, days: int | None) -> Exposure:
    if days is None:
        return Exposure(pid, None, None, False, None, 0, 0, 0, (), "no tacrolimus course recorded")
    start = D(2023, 1, 1)
    return Exposure(pid, start, start + dt.timedelta(days=days - 1), False, days, 1, 1, 0, (), "")


def ps(pid, status="ipaf", days=120, age=50.0, base=None, fu=None):
    return PatientScreen(pid, status, f"reason {pid}", exp(pid, days), age, base, fu)


SCREENS = [
    ps("A"),                                   # analysed
    ps("B", status="not_ipaf", days=None),     # not IPAF wins over no tacrolimus
    ps("C", status="indeterminate"),
    ps("D", days=None),
    ps("E", age=17.0),
    ps("F", age=18.0),                         # exactly min_age: eligible
    ps("G", days=89),
    ps("H", days=90),                          # exactly min_exposure_days: eligible
    ps("I", base="no baseline scan"),
    ps("J", fu="no follow-up scan"),
    ps("K", age=None),                         # unknown age leaves at the age step
    ps("L", days=89, base="no baseline scan"),  # exposure step comes first
]


def test_flow_counts_and_order_worked_by_hand():
    flow, decisions = build_flow(SCREENS, ClinicalSettings(), "hrct_total")
    assert tuple(s.key for s in flow) == FLOW_KEYS
    got = {s.key: (s.n_before, s.n_removed, s.n_after, s.patient_ids) for s in flow}
    assert got["screened"] == (12, 0, 12, tuple("ABCDEFGHIJKL"))
    assert got["not_ipaf"] == (12, 2, 10, ("B", "C"))
    assert got["no_tacrolimus"] == (10, 1, 9, ("D",))
    assert got["under_age"] == (9, 2, 7, ("E", "K"))
    assert got["short_exposure"] == (7, 2, 5, ("G", "L"))
    assert got["no_baseline"] == (5, 1, 4, ("I",))
    assert got["no_follow_up"] == (4, 1, 3, ("J",))
    assert got["analysed"] == (3, 0, 3, ("A", "F", "H"))
    for before, after in itertools.pairwise(flow):
        assert before.n_after == after.n_before
    assert decisions["A"] == (None, "")


def test_indeterminate_is_its_own_breakdown_row():
    flow, _ = build_flow(SCREENS, ClinicalSettings(), "hrct_total")
    step = next(s for s in flow if s.key == "not_ipaf")
    # B has no recorded failure kind: its own row, after the three known reasons (listed even when 0)
    assert [(b.key, b.n, b.patient_ids) for b in step.breakdown] == [
        ("entry_not_met", 0, ()), ("fewer_domains", 0, ()), ("indeterminate", 1, ("C",)), ("not_ipaf", 1, ("B",))]
    assert "IPAF status indeterminate" in render_flow(flow)


def test_not_ipaf_splits_into_its_reasons_and_keeps_each_patients_reason():
    screens = [
        PatientScreen("N1", "not_ipaf", "entry requirement not met: no ILD", exp("N1", 120), 50.0,
                      ipaf_failure="entry_not_met"),
        PatientScreen("N2", "not_ipaf", "features in fewer than two domains", exp("N2", 120), 50.0,
                      ipaf_failure="fewer_domains"),
        PatientScreen("N3", "not_ipaf", "entry requirement not met: other cause", exp("N3", None), 50.0,
                      ipaf_failure="entry_not_met"),
        PatientScreen("N4", "indeterminate", "depends on unknown data", exp("N4", 120), 50.0),
        PatientScreen("F1", "ipaf", "", exp("F1", 120), 50.0, follow_up_miss="no usable HRCT scan",
                      follow_up_cause="only_before_start"),
        PatientScreen("F2", "ipaf", "", exp("F2", 120), 50.0, follow_up_miss="no usable HRCT scan",
                      follow_up_cause="no_values"),
        PatientScreen("F3", "ipaf", "", exp("F3", 120), 50.0, follow_up_miss="no usable HRCT scan",
                      follow_up_cause="only_before_start"),
    ]
    flow, decisions = build_flow(screens, ClinicalSettings(), "hrct_total")
    step = next(s for s in flow if s.key == "not_ipaf")
    assert [(b.key, b.patient_ids) for b in step.breakdown] == [
        ("entry_not_met", ("N1", "N3")), ("fewer_domains", ("N2",)), ("indeterminate", ("N4",))]
    assert sum(b.n for b in step.breakdown) == step.n_removed
    assert step.patient_reasons == tuple(decisions[pid][1] for pid in step.patient_ids)
    assert "entry requirement not met: other cause" in step.patient_reasons[step.patient_ids.index("N3")]
    fu = next(s for s in flow if s.key == "no_follow_up")
    assert [(b.key, b.patient_ids) for b in fu.breakdown] == [("no_values", ("F2",)),
                                                               ("only_before_start", ("F1", "F3"))]
    assert fu.to_dict()["patient_reasons"] == ["no usable HRCT scan"] * 3


def test_thresholds_follow_settings():
    s = ClinicalSettings(min_age=21, min_exposure_days=180)
    assert exclusion(ps("X", age=20.9), s)[0] == "under_age"
    assert exclusion(ps("X", age=21.0, days=179), s)[0] == "short_exposure"
    assert exclusion(ps("X", age=21.0, days=180), s) == (None, "")


def test_reason_names_the_values():
    step, reason = exclusion(ps("G", days=89), ClinicalSettings())
    assert step == "short_exposure" and "89 days < min_exposure_days 90" in reason


def test_one_patient_and_empty():
    flow, _ = build_flow([ps("A")], ClinicalSettings(), "hrct_total")
    assert flow[-1].patient_ids == ("A",)
    flow, _ = build_flow([], ClinicalSettings(), "hrct_total")
    assert all(s.n_before == 0 and s.n_after == 0 for s in flow)
