"""Deterministic report output: stable zips (DOCX/XLSX) and table CSVs.

Every report file goes through :func:`ipafstudy.fileio.atomic_write_bytes`, so a crash or Ctrl-C never
leaves a half-written report beside a complete one, and an existing file is only ever replaced whole.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

# The generic writers live in ipafstudy.fileio (shared by every layer); re-exported here because
# report.py, docx.py and docs/reporting.md import them from this module.
from ipafstudy.fileio import atomic_write_bytes, atomic_write_text, csv_text, prepare_output_dir, sha256_file

__all__ = [
    "ZIP_EPOCH",
    "atomic_write_bytes",
    "atomic_write_text",
    "normalize_zip",
    "pin_core_dates",
    "prepare_output_dir",
    "sha256_file",
    "write_table_csv",
]

#: Timestamp written into every zip entry (DOCX/XLSX): the earliest date a zip can hold.
ZIP_EPOCH: tuple[int, int, int, int, int, int] = (1980, 1, 1, 0, 0, 0)


def normalize_zip(data: bytes, *, rewrite: Mapping[str, Callable[[bytes], bytes]] | None = None) -> bytes:
    """Re-pack a zip (DOCX/XLSX) with fixed entry dates and attributes so equal content gives equal bytes.

    ``rewrite`` maps an entry name to a function applied to its bytes (used to pin timestamps that
    libraries write inside ``docProps/core.xml``). Entry order is kept.
    """
    rewrite = dict(rewrite or {})
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            payload = src.read(info.filename)
            if info.filename in rewrite:
                payload = rewrite[info.filename](payload)
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_EPOCH)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            fixed.create_system = 0
            dst.writestr(fixed, payload, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    return out.getvalue()


def pin_core_dates(xml: bytes, iso_timestamp: str) -> bytes:
    """Set dcterms:created/modified in an Office core.xml to ``iso_timestamp`` (e.g. 2000-01-01T00:00:00Z)."""
    text = xml.decode("utf-8")
    for tag in ("created", "modified"):
        text = re.sub(
            rf"(<dcterms:{tag}\b[^>]*>)[^<]*(</dcterms:{tag}>)",
            lambda m: m.group(1) + iso_timestamp + m.group(2),
            text,
        )
    return text.encode("utf-8")


def write_table_csv(path: str | os.PathLike[str], spec: object, *, indent: str = "") -> Path:
    """Write a :class:`~ipafstudy.reporting.tablespec.TableSpec` as UTF-8 CSV (no BOM, "\\n" line ends).

    Cells are written exactly as formatted; the header row is the column labels.
    """
    from ipafstudy.reporting.tablespec import TableSpec  # local: io stays importable on its own

    if not isinstance(spec, TableSpec):
        raise TypeError(f"write_table_csv(): expected a TableSpec, got {type(spec).__name__}")
    frame = spec.to_frame(indent=indent)
    return atomic_write_text(path, csv_text(frame))
