"""Meta-test: under every value of every plan option, the words describe what the tables hold.

The bundled cohort is loaded and built once; then, for each Literal or bool option of the plan's
``statistics``, ``figures`` and ``correlation`` sections (one at a time, the rest at their defaults),
the analysis runs on the same analysis dataset and the methods, table headers, footnotes, figure
captions and results sentences are checked against (a) what the results recorded and (b) values
recomputed here with pandas/numpy from the analysis dataset. Counts are never hard-coded, so a new
example cohort cannot break the test while a false sentence still does.
"""

from __future__ import annotations

import math
import re
import typing
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ipafstudy.analysis.dataset import analysis_dataset
from ipafstudy.analysis.plan import AnalysisPlan, CorrelationSpec, FigureSpec, StatisticsSpec, plan_from_dict
from ipafstudy.analysis.study import analyse_dataset
from ipafstudy.cohort.build import build_cohort
from ipafstudy.data.loaders import load_study
from ipafstudy.reporting.format import fmt_mean_sd, fmt_median_iqr, fmt_p, fmt_p_relation, get_style
from ipafstudy.reporting.methods import methods_paragraphs, summary_sentences
from ipafstudy.reporting.report import box_plot_caption, correlation_caption
from ipafstudy.reporting.tables import Q_LABEL, build_tables

SECTIONS = {"statistics": StatisticsSpec, "figures": FigureSpec, "correlation": CorrelationSpec}
FAST = {"bootstrap_resamples": 200}
STYLE = get_style("default")


def option_values() -> list[tuple[str, str, Any]]:
    """(section, option, value) for every Literal value and both bool values of the three plan sections."""
    out = []
    for section, model in SECTIONS.items():
        for name, info in model.model_fields.items():
            ann = info.annotation
            if ann is bool:
                values: tuple[Any, ...] = (False, True)
            elif typing.get_origin(ann) is typing.Literal:
                values = typing.get_args(ann)
            else:
                continue
            out += [(section, name, v) for v in values]
    return out


OPTIONS = option_values()


def test_the_option_list_covers_the_known_options():
    names = {(s, n) for s, n, _ in OPTIONS}
    for expected in (("statistics", "continuous_summary"), ("statistics", "quantile_method"),
                     ("statistics", "zero_method"), ("statistics", "continuity"), ("statistics", "wilcoxon_method"),
                     ("statistics", "effect_size_n"), ("statistics", "mann_whitney_method"),
                     ("statistics", "bootstrap_ci_method"), ("figures", "whiskers"), ("figures", "paired_lines"),
                     ("correlation", "adjust")):
        assert expected in names


@pytest.fixture(scope="module")
def cohort_and_data() -> tuple[Any, pd.DataFrame]:
    plan = AnalysisPlan()
    study = load_study(str(resources.files("ipafstudy") / "example_data"))
    cohort = build_cohort(study, plan.settings, outcomes=list(plan.outcome_codes), primary_outcome=plan.primary_outcome)
    return cohort, analysis_dataset(cohort, plan)


def _plan(section: str, name: str, value: Any) -> AnalysisPlan:
    stats = dict(FAST)
    raw: dict[str, Any] = {"statistics": stats}
    if section == "statistics":
        stats[name] = value
    else:
        raw[section] = {name: value}
    return plan_from_dict(raw)


# --- independent references -------------------------------------------------------------------------------

def hand_quartiles(values: np.ndarray, method: str) -> tuple[float, float, float]:
    """Q1, median, Q3 by hand: type 6 position (n+1)p, type 7 position 1+(n-1)p, Tukey hinges (fivenum)."""
    x = np.sort(values.astype(float))
    n = x.size

    def at(pos: float) -> float:  # 1-based position, linear interpolation, clamped to the data
        pos = min(max(pos, 1.0), float(n))
        lo = math.floor(pos)
        frac = pos - lo
        return float(x[lo - 1] + (frac * (x[lo] - x[lo - 1]) if frac else 0.0))

    if method == "spss":
        return at((n + 1) * 0.25), at((n + 1) * 0.5), at((n + 1) * 0.75)
    if method == "r7":
        return at(1 + (n - 1) * 0.25), at(1 + (n - 1) * 0.5), at(1 + (n - 1) * 0.75)
    depth = (math.floor((n + 1) / 2) + 1) / 2  # fivenum: depth of the hinges
    return at(depth), at((n + 1) / 2), at(n + 1 - depth)


