"""Plan ``timepoints`` section, Table 2 per landmark with Holm across landmarks, texts, and the bundled smoke run."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from ipafstudy import stats
from ipafstudy.analysis.dataset import order_columns, outcome_columns
from ipafstudy.analysis.plan import AnalysisPlan, default_plan_yaml, plan_from_dict
from ipafstudy.analysis.study import analyse_dataset, landmark_notes, run_study
from ipafstudy.errors import InvalidOptionError
from ipafstudy.reporting.methods import methods_paragraphs, summary_sentences
from ipafstudy.reporting.tables import build_tables

LANDMARKS = {"follow_up": {"rule": "landmarks", "months": [6, 12], "window_days": 45}}


def landmark_plan(**extra: object) -> AnalysisPlan:
    return plan_from_dict({"timepoints": LANDMARKS, "statistics": {"bootstrap_resamples": 500}, **extra})


# --- plan -------------------------------------------------------------------------------------------------


def test_default_plan_is_last_on_treatment_with_the_clinical_window():
    plan = AnalysisPlan()
    assert plan.timepoints.follow_up.rule == "last_on_treatment"
    assert plan.landmarks == () and plan.analysis_landmark is None
    assert plan.timepoints.baseline_window_days == plan.settings.baseline_window_days == 90


def test_one_source_of_truth_for_the_baseline_window():
    only_clinical = plan_from_dict({"clinical": {"baseline_window_days": 60}})
    assert only_clinical.timepoints.baseline_window_days == 60 == only_clinical.settings.baseline_window_days
    only_tp = plan_from_dict({"timepoints": {"baseline_window_days": 30}})
    assert only_tp.settings.baseline_window_days == 30 and only_tp.to_dict()["clinical"]["baseline_window_days"] == 30
    both_equal = plan_from_dict({"timepoints": {"baseline_window_days": 30}, "clinical": {"baseline_window_days": 30}})
    assert both_equal.settings.baseline_window_days == 30
    with pytest.raises(InvalidOptionError) as exc:
        plan_from_dict({"timepoints": {"baseline_window_days": 30}, "clinical": {"baseline_window_days": 60}})
    assert "timepoints.baseline_window_days" in str(exc.value) and "clinical.baseline_window_days" in str(exc.value)
    # a dumped plan loads back (both keys written, equal)
    again = plan_from_dict(yaml.safe_load(yaml.safe_dump(only_tp.to_dict())))
    assert again.to_dict() == only_tp.to_dict()


def test_landmark_plan_and_its_yaml_round_trip():
    plan = landmark_plan()
    assert plan.landmarks == (6, 12) and plan.analysis_landmark == 12
    at6 = landmark_plan(timepoints={"follow_up": {**LANDMARKS["follow_up"], "analysis_month": 6}})
    assert at6.analysis_landmark == 6
    assert plan_from_dict(yaml.safe_load(yaml.safe_dump(plan.to_dict()))).to_dict() == plan.to_dict()
    text = default_plan_yaml()
    assert "timepoints:\n" in text and "    rule: last_on_treatment" in text and "window_days: null" in text


@pytest.mark.parametrize(
    ("follow_up", "words"),
    [
        ({"rule": "landmarks"}, "months: rule: landmarks needs at least one landmark month"),
        ({"rule": "landmarks", "months": [6, 12]}, "window_days: rule: landmarks needs the window"),
        ({"rule": "landmarks", "months": [12, 6], "window_days": 45}, "increasing without repeats"),
        ({"rule": "landmarks", "months": [6, 6], "window_days": 45}, "increasing without repeats"),
        ({"rule": "landmarks", "months": [0, 6], "window_days": 45}, "1 or more"),
        ({"rule": "landmarks", "months": [6], "window_days": -1}, "timepoints.follow_up.window_days"),
        ({"rule": "landmarks", "months": [6], "window_days": 45, "analysis_month": 12}, "not one of the landmarks"),
        ({"months": [6]}, "only used with rule: landmarks"),
        ({"window_days": 45}, "only used with rule: landmarks"),
        ({"rule": "landmark"}, "timepoints.follow_up.rule"),
        ({"rule": "landmarks", "months": [6], "window_days": 45, "days": 3}, "timepoints.follow_up.days: unknown key"),
    ],
)
def test_bad_landmark_plans_name_the_key(follow_up, words):
    with pytest.raises(InvalidOptionError) as exc:
        plan_from_dict({"timepoints": {"follow_up": follow_up}})
    assert words in str(exc.value)
    assert "timepoints.follow_up" in str(exc.value)


def test_regression_may_use_landmark_columns():
    from ipafstudy.analysis.plan import variable_label

    plan = landmark_plan(regression={"outcome": "hrct_total_change_m6", "predictors": ["hrct_total_baseline",
                                                                                      "esr_m12"]})
    assert variable_label("hrct_total_change_m6", plan) == "Δ Total HRCT score at month 6"
    assert variable_label("esr_m12", plan) == "ESR at month 12"
    with pytest.raises(InvalidOptionError, match=r"regression\.outcome: 'hrct_total_change_m6' is not a known"):
        plan_from_dict({"regression": {"outcome": "hrct_total_change_m6"}})  # no landmarks: no such column


# --- analysis: Table 2 per landmark, Holm across landmarks ------------------------------------------------------


def landmark_dataset(plan: AnalysisPlan, base_data: pd.DataFrame) -> pd.DataFrame:
    """The hand-built dataset (conftest) with a 6-month value = baseline + a shift, the 12-month value = the
    follow-up."""
    data = base_data.copy()
    rng = np.random.default_rng(11)
    for code in plan.outcome_codes:
        base = data[f"{code}_baseline"]
        data[f"{code}_m6"] = (base + rng.integers(-3, 2, len(data))).clip(lower=0).astype(float)
        data[f"{code}_m12"] = data[f"{code}_follow_up"]
        for m in (6, 12):
            data[f"{code}_m{m}_date"] = (dt.date(2022, 1, 1) + dt.timedelta(days=30 * m)).isoformat()
            data[f"{code}_change_m{m}"] = data[f"{code}_m{m}"] - base
    data.loc[0:9, "esr_m12"] = np.nan  # 10 patients lack a 12-month ESR: fewer pairs there
    data.loc[:, "hrct_honeycombing_m6"] = data["hrct_honeycombing_baseline"]  # no change: no test at 6 months
    return order_columns(data, plan)


@pytest.fixture(scope="module")
def landmark_results(dataset):
    plan = landmark_plan()
    return analyse_dataset(landmark_dataset(plan, dataset), plan)


def test_dataset_columns_per_landmark():
    cols = outcome_columns(landmark_plan())
    assert cols[:8] == ["hrct_total_baseline", "hrct_total_baseline_date", "hrct_total_follow_up",
                        "hrct_total_follow_up_date", "hrct_total_change", "hrct_total_m6", "hrct_total_m6_date",
                        "hrct_total_change_m6"]
    assert outcome_columns(AnalysisPlan())[5] == "hrct_total_baseline"[:0] + "hrct_ggo_baseline"


def test_each_landmark_is_baseline_vs_that_landmark(landmark_results):
    plan, data = landmark_results.plan, landmark_results.dataset
    for lo in landmark_results.landmark_paired:
        before, after = data[f"{lo.paired.code}_baseline"], data[f"{lo.paired.code}_m{lo.month}"]
        ok = before.notna() & after.notna()
        assert lo.paired.n_pairs == int(ok.sum())
        direct = stats.wilcoxon_signed_rank(before[ok], after[ok], zero_method=plan.statistics.zero_method,
                                            continuity=plan.statistics.continuity, tie_decimals=6)
        assert lo.paired.wilcoxon.p == pytest.approx(direct.p, rel=1e-12)
    esr = {lo.month: lo.paired.n_pairs for lo in landmark_results.landmark_paired if lo.paired.code == "esr"}
    assert esr == {6: 30, 12: 20}  # 30 patients; rows 0-9 (row 3 already without a follow-up ESR) lack month 12


def test_holm_across_landmarks_worked_by_formula(landmark_results):
    by = {}
    for lo in landmark_results.landmark_paired:
        by.setdefault(lo.paired.code, {})[lo.month] = lo
    checked = 0
    for pair in by.values():
        ps = {m: lo.paired.wilcoxon.p for m, lo in pair.items() if lo.paired.wilcoxon is not None}
        if len(ps) == 2:
            # Holm with m = 2: the smaller p x 2; the larger max(that, p x 1); each capped at 1
            (m_lo, p_lo), (m_hi, p_hi) = sorted(ps.items(), key=lambda kv: (kv[1], kv[0]))
            assert pair[m_lo].p_holm == pytest.approx(min(1.0, 2 * p_lo), rel=1e-12)
            assert pair[m_hi].p_holm == pytest.approx(max(min(1.0, 2 * p_lo), p_hi), rel=1e-12)
            checked += 1
        elif len(ps) == 1:  # a landmark without a test does not count: m = 1, p unchanged
            (m, p), = ps.items()
            assert pair[m].p_holm == pytest.approx(p, rel=1e-12)
    assert checked >= 7


def test_holm_matches_r_p_adjust_on_the_recorded_reference():
    """The adjustment routine itself against R's p.adjust (tests/reference/p_adjust_r.csv, from correlation.R)."""
    from pathlib import Path

    ref = pd.read_csv(Path(__file__).resolve().parents[1] / "reference" / "p_adjust_r.csv", comment="#")
    got = stats.adjust_p(ref["p"].to_numpy(), method="holm")
    assert len(ref) >= 3 and np.allclose(got, ref["holm"].to_numpy(), equal_nan=True)


