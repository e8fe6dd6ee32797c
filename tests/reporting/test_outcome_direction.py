"""Issue 11 item 3: a new outcome (FVC % predicted, better higher) and a declared one (LDH, better lower) run
through every downstream use, and the summary says improved/worsened by each outcome's ``better`` while Table 2
keeps decreased/unchanged/increased literal.

The bundled cohort gets FVC and LDH rows for nine analysed patients, written in the test. Eight have a baseline
on the exposure start day and a last on-treatment value 30 days later; their paired differences are worked by
hand below (distinct, all one sign), the ninth has a baseline only. Decoy rows (older than the baseline window,
an earlier follow-up, a value after the end of treatment) must not be chosen.
"""

from __future__ import annotations

import csv
import datetime as dt
from fractions import Fraction
from pathlib import Path

import pytest

from ipafstudy.analysis.explain import trace_from_dir
from ipafstudy.analysis.plan import AnalysisPlan, plan_from_dict
from ipafstudy.analysis.study import analyse_dataset, run_study
from ipafstudy.cohort.build import build_cohort
from ipafstudy.data.loaders import load_study
from ipafstudy.data.synth import copy_bundled
from ipafstudy.reporting.format import get_style
from ipafstudy.reporting.methods import summary_sentences
from ipafstudy.reporting.report import write_report
from ipafstudy.reporting.tables import table2

# Baselines 60..67 (% predicted); FVC change per patient: distinct 1..8, in this order (not sorted, so the
# regression of change on baseline is not a perfect line).
BASE = [60, 61, 62, 63, 64, 65, 66, 67]
DELTA = [2, 1, 4, 3, 6, 5, 8, 7]
LDH_BASE = [300 + 10 * i for i in range(8)]
LDH = {"code": "ldh", "label": "LDH", "unit": "U/L", "range": [0, 10000], "better": "lower"}


def _plan(fvc_better: str | None = None, **extra: object) -> AnalysisPlan:
    default = AnalysisPlan().model_dump(mode="json")
    outcomes = default["outcomes"] + [{"code": "fvc_pct_pred", **({"better": fvc_better} if fvc_better else {})},
                                      {"code": "ldh"}]
    return plan_from_dict({
        "outcomes": outcomes, "variables": [LDH],
        "correlation": {"outcomes": ["hrct_total", "fvc_pct_pred", "ldh"]},
        "figures": {"box_plot_outcomes": ["hrct_total", "fvc_pct_pred"]},
        "regression": {"outcome": "fvc_pct_pred_change", "predictors": ["fvc_pct_pred_baseline"]},
        "statistics": {"wilcoxon_method": "exact"}, **extra,
    })


