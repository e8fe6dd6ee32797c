"""Report part for the comparator (issue 12 item 4): an observational target-trial emulation, labelled as such.

Two tables (covariate balance before/after weighting; weighted difference in change with bootstrap CIs), a love
plot, and methods, results and limitation sentences written from the result (nothing is computed here).
Renderer as in ``reporting.additional``: ``render_comparator(results, part, ctx) -> AdditionalBlock | None``.
"""

from __future__ import annotations

import math
from typing import Any

from ipafstudy.reporting import figures as figs
from ipafstudy.reporting.additional import AdditionalBlock, RenderContext
from ipafstudy.reporting.format import JournalStyle, fmt_ci, fmt_int, fmt_number
from ipafstudy.reporting.tablespec import Column, FigureSpec, Row, TableSpec

BALANCE_KEY = "additional_comparator_balance"
EFFECT_KEY = "additional_comparator_effect"
LOVE_KEY = "figureA_love_plot"
SMD_THRESHOLD = 0.1  # the usual mark of adequate balance (Austin 2009)
HEADING = "Untreated comparator: an observational target-trial emulation"
WEIGHTING_WORDS = {"overlap": "overlap weights (treated patients 1 - PS, comparators PS)",
                   "iptw": "inverse-probability-of-treatment weights (treated patients 1/PS, comparators 1/(1 - PS))"}


def _pct(confidence: float) -> str:
    return f"{confidence * 100:g}%"


def _smd(value: float, style: JournalStyle) -> str:
    return style.missing if value is None or math.isnan(value) else fmt_number(value, 2, style=style)


def _weighting(part: Any) -> str:
    words = WEIGHTING_WORDS.get(part.weighting, part.weighting)
    return f"stabilised {words}" if part.stabilized else words


def balance_table(part: Any, style: JournalStyle, number: int | None, drug: str, primary: str = "") -> TableSpec:
    """Covariate means per arm and SMD, before and after weighting."""
    cols = (Column("covariate", "Covariate"), Column("t", f"{drug.capitalize()}: mean", "right"),
            Column("c", "Comparator: mean", "right"), Column("smd_before", "SMD before", "right"),
            Column("tw", f"{drug.capitalize()}: weighted mean", "right"),
            Column("cw", "Comparator: weighted mean", "right"), Column("smd_after", "SMD after", "right"))
    rows = []
    for b in part.balance:
        dec = 2 if b.binary else 1
        rows.append(Row((b.label, fmt_number(b.mean_treated, dec, style=style),
                         fmt_number(b.mean_control, dec, style=style), _smd(b.smd_before, style),
                         fmt_number(b.mean_treated_weighted, dec, style=style),
                         fmt_number(b.mean_control_weighted, dec, style=style), _smd(b.smd_after, style))))
    notes = (
        f"Observational target-trial emulation: {part.n_treated} {drug}-treated patients (index date: {drug} start) "
        f"and {part.n_control} untreated IPAF comparators (index date: first {_lower(primary or part.primary_outcome)} "
        "value on or after the IPAF date). Means of 0/1 terms are proportions; a categorical covariate has one row "
        "per level.",
        "SMD: standardised mean difference (treated minus comparator) = difference in (weighted) means divided by the "
        "unweighted pooled SD, sqrt((s1² + s0²)/2), or sqrt((p1(1 - p1) + p0(1 - p0))/2) for 0/1 terms, so before and "
        f"after share one denominator; |SMD| < {SMD_THRESHOLD:g} is the usual mark of balance. Weights: "
        f"{_weighting(part)}, from a logistic propensity-score (PS) model on the covariates listed.",
    )
    return TableSpec(key=BALANCE_KEY, number=number, title="Covariate balance between the treated and the untreated "
                     "comparator arm, before and after propensity-score weighting", columns=cols, rows=tuple(rows),
                     footnotes=notes)


