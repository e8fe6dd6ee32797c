"""The report's "Additional analyses" section: renders ``StudyResults.additional``, computes nothing.

Each part that ran (``analysis.additional.PARTS``) has a renderer in ``RENDERERS`` that turns its result
into an :class:`AdditionalBlock`: a sub-heading, methods and results sentences generated from the
result, tables (built twice: typeset for DOCX/HTML/XLSX and in the machine style for ``tables/*.csv``)
and figures (PNG + SVG). Tables and figures are numbered after the reference study's, so nothing the
reference report prints changes; the section comes after the Results, before the supplement.

Adding a part's renderer: write ``render_<part>(results, part, ctx) -> AdditionalBlock | None`` using
``ctx.table_number()`` / ``ctx.figure_number()`` for numbers, ``ctx.style`` for cell formatting and
``ctx.save(fig, key)`` for figures, and register it in ``RENDERERS`` under the part's plan key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ipafstudy.analysis.results import StudyResults
from ipafstudy.reporting import figures as figs
from ipafstudy.reporting.format import JournalStyle, fmt_ci, fmt_int, fmt_number, fmt_p, fmt_p_relation
from ipafstudy.reporting.tablespec import Column, FigureSpec, Row, Section, TableSpec

SECTION_HEADING = "Additional analyses"
SECTION_INTRO = ("Analyses beyond the reference study's design, each an optional section of the analysis plan "
                 "(key additional). They use the same analysed patients and do not change the tables above.")


@dataclass(frozen=True)
class AdditionalBlock:
    """One part of the section, ready to lay out; ``data_tables`` are the same tables in the machine style."""

    key: str
    heading: str
    paragraphs: tuple[str, ...] = ()
    tables: tuple[TableSpec, ...] = ()
    data_tables: tuple[TableSpec, ...] = ()
    figures: tuple[FigureSpec, ...] = ()


@dataclass
class RenderContext:
    """Numbering, styles and the figure folder shared by the renderers of one report."""

    fig_dir: Path | None
    style: JournalStyle  # typeset (print) style for DOCX/HTML/XLSX
    data_style: JournalStyle  # machine style for CSV
    dpi: int = 300
    next_table: int = 1
    next_figure: int = 1
    written: list[Path] = field(default_factory=list)

    def table_number(self) -> int:
        self.next_table += 1
        return self.next_table - 1

    def figure_number(self) -> int:
        self.next_figure += 1
        return self.next_figure - 1

    def save(self, fig: Any, key: str) -> tuple[Path, Path] | None:
        """Write ``figures/<key>.png`` and ``.svg`` (None when no folder was given, e.g. in tests)."""
        if self.fig_dir is None:
            return None
        png, svg = figs.save_figure(fig, self.fig_dir / key, dpi=self.dpi, style=self.style)
        self.written += [png, svg]
        return png, svg


# --------------------------------------------------------------------------------------------------- slopes
def _unit_per_year(unit: str | None) -> str:
    return f"{unit} per year" if unit else "points per year"


def _slope_cells(effect: Any, style: JournalStyle) -> tuple[str, str, str]:
    if effect is None:
        return style.missing, style.missing, style.missing
    return (fmt_number(effect.estimate, 2, style=style), fmt_ci(effect.ci_low, effect.ci_high, 2, style=style),
            fmt_p(effect.p, style=style))


def _model_word(model: Any) -> str:
    if model is None:
        return "not estimable"
    return "random intercept and slope" if model.model == "random_slope" else "random intercept only"


def slopes_table(part: Any, style: JournalStyle, number: int | None, drug: str = "drug") -> TableSpec:
    """Overall slope per year per outcome; with a change point also the slopes before/after and their difference."""
    piecewise = part.change_point is not None
    cols = [Column("outcome", "Outcome"), Column("n", "Patients (values)", "right"),
            Column("slope", "Slope per year", "right"), Column("ci", "95% CI", "right"), Column("p", "p", "right"),
            Column("model", "Random effects")]
    if piecewise:
        cols += [Column("before", "Before: slope (95% CI)", "right"), Column("after", "After: slope (95% CI)", "right"),
                 Column("diff_p", "Difference p", "right")]
    rows = []
    fallbacks: list[str] = []
    for r in part.rows:
        label = r.label + (f", {_unit_per_year(r.unit)}" if r.unit else "")
        n = f"{fmt_int(r.n_patients_overall, style=style)} ({fmt_int(r.n_values_overall, style=style)})"
        cells = [label, n, *_slope_cells(r.overall and r.overall.slope, style), _model_word(r.overall)]
        if r.overall is not None and r.overall.fallback:
            fallbacks.append(f"{r.label} (overall)")
        if piecewise:
            pw = r.piecewise
            if pw is None:
                cells += [style.missing] * 3
            else:
                cells += [
                    f"{fmt_number(pw.slope_before.estimate, 2, style=style)} "
                    f"({fmt_ci(pw.slope_before.ci_low, pw.slope_before.ci_high, 2, style=style)})",
                    f"{fmt_number(pw.slope_after.estimate, 2, style=style)} "
                    f"({fmt_ci(pw.slope_after.ci_low, pw.slope_after.ci_high, 2, style=style)})",
                    fmt_p(pw.slope_difference.p, style=style),
                ]
                if pw.fallback:
                    fallbacks.append(f"{r.label} (piecewise)")
        rows.append(Row(tuple(cells)))
    notes = [
        f"Linear mixed models fitted by REML per outcome on every dated value of patients with at least "
        f"{part.min_values} values; time in years from the {drug} start. Slope: fixed effect of time (change per "
        "year). 95% CI and p: Wald z (normal approximation).",
        f"Overall slope: values from {part.baseline_window_days} days before the start (the baseline window) to the "
        "end of treatment.",
    ]
    if piecewise:
        cp = fmt_number(part.change_point, 2, style=style).rstrip("0").rstrip(".") if part.change_point else "0"
        notes.append(f"Piecewise model: a knot {cp} years from the start (0 = the start); every value up to the end "
                     "of treatment, including all earlier values. Before/After: slopes on either side of the knot; "
                     "Difference p: Wald z test of after minus before. Patients (values) of the piecewise models are "
                     "in results.json.")
    if fallbacks:
        notes.append("Random-slope variance estimated at zero or not estimable; a random-intercept model was used "
                     "instead for: " + ", ".join(fallbacks) + ".")
    return TableSpec(key="additional_slopes", number=number, title="Rate of change per year over all visits",
                     columns=tuple(cols), rows=tuple(rows), footnotes=tuple(notes))


def slopes_paragraphs(results: StudyResults, part: Any, style: JournalStyle) -> list[str]:
    """Methods and results sentences, generated from the fitted models."""
    fitted = [r for r in part.rows if r.overall is not None]
    n_fallback = sum(1 for r in part.rows for m in (r.overall, r.piecewise) if m is not None and m.fallback)
    drug = results.plan.drug_label
    methods = (
        "Rate of change. For each outcome, every dated value (measurements and HRCT scans) of the analysed patients "
        f"with at least {part.min_values} values was modelled with a linear mixed model with a random intercept"
        + (" and a random slope" if part.random_slope else "") + f" per patient, time in years from the {drug} "
        "start, fitted by restricted maximum likelihood (REML); the fixed slope is the mean change per year. "
        "Confidence intervals and p values use the Wald z statistic (R's lme4 gives no p value; Satterthwaite "
        "degrees of freedom would give slightly wider intervals)."
    )
    if part.change_point is not None:
        methods += (f" A piecewise model with a knot at the {drug} start"
                    + (f" + {fmt_number(part.change_point, 2, style=style)} years" if part.change_point else "")
                    + " estimated the slope before and after it and tested their difference.")
    if n_fallback:
        methods += (f" When the random-slope variance was estimated at zero or the fit did not converge "
                    f"({n_fallback} model{'s' if n_fallback != 1 else ''}), a random-intercept model was used.")
    out = [methods]
    if fitted:
        primary = next((r for r in fitted if r.code == results.plan.primary_outcome), fitted[0])
        s = primary.overall.slope
        sentence = (f"{primary.label} changed by {fmt_number(s.estimate, 2, style=style)} "
                    f"{_unit_per_year(primary.unit)} (95% CI {fmt_ci(s.ci_low, s.ci_high, 2, style=style)}, "
                    f"{fmt_p_relation(s.p, style=style)}; {primary.n_patients_overall} patients, "
                    f"{primary.n_values_overall} values).")
        pw = primary.piecewise
        if pw is not None:
            sentence += (f" Before the start its slope was {fmt_number(pw.slope_before.estimate, 2, style=style)} "
                         f"and after it {fmt_number(pw.slope_after.estimate, 2, style=style)} per year "
                         f"(difference {fmt_number(pw.slope_difference.estimate, 2, style=style)}, "
                         f"{fmt_p_relation(pw.slope_difference.p, style=style)}).")
        out.append(sentence)
    return out


def render_slopes(results: StudyResults, part: Any, ctx: RenderContext) -> AdditionalBlock | None:
    if not part.rows:
        return None
    number = ctx.table_number()
    return AdditionalBlock(
        key="slopes", heading="Rate of change over all visits",
        paragraphs=tuple(slopes_paragraphs(results, part, ctx.style)),
        tables=(slopes_table(part, ctx.style, number, results.plan.drug_label),),
        data_tables=(slopes_table(part, ctx.data_style, number, results.plan.drug_label),),
    )


# ---------------------------------------------------------------------------------------------------- power
POWER_METHODS = (("t_test", "t test"), ("noether", "WMW (Noether)"), ("simulation", "Simulation"))


def _n_cell(size: Any, style: JournalStyle) -> str:
    if size is None or size.n_per_arm is None:
        return f"> {fmt_int(pw_limit(size), style=style)}" if size is not None else style.missing
    return fmt_int(size.n_per_arm, style=style)


def pw_limit(size: Any) -> int:
    """The search limit named in a not-feasible size's note ('more than 2000 per arm')."""
    digits = "".join(ch for ch in (size.note or "") if ch.isdigit())
    return int(digits) if digits else 0


