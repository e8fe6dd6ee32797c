"""Read a study from a CSV folder, an XLSX workbook or a REDCap export; always read-only.

>>> study = load_study("my_study/")                     # doctest: +SKIP
>>> report = validate_path("my_study.xlsx")             # doctest: +SKIP
>>> print(report.to_text())                             # doctest: +SKIP

Every loader produces raw tables (cells as written, with their row numbers) and hands them to
``validation.build_study``, so CSV, XLSX and REDCap inputs are checked by the same code.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping
from pathlib import Path

from ipafstudy.data.issues import ValidationIssue, ValidationReport
from ipafstudy.data.model import Study
from ipafstudy.data.redcap import read_redcap
from ipafstudy.data.schema import TABLES
from ipafstudy.data.sources import RawInput, RawRow, RawTable, read_csv_rows, source_file
from ipafstudy.data.spellings import canonical_header, is_blank
from ipafstudy.data.validation import build_study
from ipafstudy.errors import DataValidationError, IpafstudyError
from ipafstudy.rules.units import VariableCatalogue

IGNORED_SHEETS = ("readme", "lists")  # written by the template: instructions and drop-down lists


def _header_map(raw_headers: list[object], file: str, sheet: str | None, reader: RawInput) -> dict[int, str]:
    """Column index -> canonical name; duplicate headers are reported, blank headers skipped."""
    out: dict[int, str] = {}
    seen: dict[str, int] = {}
    for idx, header in enumerate(raw_headers):
        if header is None or str(header).strip() == "":
            continue
        name = canonical_header(header)
        if name in seen:
            reader.issues.append(
                ValidationIssue(
                    file, sheet, 1, str(header), header, "duplicate_column",
                    f"column '{header}' appears twice (columns {seen[name] + 1} and {idx + 1}); keep one",
                )
            )
            continue
        seen[name] = idx
        out[idx] = name
    return out


def _rows_to_table(
    name: str, file: str, sheet: str | None, rows: list[tuple[int, list[object]]], reader: RawInput
) -> RawTable:
    """Build a RawTable from (row number, cells) pairs whose first pair is the header row."""
    table = RawTable(name=name, file=file, sheet=sheet)
    if not rows:
        return table
    header_row, header = rows[0]
    table.header_row = header_row
    index = _header_map(list(header), file, sheet, reader)
    table.headers = {canon: str(header[idx]).strip() for idx, canon in index.items()}
    for number, cells in rows[1:]:
        values = {canon: cells[idx] if idx < len(cells) else None for idx, canon in index.items()}
        if all(is_blank(v) for v in values.values()):
            continue  # an empty line keeps its number but is not a record
        table.rows.append(RawRow(number, values))
    return table


def _read_csv_folder(folder: Path, reader: RawInput) -> None:
    by_name = {p.name.lower(): p for p in sorted(folder.iterdir()) if p.is_file()}
    for name in TABLES:
        path = by_name.get(f"{name}.csv")
        if path is None:
            continue
        reader.sources.append(source_file(path, "csv"))
        rows, encoding = read_csv_rows(path, reader.issues)
        if encoding == "cp1252":
            reader.issues.append(
                ValidationIssue(
                    path.name, None, None, None, encoding, "encoding",
                    f"file is not UTF-8; it was read as {encoding}. Save it as UTF-8 to be sure of accents",
                    "warning",
                )
            )
        reader.tables[name] = _rows_to_table(name, path.name, None, rows, reader)


def _xlsx_cell(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time(0, 0) else value
    return value


def _read_xlsx(path: Path, reader: RawInput) -> None:
    import openpyxl

    reader.sources.append(source_file(path, "xlsx"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # openpyxl warns about unsupported extensions
        try:
            workbook = openpyxl.load_workbook(path, read_only=False, data_only=True, keep_links=False)
        except Exception as err:  # openpyxl raises zipfile/KeyError/ValueError for damaged files
            raise IpafstudyError(
                f"{path.name}: cannot open the workbook ({type(err).__name__}: {err}); save it again as .xlsx"
            ) from None
    try:
        sheets = {canonical_header(ws.title): ws for ws in workbook.worksheets}
        for key, ws in sheets.items():
            if key not in TABLES and key not in IGNORED_SHEETS:
                reader.issues.append(
                    ValidationIssue(
                        path.name, ws.title, None, None, ws.title, "unknown_sheet",
                        f"sheet '{ws.title}' is not a table and is ignored; table sheets are named {list(TABLES)}",
                        "warning",
                    )
                )
        for name in TABLES:
            ws = sheets.get(name)
            if ws is None:
                continue
            rows = [
                (number, [_xlsx_cell(v) for v in cells])
                for number, cells in enumerate(
                    ws.iter_rows(min_row=1, max_row=ws.max_row, max_col=ws.max_column, values_only=True), start=1
                )
            ]
            # The header is the first non-empty row (normally row 1).
            while rows and all(is_blank(v) for v in rows[0][1]):
                rows.pop(0)
            reader.tables[name] = _rows_to_table(name, path.name, ws.title, rows, reader)
    finally:
        workbook.close()


def _read(
    path: str | Path,
    mapping: str | Path | None,
    redcap_dictionary: str | Path | None,
) -> tuple[RawInput, str]:
    source = Path(path)
    reader = RawInput()
    if not source.exists():
        raise IpafstudyError(f"{source}: no such file or folder")
    if source.is_dir():
        _read_csv_folder(source, reader)
        if not reader.sources:
            raise IpafstudyError(
                f"{source}: no table files found; expected CSV files named {[f'{t}.csv' for t in TABLES]}"
            )
    elif source.suffix.lower() in (".xlsx", ".xlsm"):
        _read_xlsx(source, reader)
    elif source.suffix.lower() in (".csv", ".txt"):
        read_redcap(source, reader, mapping=mapping, dictionary=redcap_dictionary)
    else:
        raise IpafstudyError(
            f"{source}: not a folder of CSV files, an .xlsx workbook or a REDCap records export (.csv)"
        )
    return reader, source.name


def read_antibody_aliases(path: str | Path) -> dict[str, str]:
    """A YAML file of laboratory spelling -> canonical antibody name (e.g. ``"Jo one": Jo-1``)."""
    import yaml

    from ipafstudy.rules.antibodies import check_antibody_aliases

    name = Path(path).name
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise IpafstudyError(f"{name}: cannot read the antibody alias file ({err})") from None
    if not isinstance(data, Mapping):
        raise IpafstudyError(f"{name}: the antibody alias file must map each spelling to a canonical name")
    return check_antibody_aliases({str(k): str(v) for k, v in data.items()})


def validate_path(
    path: str | Path,
    *,
    mapping: str | Path | None = None,
    redcap_dictionary: str | Path | None = None,
    antibody_aliases: Mapping[str, str] | None = None,
    variables: VariableCatalogue | None = None,
    data_cutoff_date: dt.date | None = None,
    today: dt.date | None = None,
) -> ValidationReport:
    """Check an input and return every problem found; never raises for data problems.

    It still raises IpafstudyError when the input cannot be opened at all (no such path,
    unsupported file type, unreadable REDCap mapping).
    """
    reader, origin = _read(path, mapping, redcap_dictionary)
    _, report = build_study(
        reader.tables, reader.sources, antibody_aliases=antibody_aliases, issues=reader.issues, origin=origin,
        variables=variables, data_cutoff_date=data_cutoff_date, today=today, frames=False,
    )
    return report


def load_study(
    path: str | Path,
    *,
    mapping: str | Path | None = None,
    redcap_dictionary: str | Path | None = None,
    antibody_aliases: Mapping[str, str] | None = None,
    variables: VariableCatalogue | None = None,
    data_cutoff_date: dt.date | None = None,
    today: dt.date | None = None,
) -> Study:
    """Load and validate a study; raises DataValidationError (``.report``) listing every problem.

    ``path`` is a folder of CSV files named after the tables, an XLSX workbook with one sheet
    per table, or a REDCap records export CSV (with ``redcap_dictionary`` and optionally a YAML
    ``mapping``). ``antibody_aliases`` adds laboratory spellings (raw name -> canonical name).
    ``variables`` adds the analysis plan's declared measurement variables (``AnalysisPlan.variable_catalogue``).
    A date after ``today`` (default: the real date) or after a stated ``data_cutoff_date`` (the clinical
    setting) is an error: a mistyped year must not silently become the data cut-off.
    Warnings do not stop loading; they are available from ``validate_path``.
    """
    reader, origin = _read(path, mapping, redcap_dictionary)
    study, report = build_study(
        reader.tables, reader.sources, antibody_aliases=antibody_aliases, issues=reader.issues, origin=origin,
        variables=variables, data_cutoff_date=data_cutoff_date, today=today,
    )
    if study is None:
        raise DataValidationError(report, _error_message(origin, report))
    return study


def _error_message(origin: str, report: ValidationReport, limit: int = 20) -> str:
    """Exception text listing the first ``limit`` errors, so a CLI that prints it shows the cells to fix."""
    errors = report.errors
    lines = [f"{origin}: {len(errors)} error(s) in the input:"]
    lines += [f"  {issue.describe()}" for issue in errors[:limit]]
    if len(errors) > limit:
        lines.append(f"  ... and {len(errors) - limit} more; run 'ipafstudy validate {origin}' for the full report")
    return "\n".join(lines)