def effect_table(part: Any, style: JournalStyle, number: int | None, drug: str) -> TableSpec:
    """Weighted mean change per arm and their difference with the bootstrap CI, per outcome."""
    conf = _pct(part.confidence)
    cols = (Column("outcome", "Outcome"), Column("n", f"Patients: {drug} / comparator", "right"),
            Column("t", f"{drug.capitalize()}: weighted mean change", "right"),
            Column("c", "Comparator: weighted mean change", "right"),
            Column("diff", "Weighted difference", "right"), Column("ci", f"{conf} CI (bootstrap)", "right"),
            Column("raw", "Unweighted difference", "right"))
    rows = []
    for o in part.outcomes:
        label = o.label + (f", {o.unit}" if o.unit else "")
        rows.append(Row((label, f"{fmt_int(o.n_treated, style=style)} / {fmt_int(o.n_control, style=style)}",
                         fmt_number(o.mean_treated, 2, style=style), fmt_number(o.mean_control, 2, style=style),
                         fmt_number(o.difference, 2, style=style), fmt_ci(o.ci_low, o.ci_high, 2, style=style),
                         fmt_number(o.unweighted_difference, 2, style=style))))
    separated = max((o.n_separated for o in part.outcomes), default=0)
    notes = [
        f"Observational comparison, not randomised. Change = follow-up minus baseline; difference = {drug} minus "
        f"comparator, weighted by {_weighting(part)}. CI: percentile bootstrap, {fmt_int(part.bootstrap, style=style)} "
        f"replicates resampling patients within each arm, the PS model re-fitted in every replicate; seed "
        f"{part.seed}.",
    ]
    if separated:
        notes.append(f"In up to {separated} replicates the resampled covariates separated the arms; the PS model then "
                     "gives those patients PS 0 or 1 (weight 0 with overlap weights).")
    return TableSpec(key=EFFECT_KEY, number=number, title=f"Weighted difference in change, {drug} versus untreated "
                     "comparator (observational)", columns=cols, rows=tuple(rows), footnotes=tuple(notes))


def comparator_paragraphs(results: Any, part: Any, style: JournalStyle) -> list[str]:
    """Methods, results and limitation sentences from the result."""
    drug = results.plan.drug_label
    plan = results.plan
    covariates = ", ".join(_covariate_words(c, plan) for c in part.covariates)
    methods = (
        "Comparator (observational target-trial emulation). To emulate a trial of starting "
        f"{drug} against not starting it, IPAF patients who met every inclusion criterion except exposure to "
        f"{drug} (never exposed up to the data cut-off) formed the comparator arm. Their index date was the first "
        f"visit with a {_lower(plan.outcome(part.primary_outcome).label)} value on or after the date the IPAF "
        f"criteria were documented (the first antibody test); the treated patients' index date was the {drug} "
        "start. Baseline and follow-up values were chosen by the same rules from the index date. A logistic "
        f"propensity-score model of treatment on {covariates} gave {_weighting(part)}"
        + (", which with a logistic model balance the mean of every model term exactly"
           if part.weighting == "overlap" else "") + ". Balance was assessed by "
        "standardised mean differences (SMD) before and after weighting, and the effect on each outcome estimated as "
        "the weighted difference in mean change (treated minus comparator) with a percentile bootstrap "
        f"{_pct(part.confidence)} CI ({fmt_int(part.bootstrap, style=style)} replicates, the propensity model "
        f"re-fitted in each; seed {part.seed})."
    )
    out = [methods]
    n_cand = part.n_candidates
    sentence = (f"Of {n_cand} untreated IPAF patient{'s' if n_cand != 1 else ''}, {part.n_control} formed the "
                f"comparator arm, against {part.n_treated} treated patients. The largest absolute SMD over the "
                f"{len(part.balance)} covariate terms was {_smd(part.max_smd_before, style)} before and "
                f"{_smd(part.max_smd_after, style)} after weighting.")
    primary = next((o for o in part.outcomes if o.code == part.primary_outcome), None)
    if primary is not None:
        unit = f" {primary.unit}" if primary.unit else ""
        sentence += (f" The weighted difference in {_lower(primary.label)} change was "
                     f"{fmt_number(primary.difference, 2, style=style)}{unit} ({_pct(part.confidence)} CI "
                     f"{fmt_ci(primary.ci_low, primary.ci_high, 2, style=style)}; {drug} "
                     f"{fmt_number(primary.mean_treated, 2, style=style)}, comparator "
                     f"{fmt_number(primary.mean_control, 2, style=style)}).")
    out.append(sentence)
    fu = part.follow_up_days
    out.append(
        "This is an observational comparison, not a randomised one, and its limits are those of any target-trial "
        "emulation from records: the weights balance only the covariates listed, so confounding by unmeasured "
        "factors (such as the disease activity that led to treatment) remains; the comparators' index date comes "
        "from the visit schedule, not from a treatment decision; patients who started the drug later were not "
        "comparators; and follow-up lengths differ (median "
        f"{fmt_number(fu.get('treated'), 0, style=style)} days treated, "
        f"{fmt_number(fu.get('comparator'), 0, style=style)} days comparator, index to follow-up). The estimate "
        "suggests a size and direction to test in a randomised trial; it does not establish an effect."
    )
    return out


