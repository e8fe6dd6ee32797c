"""Lab-derived adverse events (clinical-rules.md s.7): hypomagnesaemia (CTCAE), acute kidney injury (KDIGO),
and (issue 11 item 7) neutrophil count decreased and ALT increased (CTCAE v5.0).

Inputs are small frames with a ``date`` column (datetime.date, pandas Timestamp or ISO text)
and a ``value`` column in the canonical unit (magnesium mmol/L, creatinine umol/L, neutrophils
10^9/L, ALT U/L; convert with rules.units first). The exposure window is inclusive at both ends;
``end=None`` means open-ended. Which rules run is the plan's choice (``LabRules``).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, NamedTuple

import pandas as pd

from ipafstudy.rules.common import RuleInputError, float_or_nan
from ipafstudy.rules.units import normalise_unit
from ipafstudy.settings import ClinicalSettings
from ipafstudy.values import is_missing

# CTCAE v4.03 / v5.0 hypomagnesaemia, mmol/L. Each grade's range includes its LOWER bound:
# grade 1 "<LLN - 0.5" = [0.5, LLN); grade 2 "<0.5 - 0.4" = [0.4, 0.5); grade 3 "<0.4 - 0.3" = [0.3, 0.4);
# grade 4 "<0.3". A value equal to the LLN is normal (grade 0).
CTCAE_MG_GRADE_FLOORS: tuple[tuple[float, int], ...] = ((0.5, 1), (0.4, 2), (0.3, 3))
# The same grades as CTCAE prints them in mg/dL (1.2, 0.9, 0.7). These are ROUNDED equivalents
# (0.5 mmol/L = 1.215 mg/dL), so a value reported in mg/dL is graded against them, not converted first.
CTCAE_MG_GRADE_FLOORS_MG_DL: tuple[tuple[float, int], ...] = ((1.2, 1), (0.9, 2), (0.7, 3))
MG_MG_DL_PER_MMOL_L = 2.43  # clinical-rules.md s.6
_CTCAE_UNITS = {"mmol/l": ("mmol/L", CTCAE_MG_GRADE_FLOORS, 1.0),
                "mg/dl": ("mg/dL", CTCAE_MG_GRADE_FLOORS_MG_DL, MG_MG_DL_PER_MMOL_L)}

# KDIGO 2012 AKI definition.
KDIGO_ABSOLUTE_RISE_UMOL_L = 26.5  # >= 0.3 mg/dL
KDIGO_ABSOLUTE_WINDOW = dt.timedelta(hours=48)
KDIGO_RELATIVE_RISE = 1.5  # >= 1.5 x baseline
KDIGO_RELATIVE_WINDOW = dt.timedelta(days=7)
KDIGO_STAGE3_UMOL_L = 353.6  # >= 4.0 mg/dL
# Rises and ratios are compared after rounding to 9 decimals: values written with one decimal or
# converted from mg/dL are not exact in binary, and 86.6 - 60.1 (26.5 in decimal) or
# (1.2 x 88.4) / (0.8 x 88.4) (1.5 in decimal) must meet the inclusive KDIGO thresholds.
_COMPARE_DECIMALS = 9


class MagnesiumEvent(NamedTuple):
    """One hypomagnesaemia episode: first low value's date, lowest value (mmol/L), CTCAE grade of the nadir."""

    onset_date: dt.date
    nadir: float
    grade: int


class AkiEvent(NamedTuple):
    """One AKI episode: first qualifying date, peak creatinine (umol/L), KDIGO stage 1-3, criterion met."""

    onset_date: dt.date
    peak: float
    stage: int
    criterion: str


def ctcae_hypomagnesaemia_grade(mg: float, lower_limit_normal: float = 0.70, unit: str = "mmol/L") -> int:
    """CTCAE grade (0-4) of a serum magnesium; 0 when the value is at or above the LLN.

    ``unit`` is the unit the laboratory reported (``mmol/L`` or ``mg/dL``) and picks CTCAE's
    boundaries in that unit: 0.5 / 0.4 / 0.3 mmol/L or 1.2 / 0.9 / 0.7 mg/dL (each CTCAE range
    "<upper - lower" includes its lower bound; below the last is grade 4). ``lower_limit_normal``
    is always in mmol/L (the setting's unit) and is converted (x 2.43) for mg/dL. Convert mEq/L
    to mmol/L first (exact: / 2). Grade 5 (death) cannot come from a lab value.

    >>> [ctcae_hypomagnesaemia_grade(v) for v in (0.70, 0.69, 0.5, 0.49, 0.4, 0.3, 0.29)]
    [0, 1, 1, 2, 2, 3, 4]
    >>> [ctcae_hypomagnesaemia_grade(v, unit="mg/dL") for v in (1.71, 1.2, 1.19, 0.9, 0.7, 0.69)]
    [0, 1, 2, 2, 3, 4]
    """
    key = normalise_unit(unit)
    if key not in _CTCAE_UNITS:
        raise RuleInputError(
            f"magnesium unit {unit!r} has no CTCAE boundaries; use mmol/L or mg/dL (convert mEq/L to mmol/L: / 2)"
        )
    shown, floors, factor = _CTCAE_UNITS[key]
    value = _number(mg, f"magnesium ({shown})")
    lln = _number(lower_limit_normal, "magnesium lower limit of normal (mmol/L)")
    if value < 0:
        raise RuleInputError(f"magnesium {mg!r} {shown} is negative")
    if lln <= 0:
        raise RuleInputError(f"magnesium lower limit of normal {lower_limit_normal!r} must be positive")
    if value >= lln * factor:
        return 0
    for floor, grade in floors:
        if value >= floor:
            return grade
    return 4