def _pct(value: float, style: JournalStyle) -> str:
    return f"{fmt_number(100 * value, 0, style=style)}%"


def power_table(part: Any, style: JournalStyle, number: int | None) -> TableSpec:
    """n per arm for each planned effect and target power, by t test, Noether's formula and simulation."""
    cols = [Column("effect", "Effect planned for"), Column("difference", "Difference in mean change", "right"),
            Column("power", "Power", "right")]
    cols += [Column(key, f"n per arm: {label}", "right") for key, label in POWER_METHODS]
    unit = f" {part.unit}" if part.unit else ""
    rows = []
    for s in part.sizes:
        what = "Observed mean change" if s.fraction == 1 else f"{s.fraction:g} × observed mean change"
        rows.append(Row((what, f"{fmt_number(s.effect, 2, style=style)}{unit}", _pct(s.power, style),
                         *(_n_cell(getattr(s, k), style) for k, _ in POWER_METHODS))))
    alpha = fmt_number(part.alpha, 2, style=style)
    notes = [
        f"Two-arm trial, equal arms, change in {part.label} (follow-up minus baseline) compared at two-sided α = "
        f"{alpha}. Observed: mean change {fmt_number(part.mean_change, 2, style=style)}{unit}, SD "
        f"{fmt_number(part.sd_change, 2, style=style)} ({part.n_changes} patients). Assumed comparator arm: mean "
        "change 0 with the same spread.",
        "t test: two-sample t test (as R power.t.test). WMW (Noether): Wilcoxon-Mann-Whitney test, Noether's formula "
        "(J Am Stat Assoc 1987;82:645-7) with P(drug-arm change beyond comparator change) from the observed "
        f"changes. Simulation: {fmt_int(part.simulations, style=style)} trials per n, both arms resampled from "
        f"the observed changes (centred), Mann-Whitney test; seed {part.seed}.",
    ]
    return TableSpec(key="additional_power", number=number, title=f"Sample size for a randomised trial on "
                     f"{_lower(part.label)}", columns=tuple(cols), rows=tuple(rows), footnotes=tuple(notes))