def _write(folder: Path, sign: int) -> None:
    """Append FVC and LDH rows (follow-up = baseline + sign x change) for the first nine analysed patients."""
    cohort = build_cohort(load_study(folder))
    screen = cohort.screening.set_index("patient_id")
    ids = list(cohort.analysed_ids)[:9]
    path = folder / "measurements.csv"
    with path.open("r", encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    rows = []

    def add(pid: str, day: dt.date, variable: str, value: float, unit: str) -> None:
        rec = dict.fromkeys(header, "")
        rec.update({"patient_id": pid, "date": day.isoformat(), "variable": variable, "value": f"{value:g}",
                    "unit": unit})
        rows.append(rec)

    for i, pid in enumerate(ids):
        start, end, ongoing = screen.loc[pid, "tacrolimus_start"], screen.loc[pid, "tacrolimus_end"], \
            screen.loc[pid, "ongoing"]
        if i == 8:  # baseline only: in Table S2's missing follow-up, not in the pairs
            add(pid, start - dt.timedelta(days=5), "fvc_pct_pred", 70, "%")
            continue
        add(pid, start - dt.timedelta(days=200), "fvc_pct_pred", 10, "%")  # older than the baseline window
        add(pid, start, "fvc_pct_pred", BASE[i], "% predicted")
        add(pid, start + dt.timedelta(days=10), "fvc_pct_pred", 150, "%")  # not the latest
        add(pid, start + dt.timedelta(days=30), "fvc_pct_pred", BASE[i] + sign * DELTA[i], "%")
        add(pid, start, "ldh", LDH_BASE[i], "U/L")
        add(pid, start + dt.timedelta(days=30), "ldh", LDH_BASE[i] + sign * 10 * DELTA[i], "U/L")
        if not ongoing:  # after the end of treatment: never follow-up
            add(pid, end + dt.timedelta(days=5), "fvc_pct_pred", 190, "%")
    with path.open("a", encoding="utf-8", newline="") as fh:
        csv.DictWriter(fh, fieldnames=header).writerows(rows)


def _study(tmp_path_factory: pytest.TempPathFactory, name: str, sign: int):
    folder = tmp_path_factory.mktemp(name)
    copy_bundled(folder)
    _write(folder, sign)
    return load_study(folder, variables=_plan().variable_catalogue)


@pytest.fixture(scope="module")
def rising(tmp_path_factory: pytest.TempPathFactory):
    return run_study(_study(tmp_path_factory, "rising", +1), _plan())


@pytest.fixture(scope="module")
def falling(tmp_path_factory: pytest.TempPathFactory):
    return run_study(_study(tmp_path_factory, "falling", -1), _plan())


def _paired(results, code):
    return next(p for p in results.paired if p.code == code)


def test_paired_numbers_of_the_new_outcome_match_the_hand_computation(rising):
    p = _paired(rising, "fvc_pct_pred")
    assert p.n_pairs == 8 and p.better == "higher" and p.label == "FVC, % predicted" and p.unit is None
    # baselines 60..67 -> median (63 + 64) / 2; follow-ups 62, 62, 66, 66, 70, 70, 74, 74 -> (66 + 70) / 2
    assert p.baseline.median == 63.5 and p.follow_up.median == 68.0
    # differences 1..8 -> median (4 + 5) / 2
    assert p.median_change.estimate == 4.5 and p.change.median == 4.5
    w = p.wilcoxon
    assert (w.n_increased, w.n_decreased, w.n_unchanged) == (8, 0, 0)
    # all eight differences positive and distinct: W+ = 1 + ... + 8 = 36, W- = 0. Of the 2^8 equally likely sign
    # patterns under H0 only this one and its mirror (W+ = 0) are as extreme: exact two-sided p = 2 / 256.
    assert (w.w_plus, w.w_minus) == (36.0, 0.0)
    assert w.method_used == "exact" and w.p == pytest.approx(2 / 256, abs=1e-12)
    # a value before the window, an earlier follow-up and one after the end of treatment were not chosen
    data = rising.dataset.set_index("patient_id")
    chosen = data["fvc_pct_pred_baseline"].dropna().sort_values().tolist()
    assert chosen == [60, 61, 62, 63, 64, 65, 66, 67, 70]
    assert sorted(data["fvc_pct_pred_follow_up"].dropna()) == [62, 62, 66, 66, 70, 70, 74, 74]


def test_downstream_uses_take_the_new_outcome(rising):
    # regression of the change on the baseline: x = baseline - 60 = 0..7, y = change = x + 1 + e with
    # e = +1, -1, +1, ...: Sxx = 42, Sxy = 42 - 4 -> B = 38/42 = 19/21; intercept = 4.5 - 19/21 * 63.5 = -1112/21
    terms = rising.regression.terms
    assert rising.regression.n == 8
    assert terms.loc["fvc_pct_pred_baseline", "b"] == pytest.approx(float(Fraction(19, 21)), abs=1e-12)
    assert terms.loc["Intercept", "b"] == pytest.approx(float(Fraction(-1112, 21)), abs=1e-9)
    assert rising.regression_labels["fvc_pct_pred_baseline"] == "Baseline FVC, % predicted"
    # the LDH change is 10 x the FVC change in every patient: Spearman rho = 1
    corr = rising.correlation
    assert corr.rho.loc["FVC, % predicted", "LDH"] == pytest.approx(1.0)
    panel = next(b for b in rising.box_plots if b.code == "fvc_pct_pred")
    assert len(panel.before) == 8 and panel.before_box.median == 63.5
    missing = {(m.outcome, m.timepoint): m for m in rising.missing}
    base, fu = missing[("fvc_pct_pred", "baseline")], missing[("fvc_pct_pred", "follow_up")]
    assert (base.n_available, fu.n_available) == (9, 8)
    assert sum(base.reasons.values()) == base.n_analysed - 9
    assert sum(fu.reasons.values()) == fu.n_analysed - 8
    assert all("FVC, % predicted" in r or r == "no value recorded" for r in [*base.reasons, *fu.reasons])
    ldh = _paired(rising, "ldh")
    assert (ldh.label, ldh.unit, ldh.better, ldh.n_pairs, ldh.median_change.estimate) == ("LDH", "U/L", "lower", 8,
                                                                                        45.0)


def test_report_files_carry_the_new_outcome(rising, tmp_path):
    import json

    write_report(rising, tmp_path / "out")
    doc = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    fvc = next(p for p in doc["paired"] if p["code"] == "fvc_pct_pred")
    assert fvc["better"] == "higher" and fvc["n_pairs"] == 8
    assert {"fvc_pct_pred_baseline", "fvc_pct_pred_change", "ldh_follow_up"} <= set(doc["dataset_columns"])
    trace = trace_from_dir(tmp_path / "out", "fvc_pct_pred")
    assert len(trace.used) == 8 and sorted(trace.used["change"]) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert "FVC, % predicted (fvc_pct_pred): 8 of" in trace.to_text()


def test_summary_says_improved_for_a_rise_when_higher_is_better(rising):
    text = " ".join(summary_sentences(rising, "default"))
    assert "Significant improvements (p < 0.05) were seen in " in text
    improved = text.split("Significant improvements (p < 0.05) were seen in ")[1].split(". ")[0]
    assert "FVC, % predicted (median change 4.5" in improved
    # LDH (better lower) rose in all eight; HCs rose in 4 of 48 only: exact p = 2/2^4, not significant
    worsened = text.split("Significant worsening (p < 0.05) was seen in ")[1].split(". ")[0]
    assert worsened.startswith("LDH (median change 45.0") and "FVC" not in worsened


def test_summary_says_worsened_for_a_fall_when_higher_is_better(falling):
    p = _paired(falling, "fvc_pct_pred")
    assert (p.median_change.estimate, p.wilcoxon.n_decreased) == (-4.5, 8)
    assert p.verdict(0.05) == "worsened" and _paired(falling, "ldh").verdict(0.05) == "improved"
    text = " ".join(summary_sentences(falling, "default"))
    worsened = text.split("Significant worsening (p < 0.05) was seen in ")[1].split(". ")[0]
    assert "FVC, % predicted (median change -4.5" in worsened
    improved = text.split("Significant improvements (p < 0.05) were seen in ")[1].split(". ")[0]
    assert "LDH (median change -45.0" in improved and "FVC" not in improved


def test_table2_direction_column_stays_literal_and_a_footnote_names_the_upward_outcomes(rising, falling):
    style = get_style("default")
    for results, direction in ((rising, "0 / 0 / 8"), (falling, "8 / 0 / 0")):
        spec = table2(results, style)
        row = next(r for r in spec.rows if r.cells[0] == "FVC, % predicted")
        assert row.cells[5] == direction and row.cells[1] == "8"
        note = [n for n in spec.footnotes if n.startswith("Decreased / unchanged / increased")]
        assert note == ["Decreased / unchanged / increased: patients whose value fell, stayed equal or rose. "
                        "Higher values are better for FVC, % predicted; lower values for Total HRCT score, GGO, "
                        "Fibrosis, HCs, Consolidation, mMRC grade, ESR, CRP, MPRED, LDH."]
    # the reference study (every outcome better lower) has no such footnote
    assert not [n for n in table2(analyse_dataset(rising.dataset, AnalysisPlan()), style).footnotes
                if n.startswith("Decreased / unchanged")]


def test_better_lower_turns_the_same_rise_into_worsened(rising):
    plan = _plan("lower")
    again = analyse_dataset(rising.dataset, plan)
    p = _paired(again, "fvc_pct_pred")
    assert p.better == "lower" and p.verdict(0.05) == "worsened"
    assert p.wilcoxon.n_increased == 8  # the data did not change, only the judgement
    primary = plan_from_dict({**plan.model_dump(mode="json"), "primary_outcome": "fvc_pct_pred"})
    first = summary_sentences(analyse_dataset(rising.dataset, primary), "default")[2]
    assert first.startswith("FVC, % predicted (primary outcome, n = 8) worsened: median change 4.5")
    first = summary_sentences(analyse_dataset(rising.dataset, _plan(primary_outcome="fvc_pct_pred")), "default")[2]
    assert first.startswith("FVC, % predicted (primary outcome, n = 8) improved: median change 4.5")


def test_no_verdict_without_significance_or_direction(rising):
    p = _paired(rising, "fvc_pct_pred")
    assert p.verdict(0.005) is None  # p = 0.0078 is not below 0.005
    from dataclasses import replace

    assert replace(p, better=None).verdict(0.05) is None
