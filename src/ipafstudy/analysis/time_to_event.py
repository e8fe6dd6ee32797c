"""Additional part ``time_to_event`` (issue 12 item 2): Kaplan-Meier estimates of time to discontinuation and to
the first adverse event, medians with Brookmeyer-Crowley log-log CIs, numbers at risk.

The per-patient times and censoring come from ``cohort.time_to_event`` (rules documented there); times are
fitted in months (days / 30.4375) so every printed number is on the scale the report shows.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ipafstudy.analysis.results import _ToDict
from ipafstudy.cohort.time_to_event import (
    ENDPOINT_AE_DISCONTINUATION,
    ENDPOINT_ANY_DISCONTINUATION,
    ENDPOINT_FIRST_AE,
    ENDPOINT_FIRST_AE_OF_TYPE,
    time_to_event_rows,
)
from ipafstudy.stats.survival import KaplanMeierResult, kaplan_meier
from ipafstudy.values import is_missing

DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class TimeToEventRow(_ToDict):
    """One endpoint: its Kaplan-Meier fit (months) and why the censored patients were censored."""

    key: str
    endpoint: str
    event_type: str | None
    label: str
    km: KaplanMeierResult
    censored: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TimeToEventResult(_ToDict):
    """Every endpoint's curve and median; numbers at risk at ``at_risk_months`` for the figure's rows."""

    rows: tuple[TimeToEventRow, ...]
    n_patients: int
    confidence: float
    at_risk_months: tuple[float, ...]
    at_risk: Mapping[str, tuple[int, ...]]
    figure_keys: tuple[str, ...]
    data_cutoff_date: dt.date | None
    cutoff_stated: bool
    n_flag_not_discontinued: int = 0
    median_rule: str = "print"
    time_unit: str = "months"
    days_per_month: float = DAYS_PER_MONTH

    def row(self, key: str) -> TimeToEventRow:
        for r in self.rows:
            if r.key == key:
                return r
        raise KeyError(f"no time-to-event endpoint {key!r}")


def _labels(drug: str) -> dict[str, str]:
    return {
        ENDPOINT_ANY_DISCONTINUATION: f"{drug[:1].upper()}{drug[1:]} discontinuation, any reason",
        ENDPOINT_AE_DISCONTINUATION: f"{drug[:1].upper()}{drug[1:]} discontinuation for an adverse event",
        ENDPOINT_FIRST_AE: "First adverse event, any type",
    }


def _event_types(spec: Any, events: pd.DataFrame, summary_order: list[str]) -> list[str]:
    """The plan's types, else every type with at least one on-treatment episode, in Table 6 order."""
    if spec.event_types is not None:
        return list(spec.event_types)
    seen = set(events["event"].astype(str)) if len(events) else set()
    return [t for t in summary_order if t in seen] + sorted(seen - set(summary_order))


def _at_risk_times(rows: list[TimeToEventRow], every: float) -> tuple[float, ...]:
    longest = max((max(r.km.time) for r in rows if r.km.time), default=0.0)
    n = math.floor(longest / every + 1e-9)
    return tuple(round(i * every, 10) for i in range(n + 1))


def fit_endpoints(tte: pd.DataFrame, labels: Mapping[str, str], *, confidence: float, median_rule: str
                  ) -> list[TimeToEventRow]:
    """One Kaplan-Meier fit (months) per endpoint (and adverse-event type) in the order of ``tte``."""
    rows = []
    kinds = ["" if is_missing(v) else str(v) for v in tte["event_type"]]
    for endpoint, kind in dict.fromkeys(zip(tte["endpoint"].astype(str), kinds, strict=True)):
        part = tte[(tte["endpoint"] == endpoint).to_numpy() & (pd.Series(kinds, index=tte.index) == kind).to_numpy()]
        km = kaplan_meier(part["time_days"].astype(float) / DAYS_PER_MONTH, part["event"].astype(int),
                          confidence=confidence, median_rule=median_rule)  # type: ignore[arg-type]
        censored = part[part["event"] == 0]["censored_because"].value_counts(sort=False)
        key = f"{endpoint}:{kind}" if kind else endpoint
        rows.append(TimeToEventRow(key=key, endpoint=endpoint, event_type=kind or None,
                                   label=labels.get(key, labels.get(endpoint, key)), km=km,
                                   censored={str(k): int(v) for k, v in sorted(censored.items())}))
    return rows


def run(ctx: Any) -> TimeToEventResult | None:
    """The part's runner (``analysis.additional.PARTS``); None with a note when no analysed patient has a time."""
    from ipafstudy.analysis.study import AE_LABELS

    plan, cohort, spec = ctx.plan, ctx.cohort, ctx.plan.additional.time_to_event
    if cohort is None or not getattr(cohort, "analysed_ids", ()):
        ctx.notes.add("Time to event: not estimated (no analysed patient with an exposure).")
        return None
    events = cohort.adverse_events
    summary = getattr(cohort, "adverse_event_summary", None)
    order = [str(e) for e in summary["event"]] if summary is not None and len(summary) else []
    types = _event_types(spec, events, order) if spec.first_adverse_event else []
    tte, flagged = time_to_event_rows(cohort.exposures, events, cohort.analysed_ids, types)
    if not spec.discontinuation:
        tte = tte[~tte["endpoint"].isin([ENDPOINT_ANY_DISCONTINUATION, ENDPOINT_AE_DISCONTINUATION])]
    if not spec.first_adverse_event:
        tte = tte[~tte["endpoint"].isin([ENDPOINT_FIRST_AE, ENDPOINT_FIRST_AE_OF_TYPE])]
    if not len(tte):
        ctx.notes.add("Time to event: not estimated (no analysed patient has a known exposure length).")
        return None
    labels = _labels(plan.drug_label) | {
        f"{ENDPOINT_FIRST_AE_OF_TYPE}:{t}": f"First {AE_LABELS.get(t, t.replace('_', ' ')).lower()}" for t in types
    }
    rows = fit_endpoints(tte, labels, confidence=plan.statistics.confidence, median_rule=spec.median_rule)
    times = _at_risk_times(rows, spec.at_risk_every_months)
    shown = tuple(r.key for r in rows if r.endpoint in (ENDPOINT_ANY_DISCONTINUATION, ENDPOINT_FIRST_AE))
    if flagged:
        ctx.notes.add(f"Time to event: {flagged} patient(s) have an adverse event marked as leading to "
                      f"discontinuation but were still on {plan.drug_label} at the data cut-off; they are censored.")
    return TimeToEventResult(
        rows=tuple(rows), n_patients=int(tte["patient_id"].nunique()), confidence=plan.statistics.confidence,
        at_risk_months=times, at_risk={r.key: r.km.n_at_risk(times) for r in rows}, figure_keys=shown,
        data_cutoff_date=cohort.data_cutoff_date, cutoff_stated=plan.settings.data_cutoff_date is not None,
        n_flag_not_discontinued=flagged, median_rule=spec.median_rule,
    )
