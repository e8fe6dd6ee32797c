"""Parse, normalise and check raw tables in ONE pass, collecting every problem (pandera-style).

``build_study`` is what every loader ends with: it turns the raw cells of the six tables into
typed frames (see ``ipafstudy.data.model.Study``) and, at the same time, records a
``ValidationIssue`` for each cell or row that breaks a rule. Nothing stops at the first
problem, so a clinician sees the whole list at once.

Rule codes (``ValidationIssue.rule``):

========================  ========  ===============================================================
rule                      severity  meaning
========================  ========  ===============================================================
missing_table             error     the patients table is absent
empty_table               error     the patients table has a header but no data rows;
                          warning   for the treatments table (no patient can be exposed)
missing_column            error     a required column is absent (one issue per column)
unknown_column            warning   a column the schema does not know (ignored)
duplicate_column          error     two headers name the same column
required_value            error     a required cell is empty
type                      error     not a number / not a whole number
date_unparseable          error     not a date written YYYY-MM-DD (or a real spreadsheet date)
date_impossible           error     a date that does not exist (2021-02-30) or year outside 1900-2100
date_in_future            error     a date after today (a transposed year such as 2052 for 2025)
date_after_cutoff         error     a date after the stated data_cutoff_date
range                     error     outside the column's range (grades 0-4, percents 0-100, no
                                    negative labs, measurement limits after unit conversion)
category                  error     a coded value that is not one of the accepted spellings
unknown_variable          error     a measurement variable that is not known
unknown_unit              error     a unit not accepted for that measurement variable
unknown_antibody          error     an antibody name the normaliser does not know
titre_unparseable         error     an ANA titre that is not '1:320' or '320'
duplicate_patient         error     the same patient_id twice in patients
unknown_patient           error     a row whose patient_id is not in patients
conflicting_duplicate     error     same patient, date and variable (or scan/reader/zone) with
                                    different values; a warning for the same antibody on one day
duplicate_role            error     two readers holding the same role for one scan and zone
duplicate_row             warning   the same record twice with identical values (kept)
end_before_start          error     a treatment ending before it starts
birth_after_index         error     birth_date after the patient's first treatment start (any drug)
rf_without_uln            warning   an RF value without its upper limit of normal
grade_pct_mismatch        warning   an HRCT grade that disagrees with the percentage given
missing_grade             warning   an HRCT pattern with neither grade nor percentage
age_missing               warning   neither birth_date nor age_at_index
unknown_sheet             warning   a workbook sheet that is not a table (README is expected)
encoding                  warning   a CSV file that is not UTF-8 (read as Windows-1252)
csv_syntax                error     a quote never closed or a cell over 128 KiB (data.sources)
detail_missing            warning   an 'other' adverse event without event_detail
========================  ========  ===============================================================
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from ipafstudy.data.issues import Severity, ValidationIssue, ValidationReport
from ipafstudy.data.model import SourceFile, Study
from ipafstudy.data.schema import (
    MULTI_SEPARATOR,
    PATTERNS,
    PROVENANCE_COLUMNS,
    SOURCE_FILE,
    SOURCE_ROW,
    SOURCE_SHEET,
    TABLES,
    YES_NO_UNKNOWN,
    Column,
    Table,
)
from ipafstudy.data.sources import RawTable
from ipafstudy.data.spellings import canonical_category, canonical_token, is_blank
from ipafstudy.rules.antibodies import CANONICAL_ANTIBODIES, check_antibody_aliases, normalise_antibody_name
from ipafstudy.rules.units import BUILTIN_VARIABLES, UnknownUnitError, VariableCatalogue, normalise_unit

# Columns added beside the schema columns, per table.
EXTRA_COLUMNS: dict[str, tuple[str, ...]] = {
    "antibodies": ("antibody_raw",),
    "measurements": ("original_variable", "original_value", "original_unit"),
}
REQUIRED_TABLES = ("patients",)
# Tables that may be absent but, when present with no rows, leave nothing to analyse: a warning.
EXPECTED_ROWS = ("treatments",)
MIN_YEAR, MAX_YEAR = 1900, 2100

# pandas 3 has a native string dtype whose missing value is NaN; pandas 2 keeps text in object columns.
TEXT_DTYPE = "str" if int(pd.__version__.split(".")[0]) >= 3 else "object"

_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_TITRE = re.compile(r"^(?:1\s*[:/]\s*)?(\d+)(?:\.0+)?$")


class _CellError(Exception):
    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


@dataclass
class _Collector:
    issues: list[ValidationIssue] = field(default_factory=list)

    def add(
        self,
        raw: RawTable,
        row: int | None,
        column: str | None,
        value: object,
        rule: str,
        message: str,
        severity: Severity = "error",
    ) -> None:
        shown = raw.headers.get(column, column) if column else None
        self.issues.append(ValidationIssue(raw.file, raw.sheet, row, shown, value, rule, message, severity))


# --------------------------------------------------------------------------- cell parsers


def _show(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return repr(int(value))
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return repr(value)


def parse_number(value: object) -> float:
    """Float from a cell; raises _CellError('type') with a hint for '1,5' or '<5'."""
    if isinstance(value, bool):
        raise _CellError("type", f"{value!r} is not a number")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = str(value).strip()
        try:
            number = float(text)
        except ValueError:
            hint = ""
            if re.fullmatch(r"[+-]?\d+,\d+", text):
                hint = f"; use a point as decimal separator ({text.replace(',', '.')})"
            elif text[:1] in "<>":
                hint = "; censored values such as '<5' are not accepted, enter a number"
            raise _CellError("type", f"{text!r} is not a number{hint}") from None
    if not math.isfinite(number):
        raise _CellError("type", f"{_show(value)} is not a finite number")
    return number


def parse_date(value: object) -> dt.date:
    """Date from a spreadsheet date or ISO text; day/month orders are never guessed."""
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        result = value.date()
    elif isinstance(value, dt.date):
        result = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        raise _CellError(
            "date_unparseable",
            f"{_show(value)} is a number, not a date; format the cell as a date or write YYYY-MM-DD",
        )
    else:
        text = str(value).strip()
        match = _ISO_DATE.match(text)
        if not match:
            raise _CellError(
                "date_unparseable",
                f"{text!r} is not a date; write dates as YYYY-MM-DD (e.g. 2021-03-14), "
                "other orders are ambiguous and are not guessed",
            )
        try:
            result = dt.date(*(int(g) for g in match.groups()))
        except ValueError:
            raise _CellError("date_impossible", f"{text!r} is not a real calendar date") from None
    if not MIN_YEAR <= result.year <= MAX_YEAR:
        raise _CellError(
            "date_impossible", f"{result.isoformat()} has a year outside {MIN_YEAR}-{MAX_YEAR}; check the date"
        )
    return result


def parse_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value).strip()


def parse_titre(value: object) -> float:
    """'1:320', '1/320' or 320 -> 320.0."""
    text = parse_text(value).replace(" ", "")
    match = _TITRE.match(text)
    if not match or int(match.group(1)) < 1:
        raise _CellError("titre_unparseable", f"{text!r} is not a titre; write it as 1:320 or 320")
    return float(match.group(1))


def _check_range(column: Column, number: float, what: str | None = None) -> None:
    lo, hi = column.minimum, column.maximum
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        unit = f" {column.unit}" if column.unit and column.unit != "%" else (column.unit or "")
        if lo is not None and hi is not None:
            allowed = f"between {lo:g} and {hi:g}{unit}"
        elif lo is not None:
            allowed = f"at least {lo:g}{unit}"
        else:
            allowed = f"at most {hi:g}{unit}"
        raise _CellError("range", f"{number:g} is outside the allowed range for {what or column.name}: {allowed}")


def _parse_multiple(table: Table, column: Column, value: object) -> str:
    """A cell listing several coded values ('NSIP; lymphoid aggregates') -> 'nsip;lymphoid_aggregates_...'."""
    parts = [p for p in parse_text(value).split(MULTI_SEPARATOR) if p.strip()]
    found: list[str] = []
    for part in parts:
        canonical = canonical_category(table.name, column, part)
        if canonical is None:
            raise _CellError(
                "category",
                f"{part.strip()!r} is not an accepted value; use one of {list(column.allowed or ())}, "
                f"several separated by '{MULTI_SEPARATOR}'",
            )
        if canonical not in found:
            found.append(canonical)
    if "not_done" in found and len(found) > 1:
        raise _CellError("category", f"'not_done' cannot be combined with findings ({parse_text(value)!r})")
    return MULTI_SEPARATOR.join(found)


def parse_cell(table: Table, column: Column, value: object) -> object:
    """Typed value of one non-blank cell or _CellError naming the rule it broke."""
    if column.kind == "date":
        return parse_date(value)
    if column.kind == "category" and column.multiple:
        return _parse_multiple(table, column, value)
    if column.kind == "category":
        canonical = canonical_category(table.name, column, value)
        if canonical is None:
            raise _CellError(
                "category",
                f"{parse_text(value)!r} is not an accepted value; use one of {list(column.allowed or ())}",
            )
        return canonical
    if column.kind in ("number", "integer"):
        is_titre = table.name == "antibodies" and column.name == "titre"
        number = parse_titre(value) if is_titre else parse_number(value)
        if column.kind == "integer" and not number.is_integer():
            raise _CellError("type", f"{number:g} is not a whole number")
        _check_range(column, number)
        return number
    return parse_text(value)


class CellValueError(ValueError):
    """One cell the loaders would refuse; ``rule`` is the validation rule code (``type``, ``range``, ...)."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