def _lower(label: str) -> str:
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


def _covariate_words(name: str, plan: Any) -> str:
    if name == "primary_baseline":
        return f"baseline {_lower(plan.outcome(plan.primary_outcome).label)}"
    words = {"age": "age", "sex": "sex", "ever_smoker": "smoking (ever)", "antibody_group": "antibody group",
             "hrct_pattern": "HRCT pattern"}
    if name in words:
        return words[name]
    if name.endswith("_baseline"):
        return f"baseline {_lower(plan.outcome(name[:-9]).label)}"
    return name.removeprefix("concomitant_").replace("_", " ") + " at the index date"


def love_plot(part: Any, style: JournalStyle) -> Any:
    """SMD per covariate term before (open circles) and after (filled) weighting, with the ±0.1 marks."""
    import matplotlib as mpl

    rows = list(reversed(part.balance))
    with mpl.rc_context(figs._rc(style)):
        height = max(2.2, 0.32 * len(rows) + 1.2)
        fig = figs._new_figure(style.figure_width_in * 0.75, height)
        ax = fig.add_subplot(1, 1, 1)
        y = list(range(len(rows)))
        ax.axvline(0, color=figs.OKABE_ITO["grey"], linewidth=0.8)
        for x in (-SMD_THRESHOLD, SMD_THRESHOLD):
            ax.axvline(x, color=figs.OKABE_ITO["grey"], linewidth=0.8, linestyle=":")
        ax.scatter([r.smd_before for r in rows], y, facecolors="none", edgecolors=figs.OKABE_ITO["vermillion"],
                   label="Before weighting", zorder=3, gid="love:before")
        ax.scatter([r.smd_after for r in rows], y, color=figs.OKABE_ITO["blue"], label="After weighting", zorder=3,
                   gid="love:after")
        ax.set_yticks(y, [r.label for r in rows])
        top = max([abs(v) for r in rows for v in (r.smd_before, r.smd_after) if not math.isnan(v)] + [0.2])
        ax.set_xlim(-top * 1.15, top * 1.15)
        ax.set_xlabel("Standardised mean difference (treated minus comparator)")
        ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2)
    return fig


def render_comparator(results: Any, part: Any, ctx: RenderContext) -> AdditionalBlock | None:
    drug = results.plan.drug_label
    primary = results.plan.outcome(part.primary_outcome).label
    balance_no, effect_no = ctx.table_number(), ctx.table_number()
    figures: tuple[FigureSpec, ...] = ()
    saved = ctx.save(love_plot(part, ctx.style), LOVE_KEY) if part.balance else None
    if saved is not None:
        png, svg = saved
        caption = ("Covariate balance (love plot): standardised mean difference of each propensity-model covariate "
                   f"between {drug}-treated patients and untreated IPAF comparators before (open circles) and after "
                   f"(filled) {part.weighting} weighting; dotted lines: ±{SMD_THRESHOLD:g}. Observational "
                   "target-trial emulation.")
        figures = (FigureSpec(LOVE_KEY, "Covariate balance before and after weighting.", caption, png, svg,
                              number=ctx.figure_number(), alt_text="Love plot of standardised mean differences"),)
    return AdditionalBlock(
        key="comparator", heading=HEADING, paragraphs=tuple(comparator_paragraphs(results, part, ctx.style)),
        tables=(balance_table(part, ctx.style, balance_no, drug, primary),
                effect_table(part, ctx.style, effect_no, drug)),
        data_tables=(balance_table(part, ctx.data_style, balance_no, drug, primary),
                     effect_table(part, ctx.data_style, effect_no, drug)),
        figures=figures,
    )
