"""StudyResults -> TableSpec: every cell is the formatted value of the results object, nothing recomputed.

The results come from a small generated cohort; expected cells are built here with the formatting
functions from the numbers in the results (and counts re-counted from the dataset with pandas).
"""

from __future__ import annotations

import itertools
import re

import pytest

from ipafstudy.analysis.plan import plan_from_dict
from ipafstudy.analysis.study import run_study
from ipafstudy.data.loaders import load_study
from ipafstudy.data.synth import generate_cohort, write_cohort
from ipafstudy.reporting.format import fmt_median_iqr, fmt_n_pct, fmt_p, print_style
from ipafstudy.reporting.methods import methods_paragraphs, summary_sentences
from ipafstudy.reporting.tables import build_tables


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    data = tmp_path_factory.mktemp("tables") / "data"
    cohort = generate_cohort(seed=6, n_screened=150)
    # Table 3 needs a fitted regression: ever_smoker must vary among the analysed (seed 5 drew none).
    smokers = {cohort.truth["patients"][p]["smoking"] != "never" for p in cohort.eligible_ids}
    assert smokers == {True, False}
    write_cohort(cohort, data)
    plan = plan_from_dict({"statistics": {"bootstrap_resamples": 200}})
    return run_study(load_study(data), plan)


@pytest.fixture(scope="module")
def tables(results):
    return {t.key: t for t in build_tables(results)}


def rows_by_label(spec):
    return {r.cells[0]: r.cells for r in spec.rows if r.kind == "data"}


def test_all_tables_present_in_order(tables):
    assert list(tables) == [
        "table1_baseline", "table2_paired", "table3_regression", "table4_subgroup_baseline",
        "table5_subgroup_response", "table6_adverse_events", "tableS1_normality", "tableS2_flow", "tableS3_missing",
        "tableS4_correlation", "tableS5_agreement",
    ]
    assert [tables[k].number for k in list(tables)[:6]] == [1, 2, 3, 4, 5, 6]


def test_table1_cells_are_the_counts_of_the_dataset(results, tables):
    data = results.dataset
    n = len(data)
    rows = rows_by_label(tables["table1_baseline"])
    assert tables["table1_baseline"].columns[1].label == f"All patients (n = {n})"
    assert rows["Female, n (%)"][1] == fmt_n_pct(int((data["sex"] == "female").sum()), n)
    assert rows["HRCT pattern: UIP, n (%)"][1] == fmt_n_pct(int((data["hrct_pattern"] == "uip").sum()), n)
    age = next(r for r in results.baseline.rows if r.key == "age_at_start").value.quantiles
    assert rows["Age at tacrolimus start, years, median (Q1, Q3)"][1] == fmt_median_iqr(age.q1, age.median, age.q3)


def test_table2_cells_come_from_the_paired_results(results, tables):
    spec = tables["table2_paired"]
    keys = [c.key for c in spec.columns]
    for p, row in zip(results.paired, spec.rows, strict=True):
        cells = dict(zip(keys, row.cells, strict=True))
        assert cells["n"] == str(p.n_pairs)
        assert cells["p"] == fmt_p(p.wilcoxon.p)
        w = p.wilcoxon
        assert cells["direction"] == f"{w.n_decreased} / {w.n_unchanged} / {w.n_increased}"
        assert w.n_decreased + w.n_unchanged + w.n_increased == p.n_pairs
    assert any("seed 20250101" in f for f in spec.footnotes)


def test_table3_has_a_row_per_term_with_constant_first(results, tables):
    spec = tables["table3_regression"]
    assert spec.rows[0].cells[0] == "Constant"
    assert len(spec.rows) == len(results.plan.regression.predictors) + 1
    p_col = [c.key for c in spec.columns].index("p")
    assert [r.cells[p_col] for r in spec.rows] == [fmt_p(v) for v in results.regression.terms["p"]]


def test_table4_names_the_test_on_every_tested_row(tables):
    spec = tables["table4_subgroup_baseline"]
    test_col = [c.key for c in spec.columns].index("test")
    p_col = [c.key for c in spec.columns].index("p")
    for row in spec.rows:
        if row.cells[p_col]:
            assert row.cells[test_col] in {"Mann-Whitney U", "Pearson χ²", "Fisher's exact",
                                           "Fisher-Freeman-Halton exact"}


def test_table5_p3_is_the_mann_whitney_of_the_changes(results, tables):
    spec = tables["table5_subgroup_response"]
    assert [r.cells[-1] for r in spec.rows] == [fmt_p(r.between.p) for r in results.subgroup_response]


