"""Adverse events of the analysed cohort: recorded events plus lab-derived ones (clinical-rules.md s.7).

Rules the spec leaves open, documented here:

* Only events with onset during tacrolimus exposure (start to end of exposure, both days
  included) count; recorded rows outside it are kept apart (``Cohort.adverse_events_outside``).
* Lab-derived episodes come from ``rules.adverse_events`` (serum magnesium below
  ``hypomagnesemia_mmol_l`` with its CTCAE grade, graded on CTCAE's mg/dL boundaries when the
  laboratory reported mg/dL; KDIGO creatinine rise under
  ``renal_rule='kdigo'``), computed from measurements during exposure.
* Merging: a lab-derived episode of the same patient and event type whose onset lies within
  ``MERGE_WINDOW_DAYS`` (either side) of a recorded event's onset is the SAME event. It is
  folded into the nearest such recorded event (ties: the earlier recorded event), which keeps
  ``source='recorded'`` and gains ``lab_onset_date``/``lab_value``/``lab_grade``; its grade is
  the recorded grade, else the lab grade. Unmatched lab episodes are rows with
  ``source='lab-derived'``.
* Summary: a patient counts once per event type; percent of the analysed cohort. Every event
  type of the schema is listed, so a zero (e.g. renal insufficiency 0/48) is explicit; so is
  every event type of a lab rule the plan enables (``neutropenia``, ``alt_increased``).
* Which lab rules run is the plan's ``adverse_events.lab_rules`` (``LabRules``; default
  hypomagnesaemia and aki, the reference study's). ``aki`` also needs ``renal_rule='kdigo'``.
  Neutropenia (neutrophil count below the LLN, CTCAE grade of the nadir) and ALT increase (ALT
  above the ULN, CTCAE grade of the peak) are merged with recorded events of the same type
  like the others.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from ipafstudy.cohort._common import as_date, source_text, text_or_none
from ipafstudy.cohort.exposure import Exposure
from ipafstudy.cohort.timepoints import Observation, TimepointValue, choose_baseline
from ipafstudy.data.schema import ADVERSE_EVENTS
from ipafstudy.rules.adverse_events import (
    alt_increase_events,
    hypomagnesaemia_events,
    kdigo_aki_events,
    neutropenia_events,
)
from ipafstudy.rules.common import float_or_nan
from ipafstudy.rules.lab_rules import LabRules
from ipafstudy.settings import ClinicalSettings

MERGE_WINDOW_DAYS = 14
"""A recorded and a lab-derived episode of one event type this close in onset are one event."""

EVENT_TYPES: tuple[str, ...] = ADVERSE_EVENTS.column("event").allowed or ()

AE_COLUMNS = (
    "patient_id", "event", "onset_date", "days_from_start", "source", "grade", "grade_source", "lab_value",
    "lab_onset_date", "lab_grade", "during_treatment", "serious", "led_to_discontinuation", "led_to_dose_change",
    "outcome", "attribution", "detail", "source_ref",
)
SUMMARY_COLUMNS = ("event", "n_patients", "n_analysed", "percent", "n_events", "n_recorded", "n_lab_derived")


def _during(day: dt.date | None, exp: Exposure) -> bool:
    return day is not None and exp.start is not None and exp.start <= day and (exp.end is None or day <= exp.end)


def _int_or_none(value: object) -> int | None:
    number = float_or_nan(value)
    return None if number != number else int(number)


def recorded_events(rows: Sequence[dict[str, Any]], exp: Exposure) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        day = as_date(r.get("onset_date"))
        grade = _int_or_none(r.get("grade"))
        out.append({
            "patient_id": str(r["patient_id"]),
            "event": str(r["event"]),
            "onset_date": day,
            "days_from_start": (day - exp.start).days if day and exp.start else None,
            "source": "recorded",
            "grade": grade,
            "grade_source": "recorded" if grade is not None else None,
            "lab_value": None,
            "lab_onset_date": None,
            "lab_grade": None,
            "during_treatment": _during(day, exp),
            "serious": text_or_none(r.get("serious")),
            "led_to_discontinuation": text_or_none(r.get("led_to_discontinuation")),
            "led_to_dose_change": text_or_none(r.get("led_to_dose_change")),
            "outcome": text_or_none(r.get("outcome")),
            "attribution": text_or_none(r.get("attribution")),
            "detail": text_or_none(r.get("event_detail")),
            "source_ref": source_text(r),
        })
    return out


def lab_episode_row(pid: str, event: str, onset: dt.date, value: float | None, grade: int | None, rule: str,
                    source_ref: str, exp: Exposure) -> dict[str, Any]:
    return {
        "patient_id": pid,
        "event": event,
        "onset_date": onset,
        "days_from_start": (onset - exp.start).days if exp.start else None,
        "source": "lab-derived",
        "grade": grade,
        "grade_source": rule if grade is not None else None,
        "lab_value": value,
        "lab_onset_date": onset,
        "lab_grade": grade,
        "during_treatment": _during(onset, exp),
        "serious": None,
        "led_to_discontinuation": None,
        "led_to_dose_change": None,
        "outcome": None,
        "attribution": None,
        "detail": rule,
        "source_ref": source_ref,
    }


def merge_events(recorded: list[dict[str, Any]], lab: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fold lab episodes into recorded events of the same type within MERGE_WINDOW_DAYS."""
    merged = [dict(r) for r in recorded]
    out_lab = []
    for ep in lab:
        candidates = [
            (abs((r["onset_date"] - ep["onset_date"]).days), r["onset_date"], i)
            for i, r in enumerate(merged)
            if r["event"] == ep["event"] and r["patient_id"] == ep["patient_id"] and r["onset_date"] is not None
            and abs((r["onset_date"] - ep["onset_date"]).days) <= MERGE_WINDOW_DAYS
        ]
        if not candidates:
            out_lab.append(ep)
            continue
        _, _, i = min(candidates)
        target = merged[i]
        if target["lab_onset_date"] is None or ep["onset_date"] < target["lab_onset_date"]:
            target["lab_onset_date"] = ep["onset_date"]
        higher_worse = ep["event"] == "alt_increased"  # the worst ALT is the highest
        if ep["lab_value"] is not None and (
            target["lab_value"] is None
            or (ep["lab_value"] > target["lab_value"] if higher_worse else ep["lab_value"] < target["lab_value"])
        ):
            target["lab_value"] = ep["lab_value"]  # the worst (lowest; highest for ALT) value
        if ep["lab_grade"] is not None and (target["lab_grade"] is None or ep["lab_grade"] > target["lab_grade"]):
            target["lab_grade"] = ep["lab_grade"]
        if target["grade"] is None and target["lab_grade"] is not None:
            target["grade"] = target["lab_grade"]
            target["grade_source"] = ep["grade_source"]
        target["source_ref"] = f"{target['source_ref']}; lab: {ep['source_ref']}"
    return merged + out_lab


