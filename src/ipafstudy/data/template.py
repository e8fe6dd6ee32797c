"""A blank XLSX data-entry workbook generated from the schema.

One sheet per table with the header in row 1 (so the first record is row 2, as the validator
reports it), a note on every header cell (description, unit, allowed values, required),
drop-down lists for coded columns, range checks for numbers and a date format for dates,
plus a README sheet. The workbook loads back with ``load_study`` once filled in.
"""

from __future__ import annotations

import io
from pathlib import Path

from ipafstudy.data.dictionary import allowed_values
from ipafstudy.data.schema import TABLES, Column, Table
from ipafstudy.data.spellings import accepted_spellings
from ipafstudy.fileio import normalize_zip, pin_core_dates, write_output_file
from ipafstudy.rules.units import accepted_units, measurement_variable_codes

TEMPLATE_ROWS = 500  # rows that get drop-downs, range checks and date formats
README_SHEET = "README"
LISTS_SHEET = "lists"
_FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


def header_note(table: Table, column: Column) -> str:
    """The note shown on a header cell: what to enter, in which unit, which values are allowed."""
    parts = [column.description, "REQUIRED." if column.required else "Optional."]
    if column.kind == "date":
        parts.append("Date: a spreadsheet date or YYYY-MM-DD text.")
    if column.unit:
        parts.append(f"Unit: {column.unit}.")
    if column.minimum is not None or column.maximum is not None:
        lo = "" if column.minimum is None else f"{column.minimum:g}"
        hi = "" if column.maximum is None else f"{column.maximum:g}"
        parts.append(f"Range: {lo} to {hi}." if hi else f"Minimum: {lo}.")
    values = allowed_values(table, column)
    if column.allowed:
        parts.append(f"Allowed: {', '.join(values)}.")
        spellings = accepted_spellings().get((table.name, column.name), {})
        if column.allowed == ("yes", "no", "unknown"):
            parts.append("Blank = unknown.")
        elif any(spellings.values()):
            parts.append("Also accepted: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in spellings.items() if v) + ".")
    elif table.name == "measurements" and column.name == "variable":
        parts.append(f"Allowed: {', '.join(values)}.")
    elif table.name == "measurements" and column.name == "unit":
        parts.append("Units per variable: " + "; ".join(
            f"{code}: {', '.join(accepted_units(code))}" for code in measurement_variable_codes()) + ".")
    elif table.name == "antibodies" and column.name == "antibody":
        parts.append("Any common laboratory spelling; it is normalised on load (see the data dictionary).")
    return "\n".join(parts)


def _readme_lines() -> list[str]:
    lines = [
        "ipafstudy data-entry workbook",
        "",
        "One sheet per table; keep the sheet names and the header row (row 1) as they are.",
        "Enter one record per row from row 2. Hover over a header cell to read what it needs.",
        "Dates: real spreadsheet dates or text written YYYY-MM-DD. Numbers: use a decimal point.",
        "Yes/no/unknown columns: a blank cell means 'unknown'.",
        "Measurements are in long format: one row per patient, date and variable, with the unit used.",
        "Check the filled workbook with:  ipafstudy validate this_file.xlsx",
        "",
        "Tables:",
    ]
    for table in TABLES.values():
        required = ", ".join(c.name for c in table.columns if c.required)
        lines.append(f"  {table.name}: {table.description} Required columns: {required}.")
    return lines


def build_template() -> bytes:
    """The workbook as bytes (zip entries carry a fixed timestamp so equal content gives equal bytes)."""
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = openpyxl.Workbook()
    readme = wb.active
    readme.title = README_SHEET
    for line in _readme_lines():
        readme.append([line])
    readme.column_dimensions["A"].width = 120
    lists = wb.create_sheet(LISTS_SHEET)
    lists.sheet_state = "hidden"
    list_col = 0
    last = TEMPLATE_ROWS + 1
    for table in TABLES.values():
        ws = wb.create_sheet(table.name)
        ws.freeze_panes = "A2"
        for idx, column in enumerate(table.columns, start=1):
            letter = _column_letter(idx)
            cell = ws.cell(row=1, column=idx, value=column.name)
            cell.font = Font(bold=column.required)
            note = Comment(header_note(table, column), "ipafstudy")
            note.width, note.height = 320, 220
            cell.comment = note
            ws.column_dimensions[letter].width = max(12, len(column.name) + 2)
            rng = f"{letter}2:{letter}{last}"
            values = allowed_values(table, column)
            is_list = bool(column.allowed) or (table.name == "measurements" and column.name == "variable")
            if is_list:
                list_col += 1
                lcol = _column_letter(list_col)
                lists.cell(row=1, column=list_col, value=f"{table.name}.{column.name}")
                for r, value in enumerate(values, start=2):
                    lists.cell(row=r, column=list_col, value=value)
                dv = DataValidation(
                    type="list", formula1=f"{LISTS_SHEET}!${lcol}$2:${lcol}${len(values) + 1}", allow_blank=True,
                    showErrorMessage=True, errorStyle="warning", errorTitle=column.name,
                    error=f"Use one of: {', '.join(values)}"[:255], showDropDown=False,
                )
                dv.add(rng)
                ws.add_data_validation(dv)
            elif column.kind in ("number", "integer") and column.minimum is not None and column.maximum is not None:
                dv = DataValidation(
                    type="whole" if column.kind == "integer" else "decimal", operator="between",
                    formula1=f"{column.minimum:g}", formula2=f"{column.maximum:g}", allow_blank=True,
                    showErrorMessage=True, errorStyle="stop", errorTitle=column.name,
                    error=f"Enter a number from {column.minimum:g} to {column.maximum:g}",
                )
                dv.add(rng)
                ws.add_data_validation(dv)
            if column.kind == "date":
                for r in range(2, last + 1):
                    ws.cell(row=r, column=idx).number_format = "yyyy-mm-dd"
    buffer = io.BytesIO()
    wb.save(buffer)
    stamp = "2020-01-01T00:00:00Z"
    return normalize_zip(
        buffer.getvalue(), date_time=_FIXED_ZIP_TIME, rewrite={"docProps/core.xml": lambda x: pin_core_dates(x, stamp)}
    )


def write_template(path: str | Path, *, force: bool = False) -> Path:
    """Write the blank workbook atomically; refuses to replace an existing file unless ``force``."""
    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        from ipafstudy.errors import InvalidOptionError

        raise InvalidOptionError(f"write_template(): {target.name} must end in .xlsx")
    return write_output_file(target, build_template(), force=force)
