"""Files written by ``ipafstudy screen`` and ``ipafstudy hrct``, and the settings files they read.

The CLI only parses arguments; what goes into each file, and how, lives here. Every CSV goes through
:func:`ipafstudy.fileio.csv_text` (formula-escaped text, fixed format) and every workbook through
:func:`ipafstudy.fileio.frame_xlsx_bytes` (text cells are text, never formulas), written atomically.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from ipafstudy.cohort.build import Cohort
from ipafstudy.errors import InvalidOptionError
from ipafstudy.fileio import (
    atomic_write_text,
    csv_text,
    frame_xlsx_bytes,
    unescape_formulas,
    write_output_file,
)
from ipafstudy.rules.hrct import consensus, reader_scores
from ipafstudy.settings import ClinicalSettings
from ipafstudy.values import jsonable


def _read_yaml(path: str) -> dict[str, Any]:
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
    except FileNotFoundError:
        raise InvalidOptionError(f"settings file {path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidOptionError(f"settings file {path} cannot be read: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidOptionError(f"settings file {path}{where} is not valid YAML: {problem}") from None
    except ValueError as exc:  # PyYAML builds dates itself: 2024-13-01 fails inside the parser
        raise InvalidOptionError(f"settings file {path}: {exc} (a date must be YYYY-MM-DD)") from None
    if not isinstance(data, dict):
        raise InvalidOptionError(f"{path}: expected a mapping of clinical settings, got {type(data).__name__}")
    return data


def load_settings(path: str | None) -> ClinicalSettings:
    """ClinicalSettings from a YAML file: the mapping itself or its 'clinical' section (an analysis plan)."""
    if not path:
        return ClinicalSettings()
    data = _read_yaml(path)
    section = data["clinical"] if isinstance(data.get("clinical"), dict) else data
    if section is data:
        section = {k: v for k, v in data.items() if k not in ("outcomes", "primary_outcome")}
    try:
        return ClinicalSettings.from_dict(section)
    except (InvalidOptionError, TypeError, ValueError) as exc:
        raise InvalidOptionError(f"settings file {path}: {exc}") from None


def load_outcomes(path: str | None) -> dict[str, Any]:
    """``outcomes``/``primary_outcome`` from the same YAML (plan style: items with ``code``), when given."""
    if not path:
        return {}
    data = _read_yaml(path)
    out: dict[str, Any] = {}
    if "outcomes" in data and not isinstance(data["outcomes"], list):
        raise InvalidOptionError(f"settings file {path}: outcomes must be a list of outcome codes")
    if isinstance(data.get("outcomes"), list):
        codes = [o.get("code") if isinstance(o, dict) else o for o in data["outcomes"]]
        bad = [c for c in codes if not isinstance(c, str) or not c]
        if bad:
            raise InvalidOptionError(f"settings file {path}: outcomes must be outcome codes (text), got {bad}")
        out["outcomes"] = codes
    if data.get("primary_outcome"):
        out["primary_outcome"] = str(data["primary_outcome"])
    return out


def screen_outputs(cohort: Cohort, deidentifier: Any = None) -> dict[str, str]:
    """File name -> text of every screening output (de-identified when a ``Deidentifier`` is given)."""
    def table(frame: pd.DataFrame) -> str:
        return csv_text(deidentifier.frame(frame) if deidentifier is not None else frame)

    def record(data: Any) -> str:
        plain = jsonable(deidentifier.json(data) if deidentifier is not None else data)
        return json.dumps(plain, indent=2, allow_nan=False) + "\n"

    return {
        "classification.csv": table(cohort.classification),
        "screening.csv": table(cohort.screening),
        "timepoints.csv": table(cohort.values),
        "outcome_exclusions.csv": table(cohort.outcome_exclusions),
        "missing_data.csv": table(cohort.missing_data()),
        "adverse_events.csv": table(cohort.adverse_events),
        "adverse_event_summary.csv": table(cohort.adverse_event_summary),
        "hrct_excluded_scans.csv": table(cohort.hrct.excluded_scans),
        "flow.json": record(cohort.flow_dict()),
        "settings.json": record(settings_record(cohort)),
    }


def write_cohort(cohort: Cohort, out: Path, *, deidentifier: Any = None) -> list[Path]:
    """Write every screening output atomically into the existing folder ``out``; returns the paths written."""
    return [atomic_write_text(Path(out) / name, text) for name, text in screen_outputs(cohort, deidentifier).items()]


def settings_record(cohort: Cohort) -> dict[str, Any]:
    """settings.json: every clinical setting used, the data cut-off used, outcomes and primary outcome."""
    record = cohort.settings.to_dict()
    record["data_cutoff_date_used"] = cohort.data_cutoff_date.isoformat() if cohort.data_cutoff_date else None
    record["outcomes"] = list(cohort.outcomes)
    record["primary_outcome"] = cohort.primary_outcome
    return record


def hrct_scores(reads: pd.DataFrame, settings: ClinicalSettings) -> pd.DataFrame:
    """Each reader's scores per scan, then the consensus row (reader = 'consensus')."""
    per_reader = reader_scores(reads)
    cons = consensus(reads, settings).scans.copy()
    cons.insert(2, "reader", "consensus")
    cons.insert(3, "reader_role", f"consensus ({settings.consensus_rule})")
    frame = pd.concat([per_reader, cons], ignore_index=True, sort=False)
    return frame.sort_values(["patient_id", "scan_date"], kind="mergesort").reset_index(drop=True)


def check_table_path(path: str, *, allowed: tuple[str, ...] = ("csv", "xlsx"), what: str = "--out") -> str:
    """The suffix of a table file name (csv or xlsx), or a clear error before any work."""
    suffix = str(path).lower().rsplit(".", 1)[-1] if "." in str(path) else ""
    if suffix not in allowed:
        raise InvalidOptionError(f"{what} {path!r}: use a {' or '.join('.' + a for a in allowed)} file name")
    return suffix


def table_bytes(frame: pd.DataFrame, suffix: str, sheet: str, *, escape: bool = True) -> bytes:
    """A table as CSV (formula-escaped unless ``escape=False``) or a one-sheet workbook (text as text)."""
    if suffix == "csv":
        return csv_text(frame, escape=escape).encode("utf-8")
    return frame_xlsx_bytes(frame, sheet)


def write_table(path: str, frame: pd.DataFrame, *, force: bool, sheet: str, escape: bool = True) -> Path:
    """Write one user-named table file (.csv or .xlsx) atomically; refuses to overwrite without ``force``."""
    return write_output_file(path, table_bytes(frame, check_table_path(path), sheet, escape=escape), force=force)


def read_worklist(path: str) -> pd.DataFrame:
    """A filled adjudication worklist (.xlsx or .csv) as written by ``ipafstudy hrct worklist``.

    The CSV's formula escapes (a leading ' before =, +, -, @) are undone so ids read back as written.
    """
    suffix = check_table_path(path, what="worklist")
    if suffix == "xlsx":
        return pd.read_excel(path, sheet_name=0, dtype=object, engine="openpyxl")
    return unescape_formulas(pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""]))
