"""StudyResults -> one TableSpec per table. Formatting only: every number is read from the results.

Each builder takes the results and a journal style and returns a neutral ``TableSpec``; the
DOCX/HTML/XLSX/CSV renderers lay it out. Nothing here computes a statistic: if a number is not in
``StudyResults`` it cannot appear in a table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ipafstudy.analysis.results import Continuous, Count, PairedOutcome, StudyResults
from ipafstudy.reporting.format import (
    JournalStyle,
    fmt_ci,
    fmt_int,
    fmt_mean_sd,
    fmt_median_iqr,
    fmt_n_pct,
    fmt_number,
    fmt_p,
    fmt_p_relation,
    get_style,
)
from ipafstudy.reporting.tablespec import Column, Row, TableSpec
from ipafstudy.rules.codes import HRCT_OUTCOMES
from ipafstudy.stats.paired import AUTO_EXACT_MAX_NONZERO, FEW_NONZERO_PAIRS
from ipafstudy.stats.regression import MIN_CASES_PER_PREDICTOR, MIN_MINORITY_SHARE
from ipafstudy.values import is_missing

# Decimals of Table 1 rows that are not catalogue variables (variables state theirs in rules/units.py or the plan).
DECIMALS: dict[str, int] = {"tacrolimus_trough_median": 2, "trough": 2}

Q_LABEL = {"spss": "SPSS/Prism (Hyndman-Fan type 6)", "r7": "R default (Hyndman-Fan type 7)", "tukey": "Tukey hinges"}
ABBREVIATIONS = (
    "GGO, ground-glass opacity; HCs, honeycomb cysts; HRCT, high-resolution computed tomography; mMRC, modified "
    "Medical Research Council dyspnoea scale; ESR, erythrocyte sedimentation rate; CRP, C-reactive protein; MPRED, "
    "methylprednisolone; MSA, myositis-specific antibody; MAA, myositis-associated antibody."
)


def _d(key: str, style: JournalStyle) -> int:
    return style.decimals_for(key, DECIMALS)


def _q(q: Any, key: str, style: JournalStyle) -> str:
    if q is None:
        return style.missing
    return fmt_median_iqr(q.q1, q.median, q.q3, _d(key, style), style=style)


def _count(c: Count, n_total: int, style: JournalStyle) -> str:
    return fmt_n_pct(c.n, c.denominator, show_denom=c.denominator != n_total, style=style)


def _continuous(c: Continuous | None, key: str, style: JournalStyle) -> str:
    if c is None:
        return style.missing
    if c.shown == "mean_sd":
        return fmt_mean_sd(c.describe.mean, c.describe.sd, _d(key, style), style=style)
    return _q(c.quantiles, key, style)


def _mean_sd(results: StudyResults) -> bool:
    return results.plan.statistics.continuous_summary == "mean_sd"


def _summary_words(results: StudyResults) -> str:
    """What a continuous cell holds, in the words of the plan's ``continuous_summary``."""
    return "mean (SD)" if _mean_sd(results) else "median (Q1, Q3)"


def _summary(q: Any, d: Any, key: str, style: JournalStyle, mean_sd: bool) -> str:
    """A continuous cell: mean (SD) from ``d`` under ``mean_sd``, else median (Q1, Q3) from ``q``."""
    if not mean_sd:
        return _q(q, key, style)
    if d is None:
        return style.missing
    return fmt_mean_sd(d.mean, d.sd, _d(key, style), style=style)


def mann_whitney_words(method: str, continuity: bool) -> str:
    """How the Mann-Whitney p was obtained, from the plan's options."""
    if method == "exact":
        return "exact p"
    return f"normal approximation with tie correction, {'with' if continuity else 'no'} continuity correction"


def _unit(label: str, unit: str | None) -> str:
    return f"{label}, {unit}" if unit else label


def _quartile_note(results: StudyResults) -> tuple[str, ...]:
    """The quartile definition, for tables that print quartiles (none under ``continuous_summary: mean_sd``)."""
    if _mean_sd(results):
        return ()
    return (f"Quartiles: {Q_LABEL[results.plan.statistics.quantile_method]}.",)


def _table1_cell(value: Count | Continuous | None, key: str, total: int, style: JournalStyle) -> str:
    """One Table 1 cell: n (%) (n/known when not all are known) or the summary [n = known when incomplete]."""
    if isinstance(value, Count):
        return _count(value, total, style)
    if isinstance(value, Continuous):
        known = value.quantiles.n if value.quantiles is not None else value.describe.n if value.describe else 0
        return _continuous(value, key.removesuffix("_baseline"), style) + (f" [n = {known}]" if known != total else "")
    return style.missing if total else ""