def _lower(label: str) -> str:
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


def power_paragraphs(results: StudyResults, part: Any, style: JournalStyle) -> list[str]:
    """Methods and results sentences from the computed sizes and the subgroup power."""
    alpha = fmt_number(part.alpha, 2, style=style)
    targets = sorted({s.power for s in part.sizes})
    fractions = sorted({s.fraction for s in part.sizes}, reverse=True)
    methods = (
        f"Power. For a two-arm randomised trial with {_lower(part.label)} change as the outcome, the sample size per "
        f"arm for {' and '.join(_pct(t, style) for t in targets)} power at two-sided α = {alpha} was computed for "
        + " and for ".join("the observed mean change" if f == 1 else f"{fmt_number(f, 2, style=style)} times it"
                           for f in fractions)
        + ", assuming a comparator arm with no mean change and the same spread: by the two-sample t test, by "
        "Noether's formula for the Wilcoxon-Mann-Whitney test, and by simulation resampling the observed changes "
        f"(seed {part.seed})."
    )
    out = [methods]
    first = next((s for s in part.sizes if s.fraction == max(fractions) and s.power == min(targets)), None)
    if first is not None and first.t_test.n_per_arm:
        out.append(
            f"To detect the observed mean change of {fmt_number(part.mean_change, 2, style=style)}"
            f"{' ' + part.unit if part.unit else ''} with {_pct(first.power, style)} power a trial needs "
            f"{first.t_test.n_per_arm} patients per arm by the t test, {_n_cell(first.noether, style)} by the "
            f"Wilcoxon-Mann-Whitney test and {_n_cell(first.simulation, style)} by simulation."
        )
    sg = part.subgroup
    if sg is not None and sg.power_t_test is not None:
        detect = (f"; with these group sizes a difference of {fmt_number(sg.detectable_difference, 2, style=style)} "
                  f"would have had 80% power" if sg.detectable_difference is not None else "")
        out.append(
            f"The comparison of {sg.labels[0]} (n = {sg.n[0]}) with {sg.labels[1]} (n = {sg.n[1]}) had "
            f"{_pct(sg.power_t_test, style)} power (t test; {_pct(sg.power_noether, style)} by Noether's formula) "
            f"to detect the difference in mean change it observed ({fmt_number(sg.difference, 2, style=style)})"
            + detect + ". Power computed for an observed difference follows from its p value and is reported "
            "to size future studies, not to interpret this one."
        )
    return out


