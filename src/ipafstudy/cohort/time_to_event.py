"""Exposure time and time-to-event rows of the analysed patients (issue 12 items 2 and 3).

Rules (documented here and in docs/cohort.md; the spec is silent on them):

* Time is counted in days on the drug with the start day as day 1, the way ``exposure_days`` counts
  (first and last day included). A patient's exposure time is ``exposure_days``: from the exposure start
  to its end, or to the data cut-off when the drug was still taken then. Later courses after a gap
  (re-challenges, not part of the exposure) are not counted.
* Discontinuation (any reason): the exposure ended before the data cut-off (``Exposure.ongoing`` false);
  the event time is the last day on the drug (``exposure_days``). A patient still on the drug at the
  cut-off is censored there.
* Discontinuation for an adverse event: a discontinuation where an on-treatment adverse-event episode has
  ``led_to_discontinuation = yes``. Other discontinuations are censored on their last day on the drug
  (cause-specific: 1 - KM is then not a cumulative incidence when other reasons compete; stated in
  the methods). A ``led_to_discontinuation = yes`` episode of a patient still on the drug at the cut-off
  cannot be an event; it is counted in ``ae_flag_not_discontinued``.
* First adverse event (any, and of each type): the first on-treatment episode (recorded or lab-derived,
  the rows of Table 6); the time is its onset day (``days_from_start + 1``). Patients without one are
  censored at the end of exposure (the window in which events are counted), at the cut-off if ongoing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from ipafstudy.cohort.exposure import Exposure
from ipafstudy.rules.common import as_tristate

DAYS_PER_YEAR = 365.25
EXPOSURE_COLUMNS = ("patient_id", "start", "end", "ongoing", "exposure_days", "patient_years")
TTE_COLUMNS = ("patient_id", "endpoint", "event_type", "time_days", "event", "censored_because")
ENDPOINT_ANY_DISCONTINUATION = "discontinuation"
ENDPOINT_AE_DISCONTINUATION = "discontinuation_ae"
ENDPOINT_FIRST_AE = "first_ae"
ENDPOINT_FIRST_AE_OF_TYPE = "first_ae_type"


def exposure_rows(exposures: Mapping[str, Exposure], analysed: Sequence[str]) -> pd.DataFrame:
    """One row per analysed patient: start, end (or cut-off), ongoing, exposure_days and patient-years."""
    rows = []
    for pid in analysed:
        exp = exposures[pid]
        days = exp.exposure_days
        rows.append({
            "patient_id": pid, "start": exp.start, "end": exp.end, "ongoing": bool(exp.ongoing),
            "exposure_days": days, "patient_years": days / DAYS_PER_YEAR if days is not None else None,
        })
    return pd.DataFrame(rows, columns=list(EXPOSURE_COLUMNS))


def _end_reason(exp: Exposure) -> str:
    return "on the drug at the data cut-off" if exp.ongoing else "end of exposure"


def time_to_event_rows(
    exposures: Mapping[str, Exposure], events: pd.DataFrame, analysed: Sequence[str], event_types: Sequence[str] = ()
) -> tuple[pd.DataFrame, int]:
    """(one row per analysed patient and endpoint, n patients with an AE discontinuation flag but no discontinuation).

    ``events`` are the on-treatment adverse-event rows (``Cohort.adverse_events``); ``event_types`` the types
    for which a first-event row is made (every analysed patient gets one per type). Patients without an
    exposure length (no cut-off and an ongoing course) are left out.
    """
    on = events[events["patient_id"].isin(set(analysed))] if len(events) else events
    rows: list[dict[str, object]] = []
    flag_not_stopped = 0
    for pid in analysed:
        exp = exposures[pid]
        if exp.exposure_days is None or exp.start is None:
            continue
        end_day, stopped = int(exp.exposure_days), not exp.ongoing
        mine = on[on["patient_id"] == pid] if len(on) else on
        flagged = bool(len(mine)) and bool(
            mine["led_to_discontinuation"].map(lambda v: as_tristate(v, field="led_to_discontinuation") is True).any()
        )
        flag_not_stopped += flagged and not stopped
        reason = None if stopped else _end_reason(exp)
        rows.append({"patient_id": pid, "endpoint": ENDPOINT_ANY_DISCONTINUATION, "event_type": None,
                     "time_days": end_day, "event": int(stopped), "censored_because": reason})
        ae_stop = stopped and flagged
        rows.append({"patient_id": pid, "endpoint": ENDPOINT_AE_DISCONTINUATION, "event_type": None,
                     "time_days": end_day, "event": int(ae_stop),
                     "censored_because": None if ae_stop else ("discontinued for another reason" if stopped
                                                               else _end_reason(exp))})
        for endpoint, kind in [(ENDPOINT_FIRST_AE, None)] + [(ENDPOINT_FIRST_AE_OF_TYPE, t) for t in event_types]:
            sub = mine if kind is None or not len(mine) else mine[mine["event"].astype(str) == kind]
            days = [int(d) for d in sub["days_from_start"].dropna()] if len(sub) else []
            if days:
                rows.append({"patient_id": pid, "endpoint": endpoint, "event_type": kind, "time_days": min(days) + 1,
                             "event": 1, "censored_because": None})
            else:
                rows.append({"patient_id": pid, "endpoint": endpoint, "event_type": kind, "time_days": end_day,
                             "event": 0, "censored_because": _end_reason(exp)})
    frame = pd.DataFrame(rows, columns=list(TTE_COLUMNS))
    return frame, int(flag_not_stopped)