def check_cell(table_name: str, column_name: str, value: object) -> object:
    """The typed value of ONE cell exactly as the loaders read it (None for a blank cell).

    Why: a cell entered elsewhere (the browser workspace saves zone scores one at a time) must pass the same
    rules as the same value in a file, so it calls the loaders' own parser instead of repeating its ranges.
    Raises CellValueError(rule, message) naming the rule that refused the value.

    >>> check_cell("hrct_reads", "fibrosis", "3")
    3.0
    >>> check_cell("hrct_reads", "fibrosis", 5)
    Traceback (most recent call last):
    ...
    ipafstudy.data.validation.CellValueError: 5 is outside the allowed range for fibrosis: between 0 and 4
    """
    table = TABLES[table_name]
    kind, parsed, message = _parse_value(table, table.column(column_name), value)
    if kind == "error":
        raise CellValueError(str(parsed), message)
    return parsed


# --------------------------------------------------------------------------- table parsing


def _check_columns(raw: RawTable, table: Table, col: _Collector) -> set[str]:
    present = set(raw.headers)
    for column in table.columns:
        if column.required and column.name not in present:
            col.add(
                raw,
                None,
                column.name,
                None,
                "missing_column",
                f"required column '{column.name}' is missing from the {table.name} table ({column.description})",
            )
    if raw.header_known:
        known = set(table.column_names) | set(EXTRA_COLUMNS.get(table.name, ()))
        for name in sorted(present - known):
            col.add(
                raw,
                raw.header_row,
                name,
                raw.headers.get(name, name),
                "unknown_column",
                f"column '{raw.headers.get(name, name)}' is not part of the {table.name} table and is ignored; "
                f"known columns are {list(table.column_names)}",
                "warning",
            )
    return present