def test_all_zero_differences_count_as_a_test_with_p_1(landmark_results):
    hc = {lo.month: lo for lo in landmark_results.landmark_paired if lo.paired.code == "hrct_honeycombing"}
    assert hc[6].paired.wilcoxon.n_nonzero == 0 and hc[6].paired.wilcoxon.p == 1.0 and hc[6].p_holm == 1.0
    assert hc[12].p_holm == pytest.approx(min(1.0, 2 * hc[12].paired.wilcoxon.p), rel=1e-12)


def test_a_landmark_without_pairs_is_not_counted_by_holm_and_keeps_an_empty_row(dataset):
    plan = landmark_plan()
    data = landmark_dataset(plan, dataset)
    data["crp_m6"] = np.nan
    data["crp_change_m6"] = np.nan
    res = analyse_dataset(data, plan)
    crp = {lo.month: lo for lo in res.landmark_paired if lo.paired.code == "crp"}
    assert set(crp) == {12} and crp[12].p_holm == pytest.approx(crp[12].paired.wilcoxon.p, rel=1e-12)  # m = 1
    assert any("CRP at 6 months: no patient has both" in n for n in res.notes)
    t2 = next(t for t in build_tables(res) if t.key == "table2_paired")
    row = next(r for r in t2.rows if r.cells[0] == "CRP, mg/L")  # the first: month 6
    from ipafstudy.reporting.format import get_style

    assert row.cells[1] == "0" and set(row.cells[2:]) == {get_style(plan.journal_style).missing}