def table1(results: StudyResults, style: JournalStyle) -> TableSpec:
    table = results.baseline
    n = table.n
    groups = tuple(table.groups)
    rows: list[Row] = []
    section = None
    incomplete = False
    for r in table.rows:
        if r.section != section:
            section = r.section
            rows.append(Row.section(section))
        words = _summary_words(results) if r.kind == "continuous" else "n (%)"
        cells = [f"{r.label}, {words}", _table1_cell(r.value, r.key, n, style)]
        if groups:
            cells += [_table1_cell(r.groups.get(g), r.key, table.group_sizes[g], style) for g in groups]
            cells += [fmt_p(r.test.p, style=style) if r.test is not None else "", _test_name(r)]
        incomplete = incomplete or r.kind == "unknown" or any(c.endswith("]") for c in cells[1:])
        rows.append(Row(tuple(cells), indent=1))
    columns = [Column("variable", "Characteristic"), Column("all", f"All patients (n = {n})", "right")]
    if groups:
        columns += [Column(f"group_{g}", f"{table.group_labels.get(g, g)} (n = {table.group_sizes[g]})", "right")
                    for g in groups]
        columns += [Column("p", "p", "right"), Column("test", "Test")]
    notes = [
        f"Continuous variables are {_summary_words(results)}; categorical variables n (%). Where a feature was "
        "unknown for some patients, the denominator is shown (n/known).",
        *_quartile_note(results),
        "Items of the IPAF classification (Fischer et al. 2015); a patient may meet several items in a domain.",
    ]
    if incomplete:
        notes.append("Percentages are of the patients with a known value; an Unknown row gives the patients without "
                     "one, as a percentage of all patients in the column. [n = k]: a continuous variable known in k "
                     "patients.")
    if any(r.section == "Follow-up" for r in table.rows):
        notes.append(f"Follow-up: exposure from the first day on {results.plan.drug_label} to the end of exposure or "
                     "the data cut-off, both days counted; time from start to the day of each outcome's follow-up "
                     "value, in the patients who have one. Months of 365.25/12 days.")
    if groups:
        st = results.plan.statistics
        two = len(groups) == 2
        notes.append(
            ("Mann-Whitney U (" + mann_whitney_words(st.mann_whitney_method, st.mann_whitney_continuity) + ")"
             if two else "Kruskal-Wallis test (tie-corrected, chi-square approximation)")
            + " for continuous variables; Pearson χ² without continuity correction, or Fisher's exact test "
            "(Freeman-Halton for larger tables) when an expected count is below 5, on the known values of "
            "categorical variables (all levels found; the test is on the first row of a variable). Unknown rows are "
            "not tested."
        )
        if table.n_ungrouped:
            k = table.n_ungrouped
            notes.append(f"{k} {'patient' if k == 1 else 'patients'} with no {table.subgroup_variable} among the "
                         f"compared groups (blank or another value) {'is' if k == 1 else 'are'} counted in All "
                         "patients only.")
    if results.n_antibody_both:
        both = results.n_antibody_both
        where = ("were assigned to the MSA group" if results.settings.antibody_group_precedence == "msa"
                 else "were left out of both antibody groups")
        notes.append(f"{both} {'patient' if both == 1 else 'patients'} had both an MSA and an MAA and {where}.")
    return TableSpec(
        key="table1_baseline", number=1, title="Baseline characteristics of the analysed patients",
        columns=tuple(columns), rows=tuple(rows), footnotes=tuple(notes),
    )


def _wilcoxon_p(p: PairedOutcome | None, style: JournalStyle) -> str:
    if p is None or p.wilcoxon is None:
        return style.missing
    return fmt_p(p.wilcoxon.p, style=style)


ASYMPTOTIC_WORDS = "normal approximation with tie-corrected variance"


def wilcoxon_method_words(method: str, exact_rows: tuple[str, ...] | None = None) -> str:
    """How the Wilcoxon p was obtained, from the plan's method and (tables) the rows where ``auto`` chose exact."""
    if method == "asymptotic":
        return ASYMPTOTIC_WORDS
    if method == "exact":
        return "exact p"
    text = (f"exact p when no two non-zero differences tied and there were at most {AUTO_EXACT_MAX_NONZERO} of them, "
            f"otherwise {ASYMPTOTIC_WORDS}")
    if exact_rows is None:
        return text
    return text + (f" (exact: {', '.join(exact_rows)})" if exact_rows else " (exact for no row)")


def _exact_rows(paired: Any) -> tuple[str, ...]:
    return tuple(p.label for p in paired if p is not None and p.wilcoxon is not None
                 and p.wilcoxon.method_used == "exact")


def few_nonzero_note(rows: list[tuple[str, Any]], style: JournalStyle) -> str:
    """Footnote for Wilcoxon rows resting on fewer than 6 non-zero differences (no p can be small then)."""
    few = [(label, w) for label, w in rows if w is not None and w.n_nonzero < FEW_NONZERO_PAIRS]
    if not few:
        return ""
    items = "; ".join(f"{label}: {w.n_nonzero} non-zero, smallest attainable p {fmt_p(w.min_attainable_p, style=style)}"
                      for label, w in few)
    return (f"Fewer than {FEW_NONZERO_PAIRS} non-zero paired differences ({items}). With n non-zero differences "
            "even the exact two-sided p cannot fall below 2/2^n, and the normal approximation is unreliable, so "
            "these p values cannot show a change.")


def better_note(results: StudyResults) -> tuple[str, ...]:
    """Which outcomes improve upwards, when any does: the direction column counts values, not improvement.

    Omitted when every outcome is better lower (the reference study: scores, inflammation markers, steroid dose),
    where decreased already reads as improved.
    """
    higher = [o.label for o in results.plan.outcomes if o.better == "higher"]
    if not higher:
        return ()
    lower = [o.label for o in results.plan.outcomes if o.better != "higher"]
    text = (f"Decreased / unchanged / increased: patients whose value fell, stayed equal or rose. Higher values are "
            f"better for {', '.join(higher)}")
    return (text + (f"; lower values for {', '.join(lower)}." if lower else "."),)


def landmark_list(months: Any) -> str:
    """(6, 12) -> '6 and 12'; (3, 6, 12) -> '3, 6 and 12'."""
    items = [str(m) for m in months]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def follow_up_name(results: StudyResults) -> str:
    """What the single follow-up columns hold: 'last follow-up', or the analysis landmark ('month 12')."""
    m = results.plan.analysis_landmark
    return "last follow-up" if m is None else f"month {m}"


def timepoint_words(timepoint: str) -> str:
    """'baseline' -> 'baseline', 'follow_up' -> 'follow-up', 'm6' -> 'month 6'."""
    if timepoint.startswith("m") and timepoint[1:].isdigit():
        return f"month {timepoint[1:]}"
    return timepoint.replace("_", "-")


def landmark_rule_words(results: StudyResults) -> str:
    """The landmark rule in words (Table 2 footnote, Methods)."""
    fu, drug = results.plan.timepoints.follow_up, results.plan.drug_label
    return (f"the value closest to the landmark date ({drug} start plus the landmark's calendar months; a day the "
            f"month lacks becomes its last day) within ±{fu.window_days} days, on treatment (after the start day up "
            "to the end of treatment); of two values equally close, the earlier; values of one date averaged")


