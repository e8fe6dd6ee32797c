"""Reading HRCT scans in the workspace: worklists, zone scores saved cell by cell, blinding, adjudication, audit.

A scan has at most one read per role (reader1, reader2, adjudicator). A workspace read belongs to the user who
saved its first cell (another user with the same role is refused); an imported read belongs to the radiologist
named in the file and nobody edits it here. A reader's read is ``in_progress`` until ``finish_read`` (all 24
cells filled); after that it is locked.

Scan states: ``reading`` until both readers finished; then ``adjudication`` while a zone/pattern flagged by
``rules.hrct.discordance`` (the workspace's ClinicalSettings gaps) has no adjudicator grade; then ``closed``.

Blinding (every function here checks it; the API only maps the exceptions to HTTP codes):

* a reader sees and changes only their own read; another read of the same scan is Forbidden by any route;
* the adjudicator sees both readers' reads of a scan only once it is in the adjudication queue (both reads
  finished and at least one zone/pattern flagged), and grades only flagged zone/patterns;
* the investigator sees reads only of closed scans (and exports only those).

Values are checked by the study loaders' own cell parser (``data.validation.check_cell``), so a grade the
workspace accepts is one ``hrct_reads.csv`` accepts. Every change writes an audit row (who, when, what, old,
new). A repeated ``request_id`` returns the first answer without writing again (double submission).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa

from ipafstudy.data.validation import CellValueError, check_cell
from ipafstudy.errors import IpafstudyError
from ipafstudy.rules.codes import PATTERNS, ZONES
from ipafstudy.rules.hrct import grade_from_percent
from ipafstudy.workspace import db
from ipafstudy.workspace.auth import READER_ROLES, UserInfo
from ipafstudy.workspace.db import Workspace, to_json

READ_ROLES = ("reader1", "reader2", "adjudicator")
N_CELLS = len(ZONES) * len(PATTERNS)


class WorkspaceError(IpafstudyError):
    """Base of the errors a request can cause; ``status`` is the HTTP status the API answers with."""

    status = 400


class Forbidden(WorkspaceError):
    """The user's role may not see or change this (blinding): HTTP 403."""

    status = 403


class NotFound(WorkspaceError):
    status = 404


class Conflict(WorkspaceError):
    """The request clashes with the state (finished read, request_id reused for something else): HTTP 409."""

    status = 409


class InvalidScore(WorkspaceError):
    """A value the study loaders would refuse; names zone, pattern, column, value and rule: HTTP 422."""

    status = 422

    def __init__(self, message: str, *, zone: str | None = None, pattern: str | None = None,
                 column: str | None = None, value: object = None, rule: str | None = None) -> None:
        super().__init__(message)
        self.zone, self.pattern, self.column, self.value, self.rule = zone, pattern, column, value, rule

    def details(self) -> dict[str, object]:
        return {"zone": self.zone, "pattern": self.pattern, "column": self.column, "value": self.value,
                "rule": self.rule}


class IncompleteRead(WorkspaceError):
    """finish_read with cells still empty; ``missing`` lists them as 'ZONE pattern': HTTP 422."""

    status = 422

    def __init__(self, message: str, missing: list[str]) -> None:
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True)
class ScanTask:
    """One worklist line. ``status``: a reader's own read (new / in_progress / finished), the adjudicator's
    queue state (open / adjudicated) or, for the investigator, the scan state (reading / adjudication / closed)."""

    scan_id: int
    patient_id: str
    scan_date: dt.date
    status: str
    n_cells_saved: int

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "scan_date": self.scan_date.isoformat()}


@dataclass(frozen=True)
class CellValue:
    zone: str
    pattern: str
    grade: int | None
    percent: float | None
    updated_at: dt.datetime | None = None
    updated_by: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {"zone": self.zone, "pattern": self.pattern, "grade": self.grade, "percent": self.percent,
                "updated_at": self.updated_at.isoformat() if self.updated_at else None, "updated_by": self.updated_by}


