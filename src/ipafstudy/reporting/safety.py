"""Report parts for the safety analyses (issue 12 items 2 and 3): Kaplan-Meier table and figure, incidence table,
and their methods and results sentences, written from the results (nothing is computed here).

Renderers follow ``reporting.additional``: ``render_<part>(results, part, ctx) -> AdditionalBlock | None``.
"""

from __future__ import annotations

import math
from typing import Any

from ipafstudy.reporting.additional import AdditionalBlock, RenderContext
from ipafstudy.reporting.format import JournalStyle, fmt_int, fmt_n_pct, fmt_number
from ipafstudy.reporting.survival_figure import KmCurve, kaplan_meier_plot
from ipafstudy.reporting.tablespec import Column, FigureSpec, Row, TableSpec

NOT_REACHED = "not reached"
KM_TABLE_KEY = "additional_time_to_event"
KM_FIGURE_KEY = "figureA_kaplan_meier"
INCIDENCE_TABLE_KEY = "additional_incidence"


def _pct(confidence: float) -> str:
    return f"{confidence * 100:g}%"


def _months(value: float, style: JournalStyle) -> str:
    return NOT_REACHED if value is None or math.isnan(value) else fmt_number(value, 1, style=style)


def ci_text(km: Any, style: JournalStyle) -> str:
    """The median's limits: '9.3, 14.1'; a limit not reached is written out ('11.5, not reached')."""
    lo, hi = _months(km.median_lower, style), _months(km.median_upper, style)
    sep = style.range_sep
    if NOT_REACHED in (lo, hi) and sep.strip() in {"-", "–", "—"}:
        sep = " to "
    return style.ci_template.format(low=lo, high=hi, sep=sep)


def median_text(km: Any, style: JournalStyle) -> str:
    """'11.3 (9.3, 14.1)'; 'not reached' when the median is; a bound not reached is written out."""
    if not km.median_reached:
        return NOT_REACHED
    return f"{_months(km.median, style)} ({ci_text(km, style)})"


def _cutoff_words(part: Any) -> str:
    if part.data_cutoff_date is None:
        return "the data cut-off"
    how = "as stated in the settings" if part.cutoff_stated else "the latest date in the records"
    return f"the data cut-off ({part.data_cutoff_date.isoformat()}, {how})"


def time_to_event_methods(part: Any, drug: str) -> str:
    """Methods sentences from what was estimated."""
    endpoints = {r.endpoint for r in part.rows}
    what = []
    if "discontinuation" in endpoints:
        what.append(f"time to discontinuation of {drug} (any reason, and for an adverse event)")
    if "first_ae" in endpoints:
        typed = sum(r.endpoint == "first_ae_type" for r in part.rows)
        what.append("time to the first adverse event" + (" of any type and of each type" if typed else ""))
    text = (
        f"{' and '.join(what)[:1].upper()}{' and '.join(what)[1:]} were estimated with the Kaplan-Meier method in "
        f"months from the {drug} start (the start day is day 1). Patients still on {drug} at {_cutoff_words(part)} "
        "were censored there; adverse events count during exposure only, so patients without one were censored at "
        "the end of exposure. Medians are given with "
        f"{_pct(part.confidence)} confidence intervals by the Brookmeyer-Crowley method on the log-log scale "
        "(as R survival prints them); \u201cnot reached\u201d means that the curve, or its confidence limit, did not "
        "fall to 50%."
    )
    if "discontinuation" in endpoints:
        text += (" For discontinuation for an adverse event, discontinuations for other reasons were censored "
                 "(cause-specific), so one minus this curve overstates the cumulative incidence when other reasons "
                 "compete.")
    return text