def _number(value: Any, what: str) -> float:
    number = float_or_nan(value)
    if isinstance(value, bool) or math.isnan(number):
        raise RuleInputError(f"{what}: {value!r} is not a number")
    return number


def _as_timestamp(value: Any, what: str) -> pd.Timestamp:
    if is_missing(value):
        raise RuleInputError(f"{what} is missing")
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise RuleInputError(f"{what} {value!r} is not a date") from exc
    if ts is pd.NaT:
        raise RuleInputError(f"{what} is missing")
    return ts


def _series(values: pd.DataFrame, what: str, *, with_rows: bool = False) -> list[Any]:
    """(timestamp, value) pairs sorted by time then value, after checking every row.

    With ``with_rows`` each pair also carries its row position (for the row's other columns).
    """
    missing = [c for c in ("date", "value") if c not in values.columns]
    if missing:
        raise RuleInputError(f"{what} values need columns 'date' and 'value'; missing {missing}")
    out = []
    for pos, (index, date, value) in enumerate(zip(values.index, values["date"], values["value"], strict=True)):
        ts = _as_timestamp(date, f"{what} row {index!r}: date")
        number = _number(value, f"{what} row {index!r}: value")
        if number < 0:
            raise RuleInputError(f"{what} row {index!r}: value {value!r} is negative")
        out.append((ts, number, pos) if with_rows else (ts, number))
    return sorted(out)


def _window(start: Any, end: Any) -> tuple[pd.Timestamp, pd.Timestamp | None]:
    lo = _as_timestamp(start, "exposure start")
    hi = None if is_missing(end) else _as_timestamp(end, "exposure end")
    if hi is not None and hi < lo:
        raise RuleInputError(f"exposure end {end} is before its start {start}")
    return lo, hi


def _inside(ts: pd.Timestamp, lo: pd.Timestamp, hi: pd.Timestamp | None) -> bool:
    # dates compare by calendar day so a timestamp on the end day still counts
    day = ts.normalize()
    return lo.normalize() <= day and (hi is None or day <= hi.normalize())


def hypomagnesaemia_events(
    values: pd.DataFrame, start: Any, end: Any, settings: ClinicalSettings
) -> list[MagnesiumEvent]:
    """Hypomagnesaemia episodes during exposure: serum Mg below ``settings.hypomagnesemia_mmol_l``.

    Only values dated within [start, end] count. Consecutive low values (no normal value between
    them) form ONE episode: onset = date of its first low value, nadir = its lowest value (mmol/L),
    grade = CTCAE grade of the nadir with the setting's threshold as the lower limit of normal.
    Optional columns ``original_value`` / ``original_unit`` (as the data layer keeps them): a
    nadir reported in mg/dL is graded on CTCAE's mg/dL boundaries (see ctcae_hypomagnesaemia_grade).
    """
    threshold = settings.hypomagnesemia_mmol_l
    lo, hi = _window(start, end)
    reported = _reported(values)
    events: list[MagnesiumEvent] = []
    run: list[tuple[pd.Timestamp, float, int]] = []
    for ts, value, row in _series(values, "magnesium", with_rows=True):
        if not _inside(ts, lo, hi):
            continue
        if value < threshold:
            run.append((ts, value, row))
            continue
        if run:
            events.append(_mg_event(run, threshold, reported))
            run = []
    if run:
        events.append(_mg_event(run, threshold, reported))
    return events


def _reported(values: pd.DataFrame) -> list[tuple[Any, Any]] | None:
    """(original_value, original_unit) per row when both columns are there, else None."""
    if "original_value" not in values.columns or "original_unit" not in values.columns:
        return None
    return list(zip(values["original_value"], values["original_unit"], strict=True))