@dataclass(frozen=True)
class ReadForm:
    """One read of one scan: its cells keyed (zone, pattern); empty cells are absent."""

    scan_id: int
    patient_id: str
    scan_date: dt.date
    role: str
    reader: str | None
    status: str  # new / in_progress / finished
    cells: dict[tuple[str, str], CellValue] = field(default_factory=dict)

    @property
    def missing(self) -> list[str]:
        return [f"{z} {p}" for z in ZONES for p in PATTERNS if not _filled(self.cells.get((z, p)))]

    def to_dict(self) -> dict[str, object]:
        return {"scan_id": self.scan_id, "patient_id": self.patient_id, "scan_date": self.scan_date.isoformat(),
                "role": self.role, "reader": self.reader, "status": self.status,
                "cells": [c.to_dict() for c in self.cells.values()], "missing": self.missing}


@dataclass(frozen=True)
class SavedCell:
    """What a save did. ``replayed``: the answer to an earlier request with the same request_id (nothing written);
    ``changed``: False when the cell already held these values (no audit row); ``warning``: a grade and a
    percentage that disagree (kept as entered, as the loaders do)."""

    scan_id: int
    role: str
    zone: str
    pattern: str
    grade: int | None
    percent: float | None
    old_grade: int | None
    old_percent: float | None
    changed: bool
    saved_at: str
    request_id: str | None = None
    replayed: bool = False
    warning: str | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class AdjudicationItem:
    scan_id: int
    patient_id: str
    scan_date: dt.date
    zone: str
    pattern: str
    reader1_grade: int | None
    reader2_grade: int | None
    reader1_percent: float | None
    reader2_percent: float | None
    flag_reason: str
    adjudicator_grade: int | None
    open: bool

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "scan_date": self.scan_date.isoformat()}


def _filled(cell: CellValue | None) -> bool:
    return cell is not None and (cell.grade is not None or cell.percent is not None)


# --------------------------------------------------------------------------- validation


def check_zone_pattern(zone: str, pattern: str) -> None:
    if zone not in ZONES:
        raise InvalidScore(f"zone {zone!r} is not one of {', '.join(ZONES)} (rule category)", zone=zone,
                           pattern=pattern, column="zone", value=zone, rule="category")
    if pattern not in PATTERNS:
        raise InvalidScore(f"pattern {pattern!r} is not one of {', '.join(PATTERNS)} (rule category)", zone=zone,
                           pattern=pattern, column="pattern", value=pattern, rule="category")


def check_value(zone: str, pattern: str, column: str, value: object) -> float | None:
    """The loaders' reading of one grade (``column`` = pattern) or percentage (``pattern_pct``) cell."""
    try:
        parsed = check_cell("hrct_reads", column, value)
    except CellValueError as err:
        what = "percent" if column.endswith("_pct") else "grade"
        raise InvalidScore(
            f"zone {zone}, pattern {pattern}: {what} {value!r} refused: {err.message} (rule {err.rule})",
            zone=zone, pattern=pattern, column=column, value=value, rule=err.rule,
        ) from None
    return None if parsed is None else float(parsed)  # type: ignore[arg-type]


def _mismatch(zone: str, pattern: str, grade: int | None, percent: float | None) -> str | None:
    if grade is None or percent is None or grade_from_percent(percent) == grade:
        return None
    return (f"zone {zone}, pattern {pattern}: grade {grade} disagrees with {percent:g} % (which is grade "
            f"{grade_from_percent(percent)}); both kept, the grade counts (rule grade_pct_mismatch)")


# --------------------------------------------------------------------------- database helpers


def _audit(conn: sa.Connection, ws: Workspace, who: str | None, action: str, table: str, key: str,
           old: object, new: object, request_id: str | None = None) -> None:
    conn.execute(db.audit.insert().values(at=ws.now(), username=who, action=action, table_name=table, key=key,
                                          old=to_json(old), new=to_json(new), request_id=request_id))


def _scan(conn: sa.Connection, scan_id: int, *, lock: bool = False) -> Any:
    query = sa.select(db.scans).where(db.scans.c.id == scan_id)
    if lock:
        query = query.with_for_update()  # PostgreSQL: one writer per scan at a time; SQLite: BEGIN IMMEDIATE
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"no scan {scan_id}")
    return row


def _scan_key(scan: Any, role: str, zone: str | None = None, pattern: str | None = None) -> str:
    parts = [f"scan {scan.id} ({scan.patient_id} {scan.scan_date.isoformat()})", role]
    parts += [p for p in (zone, pattern) if p]
    return " ".join(parts)