def _table2_cells(p: PairedOutcome, style: JournalStyle, mean_sd: bool) -> list[str]:
    """n, baseline, follow-up, change (CI), direction, z, p, r of one paired comparison."""
    w, mc = p.wilcoxon, p.median_change
    change = style.missing
    if mc is not None:
        change = fmt_number(mc.estimate, _d(p.code, style), style=style)
        if not is_missing(mc.ci_low) and not is_missing(mc.ci_high):
            change += f" ({fmt_ci(mc.ci_low, mc.ci_high, _d(p.code, style), style=style)})"
    direction = style.missing if w is None else f"{w.n_decreased} / {w.n_unchanged} / {w.n_increased}"
    return [fmt_int(p.n_pairs, style=style), _summary(p.baseline, p.baseline_describe, p.code, style, mean_sd),
            _summary(p.follow_up, p.follow_up_describe, p.code, style, mean_sd), change, direction,
            style.missing if w is None else fmt_number(w.z, 2, style=style), _wilcoxon_p(p, style),
            style.missing if w is None else fmt_number(w.r, 2, style=style)]


def table2_landmarks(results: StudyResults, style: JournalStyle) -> TableSpec:
    """Table 2 under landmarks: a block per landmark (baseline vs that landmark), Holm across landmarks beside p."""
    st, fu = results.plan.statistics, results.plan.timepoints.follow_up
    conf = fmt_number(100 * st.confidence, 0, style=style)
    cols = (
        Column("variable", "Variable"), Column("n", "n", "right"),
        Column("baseline", f"Baseline, {_summary_words(results)}", "right"),
        Column("follow_up", f"At landmark, {_summary_words(results)}", "right"),
        Column("change", f"Median change ({conf}% bootstrap CI)", "right"),
        Column("direction", "Decreased / unchanged / increased", "right"),
        Column("z", "z", "right"), Column("p", "p", "right"),
        Column("p_holm", "p (Holm across landmarks)", "right"), Column("r", "r", "right"),
    )
    mean_sd = _mean_sd(results)
    rows: list[Row] = []
    found = {(x.paired.code, x.month): x for x in results.landmark_paired}
    for m in fu.months:
        rows.append(Row.section(f"Month {m} (± {fu.window_days} days)"))
        for o in results.plan.outcomes:  # an outcome without pairs at this landmark keeps its row: n = 0
            lo = found.get((o.code, m))
            if lo is None:
                rows.append(Row((_unit(o.label, o.unit), fmt_int(0, style=style), *(style.missing,) * 8), indent=1))
                continue
            cells = _table2_cells(lo.paired, style, mean_sd)
            holm = style.missing if lo.p_holm is None else fmt_p(lo.p_holm, style=style)
            rows.append(Row((_unit(lo.paired.label, lo.paired.unit), *cells[:7], holm, cells[7]), indent=1))
    ws = {"wilcox": "zero differences dropped before ranking", "pratt": "zero differences ranked, then dropped (Pratt)"}
    r_n = {"pairs": "all analysed pairs", "nonzero": "non-zero pairs", "observations": "2 × pairs"}
    paired = [lo.paired for lo in results.landmark_paired]
    notes = (
        "n: patients with both a baseline value and a value at the landmark (paired by patient); baseline is "
        f"summarised over each landmark's pairs. Landmark value: {landmark_rule_words(results)}. Change = landmark "
        "value minus baseline.",
        f"Wilcoxon signed-rank test, two-sided, {ws[st.zero_method]}, average ranks for ties, "
        f"{wilcoxon_method_words(st.wilcoxon_method, _exact_rows(paired))}, "
        f"{'with' if st.continuity else 'no'} continuity correction. r = |z|/√N with N = {r_n[st.effect_size_n]}.",
        f"p (Holm across landmarks): each outcome's p values adjusted by Holm's method across its {len(fu.months)} "
        "landmarks (a landmark without a test does not count), shown beside the raw p.",
        f"Bootstrap CI: {st.bootstrap_resamples:,} resamples of patients, {st.bootstrap_ci_method} interval, seed "
        f"{st.seed}.",
        *_quartile_note(results),
        ABBREVIATIONS,
    )
    few = few_nonzero_note([(f"{lo.paired.label} at month {lo.month}", lo.paired.wilcoxon)
                            for lo in results.landmark_paired], style)
    return TableSpec(
        key="table2_paired", number=2,
        title=f"Outcomes at baseline and at {landmark_list(fu.months)} months on {results.plan.drug_label} "
              f"(n = {results.n_analysed})",
        columns=cols, rows=tuple(rows), footnotes=notes + ((few,) if few else ()) + better_note(results),
    )


def table2(results: StudyResults, style: JournalStyle) -> TableSpec:
    if results.plan.landmarks:
        return table2_landmarks(results, style)
    st = results.plan.statistics
    conf = fmt_number(100 * st.confidence, 0, style=style)
    cols = (
        Column("variable", "Variable"),
        Column("n", "n", "right"),
        Column("baseline", f"Baseline, {_summary_words(results)}", "right"),
        Column("follow_up", f"Last follow-up, {_summary_words(results)}", "right"),
        Column("change", f"Median change ({conf}% bootstrap CI)", "right"),
        Column("direction", "Decreased / unchanged / increased", "right"),
        Column("z", "z", "right"),
        Column("p", "p", "right"),
        Column("r", "r", "right"),
    )
    rows = []
    mean_sd = _mean_sd(results)
    for p in results.paired:
        rows.append(Row((_unit(p.label, p.unit), *_table2_cells(p, style, mean_sd))))
    ws = {"wilcox": "zero differences dropped before ranking", "pratt": "zero differences ranked, then dropped (Pratt)"}
    r_n = {"pairs": "all analysed pairs", "nonzero": "non-zero pairs", "observations": "2 × pairs"}
    notes = (
        "n: patients with both a baseline and a last follow-up value (paired by patient). Change = follow-up minus "
        "baseline.",
        f"Wilcoxon signed-rank test, two-sided, {ws[st.zero_method]}, average ranks for ties, "
        f"{wilcoxon_method_words(st.wilcoxon_method, _exact_rows(results.paired))}, "
        f"{'with' if st.continuity else 'no'} continuity correction. r = |z|/√N with N = {r_n[st.effect_size_n]}.",
        f"Bootstrap CI: {st.bootstrap_resamples:,} resamples of patients, {st.bootstrap_ci_method} interval, seed "
        f"{st.seed}.",
        *_quartile_note(results),
        ABBREVIATIONS,
    )
    few = few_nonzero_note([(p.label, p.wilcoxon) for p in results.paired], style)
    notes = notes + ((few,) if few else ()) + better_note(results)
    return TableSpec(
        key="table2_paired", number=2,
        title=f"Outcomes at baseline and last follow-up on {results.plan.drug_label} (n = {results.n_analysed})",
        columns=cols, rows=tuple(rows), footnotes=notes,
    )


