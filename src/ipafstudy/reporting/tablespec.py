"""Neutral table and figure descriptions shared by every renderer (gtsummary's table_body idea).

Analysis code turns results into a ``TableSpec`` whose cells are already-formatted strings; the
DOCX, HTML, XLSX and CSV renderers only lay those strings out. Keeping cells as ``str`` (checked
here) is what guarantees that renderers cannot round, compute or reformat anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from ipafstudy.errors import check_option

Align = Literal["left", "right", "center"]
RowKind = Literal["data", "section"]

ALIGNS: tuple[str, ...] = ("left", "right", "center")
ROW_KINDS: tuple[str, ...] = ("data", "section")
_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _check_key(kind: str, key: str) -> None:
    """Keys become file and sheet names, so they must be short, plain and non-empty."""
    if not isinstance(key, str) or not _KEY_RE.match(key) or len(key) > 64:
        raise ValueError(
            f"{kind} key {key!r} is not usable as a file name; use 1-64 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit (e.g. 'table2_paired')"
        )


@dataclass(frozen=True, slots=True)
class Column:
    """One table column: ``key`` is machine-facing, ``label`` is the printed header."""

    key: str
    label: str
    align: Align = "left"

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key:
            raise ValueError(f"Column key must be a non-empty string, got {self.key!r}")
        if not isinstance(self.label, str):
            raise TypeError(f"Column {self.key!r}: label must be a string, got {type(self.label).__name__}")
        check_option("Column", "align", self.align, ALIGNS)


@dataclass(frozen=True, slots=True)
class Row:
    """One table row of pre-formatted strings.

    ``kind="section"`` marks a group heading (e.g. "HRCT scores"); a section row may hold a single
    cell, which renderers span across the whole table width. ``indent`` counts nesting levels of
    the first cell (0 = flush left).
    """

    cells: tuple[str, ...]
    indent: int = 0
    bold: bool = False
    kind: RowKind = "data"

    def __post_init__(self) -> None:
        if isinstance(self.cells, str) or not isinstance(self.cells, tuple | list):
            raise TypeError(f"Row cells must be a tuple of strings, got {type(self.cells).__name__}")
        object.__setattr__(self, "cells", tuple(self.cells))
        for i, cell in enumerate(self.cells):
            if not isinstance(cell, str):
                raise TypeError(
                    f"Row cell {i} is {cell!r} ({type(cell).__name__}); cells must be formatted strings "
                    "(use ipafstudy.reporting.format.fmt_* before building the table)"
                )
        check_option("Row", "kind", self.kind, ROW_KINDS)
        if isinstance(self.indent, bool) or not isinstance(self.indent, int) or not 0 <= self.indent <= 5:
            raise ValueError(f"Row indent must be an integer 0-5, got {self.indent!r}")
        if not self.cells:
            raise ValueError("Row must have at least one cell")

    @classmethod
    def section(cls, label: str, *, bold: bool = True) -> Row:
        """A group heading row spanning the whole table."""
        return cls((label,), indent=0, bold=bold, kind="section")


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A complete, render-ready table: title, columns, rows of strings and footnotes."""

    key: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    footnotes: tuple[str, ...] = ()
    number: int | None = None

    def __post_init__(self) -> None:
        _check_key("TableSpec", self.key)
        object.__setattr__(self, "columns", tuple(self.columns))
        object.__setattr__(self, "rows", tuple(self.rows))
        object.__setattr__(self, "footnotes", tuple(self.footnotes))
        if not self.columns:
            raise ValueError(f"TableSpec {self.key!r} has no columns")
        keys = [c.key for c in self.columns]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"TableSpec {self.key!r}: duplicate column keys {dupes}")
        ncol = len(self.columns)
        for i, row in enumerate(self.rows):
            if not isinstance(row, Row):
                raise TypeError(f"TableSpec {self.key!r}: row {i} is a {type(row).__name__}, expected Row")
            ok = len(row.cells) == ncol or (row.kind == "section" and len(row.cells) == 1)
            if not ok:
                raise ValueError(
                    f"TableSpec {self.key!r}: row {i} ({row.cells[0]!r}) has {len(row.cells)} cells but the table "
                    f"has {ncol} columns" + (" (a section row may also have exactly 1 cell)" if row.kind == "section"
                                            else "")
                )
        for i, note in enumerate(self.footnotes):
            if not isinstance(note, str):
                raise TypeError(f"TableSpec {self.key!r}: footnote {i} must be a string, got {note!r}")
        if self.number is not None and (isinstance(self.number, bool) or not isinstance(self.number, int)
                                        or self.number < 1):
            raise ValueError(f"TableSpec {self.key!r}: number must be a positive integer or None, got {self.number!r}")

    @property
    def caption(self) -> str:
        """Printed caption: "Table 2. Title" when numbered, else the title alone."""
        return f"Table {self.number}. {self.title}" if self.number is not None else self.title

    def padded_cells(self, row: Row) -> tuple[str, ...]:
        """Cells of ``row`` padded to the table width (single-cell section rows gain empty cells)."""
        return row.cells + ("",) * (len(self.columns) - len(row.cells))

    def to_frame(self, *, indent: str = "") -> pd.DataFrame:
        """The table as a string DataFrame (for CSV/XLSX); headers are the column labels.

        Indentation is not encoded unless ``indent`` is given (e.g. ``"  "``), in which case it is
        repeated ``row.indent`` times before the first cell. Duplicate labels get the column key
        appended in brackets so the frame stays addressable.
        """
        labels = [c.label for c in self.columns]
        header = [
            f"{c.label} [{c.key}]" if labels.count(c.label) > 1 else c.label for c in self.columns
        ]
        body = []
        for row in self.rows:
            cells = list(self.padded_cells(row))
            if indent and row.indent:
                cells[0] = indent * row.indent + cells[0]
            body.append(cells)
        frame = pd.DataFrame(body, columns=header, dtype=object)
        if not body:
            frame = pd.DataFrame({h: pd.Series([], dtype=object) for h in header})
        return frame

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable description (round-trips through :meth:`from_dict`)."""
        return {
            "key": self.key,
            "title": self.title,
            "number": self.number,
            "columns": [{"key": c.key, "label": c.label, "align": c.align} for c in self.columns],
            "rows": [
                {"cells": list(r.cells), "indent": r.indent, "bold": r.bold, "kind": r.kind} for r in self.rows
            ],
            "footnotes": list(self.footnotes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> TableSpec:
        """Rebuild a spec written by :meth:`to_dict`."""
        return cls(
            key=data["key"],  # type: ignore[arg-type]
            title=data["title"],  # type: ignore[arg-type]
            number=data.get("number"),  # type: ignore[arg-type]
            columns=tuple(Column(**c) for c in data["columns"]),  # type: ignore[union-attr]
            rows=tuple(
                Row(tuple(r["cells"]), indent=r["indent"], bold=r["bold"], kind=r["kind"])
                for r in data["rows"]  # type: ignore[union-attr]
            ),
            footnotes=tuple(data.get("footnotes", ())),  # type: ignore[arg-type]
        )


@dataclass(frozen=True, slots=True)
class FigureSpec:
    """A saved figure ready to embed: PNG for DOCX/HTML, SVG for HTML and journals."""

    key: str
    title: str
    caption: str
    png_path: Path
    svg_path: Path | None = None
    number: int | None = None
    alt_text: str = field(default="")

    def __post_init__(self) -> None:
        _check_key("FigureSpec", self.key)
        object.__setattr__(self, "png_path", Path(self.png_path))
        if self.svg_path is not None:
            object.__setattr__(self, "svg_path", Path(self.svg_path))
        if self.number is not None and (isinstance(self.number, bool) or not isinstance(self.number, int)
                                        or self.number < 1):
            raise ValueError(f"FigureSpec {self.key!r}: number must be a positive integer or None, got {self.number!r}")

    @property
    def label(self) -> str:
        """Printed label: "Figure 1. Title" when numbered, else the title alone."""
        return f"Figure {self.number}. {self.title}" if self.number is not None else self.title

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable description (paths as strings)."""
        return {
            "key": self.key,
            "title": self.title,
            "caption": self.caption,
            "png_path": str(self.png_path),
            "svg_path": None if self.svg_path is None else str(self.svg_path),
            "number": self.number,
            "alt_text": self.alt_text,
        }