def _reads(conn: sa.Connection, scan_ids: Iterable[int] | None = None) -> dict[tuple[int, str], Any]:
    query = sa.select(db.reads)
    if scan_ids is not None:
        query = query.where(db.reads.c.scan_id.in_(list(scan_ids)))
    return {(r.scan_id, r.role): r for r in conn.execute(query)}


def _cells(conn: sa.Connection, read_ids: Iterable[int]) -> dict[int, dict[tuple[str, str], CellValue]]:
    ids = list(read_ids)
    out: dict[int, dict[tuple[str, str], CellValue]] = {i: {} for i in ids}
    if not ids:
        return out
    for chunk in range(0, len(ids), 500):
        query = sa.select(db.cells).where(db.cells.c.read_id.in_(ids[chunk:chunk + 500]))
        for c in conn.execute(query):
            out[c.read_id][(c.zone, c.pattern)] = CellValue(
                c.zone, c.pattern, c.grade, c.percent, c.updated_at, c.updated_by)
    return out


def _form(scan: Any, role: str, read: Any | None, cells: dict[tuple[str, str], CellValue]) -> ReadForm:
    ordered = {(z, p): cells[(z, p)] for z in ZONES for p in PATTERNS if (z, p) in cells}
    return ReadForm(int(scan.id), scan.patient_id, scan.scan_date, role, read.reader if read else None,
                    read.status if read else "new", ordered)


@dataclass(frozen=True)
class ScanState:
    """Where a scan stands, and the discordance rows (rules.hrct) once both readers finished."""

    state: str  # reading / adjudication / closed
    flags: tuple[dict[str, Any], ...] = ()

    @property
    def in_queue(self) -> bool:
        return bool(self.flags)


def _read_rows(scan: Any, role: str, read: Any, cells: dict[tuple[str, str], CellValue]) -> list[dict[str, Any]]:
    """The read in hrct_reads.csv shape: one row per zone holding at least one value."""
    rows = []
    for zone in ZONES:
        values = {p: cells.get((zone, p)) for p in PATTERNS}
        if not any(_filled(v) for v in values.values()):
            continue
        row: dict[str, Any] = {"patient_id": scan.patient_id, "scan_date": scan.scan_date, "reader": read.reader,
                               "reader_role": role, "zone": zone}
        for p, v in values.items():
            row[p] = v.grade if v is not None else None
            row[f"{p}_pct"] = v.percent if v is not None else None
        rows.append(row)
    return rows


def _states(conn: sa.Connection, ws: Workspace, scans: list[Any], reads: dict[tuple[int, str], Any],
            cells: dict[int, dict[tuple[str, str], CellValue]] | None = None) -> dict[int, ScanState]:
    """ScanState per scan: discordance from rules.hrct on the scans whose two reads are finished."""
    done = [s for s in scans if all(
        (r := reads.get((s.id, role))) is not None and r.status == "finished" for role in READER_ROLES)]
    states = {int(s.id): ScanState("reading") for s in scans}
    if not done:
        return states
    if cells is None:
        cells = _cells(conn, [r.id for (sid, _), r in reads.items() if sid in {s.id for s in done}])
    rows: list[dict[str, Any]] = []
    for s in done:
        for role in READ_ROLES:
            read = reads.get((s.id, role))
            if read is not None:
                rows.append(_read_rows(s, role, read, cells.get(read.id, {})))
    import pandas as pd

    from ipafstudy.rules.hrct import discordance

    columns = ["patient_id", "scan_date", "reader", "reader_role", "zone", *PATTERNS, *(f"{p}_pct" for p in PATTERNS)]
    frame = pd.DataFrame([r for group in rows for r in group], columns=columns)
    disc = discordance(frame, ws.settings)
    by_key = {(s.patient_id, s.scan_date): int(s.id) for s in done}
    flags: dict[int, list[dict[str, Any]]] = {int(s.id): [] for s in done}
    for rec in disc[disc["flagged"]].to_dict("records"):
        flags[by_key[(rec["patient_id"], rec["scan_date"])]].append(rec)
    for sid, found in flags.items():
        is_open = any(bool(f["open"]) for f in found)
        states[sid] = ScanState("adjudication" if is_open else "closed", tuple(found))
    return states


