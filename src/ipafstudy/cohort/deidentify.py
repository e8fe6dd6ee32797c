"""De-identified patient-level outputs: keyed pseudonyms for ids, study days for dates.

A patient id becomes ``S-`` + the first 12 hex digits of HMAC-SHA256(key, "patient_id:" + id): the same key
always gives the same pseudonym (outputs of different runs can be joined), another key gives unrelated ones,
and without the key nobody can recompute the pseudonym of a known id. The key is 32 random bytes (hex) in a
file the user keeps (``ipafstudy deidentify-key --out FILE``); it is never written into an output.

A date becomes the patient's study day: days since that patient's index date, the start of the exposure
(tacrolimus) as the cohort defines it (day 0 = start, negative before). A patient without an exposure start
has no index, so their dates are left blank. Dates inside text ("scan 2021-04-20 excluded") become
"day N" (or "[date]" when the row names no patient with an index); ids inside text become pseudonyms.
Rows are put in pseudonym order so the row order does not reveal the original id order.
See docs/privacy.md for what stays identifying.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ipafstudy.errors import InvalidOptionError
from ipafstudy.fileio import check_output_file, write_output_file

KEY_BYTES = 32
PSEUDONYM_PREFIX = "S-"
PSEUDONYM_HEX = 12
_ISO_DATE = re.compile(r"(?<!\d)(\d{4}-\d{2}-\d{2})(?!\d)")
_ISO_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]00:00:00)?$")
_KEY_TEXT = re.compile(rf"^[0-9a-f]{{{2 * KEY_BYTES}}}$")


def create_key(path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Write a new random key (hex, one line) readable only by its owner; refuses to replace one without ``force``.

    Replacing a key means later runs get different pseudonyms, so it is never done silently.
    """
    check_output_file(path, force=force)
    target = write_output_file(path, (secrets.token_hex(KEY_BYTES) + "\n").encode("ascii"), force=force)
    os.chmod(target, 0o600)
    return target


def read_key(path: str | os.PathLike[str]) -> bytes:
    """The key bytes from a key file; a missing or malformed file is a clear error (no key is made up)."""
    p = Path(path)
    if not p.is_file():
        raise InvalidOptionError(
            f"--deidentify: key file {p} not found. Create one with `ipafstudy deidentify-key --out {p}` and keep it "
            "safe and separate from the outputs: the same key gives the same pseudonyms on every run."
        )
    text = p.read_text(encoding="ascii", errors="replace").strip().lower()
    if not _KEY_TEXT.match(text):
        raise InvalidOptionError(
            f"--deidentify: {p} is not a key written by `ipafstudy deidentify-key` "
            f"(expected {2 * KEY_BYTES} hex digits on one line)"
        )
    return bytes.fromhex(text)


def index_dates(study: Any, settings: Any, drug: Any = None) -> dict[str, dt.date | None]:
    """Each screened patient's index date: the exposure start as the cohort computes it (None when unexposed)."""
    from ipafstudy.cohort.exposure import tacrolimus_exposures

    kwargs = {"drug": drug} if drug is not None else {}
    return {pid: exp.start for pid, exp in tacrolimus_exposures(study, settings, **kwargs).items()}


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_ONLY.match(value.strip()):
        return dt.date.fromisoformat(value.strip()[:10])
    return None


def _is_missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str | bytes | list | tuple | dict) and bool(pd.isna(value)))


