"""Footnotes and methods text that must follow the statistics actually run (issue 10 items 4 and 5).

Expectations are worked by hand from the hand-built dataset (counts of non-zero differences, ties),
never copied from an earlier run.
"""

from __future__ import annotations

import numpy as np
import pytest

from ipafstudy.analysis.plan import plan_from_dict
from ipafstudy.analysis.study import analyse_dataset
from ipafstudy.reporting.format import print_style
from ipafstudy.reporting.methods import methods_paragraphs
from ipafstudy.reporting.tables import build_tables


def _plan(**statistics):
    return plan_from_dict({"statistics": {"bootstrap_resamples": 200, **statistics}})


@pytest.fixture(scope="module")
def few_hcs(dataset):
    """Honeycombing unchanged except in two patients (+1 and -2): 2 non-zero differences."""
    data = dataset.copy()
    data["hrct_honeycombing_follow_up"] = data["hrct_honeycombing_baseline"]
    data.loc[0, "hrct_honeycombing_follow_up"] += 1
    data.loc[1, "hrct_honeycombing_follow_up"] += 2
    data["hrct_honeycombing_change"] = data["hrct_honeycombing_follow_up"] - data["hrct_honeycombing_baseline"]
    return data


def test_table2_footnote_names_rows_with_fewer_than_6_nonzero_pairs(few_hcs):
    results = analyse_dataset(few_hcs, _plan())
    hcs = next(p for p in results.paired if p.code == "hrct_honeycombing")
    assert hcs.wilcoxon.n_nonzero == 2
    spec = {t.key: t for t in build_tables(results, print_style())}["table2_paired"]
    notes = [n for n in spec.footnotes if "non-zero paired differences" in n]
    assert len(notes) == 1
    # smallest attainable two-sided p with 2 non-zero differences: 2 / 2**2 = 0.5
    assert "HCs: 2 non-zero, smallest attainable p 0.500" in notes[0]
    assert "Total HRCT score" not in notes[0]  # many non-zero differences there
    table5 = {t.key: t for t in build_tables(results)}["table5_subgroup_response"]
    assert any("non-zero paired differences" in n and "HCs (" in n for n in table5.footnotes)


def test_plan_accepts_wilcoxon_method_auto_and_rejects_others():
    from ipafstudy.errors import InvalidOptionError

    assert _plan(wilcoxon_method="auto").statistics.wilcoxon_method == "auto"
    with pytest.raises(InvalidOptionError, match="wilcoxon_method"):
        _plan(wilcoxon_method="automatic")


def test_no_few_nonzero_footnote_when_every_row_has_enough(dataset):
    data = dataset.copy()
    for code in ("hrct_honeycombing", "hrct_fibrosis", "hrct_consolidation", "hrct_ggo", "mmrc",
                 "methylprednisolone_dose"):
        data[f"{code}_follow_up"] = data[f"{code}_baseline"] + np.arange(len(data)) % 3 + 1
    results = analyse_dataset(data, _plan())
    assert all(p.wilcoxon.n_nonzero >= 6 for p in results.paired)
    spec = {t.key: t for t in build_tables(results)}["table2_paired"]
    assert not [n for n in spec.footnotes if "non-zero paired differences" in n]


def test_wilcoxon_auto_records_method_per_row_and_says_so(few_hcs):
    results = analyse_dataset(few_hcs, _plan(wilcoxon_method="auto"))
    used = {p.code: p.wilcoxon.method_used for p in results.paired}
    # HCs: differences +1 and +2, no ties, 2 <= 25 -> exact; the total HRCT score of 30 patients has ties.
    assert used["hrct_honeycombing"] == "exact"
    assert used["hrct_total"] == "asymptotic"
    hcs = next(p for p in results.paired if p.code == "hrct_honeycombing")
    assert hcs.wilcoxon.p == pytest.approx(0.5)  # W+ = 3 of 3: P(W+ in {0, 3}) = 2/4
    spec = {t.key: t for t in build_tables(results)}["table2_paired"]
    note = next(n for n in spec.footnotes if n.startswith("Wilcoxon signed-rank test"))
    assert "exact p when no two non-zero differences tied and there were at most 25 of them" in note
    exact_rows = [p.label for p in results.paired if p.wilcoxon.method_used == "exact"]
    assert f"(exact: {', '.join(exact_rows)})" in note
    text = " ".join(methods_paragraphs(results))
    assert "exact p when no two non-zero differences tied and there were at most 25 of them" in text


def test_default_wilcoxon_method_stays_spss_asymptotic(few_hcs):
    results = analyse_dataset(few_hcs, _plan())
    assert {p.wilcoxon.method_used for p in results.paired} == {"asymptotic"}
    text = " ".join(methods_paragraphs(results))
    assert "normal approximation with tie-corrected variance" in text and "exact p" not in text


# -- item 4: regression footnotes, HC3, diagnostics figure -------------------------------------------------


def _table3(results):
    return {t.key: t for t in build_tables(results)}["table3_regression"]


