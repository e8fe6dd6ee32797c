"""Issue 11 item 7 in the cohort: the plan picks the lab rules; the default keeps the reference study's."""

from __future__ import annotations

from conftest import D, full_patient, meas, merge

from ipafstudy.analysis.plan import plan_from_dict
from ipafstudy.analysis.study import run_study
from ipafstudy.cohort.build import build_cohort
from ipafstudy.reporting.format import get_style
from ipafstudy.reporting.methods import methods_paragraphs
from ipafstudy.reporting.tables import table_adverse_events
from ipafstudy.rules.lab_rules import LabRules

S = D(2023, 1, 1)


def _study():
    return merge(
        full_patient("P01", S, D(2023, 8, 1)),
        full_patient("P02", S, D(2023, 8, 1)),
        {"measurements": [
            meas("P01", D(2023, 2, 1), "neutrophils", 1.2, "10^9/L"),   # grade 2 (LLN 2.0)
            meas("P01", D(2023, 2, 8), "neutrophils", 0.45, "10^9/L"),  # nadir grade 4
            meas("P01", D(2023, 3, 1), "alt", 130.0, "U/L"),            # > 3 x 40: grade 2
            meas("P02", D(2023, 3, 1), "alt", 40.0, "U/L"),             # = ULN: normal
            meas("P02", D(2023, 4, 1), "magnesium", 0.45, "mmol/L"),    # hypomagnesaemia grade 2
        ]},
    )


def _summary(cohort):
    return {r["event"]: r["n_patients"] for r in cohort.adverse_event_summary.to_dict("records")}


def test_default_rules_ignore_neutrophils_and_alt():
    cohort = build_cohort(_study())
    summary = _summary(cohort)
    assert summary["hypomagnesaemia"] == 1
    assert "neutropenia" not in summary and "alt_increased" not in summary


def test_plan_rules_grade_neutropenia_and_alt():
    cohort = build_cohort(_study(), lab_rules=LabRules(("neutropenia", "alt_increase")))
    summary = _summary(cohort)
    assert (summary["neutropenia"], summary["alt_increased"], summary["hypomagnesaemia"]) == (1, 1, 0)
    ev = cohort.adverse_events.set_index("event")
    assert (ev.loc["neutropenia", "onset_date"], ev.loc["neutropenia", "lab_value"], ev.loc["neutropenia", "grade"]) \
        == (D(2023, 2, 1), 0.45, 4)
    assert (ev.loc["alt_increased", "lab_value"], ev.loc["alt_increased", "grade"]) == (130.0, 2)
    assert ev.loc["alt_increased", "source"] == "lab-derived"


def test_enabled_rule_with_no_event_is_an_explicit_zero():
    cohort = build_cohort(merge(full_patient("P01", S, D(2023, 8, 1))), lab_rules=LabRules(("neutropenia",)))
    assert _summary(cohort)["neutropenia"] == 0


def test_plan_section_reaches_table6_with_limits_from_the_plan():
    plan = plan_from_dict({"adverse_events": {"lab_rules": ["neutropenia", "alt_increase"], "alt_uln": 30}})
    results = run_study(_study(), plan)
    rows = {r.event: r for r in results.adverse_events}
    assert rows["alt_increased"].label == "ALT increased" and rows["alt_increased"].patients.n == 2  # 40 > ULN 30
    assert rows["neutropenia"].label == "Neutrophil count decreased" and rows["neutropenia"].patients.n == 1
    footnote = table_adverse_events(results, get_style("default")).footnotes[0]
    assert footnote.endswith("Lab-defined events are included: neutrophil count decreased, neutrophils < 2.0 × 10⁹/L "
                             "(CTCAE v5.0 grade of the nadir); ALT increased, ALT > 30 U/L (CTCAE v5.0 grade of the "
                             "peak).")
    methods = " ".join(methods_paragraphs(results))
    assert "Lab-defined hypomagnesaemia" not in methods
    assert "ALT increased was ALT above 30 U/L, graded by CTCAE v5.0 at the peak." in methods


def test_default_footnote_keeps_the_reference_wording():
    results = run_study(_study(), plan_from_dict({}))
    footnote = table_adverse_events(results, get_style("default")).footnotes[0]
    assert footnote.endswith("Lab-defined events are included: hypomagnesaemia, serum magnesium < 0.70 mmol/L; "
                             "renal insufficiency, the KDIGO creatinine criterion for acute kidney injury.")
