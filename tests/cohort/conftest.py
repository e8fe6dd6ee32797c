"""Hand-built studies for the cohort tests: every value below is chosen so the expected result can be
worked out by hand in the test that uses it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
import pytest

from ipafstudy.data.model import Study
from ipafstudy.data.schema import PATTERNS, PROVENANCE_COLUMNS, TABLES, ZONES

D = dt.date


def frame(table: str, rows: Sequence[dict[str, object]]) -> pd.DataFrame:
    """A table with every schema column plus provenance (row numbers as a spreadsheet shows them)."""
    cols = [*TABLES[table].column_names, *PROVENANCE_COLUMNS]
    full = []
    for i, row in enumerate(rows):
        unknown = set(row) - set(cols)
        if unknown:
            raise KeyError(f"{table}: unknown columns {sorted(unknown)}")
        rec: dict[str, object] = dict.fromkeys(cols)
        rec.update({"_source_file": f"{table}.csv", "_source_sheet": None, "_source_row": i + 2})
        rec.update(row)
        full.append(rec)
    return pd.DataFrame(full, columns=cols)


IPAF_YES = {
    "interstitial_pneumonia": "yes",
    "alternative_etiology_excluded": "yes",
    "defined_ctd": "no",
    "mechanics_hands": "no",
    "digital_tip_ulceration": "no",
    "inflammatory_arthritis": "yes",
    "palmar_telangiectasia": "no",
    "raynaud": "no",
    "digital_oedema": "no",
    "gottron_sign": "no",
    "hrct_pattern": "nsip",
    "biopsy_pattern": "not_done",
    "pleural_involvement": "no",
    "pericardial_involvement": "no",
    "airways_disease": "no",
    "pulmonary_vasculopathy": "no",
    "pirfenidone": "no",
    "nintedanib": "no",
}
"""Clinical (arthritis) + morphologic (NSIP): IPAF by two domains whatever the serology."""


def patient(pid: str, **kw: object) -> dict[str, object]:
    row: dict[str, object] = {
        "patient_id": pid,
        "site": "A",
        "sex": "female",
        "birth_date": D(1960, 6, 15),
        "smoking": "never",
        **IPAF_YES,
    }
    row.update(kw)
    return row


def course(pid: str, start: dt.date, end: dt.date | None, drug: str = "tacrolimus") -> dict[str, object]:
    return {"patient_id": pid, "drug": drug, "start_date": start, "end_date": end, "dose": 1.0, "dose_unit": "mg/day"}


def meas(pid: str, day: dt.date, variable: str, value: float, unit: str | None = None) -> dict[str, object]:
    units = {"mmrc": "mmrc", "esr": "mm/h", "crp": "mg/L", "methylprednisolone_dose": "mg/day",
             "magnesium": "mmol/L", "creatinine": "umol/L", "tacrolimus_trough": "ng/mL"}
    return {"patient_id": pid, "date": day, "variable": variable, "value": value, "unit": unit or units[variable]}


def scan(
    pid: str,
    day: dt.date,
    grades: dict[str, int] | None = None,
    *,
    reader2: dict[str, int] | None = None,
    flagged_zone: str | None = None,
) -> list[dict[str, object]]:
    """Two readers x six zones. ``grades`` is the per-zone grade of each pattern for both readers;
    ``flagged_zone`` makes reader2 grade every pattern 3 higher in that zone (a gap > 1: flagged)."""
    g1 = {p: 0 for p in PATTERNS} | (grades or {})
    g2 = dict(g1) | (reader2 or {})
    rows = []
    for role, reader, g in (("reader1", "R1", g1), ("reader2", "R2", g2)):
        for zone in ZONES:
            gz = dict(g)
            if role == "reader2" and zone == flagged_zone:
                gz = {p: min(4, v + 3) if v <= 1 else max(0, v - 3) for p, v in gz.items()}
            rows.append({"patient_id": pid, "scan_date": day, "reader": reader, "reader_role": role,
                         "zone": zone, **gz})
    return rows


def make_study(
    patients: Sequence[dict[str, object]],
    treatments: Sequence[dict[str, object]] = (),
    measurements: Sequence[dict[str, object]] = (),
    hrct_reads: Sequence[dict[str, object]] = (),
    antibodies: Sequence[dict[str, object]] = (),
    adverse_events: Sequence[dict[str, object]] = (),
) -> Study:
    return Study(
        patients=frame("patients", patients),
        antibodies=frame("antibodies", antibodies),
        treatments=frame("treatments", treatments),
        measurements=frame("measurements", measurements),
        hrct_reads=frame("hrct_reads", hrct_reads),
        adverse_events=frame("adverse_events", adverse_events),
    )


def full_patient(pid: str, start: dt.date, end: dt.date | None, *, base_days: int = -10, fu_days: int = 150,
                 ggo: int = 2, ggo_fu: int = 1, **kw: object) -> dict[str, list[dict[str, object]]]:
    """A patient with tacrolimus, a baseline and a follow-up for every outcome."""
    b = start + dt.timedelta(days=base_days)
    f = start + dt.timedelta(days=fu_days)
    ms = []
    for day, k in ((b, 0), (f, 1)):
        ms += [meas(pid, day, "mmrc", 2 - k), meas(pid, day, "esr", 30 - 10 * k), meas(pid, day, "crp", 12 - 5 * k),
               meas(pid, day, "methylprednisolone_dose", 16 - 8 * k)]
    return {
        "patients": [patient(pid, **kw)],
        "treatments": [course(pid, start, end)],
        "measurements": ms,
        "hrct_reads": scan(pid, b, {"ggo": ggo, "consolidation": 1}) + scan(pid, f, {"ggo": ggo_fu}),
    }


def merge(*parts: dict[str, list[dict[str, object]]]) -> Study:
    tables: dict[str, list[dict[str, object]]] = {}
    for part in parts:
        for k, v in part.items():
            tables.setdefault(k, []).extend(v)
    return make_study(**tables)  # type: ignore[arg-type]


@pytest.fixture
def d() -> type[dt.date]:
    return dt.date