_NO_PROBLEMS: frozenset[str] = frozenset()


class _Record:
    """One parsed row, read and written like a dict: ``rec[key]``, ``rec.get(key)``, ``rec["_bad"]``.

    Why not a dict: a dict of 13 keys (464 bytes) and an empty set of problem columns (216 bytes) per row
    made a 50 MB measurements file need gigabytes (issue 10 item 17). Here the keys are shared by every row of
    a table and the set exists only once a problem is added. ``rec["_bad"]`` is the (mutable) set of columns
    with a problem; ``rec.problems_seen`` reads it without creating one.
    """

    __slots__ = ("_bad", "_extra", "_keys", "_values")

    def __init__(self, keys: dict[str, int]) -> None:
        self._keys = keys
        self._values: list[object] = [None] * len(keys)
        self._bad: set[str] | None = None
        self._extra: dict[str, object] | None = None

    @property
    def problems(self) -> set[str]:
        if self._bad is None:
            self._bad = set()
        return self._bad

    @property
    def problems_seen(self) -> frozenset[str] | set[str]:
        return self._bad if self._bad is not None else _NO_PROBLEMS

    def __getitem__(self, key: str) -> object:
        if key == "_bad":
            return self.problems
        index = self._keys.get(key)
        if index is not None:
            return self._values[index]
        if self._extra is not None and key in self._extra:
            return self._extra[key]
        raise KeyError(key)

    def __setitem__(self, key: str, value: object) -> None:
        index = self._keys.get(key)
        if index is not None:
            self._values[index] = value
        elif key == "_bad":
            self._bad = set(value)  # type: ignore[call-overload]
        else:
            if self._extra is None:
                self._extra = {}
            self._extra[key] = value

    def __contains__(self, key: object) -> bool:
        return key in self._keys or key == "_bad" or (self._extra is not None and key in self._extra)

    def get(self, key: str, default: object = None) -> object:
        try:
            return self[key]
        except KeyError:
            return default