def _w(sw: Any, style: JournalStyle) -> str:
    if sw is None or is_missing(getattr(sw, "w", None)):
        return style.missing
    return f"{fmt_number(sw.w, 3, style=style)} ({fmt_p(sw.p, style=style)})"


def table_normality(results: StudyResults, style: JournalStyle) -> TableSpec:
    rows = [
        Row((_unit(p.label, p.unit), fmt_int(p.n_pairs, style=style), _w(p.normality.get("baseline"), style),
             _w(p.normality.get("follow_up"), style), _w(p.normality.get("difference"), style)))
        for p in results.paired
    ]
    return TableSpec(
        key="tableS1_normality", title="Supplementary Table S1. Shapiro-Wilk normality tests, W (p)",
        columns=(Column("variable", "Variable"), Column("n", "n", "right"), Column("baseline", "Baseline", "right"),
                 Column("follow_up", follow_up_name(results).capitalize(), "right"),
                 Column("difference", "Difference", "right")),
        rows=tuple(rows),
        footnotes=("Computed on the paired patients of Table 2. p < 0.05 indicates departure from normality, "
                   "which is why rank-based tests are used throughout.",),
    )


def table3(results: StudyResults, style: JournalStyle) -> TableSpec:
    reg = results.regression
    labels = results.regression_labels
    cols = (
        Column("variable", "Variable"), Column("b", "B", "right"), Column("ci", "95% CI for B", "right"),
        Column("beta", "β", "right"), Column("t", "t", "right"), Column("p", "p", "right"),
        Column("vif", "VIF", "right"),
    )
    if reg is None:
        return TableSpec(key="table3_regression", number=3, title="Linear regression (not computed)", columns=cols,
                         rows=(Row(("Not computed: see the notes of the report",) + ("",) * 6),))
    rows = []
    terms = reg.terms
    for name in terms.index:
        t = terms.loc[name]
        label = "Constant" if name == "Intercept" else labels.get(str(name), str(name))
        rows.append(Row((
            label, fmt_number(t["b"], 3, style=style), fmt_ci(t["ci_low"], t["ci_high"], 3, style=style),
            style.missing if name == "Intercept" else fmt_number(t["beta"], 3, style=style),
            fmt_number(t["t"], 3, style=style), fmt_p(t["p"], style=style),
            style.missing if name == "Intercept" else fmt_number(t["vif"], 2, style=style),
        )))
    outcome = labels.get(results.plan.regression.outcome, results.plan.regression.outcome)
    fit = (
        f"n = {reg.n} ({reg.n_dropped} dropped for a missing value); R² = {fmt_number(reg.r2, 3, style=style)}, "
        f"adjusted R² = {fmt_number(reg.adj_r2, 3, style=style)}; F = {fmt_number(reg.f, 2, style=style)}, "
        f"{fmt_p_relation(reg.f_p, style=style)}."
    )
    diff = "follow-up" if results.plan.analysis_landmark is None else follow_up_name(results)
    notes = [f"Dependent variable: {outcome} ({diff} minus baseline). Ordinary least squares.", fit,
             "β: standardised coefficient (B × SD of the predictor / SD of the outcome, on the model's cases). "
             "VIF: variance inflation factor."]
    if getattr(reg.settings, "robust_se", "none") == "hc3":
        notes.append(f"B's standard error, 95% CI, t and p use HC3 heteroscedasticity-consistent standard errors "
                     f"(t distribution with {reg.df_resid} df); R² and F are from ordinary least squares.")
    checks = _residual_checks(reg, style)
    if checks:
        notes.append(checks)
    notes += regression_cautions(results, style)
    return TableSpec(
        key="table3_regression", number=3, title=f"Multiple linear regression of {outcome}",
        columns=cols, rows=tuple(rows), footnotes=tuple(notes),
    )


#: Number of the supplementary figure with the regression's residual plots.
REGRESSION_DIAGNOSTICS_FIGURE = "S1"


def _residual_checks(reg: Any, style: JournalStyle) -> str:
    """Shapiro-Wilk of the residuals and Breusch-Pagan (Koenker's studentised form: statistic, df, p)."""
    parts = []
    sw = reg.residual_normality
    if sw is not None and not is_missing(sw.p):
        parts.append(f"Shapiro-Wilk of the residuals W = {fmt_number(sw.w, 3, style=style)}, "
                     f"{fmt_p_relation(sw.p, style=style)}")
    bp = reg.heteroscedasticity
    if bp is not None and not is_missing(bp.p):
        parts.append(f"Breusch-Pagan test (Koenker's studentised form, n·R² of the squared residuals on the "
                     f"predictors) χ² = {fmt_number(bp.lm, 2, style=style)}, df = {bp.df}, "
                     f"{fmt_p_relation(bp.p, style=style)}")
    if not parts:
        return ""
    plots = (f" Residuals against fitted values and a normal Q-Q plot: Supplementary Figure "
             f"{REGRESSION_DIAGNOSTICS_FIGURE}." if reg.diagnostics is not None else "")
    return "Residual checks: " + "; ".join(parts) + "." + plots


def regression_cautions(results: StudyResults, style: JournalStyle) -> list[str]:
    """Sentences for a binary predictor with a minority under 10 % and for fewer than 10 cases per predictor."""
    reg = results.regression
    if reg is None:
        return []
    out = []
    pct = fmt_number(100 * MIN_MINORITY_SHARE, 0, style=style)
    for sb in reg.sparse_binary:
        label = results.regression_labels.get(sb.predictor, sb.predictor)
        out.append(f"{label}: only {sb.n_minority} of {sb.n} patients in the smaller category (under {pct}%), so "
                   "its coefficient rests on very few patients and should be read with caution.")
    if reg.few_cases_per_predictor:
        k = len(reg.settings.predictors)
        per = fmt_number(reg.cases_per_predictor, 1, style=style)
        out.append(f"The model has {reg.n} patients for {k} predictors ({per} per predictor, fewer than "
                   f"{MIN_CASES_PER_PREDICTOR}), so its coefficients may be overfitted.")
    return out


