"""Landmark follow-up (plan ``timepoints.follow_up.rule: landmarks``): one value per outcome and landmark month.

Rules, with the choices the issue left open:

* Landmark date = exposure start + ``m`` CALENDAR months (the same day of the month; a day the month lacks becomes
  the month's last day: 2021-08-31 + 6 months = 2022-02-28), as a clinic schedules a "6-month visit" and as
  ``dateutil.relativedelta`` / R's ``lubridate::%m+%`` count.
* Candidates: values dated within ``window_days`` days of the landmark date (both ends inclusive) AND on treatment:
  after the start day up to the end of exposure (the data cut-off for ongoing treatment), as the last-on-treatment
  rule counts.
* The closest candidate wins; two dates equally far from the landmark (one before, one after): the EARLIER one
  (documented tie rule: the value nearer the start, less affected by later changes of treatment). Values of the
  same date are averaged, as for baseline.
* Each outcome is chosen on its own (``clinical.follow_up_rule`` applies to last_on_treatment only). HRCT scores use
  the usable consensus scans (complete, no open flags) in the same way; all HRCT scores of a landmark come from the
  same scan, because they share the scan's date.

Every chosen value records the rule ``closest_to_landmark``; a miss records a cause: ``no_values`` (none at all),
``outside_window`` (none within the window), ``only_after_end`` (the values in the window are after the end of
treatment), ``only_before_start`` (the values in the window are on or before the start day) or
``scan_not_usable`` (set by the caller when an unusable scan lies in the window).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence

from ipafstudy.cohort.timepoints import Observation, TimepointMiss, TimepointValue, _combine

LANDMARK_RULE = "closest_to_landmark"
#: Cause codes of a landmark miss (see the module docstring).
LANDMARK_MISS_CAUSES: tuple[str, ...] = (
    "no_values", "outside_window", "only_after_end", "only_before_start", "scan_not_usable",
)


def landmark_code(month: int) -> str:
    """Time-point code of a landmark: 6 -> 'm6' (column suffix of the analysis dataset)."""
    return f"m{month}"


def landmark_month(code: str) -> int | None:
    """'m6' -> 6; any other time point -> None."""
    if code.startswith("m") and code[1:].isdigit():
        return int(code[1:])
    return None


def add_months(start: dt.date, months: int) -> dt.date:
    """``start`` plus calendar months; a day the target month lacks becomes its last day (Aug 31 + 6 -> Feb 28/29)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def landmark_window(start: dt.date, month: int, window_days: int) -> tuple[dt.date, dt.date, dt.date]:
    """(first day, landmark date, last day) of the landmark window, before the on-treatment limits."""
    target = add_months(start, month)
    width = dt.timedelta(days=window_days)
    return target - width, target, target + width


def in_landmark_window(day: dt.date, start: dt.date, end: dt.date | None, month: int, window_days: int) -> bool:
    """The day could hold the landmark value: within the window and on treatment."""
    first, _, last = landmark_window(start, month, window_days)
    return first <= day <= last and day > start and (end is None or day <= end)


def choose_landmark(
    pid: str,
    outcome: str,
    obs: Sequence[Observation],
    start: dt.date,
    end: dt.date | None,
    month: int,
    window_days: int,
    *,
    scans: bool = False,
) -> TimepointValue | TimepointMiss:
    """The value closest to start + ``month`` calendar months within +/- ``window_days``, on treatment."""
    tp = landmark_code(month)
    first, target, last = landmark_window(start, month, window_days)
    inside = [o for o in obs if in_landmark_window(o.date, start, end, month, window_days)]
    if inside:
        day = min({o.date for o in inside}, key=lambda d: (abs((d - target).days), d))  # tie: the earlier date
        return _combine(pid, outcome, tp, [o for o in inside if o.date == day], start, LANDMARK_RULE)
    what = "usable HRCT scan" if scans else f"{outcome} value"
    until = end.isoformat() if end else "the data cut-off"
    reason = (f"no {what} within {window_days} days of the {month}-month landmark {target.isoformat()} on treatment "
              f"(window {first.isoformat()} to {last.isoformat()}, window_days={window_days}; on treatment after "
              f"{start.isoformat()} up to {until})")
    in_window = [o for o in obs if first <= o.date <= last]
    if not obs:
        cause = "no_values"
    elif not in_window:
        cause = "outside_window"
        near = min(obs, key=lambda o: (abs((o.date - target).days), o.date))
        reason += f"; nearest value on {near.date.isoformat()} ({(near.date - target).days:+d} days from the landmark)"
    elif all(o.date <= start for o in in_window):
        cause = "only_before_start"
    else:
        cause = "only_after_end"
    return TimepointMiss(pid, outcome, tp, reason, LANDMARK_RULE, cause)


def patient_landmarks(
    pid: str,
    observations: dict[str, list[Observation]],
    start: dt.date,
    end: dt.date | None,
    outcomes: Sequence[str],
    months: Sequence[int],
    window_days: int,
    *,
    scan_outcomes: Sequence[str] = (),
    hrct_note: str = "",
    unusable_scan_dates: Sequence[dt.date] = (),
) -> tuple[list[TimepointValue], list[TimepointMiss]]:
    """Every outcome at every landmark for one patient (outcome order, then landmark order).

    ``scan_outcomes`` are read from HRCT scans: their misses get ``hrct_note`` appended, and the cause
    ``scan_not_usable`` when one of ``unusable_scan_dates`` lies in the landmark window on treatment.
    """
    values: list[TimepointValue] = []
    misses: list[TimepointMiss] = []
    for outcome in outcomes:
        scans = outcome in scan_outcomes
        for month in months:
            result = choose_landmark(pid, outcome, observations.get(outcome, []), start, end, month, window_days,
                                     scans=scans)
            if isinstance(result, TimepointValue):
                values.append(result)
                continue
            if scans:
                cause = result.cause
                if any(in_landmark_window(d, start, end, month, window_days) for d in unusable_scan_dates):
                    cause = "scan_not_usable"
                result = TimepointMiss(result.patient_id, result.outcome, result.timepoint,
                                       result.reason + hrct_note, result.rule, cause)
            misses.append(result)
    return values, misses


def any_landmark_miss(
    misses: Sequence[TimepointMiss], values: Sequence[TimepointValue], outcome: str, months: Sequence[int]
) -> tuple[str, str] | None:
    """(reason, cause) when ``outcome`` has no value at ANY landmark (the flow's "no follow-up" step), else None.

    The cause is the landmarks' common cause, or ``no_landmark_value`` when they differ.
    """
    if any(v.outcome == outcome and landmark_month(v.timepoint) in months for v in values):
        return None
    own = [m for m in misses if m.outcome == outcome and landmark_month(m.timepoint) in months]
    if not own:
        return None
    causes = {m.cause for m in own}
    cause = causes.pop() if len(causes) == 1 else "no_landmark_value"
    return "no value at any landmark: " + "; ".join(m.reason for m in own), cause