# Why memoise: a large file repeats the same few texts (patient ids, dates, codes, units) in every row, and
# parsing each cell costs far more than a dictionary look-up (issue 10 item 17: a 50 MB measurements file).
# Parsing is a pure function of (table, column, text), so a remembered outcome is the outcome. The limit
# keeps the memo small when a column is mostly unique values (measurement values): beyond it, cells are parsed.
_MEMO_LIMIT = 65536


def _parse_value(table: Table, column: Column, value: object) -> tuple[str, object, str]:
    """("blank", None, ""), ("ok", typed value, "") or ("error", rule, message) for one cell."""
    if is_blank(value):
        return "blank", None, ""
    try:
        return "ok", parse_cell(table, column, value), ""
    except _CellError as err:
        return "error", err.rule, err.message


def _parse_rows(
    raw: RawTable, table: Table, col: _Collector, aliases: Mapping[str, str] | None,
    variables: VariableCatalogue = BUILTIN_VARIABLES,
) -> list[_Record]:
    present = _check_columns(raw, table, col)
    records: list[_Record] = []
    memo: dict[tuple[str, str], tuple[str, object, str]] = {}  # (column, text) -> outcome; see _MEMO_LIMIT
    unit_memo: dict[tuple[object, object], _MeasurementUnit] = {}
    keys = {k: i for i, k in enumerate((SOURCE_FILE, SOURCE_SHEET, SOURCE_ROW, *table.column_names, "_raw",
                                        *EXTRA_COLUMNS.get(table.name, ())))}
    for raw_row in raw.rows:
        rec = _Record(keys)
        rec[SOURCE_FILE], rec[SOURCE_SHEET], rec[SOURCE_ROW] = raw.file, raw.sheet, raw_row.row
        for column in table.columns:
            value = raw_row.values.get(column.name)
            key = (column.name, value) if isinstance(value, str) else None
            outcome = memo.get(key) if key is not None else None
            if outcome is None:
                outcome = _parse_value(table, column, value)
                if key is not None and len(memo) < _MEMO_LIMIT:
                    memo[key] = outcome
            kind, parsed, message = outcome
            if kind == "blank":
                if column.required and column.name in present:
                    col.add(
                        raw, raw_row.row, column.name, None, "required_value", f"{column.name} is required but empty"
                    )
                    rec.problems.add(column.name)
                rec[column.name] = "unknown" if column.allowed == YES_NO_UNKNOWN else None
            elif kind == "ok":
                rec[column.name] = parsed
            else:
                col.add(raw, raw_row.row, column.name, value, str(parsed), message)
                rec[column.name] = None
                rec.problems.add(column.name)
        rec["_raw"] = raw_row.values
        if table.name == "antibodies":
            _antibody_row(raw, rec, col, aliases)
        elif table.name == "measurements":
            _measurement_row(raw, rec, col, variables, unit_memo)
        elif table.name == "treatments" and rec.get("drug") is not None:
            rec["drug"] = str(rec["drug"]).lower()  # drug names are matched lower-case downstream
        records.append(rec)
    return records


def _antibody_row(raw: RawTable, rec: dict, col: _Collector, aliases: Mapping[str, str] | None) -> None:
    name = rec.get("antibody")
    rec["antibody_raw"] = name
    if name is None:
        return
    canonical = normalise_antibody_name(str(name), aliases)
    if canonical is None:
        col.add(
            raw,
            rec[SOURCE_ROW],
            "antibody",
            name,
            "unknown_antibody",
            f"{name!r} is not a known antibody name; correct the spelling or map it with an alias "
            f"(known names: {', '.join(sorted(CANONICAL_ANTIBODIES, key=str.lower))})",
        )
    rec["antibody"] = canonical
    if canonical == "RF" and rec.get("value") is not None and rec.get("upper_limit_normal") is None:
        col.add(
            raw,
            rec[SOURCE_ROW],
            "upper_limit_normal",
            None,
            "rf_without_uln",
            "RF value given without the laboratory's upper limit of normal; the IPAF RF item "
            "(>= 2 x ULN) cannot be decided without it",
            "warning",
        )