def _test_stat(row: Any, style: JournalStyle) -> str:
    if row.test is None:
        return ""
    if row.test_name == "Mann-Whitney U":
        return fmt_number(row.test.u, 1, style=style)
    if row.test_name == "Kruskal-Wallis H":
        return fmt_number(row.test.h, 2, style=style)
    stat = getattr(row.test, "statistic", None)
    if "chi" in str(row.test_name).lower() or "pearson" in str(row.test_name).lower():
        return fmt_number(stat, 2, style=style) if not is_missing(stat) else ""
    return ""


def _test_name(row: Any) -> str:
    name = row.test_name
    if not name:
        return ""
    if name == "fisher":
        table = getattr(row.test, "table", None) or []
        larger = len(table) > 2 or any(len(r) > 2 for r in table)
        return "Fisher-Freeman-Halton exact" if larger else "Fisher's exact"
    return {"pearson": "Pearson χ²"}.get(name, name)


#: The supplementary table of pairwise (Holm-adjusted) comparisons, printed when there are 3+ subgroups.
PAIRWISE_TABLE = "S6"


def _subgroups(results: StudyResults) -> tuple[tuple[str, ...], dict[str, str], dict[str, int]]:
    """The analysed groups in table order, their labels and sizes (the analysis resolved them into the plan)."""
    sub = results.plan.subgroup
    groups = tuple(sub.groups or ())
    return groups, {g: sub.label(g) for g in groups}, {g: results.group_sizes.get(g, 0) for g in groups}


def _subgroup_missing_note(results: StudyResults) -> tuple[str, ...]:
    m = results.subgroup_missing
    if not m:
        return ()
    return (f"{m} analysed patient{'s' if m != 1 else ''} with no recorded {results.plan.subgroup.name} "
            f"{'are' if m != 1 else 'is'} not in this table.",)


def table4(results: StudyResults, style: JournalStyle) -> TableSpec:
    groups, lab, sizes = _subgroups(results)
    k = len(groups)
    rows = []
    mean_sd = _mean_sd(results)
    for r in results.subgroup_baseline:
        cells = []
        for g in groups:
            n = sizes[g]
            v = r.groups.get(g)
            if r.kind == "distribution":
                cells.append(f"n = {v.n}" if isinstance(v, Count) and v.n != n else "")
            elif isinstance(v, Count):
                cells.append(_count(v, n, style))
            elif v is None:
                cells.append(style.missing)
            else:
                text = _summary(v, r.describe.get(g), r.key.removesuffix("_baseline"), style, mean_sd)
                cells.append(text + (f" [n = {v.n}]" if v.n != n else ""))
        label = f"{r.label}, n (%)" if r.kind in ("categorical", "distribution") else r.label
        p = fmt_p(r.test.p, style=style) if r.test is not None else ""
        rows.append(Row((label, *cells, _test_stat(r, style), p, _test_name(r)),
                        indent=1 if r.kind == "level" else 0))
    st = results.plan.statistics
    if k == 2:
        continuous = (f"Mann-Whitney U (U = min(U1, U2)), "
                      f"{mann_whitney_words(st.mann_whitney_method, st.mann_whitney_continuity)}")
        fisher, pairwise = "Fisher's exact test", ""
    else:
        continuous = f"Kruskal-Wallis H test (tie-corrected; χ² with {k - 1} df)"
        fisher = "Fisher's exact (Fisher-Freeman-Halton) test"
        pairwise = (f" Pairwise comparisons with Holm-adjusted p values: Supplementary Table {PAIRWISE_TABLE}.")
    notes = (
        f"Continuous variables: {_summary_words(results)}, {continuous}. Categorical variables: Pearson "
        f"χ² without continuity correction, or {fisher} when an expected count is below 5; the test is "
        "named per row. mMRC grades: one test of the grade-by-group table (grades observed in "
        f"{'either' if k == 2 else 'any'} group).{pairwise}",
        *_subgroup_missing_note(results),
        *_quartile_note(results),
        ABBREVIATIONS,
    )
    return TableSpec(
        key="table4_subgroup_baseline", number=4,
        title=f"Baseline characteristics by {results.plan.subgroup.name}: {' vs '.join(lab[g] for g in groups)}",
        columns=(Column("variable", "Variable"),
                 *(Column(f"g{i}", f"{lab[g]} (n = {sizes[g]})", "right") for i, g in enumerate(groups, start=1)),
                 Column("statistic", "U or χ²" if k == 2 else "H or χ²", "right"),
                 Column("p", "p", "right"), Column("test", "Test")),
        rows=tuple(rows), footnotes=notes,
    )


def table5(results: StudyResults, style: JournalStyle) -> TableSpec:
    groups, lab, sizes = _subgroups(results)
    k = len(groups)
    rows = []
    fewer = False
    mean_sd = _mean_sd(results)
    fu = "follow-up" if results.plan.analysis_landmark is None else follow_up_name(results)
    for r in results.subgroup_response:
        cells: list[str] = [_unit(r.label, r.unit)]
        for g in groups:
            p = r.within.get(g)
            base = _summary(None if p is None else p.baseline, None if p is None else p.baseline_describe, r.code,
                            style, mean_sd)
            if p is not None and p.n_pairs != sizes[g]:
                base += f" [n = {p.n_pairs}]"
                fewer = True
            cells += [base, _summary(None if p is None else p.follow_up, None if p is None else p.follow_up_describe,
                                     r.code, style, mean_sd), _wilcoxon_p(p, style)]
        cells.append(style.missing if r.between is None else fmt_p(r.between.p, style=style))
        rows.append(Row(tuple(cells)))
    cols = [Column("variable", "Variable")]
    for i, g in enumerate(groups, start=1):
        cols += [Column(f"b{i}", f"{lab[g]} baseline", "right"), Column(f"f{i}", f"{lab[g]} {fu}", "right"),
                 Column(f"p{i}", f"P{i}", "right")]
    cols.append(Column(f"p{k + 1}", f"P{k + 1}", "right"))
    st = results.plan.statistics
    within_ps = ", ".join(f"P{i} ({lab[g]})" for i, g in enumerate(groups, start=1))
    within_ps = " and ".join(within_ps.rsplit(", ", 1)) if k == 2 else within_ps
    if k == 2:
        between = (f"Mann-Whitney U test comparing the changes ({fu} minus baseline) between the groups "
                   f"({mann_whitney_words(st.mann_whitney_method, st.mann_whitney_continuity)}).")
    else:
        between = (f"Kruskal-Wallis H test comparing the changes ({fu} minus baseline) among the groups "
                   f"(tie-corrected; χ² with {k - 1} df); pairwise Mann-Whitney U tests with Holm-adjusted p values in "
                   f"Supplementary Table {PAIRWISE_TABLE}.")
    notes = [
        "; ".join(f"{lab[g]} group n = {sizes[g]}" for g in groups) + f". Values are {_summary_words(results)} of "
        f"the patients with both a baseline and a {fu} value"
        + ("; [n = ...] marks rows with fewer patients." if fewer else "."),
        f"{within_ps}: Wilcoxon signed-rank test within the group, as in Table 2. P{k + 1}: {between}",
        *_subgroup_missing_note(results),
        *_quartile_note(results),
        ABBREVIATIONS,
    ]
    within = [(f"{r.label} ({lab[g]})", r.within[g].wilcoxon) for r in results.subgroup_response for g in groups
              if r.within.get(g) is not None]
    few = few_nonzero_note(within, style)
    if few:
        notes.append(few)
    return TableSpec(
        key="table5_subgroup_response", number=5,
        title=f"Response to {results.plan.drug_label} within and between {results.plan.subgroup.groups_phrase} "
              f"({' vs '.join(lab[g] for g in groups)})",
        columns=tuple(cols), rows=tuple(rows), footnotes=tuple(notes),
    )