def time_to_event_results(part: Any, drug: str, style: JournalStyle) -> str:
    """One sentence per curve of the figure: events of patients, and the median with its CI (or not reached)."""
    sentences = []
    for r in part.rows:
        if r.endpoint not in ("discontinuation", "first_ae"):
            continue
        km = r.km
        what, time_to = ((f"discontinued {drug}", "discontinuation") if r.endpoint == "discontinuation"
                         else ("had an adverse event", "the first adverse event"))
        head = f"{fmt_int(km.n_events, style=style)} of {fmt_int(km.n, style=style)} patients {what}"
        if km.median_reached:
            sentences.append(f"{head}; the median time to {time_to} was {_months(km.median, style)} months "
                             f"({_pct(part.confidence)} CI {ci_text(km, style)}).")
        else:
            sentences.append(f"{head}; the median time to {time_to} was not reached.")
    return " ".join(sentences)


def time_to_event_table(part: Any, drug: str, style: JournalStyle, number: int | None = None) -> TableSpec:
    rows = []
    for r in part.rows:
        km = r.km
        rows.append(Row((r.label, fmt_int(km.n, style=style), fmt_int(km.n_events, style=style),
                         fmt_int(km.n - km.n_events, style=style), median_text(km, style)),
                        indent=1 if r.endpoint == "first_ae_type" else 0))
    return TableSpec(
        key=KM_TABLE_KEY, number=number, title=f"Time to event during {drug} treatment (Kaplan-Meier)",
        columns=(Column("endpoint", "Endpoint"), Column("patients", "Patients", "right"),
                 Column("events", "Events", "right"), Column("censored", "Censored", "right"),
                 Column("median", f"Median, months ({_pct(part.confidence)} CI)", "right")),
        rows=tuple(rows),
        footnotes=(f"Months from the {drug} start (1 month = 30.4375 days). Censored: still on {drug} at "
                   f"{_cutoff_words(part)}, or, for adverse events, at the end of exposure; for discontinuation for "
                   "an adverse event also other discontinuations. Median CI: Brookmeyer-Crowley, log-log.",),
    )


def time_to_event_figure(part: Any, drug: str, ctx: RenderContext) -> FigureSpec | None:
    """The discontinuation (any reason) and first-adverse-event curves with their numbers at risk."""
    rows = [part.row(k) for k in part.figure_keys]
    if not rows:
        return None
    short = {"discontinuation": "Discontinuation (any reason)", "first_ae": "First adverse event (any type)"}
    curves = [KmCurve(label=short.get(r.key, r.label), time=r.km.time, surv=r.km.surv, lower=r.km.lower,
                      upper=r.km.upper, n_censor=r.km.n_censor, at_risk=tuple(part.at_risk[r.key])) for r in rows]
    fig = kaplan_meier_plot(curves, part.at_risk_months, x_label=f"Months since {drug} start", style=ctx.style)
    number = ctx.figure_number()
    paths = ctx.save(fig, KM_FIGURE_KEY)
    if paths is None:
        return None
    caption = (f"Kaplan-Meier curves with pointwise {_pct(part.confidence)} confidence bands (log-log); + marks a "
               "censored patient. Numbers at risk: patients still followed at each time.")
    alt = "; ".join(f"{r.label}: {r.km.n_events} events in {r.km.n} patients, median {median_text(r.km, ctx.style)}"
                    " months" for r in rows)
    return FigureSpec(KM_FIGURE_KEY, f"Time to {drug} discontinuation and to the first adverse event.", caption,
                      paths[0], paths[1], number=number, alt_text=alt)


def render_time_to_event(results: Any, part: Any, ctx: RenderContext) -> AdditionalBlock | None:
    if not part.rows:
        return None
    drug = results.plan.drug_label
    number = ctx.table_number()
    figure = time_to_event_figure(part, drug, ctx)
    paragraphs = (time_to_event_methods(part, drug), time_to_event_results(part, drug, ctx.style))
    return AdditionalBlock(
        key="time_to_event", heading="Time to event", paragraphs=tuple(p for p in paragraphs if p),
        tables=(time_to_event_table(part, drug, ctx.style, number),),
        data_tables=(time_to_event_table(part, drug, ctx.data_style, number),),
        figures=(figure,) if figure is not None else (),
    )


