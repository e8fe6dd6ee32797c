"""Report output: table CSVs, plus the shared file helpers of :mod:`ipafstudy.fileio` under their old names.

Every report file goes through :func:`ipafstudy.fileio.atomic_write_bytes`, so a crash or Ctrl-C never
leaves a half-written report beside a complete one, and an existing file is only ever replaced whole.
"""

from __future__ import annotations

import os
from pathlib import Path

# The generic writers live in ipafstudy.fileio (shared by every layer); re-exported here because
# report.py, docx.py and docs/reporting.md import them from this module.
from ipafstudy.fileio import (
    ZIP_EPOCH,
    atomic_write_bytes,
    atomic_write_text,
    csv_text,
    normalize_zip,
    pin_core_dates,
    prepare_output_dir,
    sha256_file,
)

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


def write_table_csv(path: str | os.PathLike[str], spec: object, *, indent: str = "") -> Path:
    """Write a :class:`~ipafstudy.reporting.tablespec.TableSpec` as UTF-8 CSV (no BOM, "\\n" line ends).

    Cells are written exactly as formatted; the header row is the column labels.
    """
    from ipafstudy.reporting.tablespec import TableSpec  # local: io stays importable on its own

    if not isinstance(spec, TableSpec):
        raise TypeError(f"write_table_csv(): expected a TableSpec, got {type(spec).__name__}")
    frame = spec.to_frame(indent=indent)
    return atomic_write_text(path, csv_text(frame))