@dataclass(frozen=True, slots=True)
class Section:
    """A report section for the DOCX/HTML writers: heading, then paragraphs, tables and figures in that order."""

    heading: str
    paragraphs: tuple[str, ...] = ()
    tables: tuple[TableSpec, ...] = ()
    figures: tuple[FigureSpec, ...] = ()
    level: int = 1

    def __post_init__(self) -> None:
        for name in ("paragraphs", "tables", "figures"):
            value = getattr(self, name)
            if isinstance(value, str | TableSpec | FigureSpec):
                value = (value,)
            object.__setattr__(self, name, tuple(value))
        if not all(isinstance(p, str) for p in self.paragraphs):
            raise TypeError(f"Section {self.heading!r}: paragraphs must be strings")
        if not all(isinstance(t, TableSpec) for t in self.tables):
            raise TypeError(f"Section {self.heading!r}: tables must be TableSpec objects")
        if not all(isinstance(f, FigureSpec) for f in self.figures):
            raise TypeError(f"Section {self.heading!r}: figures must be FigureSpec objects")
        if self.level not in (1, 2, 3):
            raise ValueError(f"Section {self.heading!r}: level must be 1, 2 or 3, got {self.level!r}")

    @classmethod
    def coerce(cls, item: Section | tuple[object, ...]) -> Section:
        """Accept a Section or a plain ``(heading, paragraphs, tables, figures)`` tuple."""
        if isinstance(item, Section):
            return item
        parts = tuple(item)
        if not 1 <= len(parts) <= 5:
            raise ValueError(f"a section must be (heading, paragraphs, tables, figures), got {len(parts)} items")
        return cls(*parts)  # type: ignore[arg-type]
