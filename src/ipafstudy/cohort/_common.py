"""Small helpers shared by the cohort modules: date coercion, tri-state findings, provenance text."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping

import pandas as pd

from ipafstudy.data.schema import SOURCE_FILE, SOURCE_ROW, SOURCE_SHEET
from ipafstudy.values import is_missing


def as_date(value: object) -> dt.date | None:
    """A ``datetime.date`` from what a loader may hand over (date, Timestamp, ISO text), else None.

    The Study promises ``datetime.date`` or missing; being tolerant here keeps hand-built
    studies and loaders that use Timestamps working without a second code path.
    """
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        return dt.date.fromisoformat(text[:10])
    try:
        if pd.isna(value):  # type: ignore[arg-type]
            return None
    except (TypeError, ValueError):
        pass
    raise TypeError(f"cannot read {value!r} as a date")


def text_or_none(value: object) -> str | None:
    if is_missing(value):
        return None
    text = str(value).strip()
    return text or None


def source_text(row: Mapping[str, object]) -> str:
    """'file[:sheet] row N' from a row's provenance columns, so any value can be traced back."""
    file = text_or_none(row.get(SOURCE_FILE)) or "?"
    sheet = text_or_none(row.get(SOURCE_SHEET))
    src_row = row.get(SOURCE_ROW)
    where = f"{file}:{sheet}" if sheet else file
    if is_missing(src_row):
        return where
    try:
        return f"{where} row {int(src_row)}"  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return f"{where} row {src_row}"


def records(frame: pd.DataFrame | None) -> list[dict[str, object]]:
    """Rows as plain dicts (empty list for a missing or empty frame)."""
    if frame is None or len(frame) == 0:
        return []
    return frame.to_dict("records")


def by_patient(frame: pd.DataFrame | None) -> dict[str, list[dict[str, object]]]:
    """Rows grouped by patient_id (as text), in file order."""
    out: dict[str, list[dict[str, object]]] = {}
    for row in records(frame):
        out.setdefault(str(row["patient_id"]), []).append(row)
    return out


def iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def all_dates(values: Iterable[object]) -> list[dt.date]:
    out = []
    for v in values:
        d = as_date(v)
        if d is not None:
            out.append(d)
    return out


def outcome_cells(lookup: Mapping[tuple[str, str, str], Mapping[str, object]], patient_id: str, outcome: str,
                  follow_up: str) -> dict[str, object]:
    """One outcome's baseline and follow-up (value, date) and change, as analysis-frame columns of one patient.

    ``lookup`` maps (patient, outcome, time point) to a value row; shared by the treated and the comparator frames
    so both arms' columns mean the same. Change = follow-up minus baseline, missing when either is.
    """
    base = lookup.get((patient_id, outcome, "baseline"))
    fu = lookup.get((patient_id, outcome, follow_up))
    return {
        f"{outcome}_baseline": base["value"] if base else float("nan"),
        f"{outcome}_baseline_date": base["date"] if base else None,
        f"{outcome}_follow_up": fu["value"] if fu else float("nan"),
        f"{outcome}_follow_up_date": fu["date"] if fu else None,
        f"{outcome}_change": fu["value"] - base["value"] if base and fu else float("nan"),  # type: ignore[operator]
    }