class Deidentifier:
    """Replaces ids by keyed pseudonyms and dates by study days in frames, JSON-like data and text."""

    def __init__(self, key: bytes, index: Mapping[str, dt.date | None]) -> None:
        if len(key) < 16:
            raise InvalidOptionError("de-identification key too short (at least 16 bytes)")
        self._key = key
        self.index = {str(k): v for k, v in index.items()}
        self._pseudonyms = {pid: self._hash(pid) for pid in self.index}
        if len(set(self._pseudonyms.values())) != len(self._pseudonyms):  # 48 bits: practically never
            raise InvalidOptionError("two patient ids got the same pseudonym; create a new key")
        ids = sorted(self.index, key=len, reverse=True)
        self._id_pattern = (
            re.compile("(?<![\\w-])(" + "|".join(re.escape(i) for i in ids) + ")(?![\\w-])") if ids else None
        )

    def _hash(self, pid: str) -> str:
        digest = hmac.new(self._key, f"patient_id:{pid}".encode(), hashlib.sha256).hexdigest()
        return PSEUDONYM_PREFIX + digest[:PSEUDONYM_HEX].upper()

    def pseudonym(self, pid: Any) -> Any:
        """The pseudonym of a patient id (also of an id not among the screened patients)."""
        if _is_missing(pid):
            return pid
        pid = str(pid)
        return self._pseudonyms.get(pid) or self._hash(pid)

    def study_day(self, pid: Any, value: Any) -> int | None:
        """Days from the patient's index date to ``value``; None without a date or an index."""
        day = _as_date(value)
        start = self.index.get(str(pid)) if not _is_missing(pid) else None
        if day is None or start is None:
            return None
        return (day - start).days

    def text(self, value: Any, pid: Any = None) -> Any:
        """Ids in text become pseudonyms; ISO dates become "day N" (relative to ``pid``) or "[date]"."""
        if not isinstance(value, str):
            return value

        def date_repl(match: re.Match[str]) -> str:
            try:
                day = self.study_day(pid, match.group(1))
            except ValueError:
                return "[date]"
            return f"day {day}" if day is not None else "[date]"

        if self._id_pattern is not None:
            value = self._id_pattern.sub(lambda m: self._pseudonyms[m.group(1)], value)
        return _ISO_DATE.sub(date_repl, value)

    def frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A de-identified copy: ``patient_id`` pseudonymised, date columns as study days, text scrubbed,
        rows in pseudonym order (stable, so each patient's rows keep their order)."""
        out = frame.copy()
        pids = out["patient_id"].tolist() if "patient_id" in out.columns else [None] * len(out)
        for name in out.columns:
            if name == "patient_id":
                continue
            column = out[name]
            values = column.tolist()
            present = [v for v in values if not _is_missing(v)]
            if present and all(_as_date(v) is not None for v in present):
                days = [self.study_day(p, v) if not _is_missing(v) else None for p, v in zip(pids, values, strict=True)]
                out[name] = pd.array(days, dtype="Int64")
            elif column.dtype == object or str(column.dtype) in ("string", "str"):
                out[name] = [self.text(v, p) for p, v in zip(pids, values, strict=True)]
        if "patient_id" in out.columns:
            out["patient_id"] = [self.pseudonym(p) for p in pids]
            out = out.sort_values("patient_id", kind="mergesort").reset_index(drop=True)
        out.columns = [self.text(c) for c in out.columns]
        return out

    def json(self, obj: Any, pid: Any = None) -> Any:
        """De-identified copy of JSON-like data; a list ``patient_ids`` is put in pseudonym order together with
        every sibling list of the same length (box-plot values stay paired with their patient)."""
        if isinstance(obj, Mapping):
            pid = obj.get("patient_id", pid) if isinstance(obj.get("patient_id", pid), str) else pid
            out = {self.text(str(k)): self.json(v, pid) for k, v in obj.items()}
            ids = obj.get("patient_ids")
            if isinstance(ids, list) and ids:
                order = sorted(range(len(ids)), key=lambda i: str(self.pseudonym(ids[i])))
                for k, v in obj.items():
                    if isinstance(v, list) and len(v) == len(ids):
                        key = self.text(str(k))
                        out[key] = [out[key][i] for i in order]
            return out
        if isinstance(obj, list | tuple):
            return [self.json(v, pid) for v in obj]
        if isinstance(obj, dt.date):
            day = self.study_day(pid, obj)
            return day
        return self.text(obj, pid)
