"""Baseline and last follow-up per patient and outcome (clinical-rules.md s.5).

Rules, with the choices the spec leaves open:

* Baseline: the value closest to the tacrolimus start within ``[start - baseline_window_days,
  start]``; with ``baseline_includes_start_day=False`` the window ends the day before start.
  The window only reaches backwards, so two candidates can only tie on distance when they
  share a date; same-day values are AVERAGED (the source lists every row). The mean does not
  depend on the order of rows in a file, which a "first row wins" rule would.
* Follow-up window: after the start day, up to the end of exposure (which is the data cut-off
  for ongoing treatment), both ends inclusive of the end day.
* Any measurement variable of the catalogue (built-in or declared in the plan) can be an outcome;
  every outcome that is not an HRCT score is read from the measurements table by its code.
* ``latest_complete_visit`` (default): the latest date in the follow-up window at which every
  measurement outcome of the same PANEL has a value; all of them are taken from that date.
  A panel is a set of measures recorded together (``MeasurementVariable.panel``): the reference
  study's clinic-visit measures (mMRC, ESR, CRP, steroid dose) form one, a lung function session
  (FVC, FEV1, DLCO, TLC) another; every other variable is a panel of its own. So adding FVC to
  the plan never moves the follow-up of mMRC/ESR/CRP (PFTs are often done on another day than
  the clinic visit), and an outcome alone in its panel gets its own latest value, recorded as
  ``latest_per_measure``. If no complete date exists, each measure of the panel has no follow-up
  (reason given). ``latest_per_measure``: each measurement outcome's own latest value in the window.
* HRCT outcomes come from consensus scans: only complete scans without open adjudication
  flags are used. Baseline = the closest such scan in the window, follow-up = the latest such
  scan in the follow-up window (``follow_up_rule`` does not apply to scans). All HRCT outcomes
  of a time point come from the same scan.

Every chosen value and every miss records the RULE that was applied (``BASELINE_RULE``,
``latest_usable_scan``, ``latest_complete_visit``, ``latest_per_measure``) and every miss a
CAUSE code (``MISS_CAUSES``), so the report words what was actually done per outcome instead of
repeating the setting's name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from ipafstudy.cohort._common import as_date, source_text
from ipafstudy.errors import InvalidOptionError
from ipafstudy.rules.codes import HRCT_OUTCOMES, TIMEPOINTS
from ipafstudy.rules.units import BUILTIN_VARIABLES, VariableCatalogue
from ipafstudy.settings import ClinicalSettings

#: Rule codes recorded with each chosen value or miss.
BASELINE_RULE = "closest_before_start"
SCAN_FOLLOW_UP_RULE = "latest_usable_scan"
#: Cause codes of a miss. Both time points: ``no_values`` (none at all); ``scan_not_usable`` (an HRCT scan in
#: the window was left out: incomplete consensus or open adjudication flags). Baseline: ``only_before_window``
#: (the nearest earlier value is older than the window), ``none_before_start`` (values only after it).
#: Follow-up: ``only_before_start`` (every value on or before the start day), ``only_after_end`` (later values
#: only after the end of treatment), ``no_complete_visit`` (no date shared by all measures).
MISS_CAUSES: tuple[str, ...] = (
    "no_values", "scan_not_usable", "only_before_window", "none_before_start", "only_before_start",
    "only_after_end", "no_complete_visit",
)


def visit_panels(outcomes: Sequence[str], catalogue: VariableCatalogue | None = None) -> dict[str, tuple[str, ...]]:
    """panel -> the measurement outcomes recorded in it, in outcome order (HRCT scores are not in any panel)."""
    cat = catalogue or BUILTIN_VARIABLES
    panels: dict[str, list[str]] = {}
    for o in outcomes:
        if o not in HRCT_OUTCOMES:
            panels.setdefault(cat.visit_panel(o), []).append(o)
    return {k: tuple(v) for k, v in panels.items()}


def follow_up_rule_for(
    outcome: str, settings: ClinicalSettings, panel_members: Sequence[str] = ("", "")
) -> str:
    """The follow-up rule applied to ``outcome``: scans always use the latest usable scan; a measure alone in its
    panel (``panel_members``: the plan's outcomes of its panel) gets its own latest value."""
    if outcome in HRCT_OUTCOMES:
        return SCAN_FOLLOW_UP_RULE
    if settings.follow_up_rule == "latest_complete_visit" and len(panel_members) < 2:
        return "latest_per_measure"
    return settings.follow_up_rule


def timepoint_rules(
    outcomes: Sequence[str], settings: ClinicalSettings, catalogue: VariableCatalogue | None = None
) -> dict[str, dict[str, str]]:
    """outcome -> {"baseline": rule, "follow_up": rule}: what :func:`patient_timepoints` applies."""
    members = {o: panel for panel in visit_panels(outcomes, catalogue).values() for o in panel}
    return {o: {"baseline": BASELINE_RULE, "follow_up": follow_up_rule_for(o, settings, members.get(o, ()))}
            for o in outcomes}


@dataclass(frozen=True)
class Observation:
    """One dated value of an outcome, with where it came from."""

    outcome: str
    date: dt.date
    value: float
    source: str


@dataclass(frozen=True)
class TimepointValue:
    """The value chosen for a patient, outcome and time point."""

    patient_id: str
    outcome: str
    timepoint: str
    value: float
    date: dt.date
    days_from_start: int
    source: str
    rule: str = ""


@dataclass(frozen=True)
class TimepointMiss:
    """No value could be chosen: why."""

    patient_id: str
    outcome: str
    timepoint: str
    reason: str
    rule: str = ""
    cause: str = ""


def _follow_up_cause(obs: Sequence[Observation], start: dt.date) -> str:
    """Why no follow-up value (none in the window): none at all, all on or before the start, or later ones only
    after the end of treatment."""
    if not obs:
        return "no_values"
    return "only_before_start" if all(o.date <= start for o in obs) else "only_after_end"


def outcome_code_choices(catalogue: VariableCatalogue | None = None) -> tuple[str, ...]:
    """Every code an outcome may have: the HRCT scores, then the catalogue's measurement variables (sorted)."""
    return (*HRCT_OUTCOMES, *sorted((catalogue or BUILTIN_VARIABLES).variables))


def check_outcomes(
    outcomes: Sequence[str], primary_outcome: str, catalogue: VariableCatalogue | None = None
) -> tuple[str, ...]:
    """Validate the analysis set (HRCT scores or measurement variables); the primary outcome must be one of them."""
    out = tuple(outcomes)
    known = outcome_code_choices(catalogue)
    unknown = [o for o in out if o not in known]
    if unknown:
        raise InvalidOptionError(f"unknown outcome(s) {unknown}; known outcomes are {list(known)} (declare other "
                                 "measurement variables under the analysis plan's variables)")
    if len(set(out)) != len(out):
        raise InvalidOptionError(f"outcomes {list(out)} list an outcome twice")
    if not out:
        raise InvalidOptionError("the outcome list is empty; give at least the primary outcome")
    if primary_outcome not in out:
        raise InvalidOptionError(f"primary_outcome={primary_outcome!r} is not in outcomes {list(out)}")
    return out


def measurement_observations(
    rows_by_patient: dict[str, list[dict[str, object]]], outcomes: Iterable[str]
) -> dict[str, dict[str, list[Observation]]]:
    """patient -> outcome -> observations, from measurement rows grouped by patient (canonical units).

    Every outcome that is not an HRCT score is a measurement variable read by its code."""
    wanted = {o for o in outcomes if o not in HRCT_OUTCOMES}
    out: dict[str, dict[str, list[Observation]]] = {}
    for pid, rows in rows_by_patient.items():
        for row in rows:
            var = str(row.get("variable"))
            day = as_date(row.get("date"))
            value = row.get("value")
            if var not in wanted or day is None or value is None or pd.isna(value):  # type: ignore[arg-type]
                continue
            obs = Observation(var, day, float(value), source_text(row))  # type: ignore[arg-type]
            out.setdefault(pid, {}).setdefault(var, []).append(obs)
    return out


def scan_observations(
    scans: pd.DataFrame, outcomes: Iterable[str]
) -> dict[str, dict[str, list[Observation]]]:
    """patient -> HRCT outcome -> observations from usable consensus scans (caller filters them)."""
    wanted = [o for o in outcomes if o in HRCT_OUTCOMES]
    out: dict[str, dict[str, list[Observation]]] = {}
    if scans is None or len(scans) == 0:
        return out
    for row in scans.to_dict("records"):
        pid = str(row["patient_id"])
        day = as_date(row["scan_date"])
        if day is None:
            continue
        for outcome in wanted:
            value = row.get(HRCT_OUTCOMES[outcome])
            if value is None or pd.isna(value):  # type: ignore[arg-type]
                continue
            src = f"HRCT consensus scan {day.isoformat()}"
            out.setdefault(pid, {}).setdefault(outcome, []).append(Observation(outcome, day, float(value), src))  # type: ignore[arg-type]
    return out


def _on_day(obs: Sequence[Observation], day: dt.date) -> list[Observation]:
    return [o for o in obs if o.date == day]


def _combine(
    pid: str, outcome: str, timepoint: str, same_day: list[Observation], start: dt.date, rule: str
) -> TimepointValue:
    """One value from the observations of one date: their mean when there are several."""
    day = same_day[0].date
    if len(same_day) == 1:
        value = same_day[0].value
        source = same_day[0].source
    else:
        ordered = sorted(same_day, key=lambda o: o.source)
        value = sum(o.value for o in ordered) / len(ordered)
        source = f"mean of {len(ordered)} same-day values: " + "; ".join(o.source for o in ordered)
    return TimepointValue(pid, outcome, timepoint, value, day, (day - start).days, source, rule)


def baseline_window(start: dt.date, settings: ClinicalSettings) -> tuple[dt.date, dt.date]:
    """First and last day (inclusive) a baseline value may come from."""
    first = start - dt.timedelta(days=settings.baseline_window_days)
    last = start if settings.baseline_includes_start_day else start - dt.timedelta(days=1)
    return first, last


def choose_baseline(
    pid: str, outcome: str, obs: Sequence[Observation], start: dt.date, settings: ClinicalSettings
) -> TimepointValue | TimepointMiss:
    """Closest value to start within the baseline window (same-day values averaged)."""
    first, last = baseline_window(start, settings)
    inside = [o for o in obs if first <= o.date <= last]
    if inside:
        day = max(o.date for o in inside)  # closest to start: the window ends at start
        return _combine(pid, outcome, "baseline", _on_day(inside, day), start, BASELINE_RULE)
    day_note = "start day included" if settings.baseline_includes_start_day else "start day excluded"
    reason = (
        f"no {outcome} value in the baseline window {first.isoformat()} to {last.isoformat()} "
        f"(baseline_window_days={settings.baseline_window_days}, {day_note})"
    )
    before = [o for o in obs if o.date < first]
    if before:
        near = max(o.date for o in before)
        reason += f"; nearest earlier value on {near.isoformat()} ({(near - start).days} days)"
    cause = "no_values" if not obs else ("only_before_window" if before else "none_before_start")
    return TimepointMiss(pid, outcome, "baseline", reason, BASELINE_RULE, cause)


def _follow_up_window_text(start: dt.date, end: dt.date | None) -> str:
    return f"after {start.isoformat()} up to {end.isoformat() if end else 'the data cut-off'}"


def latest_in_window(
    pid: str, outcome: str, obs: Sequence[Observation], start: dt.date, end: dt.date | None,
    rule: str = "latest_per_measure",
) -> TimepointValue | TimepointMiss:
    """Each measure's own latest value (or the latest usable scan) after start up to end of exposure."""
    inside = [o for o in obs if o.date > start and (end is None or o.date <= end)]
    if not inside:
        what = "usable HRCT scan" if rule == SCAN_FOLLOW_UP_RULE else f"{outcome} value"
        reason = f"no {what} {_follow_up_window_text(start, end)} (during treatment)"
        cause = _follow_up_cause(obs, start)
        if obs:
            dates = sorted({o.date.isoformat() for o in obs})
            reason += f"; {'scans' if rule == SCAN_FOLLOW_UP_RULE else 'values'} on {', '.join(dates)}"
        return TimepointMiss(pid, outcome, "follow_up", reason, rule, cause)
    day = max(o.date for o in inside)
    return _combine(pid, outcome, "follow_up", _on_day(inside, day), start, rule)


def patient_timepoints(
    pid: str,
    observations: dict[str, list[Observation]],
    start: dt.date,
    end: dt.date | None,
    outcomes: Sequence[str],
    settings: ClinicalSettings,
    *,
    hrct_note: str = "",
    unusable_scan_dates: Sequence[dt.date] = (),
    catalogue: VariableCatalogue | None = None,
) -> tuple[list[TimepointValue], list[TimepointMiss]]:
    """Baseline and follow-up of every outcome for one patient.

    ``catalogue`` gives each measurement outcome's panel (default: the built-in catalogue).

    ``hrct_note`` is appended to HRCT misses (e.g. the scans excluded for open flags); a miss whose
    window holds one of ``unusable_scan_dates`` gets the cause ``scan_not_usable``.
    """
    values: list[TimepointValue] = []
    misses: list[TimepointMiss] = []
    first, last = baseline_window(start, settings)

    def in_window(day: dt.date, timepoint: str) -> bool:
        if timepoint == "baseline":
            return first <= day <= last
        return day > start and (end is None or day <= end)

    def keep(result: TimepointValue | TimepointMiss) -> None:
        if isinstance(result, TimepointValue):
            values.append(result)
        else:
            if result.outcome in HRCT_OUTCOMES:
                cause = result.cause
                if any(in_window(d, result.timepoint) for d in unusable_scan_dates):
                    cause = "scan_not_usable"
                result = TimepointMiss(result.patient_id, result.outcome, result.timepoint, result.reason + hrct_note,
                                       result.rule, cause)
            misses.append(result)

    for outcome in outcomes:
        keep(choose_baseline(pid, outcome, observations.get(outcome, []), start, settings))

    panels = visit_panels(outcomes, catalogue)
    members = {o: panel for panel in panels.values() for o in panel}
    for outcome in outcomes:
        rule = follow_up_rule_for(outcome, settings, members.get(outcome, ()))
        if rule in (SCAN_FOLLOW_UP_RULE, "latest_per_measure"):
            keep(latest_in_window(pid, outcome, observations.get(outcome, []), start, end, rule))
    if settings.follow_up_rule == "latest_complete_visit":
        for measures in panels.values():
            if len(measures) > 1:
                for result in latest_complete_visit(pid, observations, measures, start, end):
                    keep(result)
    order = {o: i for i, o in enumerate(outcomes)}
    values.sort(key=lambda v: (order[v.outcome], TIMEPOINTS.index(v.timepoint)))
    misses.sort(key=lambda m: (order[m.outcome], TIMEPOINTS.index(m.timepoint)))
    return values, misses


def latest_complete_visit(
    pid: str,
    observations: dict[str, list[Observation]],
    measures: Sequence[str],
    start: dt.date,
    end: dt.date | None,
) -> list[TimepointValue | TimepointMiss]:
    """Latest date in the follow-up window at which every measure in ``measures`` is present."""
    in_window = {
        m: [o for o in observations.get(m, []) if o.date > start and (end is None or o.date <= end)] for m in measures
    }
    dates = [{o.date for o in in_window[m]} for m in measures]
    common = set.intersection(*dates) if dates else set()
    if common:
        day = max(common)
        return [_combine(pid, m, "follow_up", _on_day(in_window[m], day), start, "latest_complete_visit")
                for m in measures]
    out: list[TimepointValue | TimepointMiss] = []
    window = _follow_up_window_text(start, end)
    for m in measures:
        if in_window[m]:
            reason = (
                f"no complete follow-up visit {window}: no date with all of {', '.join(measures)} present "
                f"(follow_up_rule=latest_complete_visit; {m} was measured on "
                f"{', '.join(sorted({o.date.isoformat() for o in in_window[m]}))})"
            )
            cause = "no_complete_visit"
        else:
            reason = f"no {m} value {window} (during treatment)"
            cause = _follow_up_cause(observations.get(m, []), start)
        out.append(TimepointMiss(pid, m, "follow_up", reason, "latest_complete_visit", cause))
    return out
