"""A tiny valid study, written by helpers to CSV folders and XLSX workbooks.

Rows are plain dicts of text, as a person would type them. Row ``i`` (0-based) of a table is
row ``i + 2`` of the written file (header = row 1), which is what the tests assert.
"""

from __future__ import annotations

import copy
import csv
import hashlib
from pathlib import Path

import pytest

from ipafstudy.data.schema import PATTERNS, TABLES, ZONES

PATIENTS = [
    {
        "patient_id": "P01", "site": "A", "sex": "Female", "birth_date": "1965-04-02", "smoking": "never",
        "interstitial_pneumonia": "yes", "alternative_etiology_excluded": "Y", "defined_ctd": "No",
        "mechanics_hands": "TRUE", "raynaud": "1", "hrct_pattern": "NSIP", "biopsy_pattern": "not done",
        "pirfenidone": "no", "nintedanib": "",
    },
    {
        "patient_id": "P02", "site": "A", "sex": "M", "age_at_index": "58", "smoking": "former",
        "interstitial_pneumonia": "yes", "alternative_etiology_excluded": "yes", "defined_ctd": "no",
        "gottron_sign": "yes", "hrct_pattern": "nsip + op",
    },
    {
        "patient_id": "P03", "site": "B", "sex": "female", "birth_date": "1970-12-31", "smoking": "current",
        "interstitial_pneumonia": "yes", "alternative_etiology_excluded": "yes", "defined_ctd": "no",
        "hrct_pattern": "uip",
    },
]

ANTIBODIES = [
    {"patient_id": "P01", "test_date": "2020-01-10", "antibody": "ANA", "result": "positive", "titre": "1:320",
     "pattern": "Speckled"},
    {"patient_id": "P01", "test_date": "2020-01-10", "antibody": "anti-Jo-1", "result": "Positive"},
    {"patient_id": "P02", "test_date": "2020-02-01", "antibody": "PL7", "result": "pos"},
    {"patient_id": "P03", "test_date": "2020-03-05", "antibody": "Rheumatoid factor", "result": "positive",
     "value": "60", "upper_limit_normal": "20"},
]

TREATMENTS = [
    {"patient_id": "P01", "drug": "tacrolimus", "start_date": "2020-02-01", "end_date": "2020-12-01",
     "dose": "2", "dose_unit": "mg/day"},
    {"patient_id": "P01", "drug": "methylprednisolone", "start_date": "2020-02-01", "end_date": "",
     "dose": "16", "dose_unit": "mg/day"},
    {"patient_id": "P02", "drug": "Tacrolimus", "start_date": "2020-03-01", "end_date": "2020-09-30"},
    {"patient_id": "P03", "drug": "tacrolimus", "start_date": "2020-04-01"},
]

MEASUREMENTS = [
    {"patient_id": "P01", "date": "2020-01-20", "variable": "crp", "value": "1.2", "unit": "mg/dL"},
    {"patient_id": "P01", "date": "2020-01-20", "variable": "esr", "value": "35", "unit": "mm/h"},
    {"patient_id": "P01", "date": "2020-01-20", "variable": "mmrc", "value": "3", "unit": "mrc"},
    {"patient_id": "P01", "date": "2020-08-01", "variable": "crp", "value": "4", "unit": "mg/L"},
    {"patient_id": "P02", "date": "2020-02-15", "variable": "magnesium", "value": "1.8", "unit": "mg/dL"},
    {"patient_id": "P02", "date": "2020-02-15", "variable": "prednisone_dose", "value": "20", "unit": "mg/day"},
    {"patient_id": "P03", "date": "2020-03-20", "variable": "mmrc", "value": "2", "unit": "mmrc"},
]


def _hrct_rows() -> list[dict[str, str]]:
    rows = []
    for reader, role in (("rad1", "reader1"), ("rad2", "Reader 2")):
        for k, zone in enumerate(ZONES):
            row = {"patient_id": "P01", "scan_date": "2020-01-15", "reader": reader, "reader_role": role,
                   "zone": zone}
            for j, pattern in enumerate(PATTERNS):
                row[pattern] = str((k + j) % 3)
            rows.append(row)
    return rows


HRCT_READS = _hrct_rows()

ADVERSE_EVENTS = [
    {"patient_id": "P01", "onset_date": "2020-05-01", "event": "Hypomagnesemia", "grade": "1", "serious": "no",
     "led_to_discontinuation": "no", "outcome": "resolved", "attribution": "possibly related"},
    {"patient_id": "P02", "onset_date": "2020-06-01", "event": "infection", "grade": "2", "serious": "",
     "outcome": "ongoing"},
]

TINY: dict[str, list[dict[str, str]]] = {
    "patients": PATIENTS,
    "antibodies": ANTIBODIES,
    "treatments": TREATMENTS,
    "measurements": MEASUREMENTS,
    "hrct_reads": HRCT_READS,
    "adverse_events": ADVERSE_EVENTS,
}


def tiny_tables() -> dict[str, list[dict[str, str]]]:
    """A fresh deep copy the test may edit."""
    return copy.deepcopy(TINY)


def _columns(name: str, rows: list[dict[str, object]]) -> list[str]:
    cols = list(TABLES[name].column_names) if name in TABLES else []
    for row in rows:
        cols.extend(k for k in row if k not in cols)
    return cols


def write_csv_study(folder: Path, tables: dict[str, list[dict[str, object]]] | None = None) -> Path:
    """Write one CSV per table (every schema column as a header) and return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (tables if tables is not None else tiny_tables()).items():
        cols = _columns(name, rows)
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=cols, lineterminator="\n")
            writer.writeheader()
            for row in rows:
                writer.writerow({c: row.get(c, "") for c in cols})
    return folder


def write_xlsx_study(path: Path, tables: dict[str, list[dict[str, object]]] | None = None) -> Path:
    """Write one sheet per table with openpyxl; values are written as given (str, date, number)."""
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in (tables if tables is not None else tiny_tables()).items():
        ws = workbook.create_sheet(name)
        cols = _columns(name, rows)
        ws.append(cols)
        for row in rows:
            ws.append([None if row.get(c, "") == "" else row.get(c) for c in cols])
    workbook.save(path)
    return path


def tree_digest(path: Path) -> dict[str, str]:
    """sha256 and mtime of every file under path: proves inputs were not touched."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() + f"@{p.stat().st_mtime_ns}" for p in files}


@pytest.fixture
def tiny_csv(tmp_path: Path) -> Path:
    return write_csv_study(tmp_path / "study")