def summarise(events: pd.DataFrame, analysed: Sequence[str], extra_types: Sequence[str] = ()) -> pd.DataFrame:
    """n patients (%) per event type, on-treatment events of analysed patients; a patient counts once.

    ``extra_types`` (the enabled lab rules' event types) are listed after the schema's, even when zero.
    """
    n = len(analysed)
    on = events[events["patient_id"].isin(set(analysed))] if len(events) else events
    listed = list(EVENT_TYPES) + [t for t in extra_types if t not in EVENT_TYPES]
    types = listed + sorted(set(on["event"]) - set(listed)) if len(on) else listed
    rows = []
    for event in types:
        sub = on[on["event"] == event] if len(on) else on
        k = sub["patient_id"].nunique() if len(sub) else 0
        rows.append({
            "event": event,
            "n_patients": int(k),
            "n_analysed": n,
            "percent": 100.0 * k / n if n else float("nan"),
            "n_events": len(sub),
            "n_recorded": int((sub["source"] == "recorded").sum()) if len(sub) else 0,
            "n_lab_derived": int((sub["source"] == "lab-derived").sum()) if len(sub) else 0,
        })
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def adverse_event_tables(
    recorded: dict[str, list[dict[str, Any]]],
    meas: dict[str, list[dict[str, Any]]],
    exposures: dict[str, Exposure],
    analysed: Sequence[str],
    settings: ClinicalSettings,
    lab_rules: LabRules | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(on-treatment event rows, per-type summary, recorded rows outside exposure) of the analysed patients.

    ``recorded`` and ``meas`` are the adverse_events and measurements rows grouped by patient.
    """
    lab_rules = lab_rules if lab_rules is not None else LabRules()
    rows: list[dict[str, Any]] = []
    for pid in analysed:
        exp = exposures[pid]
        rec = recorded_events(recorded.get(pid, []), exp)
        lab = lab_derived_events(pid, meas.get(pid, []), exp, settings, lab_rules)
        rows += merge_events(rec, lab)
    frame = pd.DataFrame(rows, columns=list(AE_COLUMNS))
    if len(frame):
        frame = frame.sort_values(["patient_id", "onset_date", "event", "source"], kind="mergesort")
    for col in ("grade", "lab_grade", "days_from_start"):
        frame[col] = frame[col].astype("Int64")
    inside = frame["during_treatment"].astype(bool)
    on = frame[inside].reset_index(drop=True)
    return on, summarise(on, analysed, lab_rules.event_types), frame[~inside].reset_index(drop=True)


def _lab_series(rows: Sequence[dict[str, Any]], variable: str) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """date / value (canonical unit) plus the reported original_value / original_unit when the loader kept them.

    The originals let a magnesium reported in mg/dL be graded on CTCAE's mg/dL boundaries.
    """
    picked = [r for r in rows if r.get("variable") == variable and as_date(r.get("date")) is not None]
    frame = pd.DataFrame({"date": [as_date(r["date"]) for r in picked], "value": [float(r["value"]) for r in picked]})
    if picked and all("original_value" in r and "original_unit" in r for r in picked):
        frame["original_value"] = [r["original_value"] for r in picked]
        frame["original_unit"] = [r["original_unit"] for r in picked]
    return frame, picked


def _onset_ref(picked: Sequence[dict[str, Any]], day: dt.date, keep: Callable[[float], bool]) -> str:
    """Provenance of the measurement that opened a lab episode (first matching row on the onset date)."""
    for r in picked:
        if as_date(r["date"]) == day and keep(float(r["value"])):
            return source_text(r)
    return f"measurements {day.isoformat()}"


def lab_derived_events(
    pid: str, rows: Sequence[dict[str, Any]], exp: Exposure, settings: ClinicalSettings,
    lab_rules: LabRules | None = None,
) -> list[dict[str, Any]]:
    """The enabled lab rules' episodes during exposure, as event rows (default: Mg and KDIGO AKI).

    The KDIGO baseline is the creatinine value closest to start within the baseline window (the
    same rule as every other baseline).
    """
    if exp.start is None:
        return []
    enabled = (lab_rules if lab_rules is not None else LabRules()).rules
    out = []
    mg, mg_rows = _lab_series(rows, "magnesium")
    if len(mg) and "hypomagnesaemia" in enabled:
        thr = settings.hypomagnesemia_mmol_l
        for ev in hypomagnesaemia_events(mg, exp.start, exp.end, settings):
            ref = _onset_ref(mg_rows, ev.onset_date, lambda v, t=thr: v < t)
            rule = f"serum Mg < {thr:g} mmol/L; CTCAE grade of the nadir {ev.nadir:g} mmol/L"
            out.append(lab_episode_row(pid, "hypomagnesaemia", ev.onset_date, ev.nadir, ev.grade, rule, ref, exp))
    cr, cr_rows = _lab_series(rows, "creatinine")
    if len(cr) and settings.renal_rule != "none" and "aki" in enabled:
        obs = [Observation("creatinine", d, v, "") for d, v in zip(cr["date"], cr["value"], strict=True)]
        base = choose_baseline(pid, "creatinine", obs, exp.start, settings)
        baseline = base.value if isinstance(base, TimepointValue) else None
        for ev in kdigo_aki_events(cr, exp.start, exp.end, baseline, settings):
            rule = f"KDIGO AKI stage {ev.stage}: {ev.criterion}"
            ref = _onset_ref(cr_rows, ev.onset_date, lambda v: True)
            out.append(lab_episode_row(pid, "renal_insufficiency", ev.onset_date, ev.peak, None, rule, ref, exp))
    if lab_rules is not None:
        out += _ctcae_lab_events(pid, rows, exp, lab_rules)
    return out


def _ctcae_lab_events(pid: str, rows: Sequence[dict[str, Any]], exp: Exposure, lab: LabRules) -> list[dict[str, Any]]:
    """Neutropenia and ALT increase episodes (CTCAE v5.0) when the plan enables them."""
    out = []
    if "neutropenia" in lab.rules:
        anc, anc_rows = _lab_series(rows, "neutrophils")
        if len(anc):
            for ev in neutropenia_events(anc, exp.start, exp.end, lab.neutrophils_lln):
                ref = _onset_ref(anc_rows, ev.onset_date, lambda v: v < lab.neutrophils_lln)
                rule = (f"neutrophils < LLN {lab.neutrophils_lln:g} x 10^9/L; CTCAE v5.0 grade of the nadir "
                        f"{ev.worst:g} x 10^9/L")
                out.append(lab_episode_row(pid, "neutropenia", ev.onset_date, ev.worst, ev.grade, rule, ref, exp))
    if "alt_increase" in lab.rules:
        alt, alt_rows = _lab_series(rows, "alt")
        if len(alt):
            for ev in alt_increase_events(alt, exp.start, exp.end, lab.alt_uln):
                ref = _onset_ref(alt_rows, ev.onset_date, lambda v: v > lab.alt_uln)
                rule = f"ALT > ULN {lab.alt_uln:g} U/L; CTCAE v5.0 grade of the peak {ev.worst:g} U/L"
                out.append(lab_episode_row(pid, "alt_increased", ev.onset_date, ev.worst, ev.grade, rule, ref, exp))
    return out
