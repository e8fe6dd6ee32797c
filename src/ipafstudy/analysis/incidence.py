"""Additional part ``incidence`` (issue 12 item 3): exposure-adjusted incidence of each adverse-event type.

Per type: patients with an episode, episodes, the cohort's patient-years of exposure and episodes per
``per_patient_years`` patient-years with exact Poisson (Garwood) CIs. Exposure time is the analysed
patients' ``exposure_days`` (start to end of exposure, or the data cut-off when ongoing; first and last day
counted) / 365.25 (``cohort.time_to_event``). The episodes are the on-treatment rows of Table 6.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from ipafstudy.analysis.results import Count, _ToDict
from ipafstudy.cohort.time_to_event import DAYS_PER_YEAR, exposure_rows
from ipafstudy.stats.incidence import PoissonRateResult, poisson_rate

ANY_EVENT = "any"


@dataclass(frozen=True)
class IncidenceRow(_ToDict):
    event: str
    label: str
    patients: Count
    episodes: int
    patient_years: float
    rate: PoissonRateResult


@dataclass(frozen=True)
class IncidenceResult(_ToDict):
    """Rows in Table 6 order, after an "any adverse event" row; every rate is per ``per`` patient-years."""

    rows: tuple[IncidenceRow, ...]
    n_patients: int
    exposure_days: int
    patient_years: float
    per: float
    confidence: float
    n_without_exposure_length: int = 0
    days_per_year: float = DAYS_PER_YEAR
    method: str = "exact Poisson (Garwood)"


def incidence_rows(events: pd.DataFrame, analysed: list[str], types: list[str], labels: dict[str, str],
                   patient_years: float, *, per: float, confidence: float) -> list[IncidenceRow]:
    """"Any adverse event" then one row per type; ``events`` = on-treatment episodes of the analysed patients."""
    n = len(analysed)
    on = events[events["patient_id"].isin(set(analysed))] if len(events) else events
    rows = []
    for kind in [ANY_EVENT, *types]:
        sub = on if kind == ANY_EVENT or not len(on) else on[on["event"].astype(str) == kind]
        k = int(sub["patient_id"].nunique()) if len(sub) else 0
        rows.append(IncidenceRow(
            event=kind, label=labels.get(kind, kind), patients=Count(n=k, denominator=n), episodes=len(sub),
            patient_years=patient_years, rate=poisson_rate(len(sub), patient_years, per=per, confidence=confidence),
        ))
    return rows


def run(ctx: Any) -> IncidenceResult | None:
    """The part's runner; None with a note when the analysed patients have no exposure time."""
    from ipafstudy.analysis.study import AE_LABELS

    plan, cohort, spec = ctx.plan, ctx.cohort, ctx.plan.additional.incidence
    if cohort is None or not getattr(cohort, "analysed_ids", ()):
        ctx.notes.add("Exposure-adjusted incidence: not estimated (no analysed patient).")
        return None
    analysed = list(cohort.analysed_ids)
    expo = exposure_rows(cohort.exposures, analysed)
    known = expo[expo["exposure_days"].notna()]
    days = int(known["exposure_days"].sum()) if len(known) else 0
    if days <= 0:
        ctx.notes.add("Exposure-adjusted incidence: not estimated (no exposure time).")
        return None
    missing = len(expo) - len(known)
    if missing:
        ctx.notes.add(f"Exposure-adjusted incidence: {missing} patient(s) without an exposure length are left out.")
    ids = [str(p) for p in known["patient_id"]]
    summary = getattr(cohort, "adverse_event_summary", None)
    types = [str(e) for e in summary["event"]] if summary is not None and len(summary) else []
    events = cohort.adverse_events
    types += sorted(set(events["event"].astype(str)) - set(types)) if len(events) else []
    labels = {ANY_EVENT: "Any adverse event"} | {t: AE_LABELS.get(t, t.replace("_", " ").capitalize()) for t in types}
    years = days / DAYS_PER_YEAR
    rows = incidence_rows(events, ids, types, labels, years, per=spec.per_patient_years,
                          confidence=plan.statistics.confidence)
    return IncidenceResult(rows=tuple(rows), n_patients=len(ids), exposure_days=days, patient_years=years,
                           per=spec.per_patient_years, confidence=plan.statistics.confidence,
                           n_without_exposure_length=missing)