def scan_states(ws: Workspace, scan_ids: Iterable[int] | None = None) -> dict[int, ScanState]:
    """ScanState of every scan (or of ``scan_ids``)."""
    with ws.read() as conn:
        query = sa.select(db.scans)
        if scan_ids is not None:
            query = query.where(db.scans.c.id.in_(list(scan_ids)))
        scans = list(conn.execute(query))
        return _states(conn, ws, scans, _reads(conn, [s.id for s in scans]))


# --------------------------------------------------------------------------- idempotent requests


def _replay(conn: sa.Connection, user: UserInfo, request_id: str | None, payload: dict[str, Any]) -> Any:
    """The stored answer of an earlier request with this id, None when new; Conflict when reused differently."""
    if request_id is None:
        return None
    if not isinstance(request_id, str) or not 0 < len(request_id) <= 100:
        raise InvalidScore(f"request_id {request_id!r} must be text of 1-100 characters", column="request_id",
                           value=request_id, rule="type")
    row = conn.execute(sa.select(db.requests).where(db.requests.c.request_id == request_id)).first()
    if row is None:
        return None
    if row.username != user.username or json.loads(row.payload) != payload:
        raise Conflict(f"request_id {request_id!r} was already used for a different request; send a new id")
    return json.loads(row.response)


def _remember(conn: sa.Connection, ws: Workspace, user: UserInfo, request_id: str | None,
              payload: dict[str, Any], response: dict[str, Any]) -> None:
    if request_id is not None:
        conn.execute(db.requests.insert().values(request_id=request_id, username=user.username, at=ws.now(),
                                                 payload=json.dumps(payload, sort_keys=True),
                                                 response=json.dumps(response, sort_keys=True)))


def _write(ws: Workspace, user: UserInfo, request_id: str | None, payload: dict[str, Any], work: Any) -> SavedCell:
    """Run ``work(conn)`` in one transaction unless the request_id was seen; a concurrent twin that lost the
    race on the requests key gets the winner's answer."""
    try:
        with ws.session() as conn:
            scan = _scan(conn, payload["scan_id"], lock=True)
            stored = _replay(conn, user, request_id, payload)
            if stored is not None:
                return SavedCell(**{**stored, "replayed": True})
            saved = work(conn, scan)
            _remember(conn, ws, user, request_id, payload, saved.to_dict())
            return saved
    except sa.exc.IntegrityError:
        if request_id is None:
            raise
        with ws.session() as conn:
            stored = _replay(conn, user, request_id, payload)
        if stored is None:
            raise
        return SavedCell(**{**stored, "replayed": True})


# --------------------------------------------------------------------------- readers


def _own_read(conn: sa.Connection, scan: Any, user: UserInfo, role: str) -> Any | None:
    read = conn.execute(sa.select(db.reads).where(db.reads.c.scan_id == scan.id, db.reads.c.role == role)).first()
    if read is not None and read.user_id != user.id:
        holder = "an imported read" if read.user_id is None else "another user's read"
        raise Forbidden(f"the {role} read of scan {scan.id} is {holder}; a reader sees and changes only their own")
    return read


def worklist(ws: Workspace, user: UserInfo) -> list[ScanTask]:
    """The user's scans: readers their own reads (to do and done), the adjudicator the queue, the investigator
    every scan with its state. Never another reader's scores."""
    with ws.read() as conn:
        scans = list(conn.execute(sa.select(db.scans).order_by(db.scans.c.patient_id, db.scans.c.scan_date)))
        reads = _reads(conn)
        if user.role in READER_ROLES:
            counts = _filled_counts(conn, user_id=user.id, role=user.role)
            tasks = []
            for s in scans:
                read = reads.get((s.id, user.role))
                if read is not None and read.user_id != user.id:
                    continue
                status = "new" if read is None else read.status
                tasks.append(ScanTask(int(s.id), s.patient_id, s.scan_date, status,
                                      counts.get(read.id, 0) if read else 0))
            return tasks
        states = _states(conn, ws, scans, reads)
        if user.role == "adjudicator":
            tasks = []
            for s in scans:
                st = states[int(s.id)]
                if not st.in_queue:
                    continue
                done = sum(1 for f in st.flags if not f["open"])
                tasks.append(ScanTask(int(s.id), s.patient_id, s.scan_date,
                                      "open" if st.state == "adjudication" else "adjudicated", done))
            return tasks
        if user.role == "investigator":
            counts = _filled_counts(conn)
            return [ScanTask(int(s.id), s.patient_id, s.scan_date, states[int(s.id)].state,
                             sum(counts.get(r.id, 0) for role in READ_ROLES if (r := reads.get((s.id, role)))))
                    for s in scans]
    raise Forbidden(f"role {user.role!r} has no worklist")