@dataclass(frozen=True)
class _MeasurementUnit:
    """What a (variable, unit) pair of the measurements table resolves to; the same for every row that has it."""

    code: str | None  # catalogue code, None for an unknown variable
    units: tuple[str, ...] = ()  # accepted (normalised) units of ``code``
    unit_ok: bool = False  # the row's unit is one of ``units``
    offset: float = 0.0  # canonical = value * factor + offset (for the range check in the row's unit)
    factor: float = 1.0
    converted: dict[float, tuple[str, float, str]] = field(default_factory=dict)  # value -> convert(); bounded


def _measurement_unit(variables: VariableCatalogue, variable: object, unit: object) -> _MeasurementUnit:
    code = variables.resolve(canonical_token(variable), unit)  # aliases: fvc_percent_predicted -> fvc_pct_pred
    if code is None or unit is None:
        return _MeasurementUnit(code)
    units = variables.accepted_units(code)
    if normalise_unit(str(unit)) not in units:
        return _MeasurementUnit(code, units)
    offset = variables.convert(code, 0.0, str(unit))[1]
    factor = variables.convert(code, 1.0, str(unit))[1] - offset
    return _MeasurementUnit(code, units, True, offset, factor)


def _measurement_row(
    raw: RawTable, rec: dict, col: _Collector, variables: VariableCatalogue,
    memo: dict[tuple[object, object], _MeasurementUnit] | None = None,
) -> None:
    row = rec[SOURCE_ROW]
    variable, value, unit = rec.get("variable"), rec.get("value"), rec.get("unit")
    rec["original_variable"], rec["original_value"], rec["original_unit"] = variable, value, unit
    if variable is None:
        return
    known = memo.get((variable, unit)) if memo is not None else None
    if known is None:
        known = _measurement_unit(variables, variable, unit)
        if memo is not None:
            memo[(variable, unit)] = known
    code = known.code
    if code is None:
        col.add(raw, row, "variable", variable, "unknown_variable", variables.unknown_variable_message(variable, unit))
        rec["variable"] = None
        rec["_bad"].add("variable")
        return
    rec["variable"] = variables.spec(code).code
    if unit is None:
        return
    units = known.units
    if not known.unit_ok:
        col.add(
            raw, row, "unit", unit, "unknown_unit", f"{unit!r} is not accepted for {code}; use one of {list(units)}"
        )
        rec["unit"] = None
        rec["_bad"].add("unit")
        return
    if value is None:
        return
    number = float(value)
    done = known.converted.get(number) if number else None  # 0.0 and -0.0 are equal keys: never remembered
    if done is None:
        try:
            done = variables.convert(code, number, str(unit))
        except UnknownUnitError as err:  # pragma: no cover - guarded by the unit check above
            col.add(raw, row, "unit", unit, "unknown_unit", str(err))
            return
        if number and len(known.converted) < _MEMO_LIMIT:
            known.converted[number] = done
    var, converted, canonical_unit = done
    spec = variables.spec(var)
    offset, factor = known.offset, known.factor
    if spec.integer and not float(value).is_integer():
        col.add(raw, row, "value", value, "type", f"{spec.label} must be a whole number, got {float(value):g}")
        rec["_bad"].add("value")
    lo, hi = (spec.minimum - offset) / factor, (spec.maximum - offset) / factor
    if not lo - 1e-9 <= float(value) <= hi + 1e-9:
        same = normalise_unit(unit) == normalise_unit(canonical_unit)
        shown = "" if same else f" (= {converted:g} {canonical_unit})"
        negative = " (a negative value is impossible)" if float(value) < 0 else ""
        col.add(
            raw, row, "value", value, "range",
            f"{spec.label} {float(value):g} {unit}{shown} is outside the plausible range "
            f"{lo:g}-{hi:g} {unit}{negative}; check the value and its unit",
        )
        rec["_bad"].add("value")
    rec["value"], rec["unit"] = converted, canonical_unit


# --------------------------------------------------------------------------- row and cross-table checks