def table_pairwise(results: StudyResults, style: JournalStyle) -> TableSpec | None:
    """Supplementary table of the Holm-adjusted pairwise follow-ups of Tables 4 and 5 (3+ subgroups only)."""
    _, lab, _ = _subgroups(results)
    sources = [("Table 4", r.label, r.pairwise) for r in results.subgroup_baseline]
    sources += [("Table 5", f"{_unit(r.label, r.unit)}, change", r.pairwise) for r in results.subgroup_response]
    rows = []
    for table, label, pairwise in sources:
        if pairwise is None:
            continue
        for c in pairwise.comparisons:
            test = {"pearson": "Pearson χ²", "fisher": "Fisher's exact", "": ""}.get(c.test, c.test)
            rows.append(Row((table, label, f"{lab.get(c.group1, c.group1)} vs {lab.get(c.group2, c.group2)}", test,
                             fmt_p(c.p, style=style), fmt_p(c.p_adjusted, style=style))))
    if not rows:
        return None
    return TableSpec(
        key=f"table{PAIRWISE_TABLE}_pairwise",
        title=f"Supplementary Table {PAIRWISE_TABLE}. Pairwise comparisons between the "
              f"{results.plan.subgroup.groups_phrase} (Tables 4 and 5)",
        columns=(Column("table", "Table"), Column("variable", "Variable"), Column("comparison", "Comparison"),
                 Column("test", "Test"), Column("p", "p", "right"), Column("p_holm", "p (Holm)", "right")),
        rows=tuple(rows),
        footnotes=(
            "Each variable's pairs are compared on their own (Mann-Whitney U for continuous values and changes; "
            "Pearson χ² without continuity correction, or Fisher's exact test when an expected count of the pair's "
            "table is below 5), and the p values are Holm-adjusted over that variable's pairs. Raw p is shown beside "
            "the adjusted p; NA: the pair could not be compared (a group without values).",
        ),
    )


def _slashed(counts: Any, keys: tuple[str, ...], unknown: str, style: JournalStyle) -> str:
    """'3/1/0' for counts under ``keys``, then ' (k <unknown>)' when some are unknown; missing -> style.missing."""
    if not isinstance(counts, dict) or not counts:
        return style.missing
    text = "/".join(fmt_int(int(counts.get(k, 0)), style=style) for k in keys)
    extra = int(counts.get("unknown", 0))
    return text + (f" ({fmt_int(extra, style=style)} {unknown})" if extra else "")


def table_adverse_events(results: StudyResults, style: JournalStyle) -> TableSpec:
    n = results.n_analysed
    rows = []
    for r in results.adverse_events:
        extra = r.extra
        rows.append(Row((
            r.label, _count(r.patients, n, style), fmt_int(r.episodes, style=style),
            *(fmt_int(extra[k], style=style) if k in extra else style.missing
              for k in ("serious", "led_to_discontinuation", "led_to_dose_change")),
            _slashed(extra.get("max_grade"), ("1", "2", "3", "4", "5"), "ungraded", style),
            _slashed(extra.get("outcome"), ("resolved", "ongoing", "fatal"), "unknown", style),
        )))
    drug = results.plan.drug_label
    return TableSpec(
        key="table6_adverse_events", number=6, title=f"Adverse events during {drug} treatment (n = {n})",
        columns=(Column("event", "Event"), Column("patients", "Patients, n (%)", "right"),
                 Column("episodes", "Episodes", "right"), Column("serious", "Serious", "right"),
                 Column("discontinuation", "Discontinued", "right"),
                 Column("dose_change", "Dose changed", "right"),
                 Column("max_grade", "Patients by maximum grade 1/2/3/4/5", "right"),
                 Column("outcome", "Episodes resolved/ongoing/fatal", "right")),
        rows=tuple(rows),
        footnotes=("A patient counts once per event type; percentages of the analysed cohort. Serious, "
                   f"Discontinued ({drug} stopped) and Dose changed ({drug} dose changed): patients with at "
                   "least one such episode. " + _lab_events_note(results, style),
                   "Maximum grade: each patient once, at the highest CTCAE grade of their episodes of that type "
                   "(ungraded: no episode has a grade). Outcome: per episode as recorded (unknown: not recorded, "
                   "as for lab-defined episodes)."),
    )