def power_figure(part: Any, style: JournalStyle) -> Any:
    """Power against n per arm: t test (solid) and Noether (dashed) per effect, target powers as lines."""
    import matplotlib as mpl
    import matplotlib.ticker

    colours = [figs.OKABE_ITO[c] for c in ("blue", "orange", "green", "vermillion", "purple")]
    with mpl.rc_context(figs._rc(style)):
        fig = figs._new_figure(style.figure_width_in * 0.75, style.figure_width_in * 0.62)
        ax = fig.add_subplot(1, 1, 1)
        fractions = sorted({s["fraction"] for s in part.curve.series}, reverse=True)
        for s in part.curve.series:
            colour = colours[fractions.index(s["fraction"]) % len(colours)]
            what = "observed effect" if s["fraction"] == 1 else f"{s['fraction']:g} × observed effect"
            ax.plot(part.curve.n, s["power"], color=colour, linewidth=1.4,
                    linestyle="-" if s["method"] == "t test" else "--",
                    label=f"{'t test' if s['method'] == 't test' else 'WMW (Noether)'}, {what}",
                    gid=f"curve:{s['method']}:{s['fraction']:g}")
        for t in sorted({s.power for s in part.sizes}):
            ax.axhline(t, color=figs.OKABE_ITO["grey"], linewidth=0.8, linestyle=":")
        ax.set_xscale("log")
        ticks = [t for t in (2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000)
                 if t <= part.curve.n[-1]]
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.xaxis.set_minor_formatter(mpl.ticker.NullFormatter())
        ax.set_ylim(0, 1)
        ax.set_xlabel("Patients per arm")
        ax.set_ylabel("Power")
        ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    return fig