def test_journal_style_changes_only_the_printing(results):
    default = {t.key: t for t in build_tables(results)}
    jama = {t.key: t for t in build_tables(results, "jama")}
    p_col = [c.key for c in default["table2_paired"].columns].index("p")
    for a, b, p in zip(default["table2_paired"].rows, jama["table2_paired"].rows, results.paired, strict=True):
        assert a.cells[p_col] == fmt_p(p.wilcoxon.p) and b.cells[p_col] == fmt_p(p.wilcoxon.p, style="jama")


def test_text_numbers_come_from_the_results(results):
    text = " ".join(summary_sentences(results))
    primary = results.paired_for("hrct_total")
    assert f"n = {primary.n_pairs}" in text
    assert f"Of {results.flow[0].n_before} screened patients, {results.n_analysed}" in text
    methods = " ".join(methods_paragraphs(results))
    assert "seed 20250101" in methods and "200 resamples" in methods
    assert f"≥{results.settings.min_exposure_days} days" in methods
    assert "values equal to 10 decimal places were treated as ties" in methods


def test_flow_diagram_boxes_add_up(results):
    from ipafstudy.reporting.report import _flow_boxes

    boxes = _flow_boxes(results)
    assert boxes[0].n_remaining == results.flow[0].n_before
    assert boxes[-1].label == "Analysed" and boxes[-1].n_remaining == results.n_analysed
    assert sum(b.n_removed for b in boxes) == results.flow[0].n_before - results.n_analysed
    for prev, cur in itertools.pairwise(boxes):
        assert prev.n_remaining - cur.n_removed == cur.n_remaining


def test_flow_table_speaks_clinically_with_the_settings_values(results, tables):
    spec = tables["tableS2_flow"]
    assert spec.rows[0].cells[0] == "Screened" and spec.rows[-1].cells[0] == "Analysed"
    text = " ".join(c for r in spec.rows for c in r.cells)
    s = results.settings
    assert f"fewer than {s.min_exposure_days} days" in text
    assert f"in the {s.baseline_window_days} days before tacrolimus start" in text
    assert "_" not in text and "=" not in text  # no option names such as follow_up_rule='...'
    steps = [r for r in spec.rows if not r.indent]
    counts = [(int(r.cells[1]), int(r.cells[2]), int(r.cells[3])) for r in steps]
    assert all(before - removed == after for before, removed, after in counts)
    # the indented rows under "Not IPAF" split its removals by reason
    i = next(k for k, r in enumerate(spec.rows) if r.cells[0] == "Not IPAF")
    subs = [r for r in spec.rows[i + 1:i + 4] if r.indent]
    assert [r.cells[0] for r in subs] == ["Entry requirement not met", "Fewer than two domains", "Indeterminate"]
    assert sum(int(r.cells[2]) for r in subs) == int(spec.rows[i].cells[2])


def test_footnotes_name_no_options(tables):
    for spec in tables.values():
        for note in spec.footnotes:
            assert not re.search(r"\b[a-z]+(?:_[a-z]+)+\b|`", note), (spec.key, note)


def test_missing_cells_print_as_dash_only_in_the_print_style(results):
    machine = {t.key: t for t in build_tables(results)}["table3_regression"]
    typeset = {t.key: t for t in build_tables(results, print_style())}["table3_regression"]
    beta = [c.key for c in machine.columns].index("beta")
    assert machine.rows[0].cells[0] == "Constant"
    assert machine.rows[0].cells[beta] == "NA" and typeset.rows[0].cells[beta] == "\u2014"
    b = [c.key for c in machine.columns].index("b")
    for m, t in zip(machine.rows, typeset.rows, strict=True):
        assert t.cells[b] == m.cells[b].replace("-", "\u2212")


def test_table6_max_grade_and_outcome_cells_are_the_results(results, tables):
    spec = tables["table6_adverse_events"]
    keys = [c.key for c in spec.columns]
    assert keys[-2:] == ["max_grade", "outcome"]
    rows = rows_by_label(spec)
    for r in results.adverse_events:
        grades, outcomes = r.extra["max_grade"], r.extra["outcome"]
        assert sum(grades.values()) == r.patients.n  # each patient once
        assert sum(outcomes.values()) == r.episodes  # each episode once
        want_g = "/".join(str(grades[g]) for g in "12345")
        want_o = "/".join(str(outcomes[o]) for o in ("resolved", "ongoing", "fatal"))
        cells = rows[r.label]
        assert cells[-2] == want_g + (f" ({grades['unknown']} ungraded)" if grades["unknown"] else "")
        assert cells[-1] == want_o + (f" ({outcomes['unknown']} unknown)" if outcomes["unknown"] else "")