def _mg_event(
    run: list[tuple[pd.Timestamp, float, int]], threshold: float, reported: list[tuple[Any, Any]] | None
) -> MagnesiumEvent:
    ts0 = run[0][0]
    _, nadir, row = min(run, key=lambda r: (r[1], r[0]))
    grade = ctcae_hypomagnesaemia_grade(nadir, threshold)
    if reported is not None:
        raw_value, raw_unit = reported[row]
        if not is_missing(raw_value) and not is_missing(raw_unit) and normalise_unit(raw_unit) == "mg/dl":
            grade = ctcae_hypomagnesaemia_grade(raw_value, threshold, unit="mg/dL")
    return MagnesiumEvent(ts0.date(), nadir, grade)


def kdigo_aki_events(
    creatinine: pd.DataFrame,
    start: Any,
    end: Any,
    baseline_umol_l: float | None,
    settings: ClinicalSettings | None = None,
) -> list[AkiEvent]:
    """Acute kidney injury episodes during exposure by the KDIGO 2012 creatinine criteria.

    A creatinine value dated within [start, end] qualifies when
    (a) it is >= 26.5 umol/L above an EARLIER value taken at most 48 h before it (values with the
        same timestamp cannot be ordered and are not compared; with dates only, 48 h = 2 days), or
    (b) it is >= 1.5 x the reference, where the reference is the LOWEST value in the 7 days
        before it (earlier values, including ones before the start); when there is none, the
        reference is ``baseline_umol_l`` (the treatment baseline value); with neither, (b) cannot
        be tested for that value.
    Earlier values may lie before the start. Consecutive qualifying values form one episode
    (onset = first, peak = highest). Stage: 3 if the ratio >= 3.0 or the value >= 353.6 umol/L,
    2 if the ratio >= 2.0, else 1. Rises and ratios are rounded to 9 decimals before comparing,
    so thresholds met in decimal (86.6 - 60.1 = 26.5) are met here. ``settings.renal_rule == "none"``
    returns no events.
    """
    settings = settings if settings is not None else ClinicalSettings()
    if settings.renal_rule == "none":
        return []
    if baseline_umol_l is not None and not is_missing(baseline_umol_l):
        baseline = _number(baseline_umol_l, "creatinine baseline (umol/L)")
        if baseline <= 0:
            raise RuleInputError(f"creatinine baseline {baseline_umol_l!r} umol/L must be positive")
    else:
        baseline = None
    lo, hi = _window(start, end)
    series = _series(creatinine, "creatinine")
    events: list[AkiEvent] = []
    run: list[tuple[pd.Timestamp, float, int, str]] = []
    for j, (ts, value) in enumerate(series):
        if not _inside(ts, lo, hi):
            continue
        earlier = [(t, v) for t, v in series[:j] if t < ts]
        criteria, stage = [], 0
        if any(ts - t <= KDIGO_ABSOLUTE_WINDOW
               and round(value - v, _COMPARE_DECIMALS) >= KDIGO_ABSOLUTE_RISE_UMOL_L for t, v in earlier):
            criteria.append("rise >= 26.5 umol/L within 48 h")
            stage = 1
        recent = [v for t, v in earlier if ts - t <= KDIGO_RELATIVE_WINDOW]
        reference = min(recent) if recent else baseline
        ratio = round(value / reference, _COMPARE_DECIMALS) if reference else None
        if ratio is not None and ratio >= KDIGO_RELATIVE_RISE:
            source = "lowest value in prior 7 days" if recent else "treatment baseline"
            criteria.append(f">= 1.5 x reference ({source} {reference:g} umol/L)")
            stage = 3 if ratio >= 3.0 else (2 if ratio >= 2.0 else 1)
        if criteria:
            if round(value, _COMPARE_DECIMALS) >= KDIGO_STAGE3_UMOL_L:
                stage = 3
            run.append((ts, value, stage, "; ".join(criteria)))
            continue
        if run:
            events.append(_aki_event(run))
            run = []
    if run:
        events.append(_aki_event(run))
    return events


def _aki_event(run: list[tuple[pd.Timestamp, float, int, str]]) -> AkiEvent:
    return AkiEvent(
        onset_date=run[0][0].date(),
        peak=max(v for _, v, _, _ in run),
        stage=max(s for _, _, s, _ in run),
        criterion=run[0][3],
    )


# --------------------------------------------------------------------------- rule selection (issue 11 item 7)

class LabEvent(NamedTuple):
    """One lab-defined episode: first abnormal value's date, worst value (canonical unit), CTCAE grade of it."""

    onset_date: dt.date
    worst: float
    grade: int