def _row_checks(name: str, raw: RawTable, records: list[dict], col: _Collector) -> None:
    for rec in records:
        row = rec[SOURCE_ROW]
        if name == "patients":
            if rec.get("birth_date") is None and rec.get("age_at_index") is None and not (
                {"birth_date", "age_at_index"} & rec.problems_seen
            ):
                col.add(
                    raw, row, "birth_date", None, "age_missing",
                    "neither birth_date nor age_at_index is given; age eligibility cannot be checked", "warning",
                )
        elif name == "treatments":
            start, end = rec.get("start_date"), rec.get("end_date")
            if start is not None and end is not None and end < start:
                col.add(
                    raw, row, "end_date", end, "end_before_start",
                    f"end_date {end.isoformat()} is before start_date {start.isoformat()}",
                )
        elif name == "adverse_events":
            if rec.get("event") == "other" and rec.get("event_detail") is None:
                col.add(
                    raw, row, "event_detail", None, "detail_missing",
                    "event is 'other' but event_detail is empty; describe the event", "warning",
                )
        elif name == "hrct_reads":
            _hrct_row_checks(raw, rec, col)


def _grade_from_pct(pct: float) -> int:
    if pct <= 0:
        return 0
    return min(4, math.ceil(pct / 25))


def _hrct_row_checks(raw: RawTable, rec: dict, col: _Collector) -> None:
    row = rec[SOURCE_ROW]
    for pattern in PATTERNS:
        grade, pct = rec.get(pattern), rec.get(f"{pattern}_pct")
        if grade is None and pct is None and not ({pattern, f"{pattern}_pct"} & rec.problems_seen):
            col.add(
                raw, row, pattern, None, "missing_grade",
                f"no {pattern} grade or {pattern}_pct given for this zone", "warning",
            )
        elif grade is not None and pct is not None and _grade_from_pct(pct) != grade:
            col.add(
                raw, row, pattern, grade, "grade_pct_mismatch",
                f"grade {grade:g} disagrees with {pattern}_pct {pct:g} % (which is grade {_grade_from_pct(pct)})",
                "warning",
            )


def _patient_checks(tables: dict[str, tuple[RawTable, list[dict]]], col: _Collector) -> None:
    if "patients" not in tables or "patient_id" not in tables["patients"][0].headers:
        return  # already reported as missing_table / missing_column; every row would repeat it
    raw_p, patients = tables["patients"]
    first_row: dict[str, int] = {}
    for rec in patients:
        pid = rec.get("patient_id")
        if pid is None:
            continue
        if pid in first_row:
            col.add(
                raw_p, rec[SOURCE_ROW], "patient_id", pid, "duplicate_patient",
                f"patient_id {pid!r} appears more than once (first at row {first_row[pid]})",
            )
        else:
            first_row[pid] = rec[SOURCE_ROW]
    for name, (raw, records) in tables.items():
        if name == "patients":
            continue
        for rec in records:
            pid = rec.get("patient_id")
            if pid is not None and pid not in first_row:
                col.add(
                    raw, rec[SOURCE_ROW], "patient_id", pid, "unknown_patient",
                    f"patient_id {pid!r} is not in the patients table; add the patient or correct the identifier",
                )
    _birth_checks(raw_p, patients, tables.get("treatments"), col)


def _birth_checks(
    raw_p: RawTable, patients: list[dict], treatments: tuple[RawTable, list[dict]] | None, col: _Collector
) -> None:
    if treatments is None:
        return
    # Drug-neutral on purpose: nobody is treated before birth, whatever the drug, and the data layer does not know
    # the plan's study drug (validate without a plan must give the same answer as with one).
    index: dict[str, tuple[dt.date, str]] = {}
    for rec in treatments[1]:
        pid, drug, start = rec.get("patient_id"), rec.get("drug"), rec.get("start_date")
        if pid is None or start is None:
            continue
        if pid not in index or start < index[pid][0]:
            index[pid] = (start, str(drug) if drug is not None else "a course without drug name")
    for rec in patients:
        birth, pid = rec.get("birth_date"), rec.get("patient_id")
        if birth is not None and pid in index and birth > index[pid][0]:
            first, drug = index[pid]
            col.add(
                raw_p, rec[SOURCE_ROW], "birth_date", birth, "birth_after_index",
                f"birth_date {birth.isoformat()} is after the patient's first treatment start {first.isoformat()} "
                f"({drug})",
            )


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def _duplicate_checks(
    raw: RawTable,
    records: list[dict],
    key_cols: tuple[str, ...],
    value_cols: tuple[str, ...],
    col: _Collector,
    conflict_severity: Severity = "error",
) -> None:
    seen: dict[tuple, dict] = {}
    for rec in records:
        key = tuple(rec.get(k) for k in key_cols)
        if any(k is None for k in key) or (set(value_cols) & rec.problems_seen):
            continue
        first = seen.get(key)
        if first is None:
            seen[key] = rec
            continue
        diffs = [c for c in value_cols if not _same(first.get(c), rec.get(c))]
        described = ", ".join(f"{k}={_show(v)}" for k, v in zip(key_cols, key, strict=True))
        if diffs:
            shown = "; ".join(f"{c} {_show(first.get(c))} vs {_show(rec.get(c))}" for c in diffs)
            col.add(
                raw, rec[SOURCE_ROW], diffs[0], rec.get(diffs[0]), "conflicting_duplicate",
                f"conflicts with row {first[SOURCE_ROW]} ({described}): {shown}; keep one value",
                conflict_severity,
            )
        else:
            col.add(
                raw, rec[SOURCE_ROW], None, None, "duplicate_row",
                f"repeats row {first[SOURCE_ROW]} ({described}) with identical values", "warning",
            )


