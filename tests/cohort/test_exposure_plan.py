"""Issue 11 item 1 in the cohort: plan drug names, route (topical never counts), concomitant drugs at start."""

from __future__ import annotations

import pytest
from conftest import D, course, full_patient, merge

from ipafstudy.analysis.dataset import analysis_dataset
from ipafstudy.analysis.plan import plan_from_dict
from ipafstudy.analysis.study import run_study
from ipafstudy.cohort.build import build_cohort
from ipafstudy.cohort.exposure import concomitant_at_start, patient_exposure
from ipafstudy.rules.drugs import DrugMatcher

CUT = D(2024, 1, 1)
MMF = DrugMatcher("mmf", ("mycophenolate", "MMF", "CellCept"), "MMF")


def _course(start, end, drug="tacrolimus", route=None, pid="P1"):
    return {**course(pid, start, end, drug=drug), "route": route}


def test_topical_course_never_counts():
    rows = [_course(D(2023, 1, 1), D(2023, 3, 31), drug="tacrolimus ointment", route="topical"),
            _course(D(2023, 6, 1), D(2023, 6, 30), route="oral")]
    exp = patient_exposure("P1", rows, CUT, routes_recorded=True)
    assert (exp.start, exp.exposure_days, exp.n_courses) == (D(2023, 6, 1), 30, 1)
    assert "1 topical tacrolimus course(s) not counted" in exp.note and exp.warning is None


def test_only_topical_means_unexposed():
    exp = patient_exposure("P1", [_course(D(2023, 1, 1), None, route="topical")], CUT, routes_recorded=True)
    assert exp.start is None and exp.note == "no tacrolimus course recorded; 1 topical tacrolimus course(s) not counted"


def test_course_without_route_counts_with_one_warning_per_patient():
    rows = [_course(D(2023, 1, 1), D(2023, 1, 31)), _course(D(2023, 2, 1), D(2023, 2, 28))]  # two, no route
    exp = patient_exposure("P1", rows, CUT, routes_recorded=True)
    assert exp.exposure_days == 31 + 28
    assert exp.warning == ("patient P1: 2 tacrolimus course(s) without a route counted as exposure; "
                           "record the route (oral, intravenous, ...)")
    assert patient_exposure("P1", rows, CUT, routes_recorded=False).warning is None  # study records no routes


def test_plan_drug_names_pick_the_courses():
    drug = DrugMatcher("mmf", ("mycophenolate", "CellCept"), "mycophenolate")
    rows = [_course(D(2023, 1, 1), D(2023, 1, 10)), _course(D(2023, 3, 1), D(2023, 3, 10), drug="CellCept")]
    exp = patient_exposure("P1", rows, CUT, drug)
    assert (exp.start, exp.exposure_days) == (D(2023, 3, 1), 10)
    assert patient_exposure("P1", [rows[0]], CUT, drug).note == "no mycophenolate course recorded"


def test_concomitant_at_start_boundaries():
    start = D(2023, 5, 10)
    cases = [
        (_course(D(2023, 1, 1), D(2023, 5, 10), drug="MMF"), 1),  # ends on the start day
        (_course(D(2023, 1, 1), D(2023, 5, 9), drug="MMF"), 0),   # ended the day before
        (_course(D(2023, 5, 10), None, drug="CellCept"), 1),      # starts on the start day, ongoing
        (_course(D(2023, 5, 11), None, drug="MMF"), 0),           # starts the day after
        (_course(D(2023, 1, 1), None, drug="MMF", route="topical"), 0),
        (_course(D(2023, 1, 1), None, drug="azathioprine"), 0),
    ]
    for row, expected in cases:
        assert concomitant_at_start([row], start, (MMF,)) == {"mmf": expected}, row
    assert concomitant_at_start([cases[0][0]], None, (MMF,)) == {"mmf": None}


def _study():
    s = D(2023, 1, 1)
    parts = [full_patient(f"P0{i}", s, D(2023, 8, 1), ggo=2 + i % 2, ggo_fu=1) for i in range(1, 5)]
    parts.append({"treatments": [
        _course(D(2022, 6, 1), None, drug="mycophenolate mofetil", pid="P01"),
        _course(D(2022, 6, 1), D(2022, 12, 31), drug="MMF", pid="P02"),  # stopped before the start
        _course(D(2022, 6, 1), None, drug="CellCept", pid="P03", route="oral"),
    ]})
    return merge(*parts)


def test_concomitant_columns_in_the_analysis_dataset_and_regression():
    plan = plan_from_dict({
        "concomitant": [{"code": "mmf", "label": "MMF", "names": ["mycophenolate", "MMF", "CellCept"]}],
        "regression": {"outcome": "hrct_total_change", "predictors": ["concomitant_mmf"]},
    })
    study = _study()
    cohort = build_cohort(study, plan.settings, exposure=plan.exposure_drug, concomitant=plan.concomitant_drugs)
    data = analysis_dataset(cohort, plan)
    assert dict(zip(data["patient_id"], data["concomitant_mmf"], strict=True)) == {
        "P01": 1, "P02": 0, "P03": 1, "P04": 0}
    results = run_study(study, plan)
    # MMF patients (P01, P03) have baseline GGO 3, the others 2, in all six zones; every follow-up GGO is 1 and
    # the baseline consolidation 1 -> total change -(3 - 1) x 6 - 6 = -18 with MMF, -(2 - 1) x 6 - 6 = -12 without:
    # the MMF coefficient is the difference of the two group means, -6, with intercept -12.
    terms = results.regression.terms
    assert list(terms.index) == ["Intercept", "concomitant_mmf"]
    assert terms.loc["concomitant_mmf", "b"] == pytest.approx(-6.0)
    assert terms.loc["Intercept", "b"] == pytest.approx(-12.0)
    assert results.regression_labels["concomitant_mmf"] == "Concomitant MMF"
    # P03's oral course makes this a study that records routes: every tacrolimus course lacks one -> 4 warnings
    assert sum("without a route counted as exposure" in n for n in results.notes) == 4


def test_no_concomitant_plan_adds_no_column():
    plan = plan_from_dict({})
    data = analysis_dataset(build_cohort(_study()), plan)
    assert not [c for c in data.columns if c.startswith("concomitant_")]
