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

from ipafstudy.rules.common import RuleInputError, is_missing
from ipafstudy.settings import ClinicalSettings

# Same values as data/schema.py (a test checks); repeated because rules sit below data.
ZONES = ("RU", "RM", "RL", "LU", "LM", "LL")
PATTERNS = ("ggo", "fibrosis", "honeycombing", "consolidation")
READER_ROLES = ("reader1", "reader2", "adjudicator")
MAX_GRADE = 4
_KEY = ("patient_id", "scan_date")
# Percent differences are compared after rounding, so 60.1 - 35.1 counts as 25 points exactly.
_PERCENT_DECIMALS = 9


def grade_from_percent(pct: float) -> int:
    """Extent grade from a percentage: 0 for 0 %, 1 (0, 25], 2 (25, 50], 3 (50, 75], 4 (75, 100].

    >>> [grade_from_percent(p) for p in (0, 0.5, 25, 25.0001, 50, 75, 100)]
    [0, 1, 1, 2, 2, 3, 4]
    """
    if isinstance(pct, bool) or is_missing(pct):
        raise RuleInputError(f"HRCT extent percentage {pct!r} is missing or not a number")
    try:
        value = float(pct)
    except (TypeError, ValueError):
        value = math.nan
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
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = float("nan")
    if isinstance(raw, bool) or not (0 <= value <= MAX_GRADE) or value != int(value):
        raise RuleInputError(f"{where}, column {column}: grade {raw!r} is not a whole number 0-{MAX_GRADE}")
    return int(value)


def _percent_value(raw: Any, where: str, column: str) -> float | None:
    if is_missing(raw):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = float("nan")
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


def zone_grades(reads: pd.DataFrame) -> pd.DataFrame:
    """One row per scan, reader, zone and pattern: the grade used and where it came from.

    Columns: patient_id, scan_date, reader, reader_role, zone, pattern, grade (Int64; NA when
    neither grade nor percentage was recorded), percent, grade_source ('grade', 'percent' or
    'missing'), conflict (a grade AND a percentage were recorded and disagree; the recorded grade
    is kept) and conflict_detail. Raises RuleInputError (naming row, column and value) for an
    unknown zone or role, a grade outside 0-4, a percentage outside 0-100 or a duplicated read.
    """
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
    columns = ["patient_id", "scan_date", "reader", "reader_role", "zone", "pattern", "grade", "percent",
               "grade_source", "conflict", "conflict_detail"]
    frame = pd.DataFrame(out, columns=columns)
    frame["grade"] = frame["grade"].astype("Int64")
    frame["percent"] = frame["percent"].astype("float64")
    frame["conflict"] = frame["conflict"].astype(bool)
    return _sorted(frame, ["patient_id", "scan_date", "reader_role", "zone", "pattern"])