#: Follow-up rule code (recorded by the cohort per outcome) -> what was taken, in words (templates: {labels} the
#: outcomes, {drug} the study drug's label).
FOLLOW_UP_RULE_WORDS = {
    "latest_usable_scan": "the latest usable HRCT scan (complete consensus, no open adjudication flag) after "
    "{drug} start up to the end of treatment for {labels}",
    "latest_complete_visit": "the latest visit after {drug} start up to the end of treatment at which {labels} "
    "were all recorded",
    "latest_per_measure": "the latest value of each of {labels} after {drug} start up to the end of treatment",
}
#: Not-IPAF breakdown key -> (label, reason) for Supplementary Table S2 and the flow diagram.
NOT_IPAF_WORDS = {
    "entry_not_met": ("Entry requirement not met", "No interstitial pneumonia, an alternative cause not excluded, "
                      "or a defined connective tissue disease"),
    "fewer_domains": ("Fewer than two domains", "Features in fewer than two of the clinical, serologic and "
                      "morphologic domains"),
    "indeterminate": ("Indeterminate", "The classification depends on unknown data"),
}


def _cause_words(cause: str, scans: bool, primary: str, drug: str) -> str:
    """A recorded miss cause in words; ``scans``: the outcome comes from HRCT scans; ``drug``: the study drug."""
    many = "scans" if scans else "values"
    return {
        "no_values": "no scan at all" if scans else f"no {primary} value at all",
        "only_before_window": f"the nearest earlier {many[:-1]} was older than the window",
        "none_before_start": f"no {many[:-1]} before the {drug} start",
        "only_before_start": f"all {many} on or before the {drug} start",
        "only_after_end": f"the later {many} were after the end of treatment",
        "no_complete_visit": "the measured outcomes were recorded on different dates",
        "scan_not_usable": "the scan in the window was incomplete or had open adjudication flags",
        "outside_window": f"no {many[:-1]} within the landmark window",
        "no_landmark_value": "the causes differed between landmarks",
    }.get(cause, "cause not recorded")


def _miss_reason(results: StudyResults, step: Any, timepoint: str, primary: str) -> str:
    """Reason of the no-baseline / no-follow-up step: the rule applied to the primary outcome (as the cohort
    recorded it), then each recorded cause with its count of patients."""
    s = results.settings
    fu_rule = results.timepoint_rules.get(results.plan.primary_outcome, {}).get("follow_up", "")
    scans = fu_rule == "latest_usable_scan" or (
        bool(results.plan.landmarks) and results.plan.primary_outcome in HRCT_OUTCOMES)
    one = "usable HRCT scan" if scans else f"{primary} value"
    drug = results.plan.drug_label
    fu = results.plan.timepoints.follow_up
    if timepoint == "baseline":
        text = f"No {one} in the {s.baseline_window_days} days before {drug} start"
    elif results.plan.landmarks:
        text = (f"No {one} within ±{fu.window_days} days of any landmark ({landmark_list(fu.months)} months after "
                f"{drug} start) up to the end of treatment")
    elif fu_rule == "latest_complete_visit":
        text = f"No visit after {drug} start up to the end of treatment at which every measured outcome was recorded"
    else:
        text = f"No {one} after {drug} start up to the end of treatment"
    causes = [(b.key, b.n) for b in getattr(step, "breakdown", ()) if b.n]
    if causes:
        text += ": " + "; ".join(f"{_cause_words(k, scans, primary, drug)} ({n})" for k, n in causes)
    return text


def _lab_events_note(results: StudyResults, style: JournalStyle) -> str:
    """Which lab-defined events Table 6 includes: the plan's adverse_events.lab_rules, in plan order."""
    ae, s = results.plan.adverse_events, results.settings
    parts = {
        "hypomagnesaemia": f"hypomagnesaemia, serum magnesium < {fmt_number(s.hypomagnesemia_mmol_l, 2, style=style)} "
                           "mmol/L",
        "aki": "renal insufficiency, the KDIGO creatinine criterion for acute kidney injury"
               if s.renal_rule == "kdigo" else None,
        "neutropenia": f"neutrophil count decreased, neutrophils < {fmt_number(ae.neutrophils_lln, 1, style=style)} "
                       "× 10⁹/L (CTCAE v5.0 grade of the nadir)",
        "alt_increase": f"ALT increased, ALT > {fmt_number(ae.alt_uln, 0, style=style)} U/L (CTCAE v5.0 grade of the "
                        "peak)",
    }
    shown = [parts[r] for r in ae.lab_rules if parts.get(r)]
    return "Lab-defined events are included: " + "; ".join(shown) + "." if shown else "No lab-defined events."


def _flow_words(results: StudyResults) -> dict[str, tuple[str, str]]:
    """(step, reason) in clinical words for the known flow steps; the option names stay in the settings appendix."""
    s = results.settings
    primary = results.plan.outcome(results.plan.primary_outcome).label
    primary = primary if primary[:2].isupper() else primary[:1].lower() + primary[1:]
    age = f"{s.min_age:g}"
    steps = {step.key: step for step in results.flow}
    drug, drug_title = results.plan.drug_label, results.plan.drug_title
    blank = "unknown" if s.missing_feature_means == "unknown" else "absent"
    return {
        "screened": ("Screened", "All patients in the records"),
        "not_ipaf": ("Not IPAF", "ERS/ATS 2015 IPAF criteria not met, or not assessable (a blank clinical feature "
                     f"counted as {blank})"),
        "no_tacrolimus": (f"No {drug}", f"No {drug} course recorded up to the data cut-off"),
        "under_age": (f"Age < {age} years", f"Younger than {age} years at {drug} start, or age unknown"),
        "short_exposure": (f"{drug_title} < {s.min_exposure_days} days",
                           f"{drug_title} for fewer than {s.min_exposure_days} days (first and last day counted)"),
        "no_baseline": (f"No baseline {primary}", _miss_reason(results, steps.get("no_baseline"), "baseline", primary)),
        "no_follow_up": (f"No follow-up {primary}",
                         _miss_reason(results, steps.get("no_follow_up"), "follow_up", primary)),
        "analysed": ("Analysed", f"Eligible, with a baseline and a follow-up {primary}" if not results.plan.landmarks
                     else f"Eligible, with a baseline {primary} and one at a landmark or more"),
    }


