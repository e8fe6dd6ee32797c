"""HRCT visual score (modified Warrick, Goldin et al. 2008; clinical-rules.md s.3).

Operates on frames shaped like the ``hrct_reads`` table (one row per scan, reader and zone; a
grade 0-4 and/or a percentage per pattern). Everything here is pure: frames in, new frames out,
the input is never modified. A grade and a percentage that disagree are reported (the recorded
grade is kept), never silently resolved; flags still waiting for a third reader, zones missing
and scans read by one reader only make a scan incomplete, and an incomplete scan gets no score.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ipafstudy.rules.codes import PATTERNS, ZONES
from ipafstudy.rules.common import RuleInputError, float_or_nan
from ipafstudy.settings import ClinicalSettings
from ipafstudy.values import is_missing

# Same values as data/schema.py (a test checks); repeated because rules sit below data.
READER_ROLES = ("reader1", "reader2", "adjudicator")
MAX_GRADE = 4
# Percent differences are compared after rounding, so 60.1 - 35.1 counts as 25 points exactly.
_PERCENT_DECIMALS = 9


def grade_from_percent(pct: float) -> int:
    """Extent grade from a percentage: 0 for 0 %, 1 (0, 25], 2 (25, 50], 3 (50, 75], 4 (75, 100].

    >>> [grade_from_percent(p) for p in (0, 0.5, 25, 25.0001, 50, 75, 100)]
    [0, 1, 1, 2, 2, 3, 4]
    """
    if isinstance(pct, bool) or is_missing(pct):
        raise RuleInputError(f"HRCT extent percentage {pct!r} is missing or not a number")
    value = float_or_nan(pct)
    if math.isnan(value) or not 0.0 <= value <= 100.0:
        raise RuleInputError(f"HRCT extent percentage {pct!r} is outside 0-100 %")
    if value == 0.0:
        return 0
    return min(MAX_GRADE, math.ceil(value / 25.0))


def _where(row: dict[str, Any], index: Hashable) -> str:
    """'file.csv row 12' when the loader kept provenance, else the frame index."""
    if "_source_row" in row and not is_missing(row["_source_row"]):
        src = row.get("_source_file")
        sheet = row.get("_source_sheet")
        place = f"{src}" if src and not is_missing(src) else "hrct_reads"
        if sheet and not is_missing(sheet):
            place += f" [{sheet}]"
        return f"{place} row {row['_source_row']}"
    return f"hrct_reads index {index!r}"


def _grade_value(raw: Any, where: str, column: str) -> int | None:
    if is_missing(raw):
        return None
    value = float_or_nan(raw)
    if isinstance(raw, bool) or not (0 <= value <= MAX_GRADE) or value != int(value):
        raise RuleInputError(f"{where}, column {column}: grade {raw!r} is not a whole number 0-{MAX_GRADE}")
    return int(value)


def _percent_value(raw: Any, where: str, column: str) -> float | None:
    if is_missing(raw):
        return None
    value = float_or_nan(raw)
    if isinstance(raw, bool) or not 0.0 <= value <= 100.0:
        raise RuleInputError(f"{where}, column {column}: percentage {raw!r} is outside 0-100 %")
    return value


def _check_columns(reads: pd.DataFrame) -> None:
    needed = ("patient_id", "scan_date", "reader_role", "zone")
    missing = [c for c in needed if c not in reads.columns]
    if missing:
        raise RuleInputError(f"hrct_reads is missing column(s) {missing}; columns present: {list(reads.columns)}")
    if not any(p in reads.columns or f"{p}_pct" in reads.columns for p in PATTERNS):
        raise RuleInputError(f"hrct_reads has no grade or percentage column for any of {list(PATTERNS)}")


_ORDER = {
    "zone": {v: i for i, v in enumerate(ZONES)},
    "pattern": {v: i for i, v in enumerate(PATTERNS)},
    "reader_role": {v: i for i, v in enumerate(READER_ROLES)},
}
_GRADE_COLUMNS = ["patient_id", "scan_date", "reader", "reader_role", "zone", "pattern", "grade", "percent",
                  "grade_source", "conflict", "conflict_detail"]
_DISC_COLUMNS = ["patient_id", "scan_date", "zone", "pattern", "reader1_grade", "reader2_grade", "reader1_pct",
                 "reader2_pct", "gap", "percent_gap", "flagged", "flag_reason", "adjudicator_grade", "open"]


def _ordered(records: list[dict[str, Any]], by: tuple[str, ...]) -> list[dict[str, Any]]:
    """Deterministic order: zones, patterns and roles in their clinical order, ids and dates as text."""

    def key(rec: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(_ORDER[c].get(rec[c], 99) if c in _ORDER else str(rec[c]) for c in by)

    return sorted(records, key=key)


def _frame(records: list[dict[str, Any]], columns: list[str], ints: tuple[str, ...] = (),
           floats: tuple[str, ...] = (), bools: tuple[str, ...] = ()) -> pd.DataFrame:
    frame = pd.DataFrame(records, columns=columns)
    for col in ints:
        frame[col] = frame[col].astype("Int64")
    for col in floats:
        frame[col] = frame[col].astype("float64")
    for col in bools:
        frame[col] = frame[col].astype(bool)
    return frame


def _zone_records(reads: pd.DataFrame) -> list[dict[str, Any]]:
    """Validated zone/pattern grade records (see zone_grades), ordered."""
    _check_columns(reads)
    out: list[dict[str, Any]] = []
    seen: dict[tuple[Any, ...], str] = {}
    for index, row in zip(reads.index, reads.to_dict("records"), strict=True):
        where = _where(row, index)
        zone, role = row["zone"], row["reader_role"]
        if zone not in ZONES:
            raise RuleInputError(f"{where}, column zone: {zone!r} is not one of {', '.join(ZONES)}")
        if role not in READER_ROLES:
            raise RuleInputError(f"{where}, column reader_role: {role!r} is not one of {', '.join(READER_ROLES)}")
        key = (str(row["patient_id"]), row["scan_date"], role, zone)
        if key in seen:
            raise RuleInputError(
                f"{where}: a second {role} read of zone {zone} for patient {key[0]} scan {key[1]} "
                f"(first at {seen[key]}); keep one row per scan, reader role and zone"
            )
        seen[key] = where
        for pattern in PATTERNS:
            grade = _grade_value(row.get(pattern), where, pattern)
            pct = _percent_value(row.get(f"{pattern}_pct"), where, f"{pattern}_pct")
            conflict, detail = False, ""
            if grade is not None:
                source = "grade"
                if pct is not None and grade_from_percent(pct) != grade:
                    conflict = True
                    detail = (
                        f"{where}: {pattern} grade {grade} but {pct:g} % is grade {grade_from_percent(pct)}; "
                        "grade kept"
                    )
            elif pct is not None:
                grade, source = grade_from_percent(pct), "percent"
            else:
                source = "missing"
            out.append(
                {
                    "patient_id": key[0],
                    "scan_date": row["scan_date"],
                    "reader": row.get("reader"),
                    "reader_role": role,
                    "zone": zone,
                    "pattern": pattern,
                    "grade": grade,
                    "percent": pct,
                    "grade_source": source,
                    "conflict": conflict,
                    "conflict_detail": detail,
                }
            )
    return _ordered(out, ("patient_id", "scan_date", "reader_role", "zone", "pattern"))


def zone_grades(reads: pd.DataFrame) -> pd.DataFrame:
    """One row per scan, reader, zone and pattern: the grade used and where it came from.

    Columns: patient_id, scan_date, reader, reader_role, zone, pattern, grade (Int64; NA when
    neither grade nor percentage was recorded), percent, grade_source ('grade', 'percent' or
    'missing'), conflict (a grade AND a percentage were recorded and disagree; the recorded grade
    is kept) and conflict_detail. Raises RuleInputError (naming row, column and value) for an
    unknown zone or role, a grade outside 0-4, a percentage outside 0-100 or a duplicated read.
    """
    return _frame(_zone_records(reads), _GRADE_COLUMNS, ints=("grade",), floats=("percent",), bools=("conflict",))


def reader_scores(reads: pd.DataFrame) -> pd.DataFrame:
    """Each reader's own scores per scan: ggo, fibrosis, honeycombing, consolidation (0-24), total (0-96).

    A pattern score is NaN unless all six zones carry a grade for it; total is NaN unless all four
    are present. ``n_zones`` counts the zones the reader recorded and ``complete`` says whether all
    24 zone grades are there.
    """
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for rec in _zone_records(reads):
        groups.setdefault((rec["patient_id"], rec["scan_date"], rec["reader"], rec["reader_role"]), []).append(rec)
    rows = []
    for (pid, date, reader, role), recs in groups.items():
        row: dict[str, Any] = {"patient_id": pid, "scan_date": date, "reader": reader, "reader_role": role}
        for pattern in PATTERNS:
            vals = [r["grade"] for r in recs if r["pattern"] == pattern]
            full = len(vals) == len(ZONES) and all(v is not None for v in vals)
            row[pattern] = float(sum(vals)) if full else math.nan
        scores = [row[p] for p in PATTERNS]
        row["total"] = math.nan if any(math.isnan(v) for v in scores) else float(sum(scores))
        row["n_zones"] = len({r["zone"] for r in recs})
        row["complete"] = not math.isnan(row["total"])
        rows.append(row)
    columns = ["patient_id", "scan_date", "reader", "reader_role", *PATTERNS, "total", "n_zones", "complete"]
    rows = _ordered(rows, ("patient_id", "scan_date", "reader_role"))
    return _frame(rows, columns, floats=(*PATTERNS, "total"), bools=("complete",))


def _discordance_records(grades: list[dict[str, Any]], settings: ClinicalSettings) -> list[dict[str, Any]]:
    table: dict[tuple[Any, ...], dict[str, tuple[int | None, float | None]]] = {}
    for rec in grades:
        key = (rec["patient_id"], rec["scan_date"], rec["zone"], rec["pattern"])
        table.setdefault(key, {})[rec["reader_role"]] = (rec["grade"], rec["percent"])
    rows = []
    for (pid, date, zone, pattern), roles in table.items():
        g1, p1 = roles.get("reader1", (None, None))
        g2, p2 = roles.get("reader2", (None, None))
        ga, _ = roles.get("adjudicator", (None, None))
        gap = None if g1 is None or g2 is None else abs(g1 - g2)
        pct_gap = None if p1 is None or p2 is None else round(abs(p1 - p2), _PERCENT_DECIMALS)
        by_grade = gap is not None and gap > settings.adjudication_grade_gap
        by_pct = pct_gap is not None and pct_gap >= settings.adjudication_percent_gap
        reasons = []
        if by_grade:
            reasons.append(f"grade gap {gap} > {settings.adjudication_grade_gap}")
        if by_pct:
            reasons.append(f"percent gap {pct_gap:g} >= {settings.adjudication_percent_gap:g}")
        flagged = by_grade or by_pct
        rows.append(
            {
                "patient_id": pid,
                "scan_date": date,
                "zone": zone,
                "pattern": pattern,
                "reader1_grade": g1,
                "reader2_grade": g2,
                "reader1_pct": p1,
                "reader2_pct": p2,
                "gap": gap,
                "percent_gap": pct_gap,
                "flagged": flagged,
                "flag_reason": " and ".join(reasons),
                "adjudicator_grade": ga,
                "open": flagged and ga is None,
            }
        )
    return _ordered(rows, ("patient_id", "scan_date", "zone", "pattern"))


def _disc_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return _frame(rows, _DISC_COLUMNS, ints=("reader1_grade", "reader2_grade", "gap", "adjudicator_grade"),
                  floats=("reader1_pct", "reader2_pct", "percent_gap"), bools=("flagged", "open"))


def discordance(reads: pd.DataFrame, settings: ClinicalSettings) -> pd.DataFrame:
    """Compare the two readers per scan, zone and pattern, and flag what needs a third reader.

    ``flagged``: the grades differ by MORE than ``settings.adjudication_grade_gap``, or both
    readers recorded percentages that differ by ``settings.adjudication_percent_gap`` points or
    more (differences are rounded to 9 decimals first, so 60.1 vs 35.1 is 25). ``open``: flagged
    and no adjudicator grade yet. A zone/pattern missing for either reader has gap NA and is not
    flagged (``consensus`` reports it as missing).
    """
    return _disc_frame(_discordance_records(_zone_records(reads), settings))


@dataclass(frozen=True)
class HrctConsensus:
    """Final HRCT scores and everything that kept a scan from being scored.

    zones: patient_id, scan_date, zone, pattern, reader grades, flagged, final_grade, rule_used.
    scans: patient_id, scan_date, ggo, fibrosis, honeycombing, consolidation, total, n_flagged,
    n_open, complete, issue (why an incomplete scan has no score).
    open_flags: the discordance rows a third reader still has to read.
    conflicts: zone reads whose grade and percentage disagree (the recorded grade was used).
    consensus_rule: the rule applied.
    """

    zones: pd.DataFrame
    scans: pd.DataFrame
    open_flags: pd.DataFrame
    conflicts: pd.DataFrame
    consensus_rule: str


def _final_grade(rec: dict[str, Any], rule: str) -> tuple[float | None, str]:
    g1, g2, ga = rec["reader1_grade"], rec["reader2_grade"], rec["adjudicator_grade"]
    if g1 is None or g2 is None:
        which = " and ".join(r for r, g in (("reader1", g1), ("reader2", g2)) if g is None)
        return None, f"missing: no {which} grade"
    if rec["flagged"] and ga is None:
        return None, "open: flagged, waiting for the adjudicator"
    if rule == "mean_then_adjudicator":
        if rec["flagged"]:
            return float(ga), "adjudicator (flagged)"
        return (g1 + g2) / 2.0, "mean of readers"
    if rule == "adjudicator_else_reader1":
        if ga is not None:
            return float(ga), "adjudicator"
        return float(g1), "reader1"
    return (g1 + g2) / 2.0, "mean of readers"


def consensus(reads: pd.DataFrame, settings: ClinicalSettings) -> HrctConsensus:
    """Form the final zone grades and scan scores under ``settings.consensus_rule``.

    Rules: ``mean_then_adjudicator`` (mean of the two readers where not flagged, the
    adjudicator's grade where flagged), ``adjudicator_else_reader1`` (the adjudicator's grade
    wherever one exists, else reader 1) and ``mean`` (mean of the two readers everywhere). Under
    every rule a flag without an adjudicator grade is OPEN and blocks its scan: the scan is
    ``complete=False`` with NaN scores and the flag is listed in ``open_flags``. A scan read by
    one reader only, or with a zone/pattern missing for either reader, is incomplete too.
    """
    rule = settings.consensus_rule
    grades = _zone_records(reads)
    disc = _discordance_records(grades, settings)
    zone_rows = []
    per_scan: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    for rec in disc:
        final, used = _final_grade(rec, rule)
        row = {**{k: rec[k] for k in ("patient_id", "scan_date", "zone", "pattern", "reader1_grade",
                                      "reader2_grade", "adjudicator_grade", "flagged")},
               "final_grade": final, "rule_used": used}
        zone_rows.append(row)
        per_scan.setdefault((rec["patient_id"], rec["scan_date"]), []).append(row)
    roles_per_scan: dict[tuple[Any, Any], set[str]] = {}
    for rec in grades:
        roles_per_scan.setdefault((rec["patient_id"], rec["scan_date"]), set()).add(rec["reader_role"])

    scan_rows = []
    for (pid, date), rows in per_scan.items():
        roles = roles_per_scan.get((pid, date), set())
        n_flagged = sum(1 for r in rows if r["flagged"])
        n_open = sum(1 for r in rows if r["rule_used"].startswith("open"))
        recorded = {(r["zone"], r["pattern"]): r["rule_used"] for r in rows}
        missing = [f"{z} {p}" for z in ZONES for p in PATTERNS
                   if recorded.get((z, p), "missing").startswith("missing")]
        issues = []
        readers = [r for r in ("reader1", "reader2") if r in roles]
        if len(readers) < 2:
            only = readers[0] if readers else "the adjudicator"
            issues.append(f"read by {only} only; two independent readers are needed")
        if n_open:
            issues.append(f"{n_open} open flag(s) waiting for the adjudicator")
        if missing and len(readers) == 2:
            shown = ", ".join(missing[:6]) + (f" (+{len(missing) - 6} more)" if len(missing) > 6 else "")
            issues.append(f"missing zone grades: {shown}")
        complete = not issues
        scan: dict[str, Any] = {"patient_id": pid, "scan_date": date}
        for pattern in PATTERNS:
            scan[pattern] = (float(sum(r["final_grade"] for r in rows if r["pattern"] == pattern))
                             if complete else math.nan)
        scan["total"] = float(sum(scan[p] for p in PATTERNS)) if complete else math.nan
        scan.update(n_flagged=n_flagged, n_open=n_open, complete=complete, issue="; ".join(issues))
        scan_rows.append(scan)
    scan_cols = ["patient_id", "scan_date", *PATTERNS, "total", "n_flagged", "n_open", "complete", "issue"]
    zone_cols = ["patient_id", "scan_date", "zone", "pattern", "reader1_grade", "reader2_grade",
                 "adjudicator_grade", "flagged", "final_grade", "rule_used"]
    open_rows = [{k: v for k, v in r.items() if k != "open"} for r in disc if r["open"]]
    return HrctConsensus(
        zones=_frame(zone_rows, zone_cols, ints=("reader1_grade", "reader2_grade", "adjudicator_grade"),
                     floats=("final_grade",), bools=("flagged",)),
        scans=_frame(_ordered(scan_rows, ("patient_id", "scan_date")), scan_cols,
                     floats=(*PATTERNS, "total"), bools=("complete",)),
        open_flags=_disc_frame(open_rows).drop(columns=["open"]),
        conflicts=_frame([r for r in grades if r["conflict"]], _GRADE_COLUMNS, ints=("grade",),
                         floats=("percent",), bools=("conflict",)),
        consensus_rule=rule,
    )