def _sorted(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Deterministic order: zones, patterns and roles in their clinical order, not alphabetical."""
    if frame.empty:
        return frame.reset_index(drop=True)
    orders = {"zone": ZONES, "pattern": PATTERNS, "reader_role": READER_ROLES}

    def key(col: pd.Series) -> pd.Series:
        if col.name in orders:
            return col.map({v: i for i, v in enumerate(orders[str(col.name)])})
        return col.astype(str)

    return frame.sort_values(by, key=key, kind="mergesort").reset_index(drop=True)


def reader_scores(reads: pd.DataFrame) -> pd.DataFrame:
    """Each reader's own scores per scan: ggo, fibrosis, honeycombing, consolidation (0-24), total (0-96).

    A pattern score is NaN unless all six zones carry a grade for it; total is NaN unless all four
    are present. ``n_zones`` counts the zones the reader recorded and ``complete`` says whether all
    24 zone grades are there.
    """
    grades = zone_grades(reads)
    rows = []
    for (pid, date, reader, role), grp in grades.groupby(
        ["patient_id", "scan_date", "reader", "reader_role"], sort=False, dropna=False
    ):
        row: dict[str, Any] = {"patient_id": pid, "scan_date": date, "reader": reader, "reader_role": role}
        for pattern in PATTERNS:
            vals = grp.loc[grp["pattern"] == pattern, "grade"]
            full = len(vals) == len(ZONES) and not vals.isna().any()
            row[pattern] = float(vals.sum()) if full else math.nan
        scores = [row[p] for p in PATTERNS]
        row["total"] = math.nan if any(math.isnan(s) for s in scores) else float(sum(scores))
        row["n_zones"] = int(grp["zone"].nunique())
        row["complete"] = not math.isnan(row["total"])
        rows.append(row)
    columns = ["patient_id", "scan_date", "reader", "reader_role", *PATTERNS, "total", "n_zones", "complete"]
    return _sorted(pd.DataFrame(rows, columns=columns), ["patient_id", "scan_date", "reader_role"])


def _by_role(grades: pd.DataFrame) -> dict[tuple[Any, ...], dict[str, tuple[int | None, float | None]]]:
    """(patient, scan, zone, pattern) -> role -> (grade, percent)."""
    table: dict[tuple[Any, ...], dict[str, tuple[int | None, float | None]]] = {}
    for rec in grades.to_dict("records"):
        key = (rec["patient_id"], rec["scan_date"], rec["zone"], rec["pattern"])
        grade = None if is_missing(rec["grade"]) else int(rec["grade"])
        pct = None if is_missing(rec["percent"]) else float(rec["percent"])
        table.setdefault(key, {})[rec["reader_role"]] = (grade, pct)
    return table


def discordance(reads: pd.DataFrame, settings: ClinicalSettings) -> pd.DataFrame:
    """Compare the two readers per scan, zone and pattern, and flag what needs a third reader.

    ``flagged``: the grades differ by MORE than ``settings.adjudication_grade_gap``, or both
    readers recorded percentages that differ by ``settings.adjudication_percent_gap`` points or
    more. ``open``: flagged and no adjudicator grade yet. A zone/pattern missing for either
    reader has gap NA and is not flagged (it is reported by ``consensus`` as missing).
    """
    table = _by_role(zone_grades(reads))
    rows = []
    for (pid, date, zone, pattern), roles in table.items():
        g1, p1 = roles.get("reader1", (None, None))
        g2, p2 = roles.get("reader2", (None, None))
        ga, _ = roles.get("adjudicator", (None, None))
        gap = None if g1 is None or g2 is None else abs(g1 - g2)
        pct_gap = None if p1 is None or p2 is None else round(abs(p1 - p2), _PERCENT_DECIMALS)
        by_grade = gap is not None and gap > settings.adjudication_grade_gap
        by_pct = pct_gap is not None and pct_gap >= settings.adjudication_percent_gap
        flagged = by_grade or by_pct
        reason = " and ".join(
            r for r, hit in (
                (f"grade gap {gap} > {settings.adjudication_grade_gap}", by_grade),
                (f"percent gap {pct_gap:g} >= {settings.adjudication_percent_gap:g}" if pct_gap is not None else "",
                 by_pct),
            ) if hit
        )
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
                "flag_reason": reason,
                "adjudicator_grade": ga,
                "open": flagged and ga is None,
            }
        )
    columns = ["patient_id", "scan_date", "zone", "pattern", "reader1_grade", "reader2_grade", "reader1_pct",
               "reader2_pct", "gap", "percent_gap", "flagged", "flag_reason", "adjudicator_grade", "open"]
    frame = pd.DataFrame(rows, columns=columns)
    for col in ("reader1_grade", "reader2_grade", "gap", "adjudicator_grade"):
        frame[col] = frame[col].astype("Int64")
    for col in ("reader1_pct", "reader2_pct", "percent_gap"):
        frame[col] = frame[col].astype("float64")
    for col in ("flagged", "open"):
        frame[col] = frame[col].astype(bool)
    return _sorted(frame, ["patient_id", "scan_date", "zone", "pattern"])


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
    g1 = None if is_missing(g1) else int(g1)
    g2 = None if is_missing(g2) else int(g2)
    ga = None if is_missing(ga) else int(ga)
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
    grades = zone_grades(reads)
    disc = discordance(reads, settings)
    zone_rows = []
    for rec in disc.to_dict("records"):
        final, used = _final_grade(rec, rule)
        zone_rows.append({**{k: rec[k] for k in ("patient_id", "scan_date", "zone", "pattern", "reader1_grade",
                                                  "reader2_grade", "adjudicator_grade", "flagged")},
                          "final_grade": final, "rule_used": used})
    zone_cols = ["patient_id", "scan_date", "zone", "pattern", "reader1_grade", "reader2_grade",
                 "adjudicator_grade", "flagged", "final_grade", "rule_used"]
    zones = pd.DataFrame(zone_rows, columns=zone_cols)
    zones["final_grade"] = zones["final_grade"].astype("float64")

    roles_per_scan: dict[tuple[Any, Any], set[str]] = {}
    for rec in grades[["patient_id", "scan_date", "reader_role"]].to_dict("records"):
        roles_per_scan.setdefault((rec["patient_id"], rec["scan_date"]), set()).add(rec["reader_role"])

    scan_rows = []
    for (pid, date), grp in zones.groupby(["patient_id", "scan_date"], sort=False, dropna=False):
        roles = roles_per_scan.get((pid, date), set())
        n_flagged = int(grp["flagged"].sum())
        n_open = int(grp["rule_used"].str.startswith("open").sum())
        recorded = {(z, p): used for z, p, used in zip(grp["zone"], grp["pattern"], grp["rule_used"], strict=True)}
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
        row: dict[str, Any] = {"patient_id": pid, "scan_date": date}
        for pattern in PATTERNS:
            row[pattern] = float(grp.loc[grp["pattern"] == pattern, "final_grade"].sum()) if complete else math.nan
        row["total"] = float(sum(row[p] for p in PATTERNS)) if complete else math.nan
        row.update(n_flagged=n_flagged, n_open=n_open, complete=complete, issue="; ".join(issues))
        scan_rows.append(row)
    scan_cols = ["patient_id", "scan_date", *PATTERNS, "total", "n_flagged", "n_open", "complete", "issue"]
    scans = _sorted(pd.DataFrame(scan_rows, columns=scan_cols), ["patient_id", "scan_date"])
    open_flags = disc.loc[disc["open"]].drop(columns=["open"]).reset_index(drop=True)
    conflicts = grades.loc[grades["conflict"]].reset_index(drop=True)
    return HrctConsensus(
        zones=_sorted(zones, ["patient_id", "scan_date", "zone", "pattern"]),
        scans=scans,
        open_flags=open_flags,
        conflicts=conflicts,
        consensus_rule=rule,
    )
