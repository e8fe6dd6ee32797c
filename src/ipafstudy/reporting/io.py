"""Report output: a TableSpec as CSV (the generic writers are in :mod:`ipafstudy.fileio`).

Every report file goes through :func:`ipafstudy.fileio.atomic_write_bytes`, so a crash or Ctrl-C never
leaves a half-written report beside a complete one, and an existing file is only ever replaced whole.
"""

from __future__ import annotations

import os
from pathlib import Path

from ipafstudy.fileio import atomic_write_text, csv_text

__all__ = ["write_table_csv"]


def write_table_csv(path: str | os.PathLike[str], spec: object, *, indent: str = "") -> Path:
    """Write a :class:`~ipafstudy.reporting.tablespec.TableSpec` as UTF-8 CSV (no BOM, "\\n" line ends).

    Cells are written exactly as formatted; the header row is the column labels.
    """
    from ipafstudy.reporting.tablespec import TableSpec  # local: io stays importable on its own

    if not isinstance(spec, TableSpec):
        raise TypeError(f"write_table_csv(): expected a TableSpec, got {type(spec).__name__}")
    frame = spec.to_frame(indent=indent)
    return atomic_write_text(path, csv_text(frame))