def table_flow(results: StudyResults, style: JournalStyle) -> TableSpec:
    words = _flow_words(results)
    rows = []
    for s in results.flow:
        label, reason = words.get(getattr(s, "key", ""), (str(getattr(s, "label", s)),
                                                          str(getattr(s, "reason", "") or "")))
        rows.append(Row((label, fmt_int(s.n_before, style=style), fmt_int(s.n_removed, style=style),
                         fmt_int(s.n_after, style=style), reason)))
        if getattr(s, "key", "") == "not_ipaf":
            for b in getattr(s, "breakdown", ()):
                sub, why = NOT_IPAF_WORDS.get(b.key, (b.label, ""))
                if b.key == "indeterminate":
                    why += (", a blank clinical feature counted as unknown or an entry requirement unknown"
                            if results.settings.missing_feature_means == "unknown" else
                            ", an entry requirement unknown")
                rows.append(Row((sub, "", fmt_int(b.n, style=style), "", why), indent=1))
    if not rows:
        rows = [Row(("No screening flow recorded", "", "", "", ""))]
    return TableSpec(
        key="tableS2_flow", title="Supplementary Table S2. Screening flow (STROBE)",
        columns=(Column("step", "Step"), Column("before", "Before", "right"), Column("removed", "Excluded", "right"),
                 Column("after", "After", "right"), Column("reason", "Reason")),
        rows=tuple(rows),
    )


def table_missing(results: StudyResults, style: JournalStyle) -> TableSpec:
    rows = []
    for m in results.missing:
        reasons = "; ".join(f"{k} ({v})" for k, v in m.reasons.items())
        rows.append(Row((m.label, timepoint_words(m.timepoint), fmt_int(m.n_analysed, style=style),
                         fmt_int(m.n_available, style=style), fmt_int(m.n_missing, style=style), reasons)))
    return TableSpec(
        key="tableS3_missing", title="Supplementary Table S3. Missing data by outcome and time point",
        columns=(Column("outcome", "Outcome"), Column("timepoint", "Time point"),
                 Column("analysed", "Analysed", "right"), Column("available", "Available", "right"),
                 Column("missing", "Missing", "right"), Column("reasons", "Reasons (patients)")),
        rows=tuple(rows),
        footnotes=("Patients without a value at a time point are left out of that outcome's paired comparison; "
                   "the ipafstudy explain command lists them by patient.",),
    )


def table_correlation(results: StudyResults, style: JournalStyle) -> TableSpec:
    corr = results.correlation
    labels = results.correlation_labels
    adjusted = getattr(corr, "p_adjusted", None) if corr is not None else None
    rows = []
    if corr is not None:
        for i, a in enumerate(labels):
            for b in labels[i + 1:]:
                cells = [f"Δ {a}", f"Δ {b}", fmt_int(corr.n.loc[a, b], style=style),
                         fmt_number(corr.rho.loc[a, b], style.corr_decimals + 1, style=style),
                         fmt_p(corr.p.loc[a, b], style=style)]
                if adjusted is not None:
                    cells.append(fmt_p(adjusted.loc[a, b], style=style))
                rows.append(Row(tuple(cells)))
    cols = [Column("a", "Variable 1"), Column("b", "Variable 2"), Column("n", "n", "right"),
            Column("rho", "Spearman ρ", "right"), Column("p", "p", "right")]
    method = results.plan.correlation.adjust
    if adjusted is not None:
        cols.append(Column("p_adj", f"p ({'Holm' if method == 'holm' else 'Benjamini-Hochberg'})", "right"))
    return TableSpec(
        key="tableS4_correlation", title="Supplementary Table S4. Spearman correlations among the changes (Figure 3)",
        columns=tuple(cols), rows=tuple(rows),
        footnotes=("Pairwise complete cases; two-sided p from the t approximation with n \u2212 2 df (as SPSS). "
                   "Adjusted p values are shown alongside the raw p, which the figure's stars use.",),
    )


_AGREEMENT_STAT = {"ICC(2,1)": "ICC(2,1)", "kappa_linear": "Weighted κ (linear)",
                   "kappa_quadratic": "Weighted κ (quadratic)"}
_PATTERN_LABEL = {"ggo": "GGO", "fibrosis": "Fibrosis", "honeycombing": "HCs", "consolidation": "Consolidation",
                  "total": "Total HRCT score"}


def table_agreement(results: StudyResults, style: JournalStyle) -> TableSpec | None:
    frame = results.agreement
    if frame is None or frame.empty:
        return None
    rows = []
    for rec in frame.to_dict("records"):
        value = fmt_number(rec["value"], 3, style=style)
        if not is_missing(rec.get("ci_low")) and not is_missing(rec.get("ci_high")):
            low, high = float(rec["ci_low"]), float(rec["ci_high"])
            if 0 < low - high < 1e-9:  # floating-point noise at ICC = 1 (bounds equal to 15 digits)
                low = high
            value += f" ({fmt_ci(low, high, 3, style=style)})"
        rows.append(Row((
            _PATTERN_LABEL.get(str(rec["measure"]), str(rec["measure"])),
            _AGREEMENT_STAT.get(str(rec["statistic"]), str(rec["statistic"])), value,
            fmt_int(rec["n"], style=style), str(rec.get("band") or ""),
        )))
    return TableSpec(
        key="tableS5_agreement", title="Supplementary Table S5. HRCT inter-reader agreement (reader 1 vs reader 2)",
        columns=(Column("measure", "Score"), Column("statistic", "Statistic"),
                 Column("value", "Value (95% CI)", "right"), Column("n", "n", "right"), Column("band", "Agreement")),
        rows=tuple(rows),
        footnotes=("Scans of the analysed patients. ICC(2,1): two-way random effects, absolute agreement, single "
                   "rater, on pattern scores (0–24) and the total (0–96); n = scans. Weighted Cohen's κ on zone "
                   "grades 0–4; n = zones. Bands: Koo & Li 2016 (ICC), Landis & Koch 1977 (κ).",),
    )


BUILDERS: tuple[Callable[[StudyResults, JournalStyle], TableSpec | None], ...] = (
    table1, table2, table3, table4, table5, table_adverse_events, table_normality, table_flow, table_missing,
    table_correlation, table_agreement, table_pairwise,
)


def build_tables(results: StudyResults, style: str | JournalStyle | None = None) -> tuple[TableSpec, ...]:
    """Every table of the report, in print order (main tables, then supplementary)."""
    st = get_style(style if style is not None else results.plan.journal_style).with_variable_decimals(
        results.plan.print_decimals)
    return tuple(t for t in (b(results, st) for b in BUILDERS) if t is not None)