#: CRP is printed with 2 decimals (its catalogue entry); every other outcome with the style's.
PRINTED_DECIMALS = {"crp": 2}


def expected_cell(values: pd.Series, code: str, plan: AnalysisPlan) -> str:
    v = values.dropna().to_numpy(dtype=float)
    dec = PRINTED_DECIMALS.get(code, STYLE.decimals)
    if plan.statistics.continuous_summary == "mean_sd":
        sd = float(np.std(v, ddof=1)) if v.size > 1 else math.nan
        return fmt_mean_sd(float(v.mean()), sd, dec, style=STYLE)
    q1, med, q3 = hand_quartiles(v, plan.statistics.quantile_method)
    return fmt_median_iqr(q1, med, q3, dec, style=STYLE)


def hand_adjust(p: list[float], method: str) -> list[float]:
    """Holm step-down / Benjamini-Hochberg step-up, written out here."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    out = [0.0] * m
    if method == "holm":
        running = 0.0
        for rank, i in enumerate(order):
            running = max(running, min(1.0, (m - rank) * p[i]))
            out[i] = running
    else:
        running = 1.0
        for rank in range(m - 1, -1, -1):
            i = order[rank]
            running = min(running, m * p[i] / (rank + 1))
            out[i] = min(1.0, running)
    return out


# --- the meta-test --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("section", "name", "value"), OPTIONS, ids=[f"{s}.{n}={v}" for s, n, v in OPTIONS])
def test_words_describe_what_the_tables_hold(cohort_and_data, section, name, value):
    cohort, data = cohort_and_data
    plan = _plan(section, name, value)
    res = analyse_dataset(data, plan, cohort=cohort)
    st = plan.statistics
    tables = {t.key: t for t in build_tables(res, STYLE)}
    methods = " ".join(methods_paragraphs(res, STYLE))
    summary = " ".join(summary_sentences(res, STYLE))
    mean_sd = st.continuous_summary == "mean_sd"
    shown, other = ("mean (SD)", "median (Q1, Q3)") if mean_sd else ("median (Q1, Q3)", "mean (SD)")
    data = data.sort_values("patient_id").reset_index(drop=True)

    # continuous summary: Table 1, 2, 4 and 5 say what they print, and print it
    assert ("summarised as mean (SD)" in methods) == mean_sd
    for key in ("table1_baseline", "table2_paired", "table4_subgroup_baseline", "table5_subgroup_response"):
        t = tables[key]
        words = " ".join([*(c.label for c in t.columns), *(r.cells[0] for r in t.rows), *t.footnotes])
        assert shown in words, (key, shown)
        assert other not in words, (key, other)
        quart_note = [f for f in t.footnotes if f.startswith("Quartiles:")]
        assert quart_note == ([] if mean_sd else [f"Quartiles: {Q_LABEL[st.quantile_method]}."]), key
    t2 = tables["table2_paired"]
    rows2 = {r.cells[0].split(",")[0]: r.cells for r in t2.rows}
    for p in res.paired:
        both = data[f"{p.code}_baseline"].notna() & data[f"{p.code}_follow_up"].notna()
        cells = rows2[p.label]
        assert cells[2] == expected_cell(data.loc[both, f"{p.code}_baseline"], p.code, plan), p.code
        assert cells[3] == expected_cell(data.loc[both, f"{p.code}_follow_up"], p.code, plan), p.code
    g1, g2 = plan.subgroup.groups
    t5 = tables["table5_subgroup_response"]
    rows5 = {r.cells[0].split(",")[0]: r.cells for r in t5.rows}
    for r in res.subgroup_response:
        part = data[data["antibody_group"].astype(object).eq(g1).fillna(False).astype(bool)]
        both = part[f"{r.code}_baseline"].notna() & part[f"{r.code}_follow_up"].notna()
        if both.sum():
            assert rows5[r.label][1].split(" [")[0] == expected_cell(part.loc[both, f"{r.code}_baseline"], r.code,
                                                                     plan)
    t4 = tables["table4_subgroup_baseline"]
    age_row = next(row for row in t4.rows if row.cells[0].startswith("Age"))
    for col, g in ((1, g1), (2, g2)):
        part = data[data["antibody_group"].astype(object).eq(g).fillna(False).astype(bool)]
        assert age_row.cells[col].split(" [")[0] == expected_cell(part["age_at_start"], "age", plan)

    # quantile method: one definition named everywhere; the box plots use it
    assert Q_LABEL[st.quantile_method] in methods
    for other_q in set(Q_LABEL) - {st.quantile_method}:
        assert Q_LABEL[other_q] not in methods + " ".join(f for t in tables.values() for f in t.footnotes)
    caption2 = box_plot_caption(res)
    for panel in res.box_plots:
        q1, med, q3 = hand_quartiles(np.array(panel.before), st.quantile_method)
        assert [panel.before_box.q1, panel.before_box.median, panel.before_box.q3] == pytest.approx([q1, med, q3])
        if plan.figures.whiskers == "minmax":
            assert panel.before_box.whisker_low == min(panel.before)
            assert panel.before_box.whisker_high == max(panel.before)
    assert ("minimum to the maximum" in caption2) == (plan.figures.whiskers == "minmax")
    assert ("1.5 × IQR" in caption2) == (plan.figures.whiskers == "tukey")
    assert ("lines join each patient" in caption2) == plan.figures.paired_lines

    # Wilcoxon: what the results recorded is what Table 2's footnote and the methods say
    note2 = " ".join(t2.footnotes)
    for p in res.paired:
        w = p.wilcoxon
        assert w.settings.zero_method == st.zero_method and w.settings.continuity == st.continuity
        assert w.settings.effect_size_n == st.effect_size_n
        n_eff = {"pairs": w.n_pairs, "nonzero": w.n_nonzero, "observations": 2 * w.n_pairs}[st.effect_size_n]
        if not math.isnan(w.z):
            assert math.isclose(w.r, abs(w.z) / math.sqrt(n_eff)), p.code
        if st.wilcoxon_method != "auto" and w.n_nonzero:
            assert w.method_used == st.wilcoxon_method
    assert ("Pratt" in note2) == (st.zero_method == "pratt")
    assert ("dropped before ranking" in note2) == (st.zero_method == "wilcox")
    assert ("Pratt" in methods) == (st.zero_method == "pratt")
    assert (", with continuity correction" in note2) == st.continuity
    assert (", no continuity correction" in note2) == (not st.continuity)
    n_words = {"pairs": "N = all analysed pairs", "nonzero": "N = non-zero pairs", "observations": "N = 2 × pairs"}
    assert n_words[st.effect_size_n] in note2
    exact = [p.label for p in res.paired if p.wilcoxon.method_used == "exact"]
    if st.wilcoxon_method == "auto":
        assert (f"(exact: {', '.join(exact)})" if exact else "(exact for no row)") in note2
    assert ("exact p" in note2) == (st.wilcoxon_method != "asymptotic")
    assert (f"{st.bootstrap_ci_method} interval" in note2)
    assert all(p.median_change.ci_method == st.bootstrap_ci_method for p in res.paired)

    # Mann-Whitney: Table 4/5 footnotes and methods follow the recorded settings
    mw = [r.test for r in res.subgroup_baseline if r.test_name == "Mann-Whitney U"]
    mw += [r.between for r in res.subgroup_response if r.between is not None]
    assert mw and all(m.settings.method == st.mann_whitney_method for m in mw)
    assert all(m.settings.continuity == st.mann_whitney_continuity for m in mw)
    for text in (" ".join(tables["table4_subgroup_baseline"].footnotes), " ".join(t5.footnotes), methods):
        assert ("Mann-Whitney U" in text)
        asym = st.mann_whitney_method == "asymptotic"
        assert ("normal approximation with tie correction" in text) == asym
        if asym:
            assert (("with continuity correction" if st.mann_whitney_continuity else "no continuity correction")
                    in text.split("Mann-Whitney U", 1)[1])

    # correlation adjustment: Table S4 column, Figure 3 caption, methods and the cited p in the summary
    adjust = plan.correlation.adjust
    name_adj = {"holm": "Holm", "bh": "Benjamini-Hochberg"}.get(adjust)
    s4 = tables["tableS4_correlation"]
    labels = [c.label for c in s4.columns]
    caption3 = correlation_caption(res)
    if adjust == "none":
        assert not any(lbl.startswith("p (") for lbl in labels)
        assert "-adjusted" not in caption3 and "without multiplicity adjustment" in methods
    else:
        assert f"p ({name_adj})" in labels and f"{name_adj}-adjusted" in caption3 and f"{name_adj}-adjusted" in methods
    corr = res.correlation
    names = list(res.correlation_labels)
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:] if not math.isnan(float(corr.p.loc[a, b]))]
    raw = [float(corr.p.loc[a, b]) for a, b in pairs]
    cited = dict(zip(pairs, raw if adjust == "none" else hand_adjust(raw, adjust), strict=True))
    primary = plan.outcome(plan.primary_outcome).label
    sentence = next(s for s in summary_sentences(res, STYLE) if s.startswith(f"The change in {primary[0].lower()}")
                    or s.startswith(f"The change in {primary}"))
    significant = {b if a == primary else a for (a, b), p in cited.items() if primary in (a, b) and p < st.alpha}
    if not significant:
        assert "not significantly correlated" in sentence
        assert ("after " + name_adj + " adjustment" in sentence) if name_adj else "adjustment" not in sentence
    for other_label in significant:
        p = cited[(primary, other_label)] if (primary, other_label) in cited else cited[(other_label, primary)]
        want = ("p" if adjust == "none" else f"{name_adj}-adjusted p") + fmt_p_relation(p, style=STYLE)[1:]
        assert want in sentence, (want, sentence)
    assert summary  # the summary was produced under every option


def test_a_zero_median_change_is_worded_by_its_direction_counts(cohort_and_data):
    """A median change that prints as 0 gives the counts of decreased, increased and unchanged patients."""
    cohort, data = cohort_and_data
    data = data.copy()
    code = "mmrc"
    # half the patients unchanged, a quarter down by one, a quarter up by one, most lower: median change 0
    base = data[f"{code}_baseline"].fillna(2.0).clip(1, 3)
    step = np.zeros(len(data))
    step[: len(data) // 3] = -1
    step[len(data) // 3: len(data) // 3 + 3] = 1
    data[f"{code}_baseline"] = base
    data[f"{code}_follow_up"] = base + step
    data[f"{code}_change"] = step
    res = analyse_dataset(data, _plan("statistics", "seed", 1), cohort=cohort)
    diff = data[f"{code}_follow_up"] - data[f"{code}_baseline"]
    assert float(diff.median()) == 0.0
    want = (f"decreased in {int((diff < 0).sum())}, increased in {int((diff > 0).sum())}, unchanged in "
            f"{int((diff == 0).sum())}")
    text = " ".join(summary_sentences(res, STYLE))
    label = res.paired_for(code).label
    phrase = text[text.index(label[0].lower() + label[1:] + " ("):]
    phrase = phrase[: phrase.index(")")]
    assert want in phrase
    assert "CI" not in phrase  # a 0 to 0 interval says nothing either
    assert fmt_p(res.paired_for(code).wilcoxon.p, style=STYLE).lstrip("<") in phrase


def test_settings_appendix_speaks_clinical_words(cohort_and_data):
    """yes/no, plain numbers and named choices in words: no Python True/False/None, no quoted reprs."""
    import dataclasses
    import datetime as dt

    from ipafstudy.reporting.methods import settings_paragraphs

    cohort, data = cohort_and_data
    for clinical in ({}, {"ro52_alone_counts_as_ssa": True, "baseline_includes_start_day": False,
                          "data_cutoff_date": "2025-06-30", "missing_feature_means": "absent",
                          "antibody_group_precedence": "exclude_overlap", "renal_rule": "none"}):
        plan = plan_from_dict({"statistics": FAST, "clinical": clinical})
        res = analyse_dataset(data, plan, cohort=cohort)
        intro, body = settings_paragraphs(res)
        assert "option = value" in intro
        lines = {line.split(" = ", 1)[0]: line.split(" = ", 1)[1] for line in body.split("\n")}
        settings = plan.settings
        assert set(lines) == {f.name for f in dataclasses.fields(settings)}
        for name, text in lines.items():
            value = getattr(settings, name)
            shown = text.split(":", 1)[0]
            assert not re.search(r"\b(True|False|None)\b", text), (name, text)
            assert not re.search(r"'[^' ]+'", shown), (name, text)  # no quoted repr such as 'unknown'
            if isinstance(value, bool):
                assert shown == ("yes" if value else "no"), (name, text)
            elif isinstance(value, dt.date):
                assert shown == value.isoformat()
            elif isinstance(value, float):
                assert float(shown) == value and not shown.endswith(".0")
            elif isinstance(value, str):
                assert shown.endswith(f"[{value}]") and len(shown) > len(value) + 3, (name, text)
        if settings.data_cutoff_date is None:
            assert lines["data_cutoff_date"].startswith("the latest date in the records")