@pytest.fixture(scope="module")
def one_smoker(dataset):
    data = dataset.copy()
    data["ever_smoker"] = 0.0
    data.loc[7, "ever_smoker"] = 1.0
    return data


def test_table3_footnote_gives_breusch_pagan_statistic_df_and_p(dataset):
    results = analyse_dataset(dataset, _plan())
    bp = results.regression.heteroscedasticity
    note = next(n for n in _table3(results).footnotes if n.startswith("Residual checks"))
    # 4 predictors in the default plan -> df = 4; the statistic and p are formatted from the result
    assert f"χ² = {bp.lm:.2f}, df = 4, p = " in note
    assert "Koenker" in note and "Shapiro-Wilk" in note and "Supplementary Figure S1" in note


def test_sparse_binary_predictor_and_few_cases_per_predictor_noted(one_smoker):
    results = analyse_dataset(one_smoker, _plan())
    notes = _table3(results).footnotes
    # hand count: 1 smoker among 30 complete cases (3.3 % < 10 %); 30 cases / 4 predictors = 7.5 < 10
    assert any(n.startswith("Smoking (ever vs never): only 1 of 30 patients in the smaller category") for n in notes)
    assert any("30 patients for 4 predictors (7.5 per predictor, fewer than 10)" in n for n in notes)
    from ipafstudy.reporting.methods import summary_sentences

    summary = " ".join(summary_sentences(results))
    assert "only 1 of 30 patients" in summary and "7.5 per predictor" in summary


def test_no_caution_notes_when_balanced_and_enough_cases(dataset):
    data = dataset.copy()
    data["ever_smoker"] = (np.arange(len(data)) % 3 == 0).astype(float)  # 10 of 30
    plan = plan_from_dict({"statistics": {"bootstrap_resamples": 200},
                           "regression": {"predictors": ["hrct_ggo_baseline", "ever_smoker"]}})
    results = analyse_dataset(data, plan)
    notes = " ".join(_table3(results).footnotes)
    assert "smaller category" not in notes and "per predictor" not in notes


def test_hc3_option_changes_se_and_says_so(dataset):
    from ipafstudy import stats

    plan = plan_from_dict({"statistics": {"bootstrap_resamples": 200}, "regression": {"robust_se": "hc3"}})
    results = analyse_dataset(dataset, plan)
    cols = [plan.regression.outcome, *plan.regression.predictors]
    frame = dataset[cols].astype(float)
    expected = stats.linear_regression(frame, cols[0], cols[1:], robust_se="hc3").terms
    np.testing.assert_allclose(results.regression.terms["se"], expected["se"], rtol=1e-12)
    assert any("HC3 heteroscedasticity-consistent" in n for n in _table3(results).footnotes)
    assert "HC3 heteroscedasticity-consistent standard errors" in " ".join(methods_paragraphs(results))
    ordinary = analyse_dataset(dataset, _plan())
    assert not any("HC3" in n for n in _table3(ordinary).footnotes)
    assert "HC3" not in " ".join(methods_paragraphs(ordinary))


def test_diagnostics_figure_written_and_in_both_documents(dataset, tmp_path):
    from docx import Document

    from ipafstudy.reporting.report import write_report

    results = analyse_dataset(dataset, plan_from_dict({"statistics": {"bootstrap_resamples": 200},
                                                       "figures": {"dpi": 72}}))
    written = write_report(results, tmp_path / "out")
    for ext in ("png", "svg"):
        assert f"figures/figureS1_regression_diagnostics.{ext}" in written
    svg = (tmp_path / "out" / "figures" / "figureS1_regression_diagnostics.svg").read_text(encoding="utf-8")
    assert svg.count('id="resid:') == results.regression.n == svg.count('id="qq:')
    texts = [p.text for p in Document(str(tmp_path / "out" / "report.docx")).paragraphs]
    assert any(t.startswith("Supplementary Figure S1. Regression diagnostics.") for t in texts)
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "Supplementary Figure S1. Regression diagnostics." in html


# -- item 8: page size from the plan -----------------------------------------------------------------------


@pytest.mark.parametrize(("page_size", "twips", "css"), [("A4", 11906, "size: A4"), ("Letter", 12240, "size: letter")])
def test_plan_page_size_reaches_docx_and_html(dataset, tmp_path, page_size, twips, css):
    from docx import Document

    from ipafstudy.reporting.report import write_report

    plan = plan_from_dict({"statistics": {"bootstrap_resamples": 200}, "figures": {"dpi": 72},
                           "page_size": page_size})
    write_report(analyse_dataset(dataset, plan), tmp_path / "out")
    first = Document(str(tmp_path / "out" / "report.docx")).sections[0]
    assert first.page_width.twips == twips  # A4 210 mm = 11906 twips; Letter 8.5 in = 12240 twips
    assert css in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


def test_plan_page_size_default_and_bad_value():
    from ipafstudy.errors import InvalidOptionError

    assert plan_from_dict({}).page_size == "A4"
    with pytest.raises(InvalidOptionError, match="page_size"):
        plan_from_dict({"page_size": "A5"})