def _role_checks(raw: RawTable, records: list[dict], col: _Collector) -> None:
    """Each role (reader1, reader2, adjudicator) is held by one reader per scan and zone."""
    seen: dict[tuple, dict] = {}
    for rec in records:
        key = tuple(rec.get(k) for k in ("patient_id", "scan_date", "zone", "reader_role"))
        if any(k is None for k in key) or rec.get("reader") is None:
            continue
        first = seen.setdefault(key, rec)
        if first is not rec and first.get("reader") != rec.get("reader"):
            col.add(
                raw, rec[SOURCE_ROW], "reader_role", rec.get("reader_role"), "duplicate_role",
                f"{rec.get('reader_role')} of this scan and zone is already reader {first.get('reader')!r} "
                f"(row {first[SOURCE_ROW]}); give each reader their own role",
            )


# --------------------------------------------------------------------------- frames


def _frame(table: Table, records: list[dict]) -> pd.DataFrame:
    data: dict[str, object] = {}
    for column in table.columns:
        values = [rec.get(column.name) for rec in records]
        if column.kind in ("number", "integer"):
            data[column.name] = pd.Series([math.nan if v is None else v for v in values], dtype="float64")
        elif column.kind == "date":
            data[column.name] = pd.Series(values, dtype="object")
        else:
            data[column.name] = pd.Series(values, dtype=TEXT_DTYPE)
    for extra in EXTRA_COLUMNS.get(table.name, ()):
        values = [rec.get(extra) for rec in records]
        if extra == "original_value":
            data[extra] = pd.Series([math.nan if v is None else v for v in values], dtype="float64")
        else:
            data[extra] = pd.Series(values, dtype=TEXT_DTYPE)
    data[SOURCE_FILE] = pd.Series([rec[SOURCE_FILE] for rec in records], dtype=TEXT_DTYPE)
    data[SOURCE_SHEET] = pd.Series([rec[SOURCE_SHEET] for rec in records], dtype=TEXT_DTYPE)
    data[SOURCE_ROW] = pd.Series([rec[SOURCE_ROW] for rec in records], dtype="int64")
    return pd.DataFrame(data)


def empty_frame(name: str) -> pd.DataFrame:
    """A zero-row frame of table ``name`` with the same columns and dtypes as a loaded one."""
    return _frame(TABLES[name], [])


def study_columns(name: str) -> tuple[str, ...]:
    """Column order of a loaded frame: schema columns, extra columns, then provenance."""
    return (*TABLES[name].column_names, *EXTRA_COLUMNS.get(name, ()), *PROVENANCE_COLUMNS)


@dataclass(frozen=True)
class DateLimits:
    """No date in the records may lie after ``today`` or after a stated data cut-off.

    A date typed with a transposed year (2052 for 2025) would otherwise silently become the derived data
    cut-off and keep treatments "ongoing" until then. ``today`` is a parameter so tests can fix it.
    """

    today: dt.date
    cutoff: dt.date | None = None


def _date_limit_checks(raw: RawTable, table: Table, records: list[dict], limits: DateLimits, col: _Collector) -> None:
    dates = [c.name for c in table.columns if c.kind == "date"]
    cutoff = limits.cutoff if limits.cutoff is not None and limits.cutoff < limits.today else None
    for rec in records:
        for name in dates:
            value = rec.get(name)
            if value is None or value <= (cutoff or limits.today):
                continue
            if value > limits.today:
                col.add(raw, rec[SOURCE_ROW], name, rec["_raw"].get(name), "date_in_future",
                        f"{value.isoformat()} is after today ({limits.today.isoformat()}); check the year "
                        "(a transposed year would become the data cut-off)")
            else:
                col.add(raw, rec[SOURCE_ROW], name, rec["_raw"].get(name), "date_after_cutoff",
                        f"{value.isoformat()} is after the data cut-off {limits.cutoff.isoformat()} "
                        "(clinical setting data_cutoff_date); correct the date, remove the record, "
                        "or move the cut-off")
            rec["_bad"].add(name)


