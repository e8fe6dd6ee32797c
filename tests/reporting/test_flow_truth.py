"""Flow diagram, Table S2, methods and explain say what the cohort did, per outcome and per patient.

Expectations are recomputed here with pandas from the cohort's classification frame, its usable
HRCT scans and the exposures (not from the flow steps or cause codes under test), so a change of the
bundled cohort changes the expected counts with it.
"""

from __future__ import annotations

import json
from importlib import resources

import pytest

from ipafstudy.analysis.dataset import analysis_dataset
from ipafstudy.analysis.explain import trace_outcome
from ipafstudy.analysis.plan import plan_from_dict
from ipafstudy.analysis.study import analyse_dataset
from ipafstudy.cohort.build import build_cohort
from ipafstudy.data.loaders import load_study
from ipafstudy.reporting.methods import methods_paragraphs
from ipafstudy.reporting.report import _flow_boxes, dumps_json
from ipafstudy.reporting.tables import build_tables

PLAN = {"statistics": {"bootstrap_resamples": 200}}


@pytest.fixture(scope="module")
def study():
    return load_study(str(resources.files("ipafstudy") / "example_data"))


def _run(study, raw):
    plan = plan_from_dict(raw)
    cohort = build_cohort(study, plan.settings, outcomes=list(plan.outcome_codes), primary_outcome=plan.primary_outcome)
    return cohort, analyse_dataset(analysis_dataset(cohort, plan), plan, cohort=cohort)


@pytest.fixture(scope="module")
def run(study):
    return _run(study, PLAN)


def _s2(results):
    return {t.key: t for t in build_tables(results)}["tableS2_flow"]


def _not_ipaf_counts(cohort) -> dict[str, int]:
    """From the classification frame: not IPAF with an entry requirement 'no', without one, indeterminate."""
    c = cohort.classification
    entry_cols = [col for col in c.columns if col.startswith("entry_")]
    assert entry_cols
    entry_no = c[entry_cols].eq("no").any(axis=1)
    not_ipaf = c["status"].eq("not_ipaf")
    return {"Entry requirement not met": int((not_ipaf & entry_no).sum()),
            "Fewer than two domains": int((not_ipaf & ~entry_no).sum()),
            "Indeterminate": int(c["status"].eq("indeterminate").sum())}


def test_s2_and_flow_diagram_split_not_ipaf_by_reason(run):
    cohort, results = run
    want = _not_ipaf_counts(cohort)
    rows = _s2(results).rows
    i = next(k for k, r in enumerate(rows) if r.cells[0] == "Not IPAF")
    subs = {r.cells[0]: int(r.cells[2]) for r in rows[i + 1:i + 4] if r.indent}
    assert subs == want
    assert int(rows[i].cells[2]) == sum(want.values())
    box = _flow_boxes(results)[1]
    lines = box.reason.split("\n")
    assert lines == [f"{label} (n\u00a0=\u00a0{n})" for label, n in want.items() if n]
    assert box.n_removed == sum(want.values())


def _follow_up_causes(cohort) -> dict[str, int]:
    """Patients removed for no follow-up total HRCT score, by where their usable scans lie (pandas)."""
    sc = cohort.screening
    gone = sc.loc[sc["exclusion_step"].eq("no_follow_up"), "patient_id"].astype(str)
    scans = cohort.hrct.usable_scans
    excluded = cohort.hrct.excluded_scans
    out = {"before": 0, "after_end": 0, "none": 0, "unusable": 0}
    for pid in gone:
        exp = cohort.exposures[pid]
        end = exp.end or cohort.data_cutoff_date
        bad = excluded[excluded["patient_id"].astype(str).eq(pid)]["scan_date"]
        if any(exp.start < d <= end for d in bad):
            out["unusable"] += 1
            continue
        dates = list(scans.loc[scans["patient_id"].astype(str).eq(pid), "scan_date"])
        if not dates:
            out["none"] += 1
        elif all(d <= exp.start for d in dates):
            out["before"] += 1
        else:
            assert all(d <= exp.start or d > end for d in dates)
            out["after_end"] += 1
    return out


def test_s2_follow_up_reason_is_the_scan_rule_with_true_causes(run):
    cohort, results = run
    row = next(r for r in _s2(results).rows if r.cells[0].startswith("No follow-up"))
    reason = row.cells[4]
    assert reason.startswith("No usable HRCT scan after tacrolimus start")
    assert "every measured outcome" not in reason and "visit" not in reason
    causes = _follow_up_causes(cohort)
    phrases = {"before": "all scans on or before the tacrolimus start", "after_end":
               "the later scans were after the end of treatment", "none": "no scan at all",
               "unusable": "the scan in the window was incomplete or had open adjudication flags"}
    for key, phrase in phrases.items():
        assert (f"{phrase} ({causes[key]})" in reason) == bool(causes[key]), (key, reason)
    assert sum(causes.values()) == int(row.cells[2])


def test_methods_name_the_follow_up_rule_per_outcome(run):
    _, results = run
    design = methods_paragraphs(results)[0]
    plan = results.plan
    hrct = [o.label for o in plan.outcomes if o.code.startswith("hrct_")]
    measures = [o.label for o in plan.outcomes if not o.code.startswith("hrct_")]
    scan_clause = design[design.index("the latest usable HRCT scan"):]
    scan_clause = scan_clause[:scan_clause.index(";")]
    for label in hrct:
        assert label.lower() in scan_clause.lower()
    visit_clause = design[design.index("the latest visit"):]
    visit_clause = visit_clause[:visit_clause.index(".")]
    for label in measures:
        assert label.lower() in visit_clause.lower() and label.lower() not in scan_clause.lower()
    assert "every measured outcome" not in design


def test_a_measurement_primary_outcome_gets_the_visit_wording(study):
    cohort, results = _run(study, {**PLAN, "primary_outcome": "esr"})
    row = next(r for r in _s2(results).rows if r.cells[0].startswith("No follow-up"))
    n = int(row.cells[2])
    if n:
        assert row.cells[4].startswith("No visit after tacrolimus start up to the end of treatment at which every "
                                       "measured outcome was recorded")
    assert "HRCT scan" not in row.cells[4]
    # the S2 count is what screening.csv says
    assert n == int(cohort.screening["exclusion_step"].eq("no_follow_up").sum())


def test_explain_gives_each_left_out_patients_own_reason(run):
    cohort, results = run
    as_json = json.loads(dumps_json(results.to_dict()))
    trace = trace_outcome(results.dataset, as_json, results.plan.primary_outcome)
    left = trace.left_out[trace.left_out["stage"].str.startswith("not analysed")].set_index("patient_id")
    sc = cohort.screening.set_index("patient_id")
    removed = sc[~sc["analysed"].astype(bool)]
    assert set(left.index) == set(removed.index.astype(str))
    not_ipaf = removed[removed["exclusion_step"].eq("not_ipaf")]
    assert len(not_ipaf)
    for pid, rec in removed.iterrows():
        assert left.loc[str(pid), "reason"] == rec["exclusion_reason"], pid
    # the reasons differ between patients (not one generic sentence per step)
    assert left.loc[not_ipaf.index.astype(str), "reason"].nunique() > 1