def ctcae_neutrophil_grade(count: float, lower_limit_normal: float = 2.0) -> int:
    """CTCAE v5.0 'Neutrophil count decreased' grade (0-4) of an absolute neutrophil count in 10^9/L.

    Grade 1 "<LLN - 1.5", grade 2 "<1.5 - 1.0", grade 3 "<1.0 - 0.5", grade 4 "<0.5 x 10^9/L". Each range
    includes its LOWER bound (1.5 is grade 1, 1.0 grade 2, 0.5 grade 3); a value at or above the LLN is 0.
    An LLN at or below 1.5 leaves grade 1 empty: values below the LLN start at grade 2.

    >>> [ctcae_neutrophil_grade(v) for v in (2.0, 1.99, 1.5, 1.49, 1.0, 0.99, 0.5, 0.49)]
    [0, 1, 1, 2, 2, 3, 3, 4]
    """
    value = _number(count, "neutrophil count (10^9/L)")
    lln = _number(lower_limit_normal, "neutrophil lower limit of normal (10^9/L)")
    if value < 0:
        raise RuleInputError(f"neutrophil count {count!r} x 10^9/L is negative")
    if lln <= 0:
        raise RuleInputError(f"neutrophil lower limit of normal {lower_limit_normal!r} must be positive")
    value = round(value, _COMPARE_DECIMALS)
    if value >= lln:
        return 0
    for floor, grade in ((1.5, 1), (1.0, 2), (0.5, 3)):
        if value >= floor:
            return grade
    return 4


def ctcae_alt_grade(alt: float, upper_limit_normal: float = 40.0) -> int:
    """CTCAE v5.0 'Alanine aminotransferase increased' grade (0-4), for a normal baseline, from ALT in U/L.

    Grade 1 ">ULN - 3.0 x ULN", grade 2 ">3.0 - 5.0 x ULN", grade 3 ">5.0 - 20.0 x ULN", grade 4 ">20.0 x ULN".
    Each range includes its UPPER bound (exactly 3 x ULN is grade 1); a value at or below the ULN is 0. The
    ratio value / ULN is rounded to 9 decimals first, so 120 / 40 is exactly 3. CTCAE's separate grading for
    an abnormal baseline (multiples of the baseline) is not applied.

    >>> [ctcae_alt_grade(v, 40) for v in (40, 41, 120, 121, 200, 201, 800, 801)]
    [0, 1, 1, 2, 2, 3, 3, 4]
    """
    value = _number(alt, "ALT (U/L)")
    uln = _number(upper_limit_normal, "ALT upper limit of normal (U/L)")
    if value < 0:
        raise RuleInputError(f"ALT {alt!r} U/L is negative")
    if uln <= 0:
        raise RuleInputError(f"ALT upper limit of normal {upper_limit_normal!r} must be positive")
    ratio = round(value / uln, _COMPARE_DECIMALS)
    if ratio <= 1.0:
        return 0
    for ceiling, grade in ((3.0, 1), (5.0, 2), (20.0, 3)):
        if ratio <= ceiling:
            return grade
    return 4


def _graded_episodes(
    values: pd.DataFrame, start: Any, end: Any, what: str, grade: Any, worse: Any
) -> list[LabEvent]:
    """Consecutive values with grade >= 1 (no normal value between them) form one episode, graded at its worst."""
    lo, hi = _window(start, end)
    events: list[LabEvent] = []
    run: list[tuple[pd.Timestamp, float]] = []
    for ts, value in _series(values, what):
        if not _inside(ts, lo, hi):
            continue
        if grade(value) >= 1:
            run.append((ts, value))
            continue
        if run:
            events.append(_episode(run, grade, worse))
            run = []
    if run:
        events.append(_episode(run, grade, worse))
    return events


def _episode(run: list[tuple[pd.Timestamp, float]], grade: Any, worse: Any) -> LabEvent:
    worst = worse(v for _, v in run)
    return LabEvent(run[0][0].date(), worst, grade(worst))


def neutropenia_events(values: pd.DataFrame, start: Any, end: Any, lower_limit_normal: float) -> list[LabEvent]:
    """Neutrophil count decreased during exposure: counts (10^9/L) below the LLN; episode grade = grade of its nadir."""
    return _graded_episodes(
        values, start, end, "neutrophils", lambda v: ctcae_neutrophil_grade(v, lower_limit_normal), min
    )


def alt_increase_events(values: pd.DataFrame, start: Any, end: Any, upper_limit_normal: float) -> list[LabEvent]:
    """ALT increased during exposure: ALT (U/L) above the ULN; episode grade = grade of its peak."""
    return _graded_episodes(values, start, end, "ALT", lambda v: ctcae_alt_grade(v, upper_limit_normal), max)