def _filled_counts(conn: sa.Connection, *, user_id: int | None = None, role: str | None = None) -> dict[int, int]:
    filled = sa.or_(db.cells.c.grade.is_not(None), db.cells.c.percent.is_not(None))
    query = (sa.select(db.cells.c.read_id, sa.func.count()).join(db.reads, db.reads.c.id == db.cells.c.read_id)
             .where(filled).group_by(db.cells.c.read_id))
    if user_id is not None:
        query = query.where(db.reads.c.user_id == user_id, db.reads.c.role == role)
    return {int(rid): int(n) for rid, n in conn.execute(query)}


def read_form(ws: Workspace, user: UserInfo, scan_id: int) -> ReadForm:
    """The user's OWN read of a scan (readers; the adjudicator's own grades once the scan is in the queue)."""
    with ws.read() as conn:
        scan = _scan(conn, scan_id)
        if user.role in READER_ROLES:
            read = _own_read(conn, scan, user, user.role)
            cells = _cells(conn, [read.id])[read.id] if read else {}
            return _form(scan, user.role, read, cells)
        if user.role == "adjudicator":
            reads = _reads(conn, [scan.id])
            if not _states(conn, ws, [scan], reads)[int(scan.id)].in_queue:
                raise Forbidden(f"scan {scan_id} is not in the adjudication queue")
            read = reads.get((scan.id, "adjudicator"))
            cells = _cells(conn, [read.id])[read.id] if read else {}
            return _form(scan, "adjudicator", read, cells)
    raise Forbidden(f"role {user.role!r} has no read of its own")


def read_of_role(ws: Workspace, user: UserInfo, scan_id: int, role: str) -> ReadForm:
    """One read of a scan by role, if the blinding rule lets this user see it (else Forbidden)."""
    if role not in READ_ROLES:
        raise NotFound(f"no read role {role!r}; roles are {', '.join(READ_ROLES)}")
    if user.role in READER_ROLES:
        if role != user.role:
            raise Forbidden(f"a {user.role} sees only their own read, not the {role} read (blinded reading)")
        return read_form(ws, user, scan_id)
    with ws.read() as conn:
        scan = _scan(conn, scan_id)
        reads = _reads(conn, [scan.id])
        state = _states(conn, ws, [scan], reads)[int(scan.id)]
        if user.role == "adjudicator" and not state.in_queue:
            raise Forbidden(f"scan {scan_id} is not in the adjudication queue; its reads stay blinded")
        if user.role == "investigator" and state.state != "closed":
            raise Forbidden(f"scan {scan_id} is not closed ({state.state}); its reads stay blinded until it is")
        if user.role not in ("adjudicator", "investigator"):
            raise Forbidden(f"role {user.role!r} may not see reads")
        read = reads.get((scan.id, role))
        cells = _cells(conn, [read.id])[read.id] if read else {}
        return _form(scan, role, read, cells)