def test_table2_under_landmarks(landmark_results):
    t2 = next(t for t in build_tables(landmark_results) if t.key == "table2_paired")
    assert t2.title == "Outcomes at baseline and at 6 and 12 months on tacrolimus (n = 30)"
    labels = [c.label for c in t2.columns]
    assert labels[7:9] == ["p", "p (Holm across landmarks)"] and labels[3].startswith("At landmark")
    sections = [r.cells[0] for r in t2.rows if r.kind == "section"]
    assert sections == ["Month 6 (± 45 days)", "Month 12 (± 45 days)"]
    assert len(t2.rows) == 2 + 2 * len(landmark_results.plan.outcomes)
    notes = " ".join(t2.footnotes)
    assert "Holm's method across its 2 landmarks" in notes and "shown beside the raw p" in notes
    assert "within ±45 days, on treatment" in notes and "the earlier" in notes
    esr12 = next(r for r in t2.rows[len(t2.rows) // 2:] if r.cells[0].startswith("ESR"))
    assert esr12.cells[1] == "20"


def test_methods_and_other_tables_say_landmarks(landmark_results):
    text = " ".join(methods_paragraphs(landmark_results))
    assert "follow-up values were taken at 6 and 12 months" in text
    assert "adjusted across its 2 landmarks by Holm's method" in text
    assert "use the values at month 12 (the analysis landmark)" in text
    assert "last follow-up" not in text
    assert any("at month 12" in s for s in summary_sentences(landmark_results))
    tables = {t.key: t for t in build_tables(landmark_results)}
    assert [c.label for c in tables["tableS1_normality"].columns][3] == "Month 12"
    assert "month 12 minus baseline" in " ".join(tables["table3_regression"].footnotes)
    assert any("month 12" in c.label for c in tables["table5_subgroup_response"].columns)
    assert {r.cells[1] for r in tables["tableS3_missing"].rows} == {"baseline", "month 6", "month 12"}


def test_default_table2_wording_unchanged(dataset, fast_plan):
    res = analyse_dataset(dataset, fast_plan)
    t2 = next(t for t in build_tables(res) if t.key == "table2_paired")
    assert t2.title.startswith("Outcomes at baseline and last follow-up on tacrolimus")
    assert "p (Holm across landmarks)" not in [c.label for c in t2.columns] and res.landmark_paired == ()


# --- landmark with no data ------------------------------------------------------------------------------------


def _cohort(rows: list[tuple[str, str, str]], analysed: tuple[str, ...] = ("P1",)) -> SimpleNamespace:
    values = pd.DataFrame(rows, columns=["patient_id", "outcome", "timepoint"])
    return SimpleNamespace(values=values, timepoint_values=values, analysed_ids=analysed)


def _data_problems(cohort: SimpleNamespace, plan: AnalysisPlan) -> list[tuple[str, str]]:
    from ipafstudy.analysis.plancheck import StudyData, _landmarks_have_data

    return list(_landmarks_have_data(plan, StudyData(plan, study=None, cohort=cohort)))


def test_landmark_with_no_data_is_a_plan_problem_naming_the_key():
    plan = landmark_plan()
    found = _data_problems(_cohort([("P1", "esr", "baseline"), ("P1", "esr", "m6")]), plan)
    assert [k for k, _ in found] == ["timepoints.follow_up.months[1]"]
    assert "12-month landmark" in found[0][1] and "widen timepoints.follow_up.window_days" in found[0][1]
    nobody = _data_problems(_cohort([("P1", "esr", "baseline")], analysed=()), plan)
    assert [k for k, _ in nobody] == ["timepoints.follow_up.months[0]", "timepoints.follow_up.months[1]"]
    assert _data_problems(_cohort([]), AnalysisPlan()) == []


def test_landmark_with_some_outcomes_only_is_a_note():
    plan = landmark_plan()
    rows = [("P1", c, tp) for c in plan.outcome_codes for tp in ("m6", "m12")]
    cohort = _cohort([r for r in rows if not (r[1] == "crp" and r[2] == "m12")])
    assert landmark_notes(cohort, plan) == [
        "Landmark 12 months: no analysed patient has a value of CRP within 45 days on treatment; those rows are empty"]
    assert _data_problems(cohort, plan) == []
    assert landmark_notes(_cohort(rows), plan) == [] and landmark_notes(_cohort([]), AnalysisPlan()) == []


def test_landmark_problem_with_other_problems_at_once():
    """plan --check --data: the landmark problem is listed with a static and another data problem; the cohort the
    data checks build uses the landmarks (the subgroup check runs on it)."""
    from ipafstudy.analysis.plancheck import check_plan_mapping, check_with_data
    from ipafstudy.data.loaders import load_study

    study = load_study(str(resources.files("ipafstudy") / "example_data"))
    plan = {"timepoints": {"follow_up": {"rule": "landmarks", "months": [6, 240], "window_days": 45}},
            "regression": {"predictors": ["hrct_total_change_m6", "bmi"]},
            "subgroup": {"groups": ["MSA", "ASS"], "labels": {"MSA": "MSA", "ASS": "ASS"}}}
    problems, notes = check_with_data(check_plan_mapping(plan), lambda _plan: study)
    assert [p.key for p in problems] == ["subgroup.variable", "regression.predictors[1]",
                                         "timepoints.follow_up.months[1]"] and notes == []
    nobody = {"exposure": {"drug": "ciclosporin", "names": ["ciclosporin"]}, "timepoints": plan["timepoints"]}
    problems, _ = check_with_data(check_plan_mapping(nobody), lambda _plan: study)
    assert [p.key for p in problems] == ["exposure.names"]  # no landmark problem as its consequence


def test_analyze_stops_with_the_landmark_problem(tmp_path):
    """The whole path: a 240-month landmark has no data in the bundled records; run_study names the key."""
    from ipafstudy.analysis.plancheck import PlanProblemsError
    from ipafstudy.data.loaders import load_study

    plan = plan_from_dict({"timepoints": {"follow_up": {"rule": "landmarks", "months": [6, 240], "window_days": 45}}})
    study = load_study(str(resources.files("ipafstudy") / "example_data"))
    with pytest.raises(PlanProblemsError) as exc:
        run_study(study, plan)
    assert [p.key for p in exc.value.problems] == ["timepoints.follow_up.months[1]"]


# --- the whole report on the bundled data with landmarks [6, 12] (smoke) -----------------------------------------


def test_bundled_report_with_landmarks(tmp_path):
    from ipafstudy.data.loaders import load_study
    from ipafstudy.reporting.report import write_report

    plan = landmark_plan()
    study = load_study(str(resources.files("ipafstudy") / "example_data"))
    res = run_study(study, plan)
    assert res.n_analysed > 0 and {lo.month for lo in res.landmark_paired} == {6, 12}
    data = res.dataset
    for code in plan.outcome_codes:  # the follow-up columns are the 12-month ones
        assert data[f"{code}_follow_up"].equals(data[f"{code}_m12"])
    # every analysed patient has the primary outcome at one landmark or more
    assert (data[["hrct_total_m6", "hrct_total_m12"]].notna().any(axis=1)).all()
    written = write_report(res, tmp_path / "out", force=True)
    assert written
    t2 = (tmp_path / "out" / "tables" / "table2_paired.csv").read_text(encoding="utf-8")
    assert "Month 6 (± 45 days)" in t2 and "p (Holm across landmarks)" in t2
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "6 and 12 months" in html and "Holm" in html
    ds = pd.read_csv(tmp_path / "out" / "analysis_dataset.csv")
    assert {"hrct_total_m6", "hrct_total_m6_date", "hrct_total_change_m6", "esr_change_m12"} <= set(ds.columns)
    from ipafstudy.analysis.explain import trace_from_dir

    trace = trace_from_dir(tmp_path / "out", "hrct_total")
    assert trace.landmarks == (6, 12) and len(trace.used) == res.n_analysed
    assert {"m6", "m6_date", "change_m6", "m12", "m12_date", "change_m12"} <= set(trace.used.columns)
    missing12 = trace.left_out[trace.left_out["timepoint"] == "m12"]
    n12 = next(lo.paired.n_pairs for lo in res.landmark_paired if lo.paired.code == "hrct_total" and lo.month == 12)
    assert len(missing12) == res.n_analysed - n12
    assert missing12["reason"].str.contains("12-month landmark").all()
    assert "a value at one of the landmarks (6, 12 months)" in trace.to_text()
