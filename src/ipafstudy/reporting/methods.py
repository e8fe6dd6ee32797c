"""Methods paragraph and results sentences, written from the plan, the settings and the results.

Every number in these sentences is read from ``StudyResults`` (or the plan/settings that
produced it) and formatted with the journal style; nothing is typed in by hand, so the text
can never disagree with the tables.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from ipafstudy.analysis.results import Continuous, Count, PairedOutcome, StudyResults
from ipafstudy.reporting.format import JournalStyle, fmt_n_pct, fmt_number, fmt_p_relation, get_style
from ipafstudy.reporting.tables import (
    DECIMALS,
    FOLLOW_UP_RULE_WORDS,
    PAIRWISE_TABLE,
    Q_LABEL,
    REGRESSION_DIAGNOSTICS_FIGURE,
    follow_up_name,
    landmark_list,
    landmark_rule_words,
    mann_whitney_words,
    regression_cautions,
    wilcoxon_method_words,
)
from ipafstudy.settings import setting_doc
from ipafstudy.values import is_missing

_BLANK_FEATURE = {
    "unknown": "a clinical feature left blank in the records was treated as unknown, not as absent,",
    "absent": "a clinical feature left blank in the records was treated as absent,",
}
#: Figure number of the Spearman heatmap (the flow diagram is Figure 1, the box plots Figure 2).
CORRELATION_FIGURE = 3
#: Name of each multiplicity adjustment in running text.
ADJUST_NAME = {"holm": "Holm", "bh": "Benjamini-Hochberg"}
_CONSENSUS = {
    "mean_then_adjudicator": "the mean of the two readers' zone grades, or the third reader's grade where the "
    "pair was flagged",
    "adjudicator_else_reader1": "the third reader's grade where available, otherwise the first reader's",
    "mean": "the mean of the two readers' zone grades",
}


def _lc(label: str) -> str:
    """Lower-case a label inside a sentence, keeping acronyms ("Total HRCT score" -> "total HRCT score", "GGO")."""
    if not label or label[:2].isupper() or (len(label) > 1 and label[1].isupper()):
        return label
    return label[0].lower() + label[1:]


def _and(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _var(label: str) -> str:
    """'Δ Total HRCT score' -> 'the change in total HRCT score'; other labels lower-cased."""
    if label.startswith("Δ "):
        return "the change in " + _lc(label[2:])
    return _lc(label)


def _ci_text(low: Any, high: Any, decimals: int, style: JournalStyle) -> str:
    return f"{fmt_number(low, decimals, style=style)} to {fmt_number(high, decimals, style=style)}"


def follow_up_words(results: StudyResults) -> str:
    """How the last follow-up was chosen, per outcome, from the rules the cohort recorded it applied."""
    groups: dict[tuple[str, str], list[str]] = {}
    catalogue = results.plan.variable_catalogue
    for code in results.plan.outcome_codes:
        rule = results.timepoint_rules.get(code, {}).get("follow_up")
        if rule is not None:  # a complete visit is per panel (lung function tests, clinic visit): one clause each
            panel = catalogue.visit_panel(code) if rule == "latest_complete_visit" else ""
            groups.setdefault((rule, panel), []).append(_lc(results.plan.outcome(code).label))
    if not groups:
        return f"the latest value after {results.plan.drug_label} start up to the end of treatment"
    drug = results.plan.drug_label
    return "; and ".join(FOLLOW_UP_RULE_WORDS.get(rule, rule + " for {labels}").format(labels=_and(labels), drug=drug)
                         for (rule, _), labels in groups.items())


def _follow_up_sentence(results: StudyResults) -> str:
    """'the last follow-up was ...', or the landmark rule (plan timepoints.follow_up.rule: landmarks)."""
    if not results.plan.landmarks:
        return f"the last follow-up was {follow_up_words(results)}"
    months = landmark_list(results.plan.landmarks)
    return (f"follow-up values were taken at {months} months: for each outcome, {landmark_rule_words(results)}; HRCT "
            "scores came from the usable consensus scans (complete, without open adjudication flags) in the same way")


def _landmark_analysis_words(results: StudyResults) -> str:
    """Methods: Holm across landmarks, and which landmark the single-follow-up analyses use."""
    plan = results.plan
    if not plan.landmarks:
        return ""
    return (f" Each outcome's p values were adjusted across its {len(plan.landmarks)} landmarks by Holm's method "
            "and are shown beside the raw p in Table 2. The box plots, the correlation matrix, the regression and the "
            f"subgroup comparisons use the values at month {plan.analysis_landmark} (the analysis landmark) and "
            "their changes from baseline.")


def _lab_rules_sentence(results: StudyResults, st_fmt: JournalStyle) -> str:
    """' Lab-defined ...' sentences for the plan's enabled lab rules (KDIGO AKI is named in Table 6's footnote)."""
    ae, s = results.plan.adverse_events, results.settings
    out = []
    if "hypomagnesaemia" in ae.lab_rules:
        out.append("Lab-defined hypomagnesaemia was serum magnesium below "
                   f"{fmt_number(s.hypomagnesemia_mmol_l, 2, style=st_fmt)} mmol/L.")
    if "neutropenia" in ae.lab_rules:
        out.append(f"Neutrophil count decreased was a count below {fmt_number(ae.neutrophils_lln, 1, style=st_fmt)} "
                   "× 10⁹/L, graded by CTCAE v5.0 at the nadir.")
    if "alt_increase" in ae.lab_rules:
        out.append(f"ALT increased was ALT above {fmt_number(ae.alt_uln, 0, style=st_fmt)} U/L, graded by CTCAE v5.0 "
                   "at the peak.")
    return "".join(f" {sentence}" for sentence in out)


def methods_paragraphs(results: StudyResults, style: str | JournalStyle | None = None) -> list[str]:
    """Design, definitions and statistical methods as run (settings, conventions, seed, versions)."""
    st_fmt = get_style(style if style is not None else results.plan.journal_style).with_variable_decimals(
        results.plan.print_decimals)
    plan, s, st = results.plan, results.settings, results.plan.statistics
    used = results.data_cutoff_date
    cutoff = (s.data_cutoff_date.isoformat() if s.data_cutoff_date else
              f"the latest date in the records ({used.isoformat()})" if used else "the latest date in the records")
    start_day = "including" if s.baseline_includes_start_day else "excluding"
    design = (
        "Patients were classified as interstitial pneumonia with autoimmune features (IPAF) by the ERS/ATS "
        f"research statement (Fischer et al. 2015); {_BLANK_FEATURE[s.missing_feature_means]}"
        f" and isolated anti-Ro52 {'did' if s.ro52_alone_counts_as_ssa else 'did not'} count as anti-Ro (SS-A). "
        f"Eligible patients were aged ≥{fmt_number(s.min_age, 0, style=st_fmt)} years at {plan.drug_label} start and "
        f"received {plan.drug_label} for ≥{s.min_exposure_days} days; ongoing treatment was censored at {cutoff}. "
        f"Baseline was the value closest to {plan.drug_label} start within the {s.baseline_window_days} days before it "
        f"({start_day} the start day); {_follow_up_sentence(results)}. HRCT scans were "
        "scored by two readers with the modified Warrick method (six zones, four patterns, grades 0–4; Goldin et "
        f"al. 2008); a zone was sent to a third reader when the grades differed by more than "
        f"{s.adjudication_grade_gap} or the percentages by {fmt_number(s.adjudication_percent_gap, 0, style=st_fmt)}"
        f" points or more, and the final grade was {_CONSENSUS[s.consensus_rule]}. Patients with both a "
        "myositis-specific (MSA) and a myositis-associated antibody (MAA) were "
        f"{'assigned to the MSA group' if s.antibody_group_precedence == 'msa' else 'excluded from both groups'}."
        + _lab_rules_sentence(results, st_fmt)
    )
    adjust = ("without multiplicity adjustment" if plan.correlation.adjust == "none" else
              f"with {ADJUST_NAME[plan.correlation.adjust]}-adjusted p values, which the results text cites "
              "(the heatmap's stars use the raw p)")
    r_n = {"pairs": "the number of pairs", "nonzero": "the number of non-zero differences",
           "observations": "twice the number of pairs"}[st.effect_size_n]
    predictors = _and([_var(results.regression_labels.get(p, p)) for p in plan.regression.predictors])
    reg_outcome = _var(results.regression_labels.get(plan.regression.outcome, plan.regression.outcome))
    conf = fmt_number(100 * st.confidence, 0, style=st_fmt)
    mw_p = mann_whitney_words(st.mann_whitney_method, st.mann_whitney_continuity)
    ties = (
        "In rank-based tests, values were ranked exactly as stored."
        if st.tie_decimals is None
        else f"In rank-based tests, values equal to {st.tie_decimals} decimal places were treated as ties."
    )
    quartiles = f"first and third quartiles by the {Q_LABEL[st.quantile_method]} definition"
    summary = (f"mean (SD) and categorical variables as n (%); box plots show quartiles ({quartiles})"
               if st.continuous_summary == "mean_sd" else f"median ({quartiles}) and categorical variables as n (%)")
    stats_text = (
        f"Continuous variables are summarised as {summary}. Normality was assessed with the Shapiro-Wilk test on "
        "baseline, follow-up and paired differences. "
        f"Baseline and {'last follow-up values' if not plan.landmarks else 'landmark values at each landmark'} were "
        "compared within patients with the Wilcoxon signed-rank test "
        f"(two-sided; zero differences {'dropped' if st.zero_method == 'wilcox' else 'ranked then dropped (Pratt)'}; "
        f"{wilcoxon_method_words(st.wilcoxon_method)}"
        f"; {'with' if st.continuity else 'no'} continuity correction), with effect size r = |z|/√N, N being "
        f"{r_n}. The median change is given with a {conf}% {st.bootstrap_ci_method} bootstrap confidence interval "
        f"({st.bootstrap_resamples:,} resamples of patients, seed {st.seed}).{_landmark_analysis_words(results)} "
        f"Groups were compared with the {_group_tests(results, mw_p)} and "
        "categorical variables with Pearson's χ² test without continuity correction, or Fisher's exact test when "
        f"an expected count was below 5{_pairwise_words(results)}. Changes were correlated with Spearman's ρ "
        "(pairwise complete cases) "
        f"{adjust}. {ties} {reg_outcome[:1].upper() + reg_outcome[1:]} was regressed on {predictors} by ordinary least "
        "squares (listwise deletion"
        f"{'; HC3 heteroscedasticity-consistent standard errors' if plan.regression.robust_se == 'hc3' else ''}), "
        "with standardised coefficients, variance inflation factors and residual checks (Shapiro-Wilk; Koenker's "
        "studentised Breusch-Pagan test; residual and normal Q-Q plots in Supplementary Figure "
        f"{REGRESSION_DIAGNOSTICS_FIGURE}). A two-sided "
        f"p < {fmt_number(st.alpha, 2, style=st_fmt)} was considered significant."
    )
    versions = ", ".join(f"{k} {v}" for k, v in sorted(results.versions.items()) if k != "ipafstudy")
    software = (
        f"Analyses were run with ipafstudy {results.versions.get('ipafstudy', 'unknown')} (Python; {versions}) "
        "from the analysis plan recorded in run-record.json, which reproduces every number of this report."
    )
    return [design, stats_text, software]


def _prints_as_zero(value: Any, decimals: int) -> bool:
    return not is_missing(value) and abs(float(value)) < 0.5 * 10 ** -decimals


def _change_phrase(p: PairedOutcome, style: JournalStyle) -> str:
    """Median change with its CI; a median that prints as 0 says nothing, so the direction counts are given."""
    mc = p.median_change
    dec = style.decimals_for(p.code, DECIMALS)
    w = p.wilcoxon
    if mc is not None and w is not None and _prints_as_zero(mc.estimate, dec):
        text = (f"median change {fmt_number(0, dec, style=style)}; decreased in {w.n_decreased}, increased in "
                f"{w.n_increased}, unchanged in {w.n_unchanged}")
    else:
        text = f"median change {fmt_number(mc.estimate if mc is not None else None, dec, style=style)}"
        if mc is not None and not is_missing(mc.ci_low) and not is_missing(mc.ci_high):
            conf = fmt_number(100 * mc.confidence, 0, style=style)
            text += f", {conf}% CI {_ci_text(mc.ci_low, mc.ci_high, dec, style)}"
    if p.wilcoxon is not None:
        text += f"; {fmt_p_relation(p.wilcoxon.p, style=style)}, r = {fmt_number(p.wilcoxon.r, 2, style=style)}"
    return text


def summary_sentences(results: StudyResults, style: str | JournalStyle | None = None) -> list[str]:
    """The results section in sentences; every figure comes from ``results``."""
    st = get_style(style if style is not None else results.plan.journal_style).with_variable_decimals(
        results.plan.print_decimals)
    alpha = results.plan.statistics.alpha
    n = results.n_analysed
    out: list[str] = []
    if results.flow:
        first = results.flow[0]
        out.append(f"Of {first.n_before} screened patients, {n} met the eligibility criteria and were analysed "
                   "(Figure 1; Supplementary Table S2).")
    else:
        out.append(f"{n} patients were analysed.")
    rows = {r.key: r for r in results.baseline.rows}
    parts = []
    age = rows.get("age_at_start")
    if age is not None and isinstance(age.value, Continuous):
        if age.value.shown == "mean_sd" and age.value.describe is not None:
            d = age.value.describe
            parts.append(f"the mean age at {results.plan.drug_label} start was {fmt_number(d.mean, style=st)} "
                         f"years (SD {fmt_number(d.sd, style=st)})")
        elif age.value.quantiles is not None:
            q = age.value.quantiles
            parts.append(f"the median age at {results.plan.drug_label} start was {fmt_number(q.median, style=st)} "
                         f"years (Q1–Q3 {fmt_number(q.q1, style=st)}–{fmt_number(q.q3, style=st)})")
    female = rows.get("sex=female")
    if female is not None and isinstance(female.value, Count):
        parts.append(f"{fmt_n_pct(female.value.n, female.value.denominator, style=st)} were women")
    smoke = rows.get("ever_smoker")
    if smoke is not None and isinstance(smoke.value, Count):
        parts.append(f"{fmt_n_pct(smoke.value.n, smoke.value.denominator, style=st)} had a smoking history")
    if parts:
        text = _and(parts)
        out.append(text[:1].upper() + text[1:] + " (Table 1).")
    primary = next((p for p in results.paired if p.code == results.plan.primary_outcome), None)
    at = f" at {follow_up_name(results)}" if results.plan.landmarks else ""  # the analysis landmark
    if primary is not None:
        verdict = primary.verdict(alpha)  # improved / worsened by the outcome's `better`, when significant
        out.append(f"{primary.label} (primary outcome{at}, n = {primary.n_pairs}){' ' + verdict if verdict else ''}: "
                   f"{_change_phrase(primary, st)} (Table 2).")
    sig = [p for p in results.paired if p is not primary and p.wilcoxon is not None and p.wilcoxon.p < alpha]
    nonsig = [p for p in results.paired if p is not primary and p.wilcoxon is not None and p.wilcoxon.p >= alpha]
    for verdict, lead in (("improved", "Significant improvements{at} (p < {a}) were"),
                          ("worsened", "Significant worsening{at} (p < {a}) was"),
                          (None, "Significant changes{at} (p < {a}) were")):
        group = [p for p in sig if p.verdict(alpha) == verdict]
        if group:
            out.append(lead.format(a=fmt_number(alpha, 2, style=st), at=at) + " seen in " + "; ".join(
                f"{_lc(p.label)} ({_change_phrase(p, st)})" for p in group) + ".")
    if nonsig:
        out.append(f"No significant change{at} was seen in " + "; ".join(
            f"{_lc(p.label)} ({_change_phrase(p, st)})" for p in nonsig) + ".")
    for p in results.paired:
        w = p.wilcoxon
        if w is not None and p.code == "hrct_honeycombing" and w.n_increased:
            out.append(f"The {_lc(p.label)} score increased in "
                       f"{fmt_n_pct(w.n_increased, p.n_pairs, show_denom=True, style=st)} patients.")
    out.extend(_correlation_sentence(results, st))
    out.extend(_regression_sentence(results, st))
    out.extend(_subgroup_sentences(results, st))
    ae = sorted((r for r in results.adverse_events if r.patients.n), key=lambda r: (-r.patients.n, r.event))
    if ae:
        out.append("The most frequent adverse events were " + _and([
            f"{r.label.lower()} in {fmt_n_pct(r.patients.n, r.patients.denominator, show_denom=True, style=st)}"
            for r in ae[:3]
        ]) + " patients (Table 6).")
    return out


def _correlation_sentence(results: StudyResults, st: JournalStyle) -> list[str]:
    corr = results.correlation
    if corr is None:
        return []
    labels = results.correlation_labels
    primary_label = results.plan.outcome(results.plan.primary_outcome).label
    if primary_label not in labels:
        return []
    alpha = results.plan.statistics.alpha
    adjusted = getattr(corr, "p_adjusted", None)
    method = results.plan.correlation.adjust
    # With an adjustment set, significance and the cited p are the adjusted ones (the raw p is in Table S4).
    p_frame = adjusted if adjusted is not None and method != "none" else corr.p
    p_words = "p" if p_frame is corr.p else f"{ADJUST_NAME[method]}-adjusted p"
    where = f"Figure {CORRELATION_FIGURE}"
    hits = [
        (b, float(corr.rho.loc[primary_label, b]), float(p_frame.loc[primary_label, b]))
        for b in labels if b != primary_label and not is_missing(float(p_frame.loc[primary_label, b]))
        and float(p_frame.loc[primary_label, b]) < alpha
    ]
    after = "" if p_frame is corr.p else f" after {ADJUST_NAME[method]} adjustment"
    if not hits:
        return [f"The change in {_lc(primary_label)} was not significantly correlated with the change in any other "
                f"outcome{after} ({where})."]
    hits.sort(key=lambda h: h[2])
    return [f"The change in {_lc(primary_label)} correlated with the changes in " + _and([
        f"{_lc(b)} (ρ = {fmt_number(r, st.corr_decimals + 1, style=st)}, "
        f"{p_words}{fmt_p_relation(p, style=st)[1:]})"
        for b, r, p in hits
    ]) + f" ({where})."]


def _regression_sentence(results: StudyResults, st: JournalStyle) -> list[str]:
    reg = results.regression
    if reg is None:
        return []
    alpha = results.plan.statistics.alpha
    terms = reg.terms
    sig = [name for name in terms.index if name != "Intercept" and float(terms.loc[name, "p"]) < alpha]
    fit = f"adjusted R² = {fmt_number(reg.adj_r2, 3, style=st)}, n = {reg.n}"
    if not sig:
        return [f"No baseline predictor was significantly associated with the outcome of the regression model ({fit}; "
                "Table 3).", *regression_cautions(results, st)]
    parts = []
    for name in sig:
        t = terms.loc[name]
        parts.append(
            f"{_var(results.regression_labels.get(name, name))} (B = {fmt_number(t['b'], 3, style=st)}, 95% CI "
            f"{_ci_text(t['ci_low'], t['ci_high'], 3, st)}, β = {fmt_number(t['beta'], 3, style=st)}, "
            f"{fmt_p_relation(float(t['p']), style=st)})"
        )
    outcome = results.regression_labels.get(results.plan.regression.outcome, results.plan.regression.outcome)
    verb = "was" if len(parts) == 1 else "were"
    return [f"In the multiple regression of {_var(outcome)}, " + _and(parts)
            + f" {verb} independently associated with it ({fit}; Table 3).", *regression_cautions(results, st)]


def _group_tests(results: StudyResults, mw_p: str) -> str:
    """'Mann-Whitney U test (...)' for two subgroups; Kruskal-Wallis for three or more (Mann-Whitney pairwise)."""
    if len(results.plan.subgroup.groups or ()) <= 2:
        return f"Mann-Whitney U test ({mw_p})"
    return (f"Kruskal-Wallis H test (tie-corrected, χ² with k − 1 df), followed by pairwise Mann-Whitney U "
            f"tests ({mw_p}),")


def _pairwise_words(results: StudyResults) -> str:
    if len(results.plan.subgroup.groups or ()) <= 2:
        return ""
    return ("; with three or more groups, pairs of groups were compared by the same tests and their p values "
            "Holm-adjusted within each variable")


def _subgroup_sentences(results: StudyResults, st: JournalStyle) -> list[str]:
    sub = results.plan.subgroup
    groups = tuple(sub.groups or ())
    sizes = [f"the {sub.label(g)} group {results.group_sizes.get(g, 0)}" for g in groups]
    sizes[0] = sizes[0].replace(" group ", " group had ", 1) + " patients"
    alpha = results.plan.statistics.alpha
    outside = results.n_analysed - sum(results.group_sizes.values()) - results.subgroup_missing
    rest = [f"{outside} patients belonged to neither" if len(groups) == 2 else
            f"{outside} patients belonged to none of these groups"]
    if results.subgroup_missing:
        rest.append(f"{results.subgroup_missing} had no recorded {sub.name}")
    joined = _and(sizes) if len(groups) > 2 else " and ".join(sizes)
    out = [f"{joined[:1].upper() + joined[1:]}; {'; '.join(rest)} (Table 4)."]
    for g in groups:
        sig = [r.label for r in results.subgroup_response
               if r.within.get(g) is not None and r.within[g].wilcoxon is not None and r.within[g].wilcoxon.p < alpha]
        out.append(f"Within the {sub.label(g)} group, significant changes were seen in "
                   f"{_and([_lc(x) for x in sig]) if sig else 'no outcome'} (Table 5).")
    between = [(r.label, r.between.p) for r in results.subgroup_response if r.between is not None and
               r.between.p < alpha]
    test = "Mann-Whitney U" if len(groups) == 2 else "Kruskal-Wallis H"
    if between:
        out.append("The changes differed between the groups for " + _and([
            f"{_lc(label)} ({fmt_p_relation(p, style=st)})" for label, p in between]) + " (Table 5"
            + ("" if len(groups) == 2 else f"; pairwise comparisons in Supplementary Table {PAIRWISE_TABLE}") + ").")
    else:
        out.append(f"No change differed significantly between the groups ({test} on the changes, Table 5).")
    return out


#: Named option values of the clinical settings in words (the plan value follows in brackets).
SETTING_VALUE_WORDS: dict[str, dict[str, str]] = {
    "missing_feature_means": {"unknown": "unknown (the classification can be indeterminate)", "absent": "absent"},
    "antibody_group_precedence": {"msa": "assigned to the MSA group", "exclude_overlap": "left out of both groups"},
    "consensus_rule": _CONSENSUS,
    "follow_up_rule": {"latest_complete_visit": "the latest visit at which every measurement outcome was recorded",
                       "latest_per_measure": "each measure's own latest value"},
    "renal_rule": {"kdigo": "KDIGO acute kidney injury creatinine rule", "none": "not derived"},
}


def setting_words(name: str, value: Any) -> str:
    """A clinical setting's value as a reader says it: yes/no, numbers without '.0', dates, named options."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "the latest date in the records" if name == "data_cutoff_date" else "not set"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        words = SETTING_VALUE_WORDS.get(name, {}).get(value)
        return f"{words} [{value}]" if words else value
    return str(value)


def settings_paragraphs(results: StudyResults) -> list[str]:
    """The settings appendix: each clinical option by its name, with its value in words and its meaning.

    The report text says what was done in clinical words; this appendix gives the option names a
    reader needs to rerun the analysis with other choices (the full plan is in run-record.json).
    """
    lines = []
    for f in dataclasses.fields(results.settings):
        value = getattr(results.settings, f.name)
        shown = setting_words(f.name, value)
        if f.name == "follow_up_rule" and results.plan.landmarks:
            shown += " (not used: follow-up at landmarks, plan timepoints.follow_up)"
        if value is None and f.name == "data_cutoff_date" and results.data_cutoff_date is not None:
            shown += f" (derived: {results.data_cutoff_date.isoformat()})"
        doc = setting_doc(f.name, results.plan.drug_label)
        lines.append(f"{f.name} = {shown}" + (f": {doc}" if doc else ""))
    intro = ("Clinical settings used for this report (option = value: meaning; a named choice is followed by the "
             "value to write in the plan, in brackets). Change them in the analysis plan's clinical section to rerun "
             "with other choices; the complete plan, seed and software versions are in run-record.json.")
    return [intro, "\n".join(lines)]
