"""Export the workspace's reads to ``hrct_reads.csv`` in the study format, and import existing reads.

Export writes the reads of CLOSED scans only (both readers finished, every flagged zone/pattern adjudicated):
the investigator may see nothing else (blinding), and a scan still being read or waiting for the adjudicator has
no consensus score anyway. One row per scan, reader role and zone, the study's column order, grades as whole
numbers, percentages as entered; the study loaders read it back unchanged (tests load it with ``load_study``).

Import reads a study folder (or one ``hrct_reads.csv`` checked together with the project's other tables) through
the study loaders, so every rule of ``validate`` applies, then adds one finished, read-only read per scan and
role. Importing the same file twice changes nothing; a read that differs from one already in the workspace is
refused (all of them listed) and nothing is written.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ipafstudy.data.schema import HRCT_READS
from ipafstudy.errors import IpafstudyError
from ipafstudy.fileio import check_output_file, write_output_file
from ipafstudy.rules.codes import PATTERNS, ZONES
from ipafstudy.workspace import db
from ipafstudy.workspace.db import Workspace, to_json
from ipafstudy.workspace.reading import READ_ROLES, Conflict, _cells, _read_rows, _reads, _states

COLUMNS = HRCT_READS.column_names


@dataclass(frozen=True)
class ExportSummary:
    """What an export holds: rows and scans written, and the scans left out by state (reading / adjudication)."""

    n_rows: int
    n_scans: int
    left_out: dict[str, int] = field(default_factory=dict)
    path: Path | None = None


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def hrct_reads_text(ws: Workspace) -> tuple[str, ExportSummary]:
    """``hrct_reads.csv`` text of the closed scans (see the module docstring) and what it holds."""
    with ws.read() as conn:
        scans = list(conn.execute(sa.select(db.scans).order_by(db.scans.c.patient_id, db.scans.c.scan_date)))
        reads = _reads(conn)
        cells = _cells(conn, [r.id for r in reads.values()])
        states = _states(conn, ws, scans, reads, cells)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    n_rows = n_scans = 0
    left_out: Counter[str] = Counter()
    for scan in sorted(scans, key=lambda s: (str(s.patient_id), s.scan_date)):
        state = states[int(scan.id)].state
        if state != "closed":
            left_out[state] += 1
            continue
        n_scans += 1
        for role in READ_ROLES:
            read = reads.get((scan.id, role))
            if read is None:
                continue
            for row in _read_rows(scan, role, read, cells.get(read.id, {})):
                writer.writerow([_cell_text(row.get(c)) for c in COLUMNS])
                n_rows += 1
    return out.getvalue(), ExportSummary(n_rows, n_scans, dict(sorted(left_out.items())))


def export_reads(ws: Workspace, path: str | Path, *, overwrite: bool = False) -> ExportSummary:
    """Write ``hrct_reads.csv`` (atomically; an existing file only with ``overwrite=True``)."""
    target = check_output_file(path, force=overwrite)
    text, summary = hrct_reads_text(ws)
    write_output_file(target, text.encode("utf-8"), force=overwrite)
    return ExportSummary(summary.n_rows, summary.n_scans, summary.left_out, target)


@dataclass(frozen=True)
class ImportCounts:
    scans_added: int = 0
    scans_existing: int = 0
    reads_added: int = 0
    reads_unchanged: int = 0
    cells_added: int = 0
    unread_scans: list[tuple[str, dt.date]] = field(default_factory=list)


def _study_reads(ws: Workspace, path: Path) -> Any:
    """The hrct_reads frame as the study loaders read it (a lone CSV is checked with the project's tables)."""
    from ipafstudy.data.loaders import load_study

    if path.is_dir():
        return load_study(path).hrct_reads
    if ws.data_dir is None:
        raise IpafstudyError(f"{path}: a lone hrct_reads.csv is checked against the study's patients; import a "
                             "study folder, or open the workspace from its project")
    with tempfile.TemporaryDirectory(prefix="ipafstudy-import-") as tmp:
        folder = Path(tmp)
        for table in ws.data_dir.iterdir():
            if table.is_file() and table.name.lower() != "hrct_reads.csv":
                shutil.copyfile(table, folder / table.name)
        shutil.copyfile(path, folder / "hrct_reads.csv")
        return load_study(folder).hrct_reads


def _num(value: Any, kind: type) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return kind(value)


def import_reads(ws: Workspace, path: str | Path, *, leave_unread: int = 0, by: str | None = None) -> ImportCounts:
    """Import the reads of a study folder or an hrct_reads.csv (see the module docstring).

    ``leave_unread``: register that many scans (the first ones without an adjudicator read, in patient/date
    order) without their reads, so they can be read in the workspace (the demo project).
    """
    frame = _study_reads(ws, Path(path))
    by_read: dict[tuple[str, dt.date, str], dict[str, Any]] = {}
    for rec in frame.to_dict("records"):
        key = (str(rec["patient_id"]), rec["scan_date"], rec["reader_role"])
        read = by_read.setdefault(key, {"reader": rec["reader"], "cells": {}})
        for p in PATTERNS:
            grade, pct = _num(rec.get(p), int), _num(rec.get(f"{p}_pct"), float)
            if grade is not None or pct is not None:
                read["cells"][(rec["zone"], p)] = (grade, pct)
    scan_keys = sorted({(pid, date) for pid, date, _ in by_read})
    adjudicated = {(pid, date) for pid, date, role in by_read if role == "adjudicator"}
    unread = [k for k in scan_keys if k not in adjudicated][:leave_unread]
    now = ws.now()
    added = existing = reads_added = unchanged = n_cells = 0
    conflicts: list[str] = []
    with ws.session() as conn:
        ids = {(r.patient_id, r.scan_date): int(r.id) for r in conn.execute(sa.select(db.scans))}
        for pid, date in scan_keys:
            if (pid, date) in ids:
                existing += 1
                continue
            ids[(pid, date)] = int(conn.execute(db.scans.insert().values(patient_id=pid, scan_date=date))
                                   .inserted_primary_key[0])
            added += 1
        current = _reads(conn, list(ids.values()))
        current_cells = _cells(conn, [r.id for r in current.values()])
        for (pid, date, role), read in sorted(by_read.items(), key=lambda kv: (kv[0][0], kv[0][1],
                                                                               READ_ROLES.index(kv[0][2]))):
            if (pid, date) in unread:
                continue
            scan_id = ids[(pid, date)]
            have = current.get((scan_id, role))
            if have is not None:
                stored = {k: (c.grade, c.percent) for k, c in current_cells[have.id].items()
                          if c.grade is not None or c.percent is not None}
                if have.reader == read["reader"] and stored == read["cells"]:
                    unchanged += 1
                else:
                    conflicts.append(f"{pid} {date.isoformat()} {role} (workspace: {have.reader}, "
                                     f"{have.source}; file: {read['reader']})")
                continue
            read_id = conn.execute(db.reads.insert().values(
                scan_id=scan_id, role=role, reader=read["reader"], user_id=None, status="finished", source="import",
                created_at=now, finished_at=now)).inserted_primary_key[0]
            rows = [{"read_id": read_id, "zone": z, "pattern": p, "grade": g, "percent": pct, "updated_at": now,
                     "updated_by": by or "import"} for (z, p), (g, pct) in sorted(
                         read["cells"].items(), key=lambda kv: (ZONES.index(kv[0][0]), PATTERNS.index(kv[0][1])))]
            if rows:
                conn.execute(db.cells.insert(), rows)
            conn.execute(db.audit.insert().values(
                at=now, username=by, action="import_read", table_name="reads",
                key=f"scan {scan_id} ({pid} {date.isoformat()}) {role}", old=None,
                new=to_json({"reader": read["reader"], "source": str(path),
                             "cells": {f"{r['zone']} {r['pattern']}": [r["grade"], r["percent"]] for r in rows}})))
            reads_added += 1
            n_cells += len(rows)
        if conflicts:
            shown = "; ".join(conflicts[:10]) + (f"; ... {len(conflicts) - 10} more" if len(conflicts) > 10 else "")
            raise Conflict(f"{path}: {len(conflicts)} read(s) differ from reads already in the workspace, nothing "
                           f"imported: {shown}")
    return ImportCounts(added, existing, reads_added, unchanged, n_cells, unread)


def reads_csv_writer(ws: Workspace) -> Callable[[Path], None]:
    """``reads_csv(dest)`` for the explorer: writes the workspace's current hrct_reads.csv to ``dest`` (replaced)."""

    def write(dest: Path) -> None:
        export_reads(ws, dest, overwrite=True)

    return write