def save_cell(ws: Workspace, user: UserInfo, scan_id: int, zone: str, pattern: str, *, grade: object = None,
              percent: object = None, request_id: str | None = None) -> SavedCell:
    """Save one zone/pattern of the reader's own read (grade 0-4 and/or percent 0-100; both None clears it)."""
    if user.role not in READER_ROLES:
        raise Forbidden(f"role {user.role!r} does not enter reader scores")
    check_zone_pattern(zone, pattern)
    g = check_value(zone, pattern, pattern, grade)
    pct = check_value(zone, pattern, f"{pattern}_pct", percent)
    new_grade = None if g is None else int(g)
    payload = {"op": "save_cell", "scan_id": int(scan_id), "zone": zone, "pattern": pattern, "grade": new_grade,
               "percent": pct}

    def work(conn: sa.Connection, scan: Any) -> SavedCell:
        now = ws.now()
        read = _own_read(conn, scan, user, user.role)
        if read is None:
            read_id = conn.execute(db.reads.insert().values(
                scan_id=scan.id, role=user.role, reader=user.username, user_id=user.id, status="in_progress",
                source="workspace", created_at=now)).inserted_primary_key[0]
        elif read.status == "finished":
            raise Conflict(f"your {user.role} read of scan {scan.id} is finished and locked")
        else:
            read_id = read.id
        return _put_cell(conn, ws, user, scan, user.role, read_id, zone, pattern, new_grade, pct, request_id)

    return _write(ws, user, request_id, payload, work)


def _put_cell(conn: sa.Connection, ws: Workspace, user: UserInfo, scan: Any, role: str, read_id: int, zone: str,
              pattern: str, grade: int | None, pct: float | None, request_id: str | None) -> SavedCell:
    now = ws.now()
    key = (db.cells.c.read_id == read_id) & (db.cells.c.zone == zone) & (db.cells.c.pattern == pattern)
    old = conn.execute(sa.select(db.cells.c.grade, db.cells.c.percent).where(key)).first()
    old_grade, old_pct = (old.grade, old.percent) if old else (None, None)
    changed = (old_grade, old_pct) != (grade, pct)
    if changed:
        if old is None:
            conn.execute(db.cells.insert().values(read_id=read_id, zone=zone, pattern=pattern, grade=grade,
                                                  percent=pct, updated_at=now, updated_by=user.username))
        else:
            conn.execute(db.cells.update().where(key).values(grade=grade, percent=pct, updated_at=now,
                                                             updated_by=user.username))
        _audit(conn, ws, user.username, "save_cell", "cells", _scan_key(scan, role, zone, pattern),
               None if old is None else {"grade": old_grade, "percent": old_pct},
               {"grade": grade, "percent": pct}, request_id)
    return SavedCell(int(scan.id), role, zone, pattern, grade, pct, old_grade, old_pct, changed, now.isoformat(),
                     request_id, False, _mismatch(zone, pattern, grade, pct))


def finish_read(ws: Workspace, user: UserInfo, scan_id: int) -> ReadForm:
    """Mark the reader's own read finished (all 24 cells needed; IncompleteRead lists the empty ones).
    Finishing twice is harmless."""
    if user.role not in READER_ROLES:
        raise Forbidden(f"role {user.role!r} has no read to finish")
    with ws.session() as conn:
        scan = _scan(conn, scan_id, lock=True)
        read = _own_read(conn, scan, user, user.role)
        cells = _cells(conn, [read.id])[read.id] if read else {}
        form = _form(scan, user.role, read, cells)
        if form.missing:
            shown = ", ".join(form.missing[:8]) + (f" (+{len(form.missing) - 8} more)" if len(form.missing) > 8 else "")
            raise IncompleteRead(f"scan {scan_id}: {len(form.missing)} of {N_CELLS} cells are still empty: {shown}",
                                 form.missing)
        if read.status != "finished":
            now = ws.now()
            conn.execute(db.reads.update().where(db.reads.c.id == read.id).values(status="finished",
                                                                                   finished_at=now))
            _audit(conn, ws, user.username, "finish_read", "reads", _scan_key(scan, user.role),
                   {"status": read.status}, {"status": "finished"})
            form = ReadForm(**{**form.__dict__, "status": "finished"})
        return form


# --------------------------------------------------------------------------- adjudication


def _item(scan: Any, rec: dict[str, Any]) -> AdjudicationItem:
    def num(v: Any, kind: type) -> Any:
        return None if v is None or v != v else kind(v)  # NA / NaN -> None

    def na(v: Any) -> Any:
        import pandas as pd

        return None if v is pd.NA or v is None or (isinstance(v, float) and v != v) else v

    return AdjudicationItem(
        int(scan.id), scan.patient_id, scan.scan_date, rec["zone"], rec["pattern"],
        num(na(rec["reader1_grade"]), int), num(na(rec["reader2_grade"]), int),
        num(na(rec["reader1_pct"]), float), num(na(rec["reader2_pct"]), float), str(rec["flag_reason"]),
        num(na(rec["adjudicator_grade"]), int), bool(rec["open"]),
    )