def render_power(results: StudyResults, part: Any, ctx: RenderContext) -> AdditionalBlock | None:
    number = ctx.table_number()
    figures: tuple[FigureSpec, ...] = ()
    key = "figureA_power_curve"
    saved = ctx.save(power_figure(part, ctx.style), key)
    if saved is not None:
        png, svg = saved
        caption = (f"Power of a two-arm trial on the change in {_lower(part.label)} against patients per arm, "
                   f"two-sided α = {fmt_number(part.alpha, 2, style=ctx.style)}: two-sample t test (solid) and "
                   "Wilcoxon-Mann-Whitney by Noether's formula (dashed), for each planned effect; dotted lines: "
                   "target powers.")
        figures = (FigureSpec(key, "Power for a randomised trial.", caption, png, svg, number=ctx.figure_number(),
                              alt_text="Power curves against patients per arm"),)
    return AdditionalBlock(
        key="power", heading="Power for the next trial",
        paragraphs=tuple(power_paragraphs(results, part, ctx.style)),
        tables=(power_table(part, ctx.style, number),), data_tables=(power_table(part, ctx.data_style, number),),
        figures=figures,
    )


def _render_time_to_event(results: StudyResults, part: Any, ctx: RenderContext) -> AdditionalBlock | None:
    from ipafstudy.reporting.safety import render_time_to_event

    return render_time_to_event(results, part, ctx)


def _render_incidence(results: StudyResults, part: Any, ctx: RenderContext) -> AdditionalBlock | None:
    from ipafstudy.reporting.safety import render_incidence

    return render_incidence(results, part, ctx)


def _render_comparator(results: StudyResults, part: Any, ctx: RenderContext) -> AdditionalBlock | None:
    from ipafstudy.reporting.comparator import render_comparator

    return render_comparator(results, part, ctx)


Renderer = Callable[[StudyResults, Any, RenderContext], AdditionalBlock | None]
#: Part key -> renderer; blocks appear in the order of ``StudyResults.additional.parts``.
RENDERERS: dict[str, Renderer] = {
    "slopes": render_slopes,
    "time_to_event": _render_time_to_event,
    "incidence": _render_incidence,
    "power": render_power,
    "comparator": _render_comparator,
}


def additional_blocks(results: StudyResults, ctx: RenderContext) -> tuple[AdditionalBlock, ...]:
    """A block per part that ran and has a renderer, in the order the parts ran."""
    extra = results.additional
    if extra is None:
        return ()
    blocks = []
    for key, part in extra.parts.items():
        renderer = RENDERERS.get(key)
        block = renderer(results, part, ctx) if renderer is not None else None
        if block is not None:
            blocks.append(block)
    return tuple(blocks)


def additional_sections(blocks: Sequence[AdditionalBlock], notes: Sequence[str] = ()) -> list[Section]:
    """The section for the DOCX/HTML writers (empty when no part ran): heading, intro, a sub-section per part."""
    if not blocks:
        return []
    sections = [Section(SECTION_HEADING, (SECTION_INTRO,), level=1)]
    sections += [Section(b.heading, b.paragraphs, b.tables, b.figures, level=2) for b in blocks]
    if notes:
        sections.append(Section("Notes on the additional analyses", tuple(notes), level=2))
    return sections
