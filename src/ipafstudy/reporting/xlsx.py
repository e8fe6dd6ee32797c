"""Excel workbook of all tables: one sheet per TableSpec, deterministic bytes.

A cell of a number column (right- or centre-aligned) that holds one plain number ("48", "0.050",
"-1.25", JAMA's ".004") is written as a
numeric cell with a number format that shows exactly the printed decimals ("0.000" keeps the
trailing zero of 0.050), so Excel can sort, sum and chart it. Everything else stays text exactly
as formatted ("<0.001", "12 (8, 15)", "34 (70.8%)"), written as text even when it starts with "="
(never a formula). The typeset minus sign U+2212 becomes the ASCII "-" everywhere, so Excel and
readers of the file see a number, not a dash. Sheets are named "Table 1" ... and "Table S1" ...
Layout: title in row 1, bold header in row 3 with rules, indented rows, bold section rows,
footnotes two rows under the table, frozen header.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from ipafstudy.fileio import atomic_write_bytes, normalize_zip, pin_core_dates, set_xlsx_value
from ipafstudy.reporting.tablespec import TableSpec

DEFAULT_CREATED = datetime(2000, 1, 1, tzinfo=UTC)
_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_NUMBER = re.compile(r"^-?(\d+)?(?:\.(\d+))?$")
_SUPPLEMENT_KEY = re.compile(r"^table(S\d+)(?:_|$)")
UNICODE_MINUS = "\u2212"
_THIN = Side(style="thin", color="000000")
_MEDIUM = Side(style="medium", color="000000")


def sheet_names(specs: Sequence[TableSpec]) -> list[str]:
    """Excel-safe, unique sheet names (<= 31 characters) in table order.

    "Table 2" for numbered tables, "Table S1" for a supplementary table keyed ``tableS1_...``,
    otherwise the key; forbidden characters ``[]:*?/\\`` are replaced by "_"; clashes (compared
    case-insensitively, as Excel does) get " (2)", " (3)"...
    """
    names: list[str] = []
    seen: set[str] = set()
    for spec in specs:
        supplement = _SUPPLEMENT_KEY.match(spec.key)
        if spec.number is not None:
            base = f"Table {spec.number}"
        elif supplement:
            base = f"Table {supplement.group(1)}"
        else:
            base = spec.key
        base = _FORBIDDEN.sub("_", base).strip("'") or "Table"
        base = base[:31]
        name, k = base, 2
        while name.lower() in seen:
            suffix = f" ({k})"
            name = base[: 31 - len(suffix)] + suffix
            k += 1
        seen.add(name.lower())
        names.append(name)
    return names


def ascii_minus(text: str) -> str:
    """The typeset minus U+2212 as the ASCII hyphen-minus Excel reads as a sign."""
    return text.replace(UNICODE_MINUS, "-")


def cell_value(text: str) -> tuple[str | int | float | None, str]:
    """(value, number format) for one formatted table cell.

    A plain number becomes a number with a format showing the same decimals; anything else is text
    ("@") with the ASCII minus. The number is the printed (rounded) value, as the reader sees it.

    >>> cell_value("0.050"), cell_value("\u22121.25"), cell_value(".004"), cell_value("48")
    ((0.05, '0.000'), (-1.25, '0.00'), (0.004, '#.000'), (48, '0'))
    >>> cell_value("<0.001"), cell_value("12 (8, 15)"), cell_value("")
    (('<0.001', '@'), ('12 (8, 15)', '@'), (None, '@'))
    """
    plain = ascii_minus(text).strip()
    match = _NUMBER.match(plain)
    if not plain or not match or (match.group(1) is None and match.group(2) is None):
        return (ascii_minus(text) or None), "@"
    whole, decimals = match.group(1), match.group(2)
    lead = "0" if whole is not None else "#"
    if decimals is None:
        return int(plain), "0"
    return float(plain), f"{lead}.{'0' * len(decimals)}"


def _text(ws, row: int, column: int, text: str):
    """A text cell that Excel never evaluates (a value starting with "=" stays text)."""
    return set_xlsx_value(ws.cell(row=row, column=column), ascii_minus(text))  # the one rule, in fileio


def _fill_sheet(ws, spec: TableSpec, *, font_size: float) -> None:
    ncol = len(spec.columns)
    _text(ws, 1, 1, spec.caption).font = Font(bold=True, size=font_size + 1)
    header_row = 3
    for c, col in enumerate(spec.columns, start=1):
        cell = _text(ws, header_row, c, col.label)
        cell.font = Font(bold=True, size=font_size)
        cell.alignment = Alignment(horizontal=col.align, vertical="bottom", wrap_text=True)
        cell.border = Border(top=_MEDIUM, bottom=_THIN)
        cell.number_format = "@"
    r = header_row
    for row in spec.rows:
        r += 1
        cells = spec.padded_cells(row)
        for c, (text, col) in enumerate(zip(cells, spec.columns, strict=True), start=1):
            # number columns (right/centre aligned) hold numbers; a label column ("Variable") stays text
            value, number_format = cell_value(text) if col.align != "left" else ((ascii_minus(text) or None), "@")
            cell = ws.cell(row=r, column=c)
            if isinstance(value, str):
                cell = _text(ws, r, c, value)
            else:
                cell.value = value
            cell.number_format = number_format  # "0.000" shows 0.05 as 0.050; "@" keeps "<0.001" as text
            bold = row.bold or (row.kind == "section" and c == 1)
            cell.font = Font(bold=bold, size=font_size)
            cell.alignment = Alignment(horizontal=col.align, vertical="top", wrap_text="\n" in text,
                                       indent=row.indent if c == 1 else 0)
        if row.kind == "section" and len(row.cells) == 1 and ncol > 1:
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=ncol)
    last = r
    for c in range(1, ncol + 1):
        cell = ws.cell(row=last, column=c)
        cell.border = Border(top=cell.border.top, bottom=_MEDIUM)
    for k, note in enumerate(spec.footnotes):
        _text(ws, last + 2 + k, 1, note).font = Font(italic=True, size=font_size - 1)
    for c, col in enumerate(spec.columns, start=1):
        texts = [w for w in col.label.split()] + [
            line for row in spec.rows if not (row.kind == "section" and len(row.cells) == 1)
            for line in spec.padded_cells(row)[c - 1].split("\n")
        ]
        longest = max([len(t) for t in texts] + [6])
        extra = 2 * max((row.indent for row in spec.rows), default=0) if c == 1 else 0
        ws.column_dimensions[get_column_letter(c)].width = min(60, longest + 2 + extra)
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    ws.sheet_view.showGridLines = False


def xlsx_bytes(specs: Sequence[TableSpec], *, created: datetime | None = None, author: str = "ipafstudy",
               title: str = "ipafstudy tables", font_size: float = 10.0) -> bytes:
    """Build the workbook in memory and return deterministic .xlsx bytes."""
    specs = list(specs)
    if not specs:
        raise ValueError("write_xlsx(): no tables given; a workbook needs at least one sheet")
    for i, spec in enumerate(specs):
        if not isinstance(spec, TableSpec):
            raise TypeError(f"write_xlsx(): item {i} is a {type(spec).__name__}, expected a TableSpec")
    stamp = (created or DEFAULT_CREATED).astimezone(UTC).replace(microsecond=0)
    wb = Workbook()
    wb.remove(wb.active)
    for spec, name in zip(specs, sheet_names(specs), strict=True):
        _fill_sheet(wb.create_sheet(title=name), spec, font_size=font_size)
    props = wb.properties
    props.creator = author
    props.lastModifiedBy = author
    props.title = title
    props.created = stamp.replace(tzinfo=None)
    props.modified = stamp.replace(tzinfo=None)
    buf = io.BytesIO()
    wb.save(buf)
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    return normalize_zip(buf.getvalue(), rewrite={"docProps/core.xml": lambda x: pin_core_dates(x, iso)})


def write_xlsx(path: str | os.PathLike[str], specs: Sequence[TableSpec], *, created: datetime | None = None,
               author: str = "ipafstudy", title: str = "ipafstudy tables") -> Path:
    """Write all tables to one workbook atomically (one sheet per table, in order)."""
    return atomic_write_bytes(path, xlsx_bytes(specs, created=created, author=author, title=title))