def adjudication_queue(ws: Workspace, user: UserInfo, *, open_only: bool = False) -> list[AdjudicationItem]:
    """Every flagged zone/pattern of the scans both readers finished, with both reads and the adjudicator's grade."""
    if user.role != "adjudicator":
        raise Forbidden(f"only the adjudicator sees the adjudication queue, not {user.role!r}")
    with ws.read() as conn:
        scans = list(conn.execute(sa.select(db.scans).order_by(db.scans.c.patient_id, db.scans.c.scan_date)))
        states = _states(conn, ws, scans, _reads(conn))
    items = [_item(s, rec) for s in scans for rec in states[int(s.id)].flags]
    return [i for i in items if i.open] if open_only else items


def save_adjudication(ws: Workspace, user: UserInfo, scan_id: int, zone: str, pattern: str, grade: object, *,
                      request_id: str | None = None) -> SavedCell:
    """The adjudicator's grade of one flagged zone/pattern of a scan in the queue (None clears it)."""
    if user.role != "adjudicator":
        raise Forbidden(f"only the adjudicator grades flagged zones, not {user.role!r}")
    check_zone_pattern(zone, pattern)
    g = check_value(zone, pattern, pattern, grade)
    new_grade = None if g is None else int(g)
    payload = {"op": "save_adjudication", "scan_id": int(scan_id), "zone": zone, "pattern": pattern,
               "grade": new_grade}

    def work(conn: sa.Connection, scan: Any) -> SavedCell:
        reads = _reads(conn, [scan.id])
        state = _states(conn, ws, [scan], reads)[int(scan.id)]
        if not state.in_queue:
            raise Forbidden(f"scan {scan.id} is not in the adjudication queue")
        if not any(f["zone"] == zone and f["pattern"] == pattern for f in state.flags):
            raise Conflict(f"scan {scan.id} zone {zone} pattern {pattern} is not flagged; the adjudicator grades "
                           "only flagged zone/patterns")
        read = _own_read(conn, scan, user, "adjudicator")
        if read is None:
            read_id = conn.execute(db.reads.insert().values(
                scan_id=scan.id, role="adjudicator", reader=user.username, user_id=user.id, status="in_progress",
                source="workspace", created_at=ws.now())).inserted_primary_key[0]
        else:
            read_id = read.id
        return _put_cell(conn, ws, user, scan, "adjudicator", read_id, zone, pattern, new_grade, None, request_id)

    return _write(ws, user, request_id, payload, work)


# --------------------------------------------------------------------------- scans


def add_scan(ws: Workspace, patient_id: str, scan_date: dt.date, *, by: str | None = None) -> int:
    """Register a scan to be read (its id); an existing (patient, date) returns the existing id."""
    with ws.session() as conn:
        found = conn.execute(sa.select(db.scans.c.id).where(db.scans.c.patient_id == patient_id,
                                                            db.scans.c.scan_date == scan_date)).first()
        if found:
            return int(found.id)
        scan_id = int(conn.execute(db.scans.insert().values(patient_id=patient_id, scan_date=scan_date))
                      .inserted_primary_key[0])
        conn.execute(db.audit.insert().values(at=ws.now(), username=by, action="add_scan", table_name="scans",
                                              key=f"scan {scan_id} ({patient_id} {scan_date.isoformat()})",
                                              old=None, new=to_json({"patient_id": patient_id,
                                                                     "scan_date": scan_date.isoformat()})))
        return scan_id


def audit_rows(ws: Workspace, *, limit: int | None = None) -> list[dict[str, Any]]:
    """The audit trail, oldest first (old/new decoded from JSON)."""
    with ws.read() as conn:
        query = sa.select(db.audit).order_by(db.audit.c.id)
        if limit:
            query = query.limit(limit)
        rows = conn.execute(query).all()
    return [{**r._asdict(), "old": None if r.old is None else json.loads(r.old),
             "new": None if r.new is None else json.loads(r.new)} for r in rows]