def _rate_text(rate: Any, style: JournalStyle) -> str:
    lo, hi = fmt_number(rate.lower, 1, style=style), fmt_number(rate.upper, 1, style=style)
    sep = style.range_sep
    return f"{fmt_number(rate.rate, 1, style=style)} ({style.ci_template.format(low=lo, high=hi, sep=sep)})"


def incidence_methods(part: Any, drug: str, style: JournalStyle) -> str:
    per = fmt_number(part.per, 0, style=style)
    text = (
        f"Exposure time ran from the {drug} start to the end of exposure, or to the data cut-off for patients still "
        f"on {drug}, counting the first and the last day; {fmt_int(part.n_patients, style=style)} patients "
        f"contributed {fmt_number(part.patient_years, 1, style=style)} patient-years "
        f"({fmt_int(part.exposure_days, style=style)} days; 1 year = 365.25 days). Incidence rates are episodes per "
        f"{per} patient-years with exact Poisson (Garwood) {_pct(part.confidence)} confidence intervals."
    )
    if part.n_without_exposure_length:
        text += (f" {fmt_int(part.n_without_exposure_length, style=style)} patient(s) without an exposure length "
                 "were left out.")
    return text


def incidence_results(part: Any, style: JournalStyle) -> str:
    """The any-event rate, then the type with the highest rate."""
    per = fmt_number(part.per, 0, style=style)
    rows = list(part.rows)
    if not rows:
        return ""
    first = rows[0]
    text = (f"{fmt_int(first.episodes, style=style)} adverse-event episodes occurred in "
            f"{fmt_int(first.patients.n, style=style)} of {fmt_int(first.patients.denominator, style=style)} patients: "
            f"{_rate_text(first.rate, style)} per {per} patient-years.")
    typed = [r for r in rows[1:] if r.episodes]
    if typed:
        top = max(typed, key=lambda r: (r.episodes, -rows.index(r)))
        text += f" The most frequent was {top.label.lower()} ({_rate_text(top.rate, style)} per {per} patient-years)."
    return text


def incidence_table(part: Any, drug: str, style: JournalStyle, number: int | None = None) -> TableSpec:
    per = fmt_number(part.per, 0, style=style)
    rows = []
    for r in part.rows:
        rows.append(Row((r.label, fmt_n_pct(r.patients.n, r.patients.denominator, style=style),
                         fmt_int(r.episodes, style=style), fmt_number(r.patient_years, 1, style=style),
                         _rate_text(r.rate, style)), indent=0 if r.event == "any" else 1))
    return TableSpec(
        key=INCIDENCE_TABLE_KEY, number=number,
        title=f"Exposure-adjusted incidence of adverse events during {drug} treatment",
        columns=(Column("event", "Event"), Column("patients", "Patients, n (%)", "right"),
                 Column("episodes", "Episodes", "right"), Column("patient_years", "Patient-years", "right"),
                 Column("rate", f"Episodes per {per} patient-years ({_pct(part.confidence)} CI)", "right")),
        rows=tuple(rows),
        footnotes=("Episodes during exposure as in Table 6. Exposure: start to end of exposure or data cut-off. "
                   "CI: exact Poisson (Garwood).",),
    )


def render_incidence(results: Any, part: Any, ctx: RenderContext) -> AdditionalBlock | None:
    if not part.rows:
        return None
    drug = results.plan.drug_label
    number = ctx.table_number()
    return AdditionalBlock(
        key="incidence", heading="Exposure-adjusted incidence of adverse events",
        paragraphs=tuple(p for p in (incidence_methods(part, drug, ctx.style), incidence_results(part, ctx.style))
                         if p),
        tables=(incidence_table(part, drug, ctx.style, number),),
        data_tables=(incidence_table(part, drug, ctx.data_style, number),),
    )
