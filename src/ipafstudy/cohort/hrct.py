"""HRCT consensus scans for the cohort: which scans can be analysed, and which are blocked.

A scan is usable when the consensus (``rules.hrct.consensus``) marks it complete: two readers,
every zone and pattern graded, and no open adjudication flag. A scan with an open flag
(readers disagree, no third read yet) is excluded with its list of zones/patterns, so a
clinician knows what to adjudicate
(``ipafstudy hrct worklist``). Excluded scans are never replaced silently: the time point
rules simply look at the remaining scans, and the reason a patient has no baseline/follow-up
scan names the excluded ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ipafstudy.cohort._common import as_date, text_or_none
from ipafstudy.errors import InvalidOptionError
from ipafstudy.rules.common import float_or_nan
from ipafstudy.rules.hrct import MAX_GRADE, PATTERNS, HrctConsensus, consensus, discordance
from ipafstudy.settings import ClinicalSettings
from ipafstudy.values import is_missing

EXCLUDED_COLUMNS = ("patient_id", "scan_date", "n_open_flags", "reason")


@dataclass(frozen=True)
class HrctCohort:
    """The consensus and the split of its scans into usable and excluded ones."""

    consensus: HrctConsensus | None
    usable_scans: pd.DataFrame
    excluded_scans: pd.DataFrame
    open_flags: pd.DataFrame
    _notes: dict[str, str] = field(default_factory=dict, repr=False)

    def note_for(self, patient_id: str) -> str:
        """Text appended to a missing-HRCT reason: the patient's excluded scans, if any."""
        return self._notes.get(patient_id, "")


def _flag_text(flags: pd.DataFrame) -> str:
    parts = []
    for r in flags.to_dict("records"):
        bits = [str(r[k]) for k in ("zone", "pattern") if k in r and r[k] is not None]
        parts.append("/".join(bits))
    return ", ".join(sorted(parts))


def hrct_cohort(reads: pd.DataFrame, settings: ClinicalSettings) -> HrctCohort:
    """Consensus of all reads, split into usable and excluded scans."""
    empty = pd.DataFrame(columns=["patient_id", "scan_date"])
    if reads is None or len(reads) == 0:
        return HrctCohort(None, empty, pd.DataFrame(columns=list(EXCLUDED_COLUMNS)), pd.DataFrame())
    cons = consensus(reads, settings)
    scans = cons.scans.copy()
    flags = cons.open_flags.copy()
    if len(scans):
        scans["patient_id"] = scans["patient_id"].astype(str)
        scans["scan_date"] = [as_date(d) for d in scans["scan_date"]]
    if len(flags):
        flags["patient_id"] = flags["patient_id"].astype(str)
        flags["scan_date"] = [as_date(d) for d in flags["scan_date"]]
    excluded = []
    keep = []
    for row in scans.to_dict("records"):
        pid, day = row["patient_id"], row["scan_date"]
        if bool(row["complete"]):
            keep.append(True)
            continue
        keep.append(False)
        scan_flags = flags[(flags["patient_id"] == pid) & (flags["scan_date"] == day)] if len(flags) else flags
        reason = str(row.get("issue") or "incomplete consensus")
        if len(scan_flags):
            reason += f" (open: {_flag_text(scan_flags)})"
        excluded.append({"patient_id": pid, "scan_date": day, "n_open_flags": len(scan_flags), "reason": reason})
    usable = scans[keep].reset_index(drop=True) if len(scans) else empty
    excluded_frame = pd.DataFrame(excluded, columns=list(EXCLUDED_COLUMNS))
    notes: dict[str, str] = {}
    for r in excluded:
        notes[r["patient_id"]] = notes.get(r["patient_id"], "") + (
            f"; scan {r['scan_date'].isoformat() if r['scan_date'] else '?'} excluded: {r['reason']}"
        )
    return HrctCohort(cons, usable, excluded_frame, flags, notes)


WORKLIST_COLUMNS = (
    "patient_id", "scan_date", "zone", "pattern", "flag_reason", "reader1_grade", "reader2_grade", "reader1_pct",
    "reader2_pct", "adjudicator", "adjudicator_grade",
)


def adjudication_worklist(reads: pd.DataFrame, settings: ClinicalSettings) -> pd.DataFrame:
    """Open flags, one row per scan/zone/pattern, with empty ``adjudicator``/``adjudicator_grade`` to fill."""
    disc = discordance(reads, settings) if reads is not None and len(reads) else pd.DataFrame()
    open_rows = disc[disc["open"]] if len(disc) else pd.DataFrame(columns=list(WORKLIST_COLUMNS))
    out = pd.DataFrame({c: open_rows[c] for c in WORKLIST_COLUMNS if c in open_rows.columns})
    out["adjudicator"] = ""
    out["adjudicator_grade"] = pd.Series([pd.NA] * len(out), index=out.index, dtype="Int64")
    return out[list(WORKLIST_COLUMNS)].reset_index(drop=True)


def adjudicator_rows(filled: pd.DataFrame, *, source: str = "worklist") -> pd.DataFrame:
    """Turn a filled worklist into ``hrct_reads`` rows (reader_role=adjudicator), one per scan and zone.

    Rows left blank are skipped (still open). A grade that is not a whole number 0-4, or a row
    without the adjudicator's id, is an error naming the worklist row (spreadsheet numbering).
    """
    missing = [c for c in ("patient_id", "scan_date", "zone", "pattern", "adjudicator", "adjudicator_grade")
               if c not in filled.columns]
    if missing:
        raise InvalidOptionError(f"{source}: missing column(s) {missing}; use the file `ipafstudy hrct worklist` wrote")
    cells: dict[tuple[str, object, str, str], dict[str, object]] = {}
    for i, row in enumerate(filled.to_dict("records")):
        where = f"{source} row {i + 2}"
        grade = row.get("adjudicator_grade")
        if is_missing(grade) or str(grade).strip() == "":
            continue
        value = float_or_nan(grade)
        if not (0 <= value <= MAX_GRADE and value == int(value)):
            raise InvalidOptionError(
                f"{where}, column adjudicator_grade: {grade!r} is not a whole number 0-{MAX_GRADE}"
            )
        reader = text_or_none(row.get("adjudicator"))
        if reader is None:
            raise InvalidOptionError(f"{where}, column adjudicator: give the adjudicating radiologist's id")
        pattern = str(row["pattern"])
        if pattern not in PATTERNS:
            raise InvalidOptionError(f"{where}, column pattern: {pattern!r} is not one of {', '.join(PATTERNS)}")
        day = as_date(row["scan_date"])
        key = (str(row["patient_id"]), day, str(row["zone"]), reader)
        rec = cells.setdefault(key, {"patient_id": key[0], "scan_date": day, "reader": reader,
                                     "reader_role": "adjudicator", "zone": key[2]})
        rec[pattern] = int(value)
    columns = ["patient_id", "scan_date", "reader", "reader_role", "zone", *PATTERNS]
    frame = pd.DataFrame(list(cells.values()), columns=columns)
    for p in PATTERNS:
        frame[p] = frame[p].astype("Int64")
    return frame
