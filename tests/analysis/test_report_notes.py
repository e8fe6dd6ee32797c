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