def _empty_table_checks(raw_tables: Mapping[str, RawTable], col: _Collector) -> None:
    """A patients table without rows is an error (nothing to screen); an empty treatments table a warning."""
    for name in (*REQUIRED_TABLES, *EXPECTED_ROWS):
        raw = raw_tables.get(name)
        if raw is None or raw.rows or not raw.headers:
            continue  # absent: missing_table; no header at all: one missing_column error per required column
        what = "has a header but no data rows"
        if name in REQUIRED_TABLES:
            col.add(raw, None, None, None, "empty_table",
                    f"the {name} table {what}; there is no patient to screen. Add one row per screened patient")
        else:
            col.add(raw, None, None, None, "empty_table",
                    f"the {name} table {what}; no patient can be on treatment, so no patient can be analysed",
                    "warning")


def build_study(
    raw_tables: Mapping[str, RawTable],
    sources: Iterable[SourceFile] = (),
    *,
    antibody_aliases: Mapping[str, str] | None = None,
    issues: Iterable[ValidationIssue] = (),
    origin: str = "input",
    variables: VariableCatalogue | None = None,
    data_cutoff_date: dt.date | None = None,
    today: dt.date | None = None,
    frames: bool = True,
) -> tuple[Study | None, ValidationReport]:
    """Parse and check every raw table; return (Study or None when there are errors, report).

    ``frames=False`` checks only (the Study is None): ``validate`` does not need the data frames, whose
    building was a quarter of the peak memory on a large file.

    ``issues`` are problems a reader already found (unreadable sheet, bad header); they are
    merged into the report. ``origin`` names the input in table-level messages. ``variables``
    is the measurement catalogue (built-in plus the plan's declared variables; default built-in).
    Dates after ``today`` (default: the real date) or after a stated ``data_cutoff_date`` are errors.
    """
    if antibody_aliases:
        antibody_aliases = check_antibody_aliases(antibody_aliases)  # a bad target fails before any row is read
    col = _Collector(list(issues))
    limits = DateLimits(today if today is not None else dt.date.today(), data_cutoff_date)
    for name in REQUIRED_TABLES:
        if name not in raw_tables:
            col.issues.append(
                ValidationIssue(
                    origin, None, None, None, None, "missing_table",
                    f"the {name} table is missing: expected {name}.csv in a folder or a sheet named '{name}'",
                )
            )
    _empty_table_checks(raw_tables, col)
    parsed: dict[str, tuple[RawTable, list[dict]]] = {}
    for name, table in TABLES.items():
        raw = raw_tables.get(name)
        if raw is None:
            continue
        records = _parse_rows(raw, table, col, antibody_aliases, variables or BUILTIN_VARIABLES)
        _row_checks(name, raw, records, col)
        _date_limit_checks(raw, table, records, limits, col)
        parsed[name] = (raw, records)
    _patient_checks(parsed, col)
    if "measurements" in parsed:
        _duplicate_checks(*parsed["measurements"], ("patient_id", "date", "variable"), ("value",), col)
    if "hrct_reads" in parsed:
        grades = (*PATTERNS, *(f"{p}_pct" for p in PATTERNS))
        _duplicate_checks(*parsed["hrct_reads"], ("patient_id", "scan_date", "reader", "zone"), grades, col)
        _role_checks(*parsed["hrct_reads"], col)
    if "antibodies" in parsed:
        results = ("result", "titre", "pattern", "value", "upper_limit_normal")
        keys = ("patient_id", "test_date", "antibody")
        _duplicate_checks(*parsed["antibodies"], keys, results, col, conflict_severity="warning")
    report = ValidationReport.from_issues(col.issues)
    if report.has_errors or not frames:
        return None, report
    frames = {
        name: _frame(TABLES[name], parsed[name][1]) if name in parsed else empty_frame(name) for name in TABLES
    }
    return Study(**frames, sources=tuple(sources)), report
