"""Word report writer: real Word tables from TableSpecs, embedded PNG figures, deterministic bytes.

Tables use the three-rule journal layout (rule above and below the header, rule under the last
row), a header row that repeats on every page, section rows spanning the table, indented rows,
and footnotes under the table. Tables with many columns get a landscape page. Page numbers are a
PAGE field in the footer. The saved file is re-zipped with fixed entry dates and fixed core
properties, so the same content always gives the same bytes.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Pt

from ipafstudy.reporting.format import JournalStyle, get_style
from ipafstudy.reporting.io import atomic_write_bytes, normalize_zip, pin_core_dates
from ipafstudy.reporting.tablespec import FigureSpec, Section, TableSpec

#: Used for document dates when the caller gives none: a fixed date keeps files reproducible.
DEFAULT_CREATED = datetime(2000, 1, 1, tzinfo=UTC)

_ALIGN = {"left": WD_ALIGN_PARAGRAPH.LEFT, "right": WD_ALIGN_PARAGRAPH.RIGHT, "center": WD_ALIGN_PARAGRAPH.CENTER}
_RULE = {"val": "single", "sz": "8", "space": "0", "color": "000000"}  # 1 pt rule (sz in eighths of a point)


def _set_cell_borders(cell, **edges: dict[str, str] | None) -> None:
    """Set top/bottom/left/right borders of one cell (``None`` = explicitly no border)."""
    tc_pr = cell._tc.get_or_add_tcPr()
    borders = tc_pr.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        tc_pr.append(borders)
    for edge in ("top", "left", "bottom", "right"):
        if edge not in edges:
            continue
        el = borders.find(qn(f"w:{edge}"))
        if el is None:
            el = OxmlElement(f"w:{edge}")
            borders.append(el)
        spec = edges[edge] or {"val": "nil"}
        for key, value in spec.items():
            el.set(qn(f"w:{key}"), value)


def _mark_header_row(row) -> None:
    """Repeat this row at the top of each page the table spans."""
    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)


def _no_split(row) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:cantSplit")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)


def _add_page_number(paragraph) -> None:
    """Insert a PAGE field (Word fills in the number when it lays out the page)."""
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


#: Layout constants for column widths: average character width at 9 pt and Word's cell padding (inches).
CHAR_WIDTH_IN = 0.068
CELL_PADDING_IN = 0.2


def column_extents(spec: TableSpec) -> list[tuple[int, int]]:
    """Per column (longest unbreakable word, longest line) in characters; header labels may wrap.

    Layout only: the first column counts 2 characters per indent level.
    """
    extents = []
    for c, col in enumerate(spec.columns):
        words = [len(w) for w in col.label.split()]
        lines = [max(words, default=1)]
        for row in spec.rows:
            if row.kind == "section" and len(row.cells) == 1:
                continue
            extra = 2 * row.indent if c == 0 else 0
            for line in spec.padded_cells(row)[c].split("\n"):
                lines.append(len(line) + extra)
                words.append(max((len(w) for w in line.split()), default=0) + extra)
        extents.append((max(max(words, default=1), 3), max(lines)))
    return extents


def column_widths_in(spec: TableSpec, available_in: float) -> list[float]:
    """Column widths (inches) filling ``available_in``: short columns keep their natural width.

    Water-filling: every column gets at least its longest word and at most its longest line,
    under one common cap chosen so the table fills the width; spare width goes to the columns in
    proportion to their natural width. If even the longest words do not fit, all shrink alike.
    """
    ext = column_extents(spec)
    lo = [w * CHAR_WIDTH_IN + CELL_PADDING_IN for w, _ in ext]
    hi = [max(n, w) * CHAR_WIDTH_IN + CELL_PADDING_IN for w, n in ext]
    if sum(hi) <= available_in:
        spare = available_in - sum(hi)
        return [h + spare * h / sum(hi) for h in hi]
    if sum(lo) >= available_in:
        return [x * available_in / sum(lo) for x in lo]
    low_cap, high_cap = 0.0, max(hi)
    for _ in range(60):  # bisection on the common cap
        cap = (low_cap + high_cap) / 2
        total = sum(max(a, min(b, cap)) for a, b in zip(lo, hi, strict=True))
        low_cap, high_cap = (cap, high_cap) if total < available_in else (low_cap, cap)
    return [max(a, min(b, high_cap)) for a, b in zip(lo, hi, strict=True)]


def _write_cell(cell, text: str, *, align: str, bold: bool, size: float, indent_pt: float = 0.0,
                italic: bool = False) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.alignment = _ALIGN[align]
    fmt = paragraph.paragraph_format
    fmt.space_before = Pt(1)
    fmt.space_after = Pt(1)
    if indent_pt:
        fmt.left_indent = Pt(indent_pt)
    lines = text.split("\n")
    for i, line in enumerate(lines):
        run = paragraph.add_run(line)
        run.bold = bold
        run.italic = italic
        run.font.size = Pt(size)
        if i < len(lines) - 1:
            run.add_break()


class DocxReport:
    """Build a Word report block by block, then :meth:`save` it atomically.

    Example::

        rep = DocxReport(title="Tacrolimus in IPAF")
        rep.add_heading("Results")
        rep.add_table(table_spec)
        rep.add_figure(figure_spec)
        rep.save("report.docx")
    """

    def __init__(self, *, title: str, subtitle: str | None = None, author: str = "ipafstudy",
                 created: datetime | None = None, style: str | JournalStyle | None = None,
                 landscape_min_columns: int = 7, body_font: str = "Calibri", body_size: float = 10.0,
                 table_size: float = 9.0) -> None:
        self.style = get_style(style)
        self.created = (created or DEFAULT_CREATED).astimezone(UTC).replace(microsecond=0)
        self.landscape_min_columns = landscape_min_columns
        self.table_size = table_size
        self.doc = Document()
        normal = self.doc.styles["Normal"]
        normal.font.name = body_font
        normal.font.size = Pt(body_size)
        props = self.doc.core_properties
        props.title = title
        props.author = author
        props.last_modified_by = author
        props.created = self.created.replace(tzinfo=None)
        props.modified = self.created.replace(tzinfo=None)
        props.last_printed = self.created.replace(tzinfo=None)
        props.revision = 1
        props.comments = ""
        props.keywords = ""
        props.subject = subtitle or ""
        section = self.doc.sections[0]
        for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
            setattr(section, side, Inches(1.0))
        footer_par = section.footer.paragraphs[0]
        footer_par.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _add_page_number(footer_par)
        self._landscape = False
        self.doc.add_heading(title, level=0)
        if subtitle:
            self.doc.add_paragraph(subtitle)

    # -- layout -----------------------------------------------------------------------------
    def _orient(self, landscape: bool) -> None:
        if landscape == self._landscape:
            return
        current = self.doc.sections[-1]
        width, height = current.page_width, current.page_height
        section = self.doc.add_section(WD_SECTION.NEW_PAGE)
        section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
        short, long_ = sorted((width, height))
        section.page_width, section.page_height = (long_, short) if landscape else (short, long_)
        self._landscape = landscape

    def _portrait_text_width_in(self) -> float:
        section = self.doc.sections[-1]
        short = min(section.page_width, section.page_height)
        return (short - section.left_margin - section.right_margin) / 914400

    def _text_width_in(self) -> float:
        section = self.doc.sections[-1]
        return (section.page_width - section.left_margin - section.right_margin) / 914400

    # -- blocks -------------------------------------------------------------------------------
    def add_heading(self, text: str, level: int = 1) -> None:
        """A numbered-free heading (levels 1-3)."""
        self._orient(False)
        self.doc.add_heading(text, level=level)

    def add_paragraph(self, text: str) -> None:
        """A body paragraph; "\\n" inside the text becomes a line break."""
        self._orient(False)
        paragraph = self.doc.add_paragraph()
        lines = text.split("\n")
        for i, line in enumerate(lines):
            run = paragraph.add_run(line)
            if i < len(lines) - 1:
                run.add_break()

    def add_table(self, spec: TableSpec) -> None:
        """A TableSpec as a real Word table with caption above and footnotes below."""
        if not isinstance(spec, TableSpec):
            raise TypeError(f"add_table(): expected a TableSpec, got {type(spec).__name__}")
        portrait_width = self._portrait_text_width_in()
        minimum = sum(w * CHAR_WIDTH_IN + CELL_PADDING_IN for w, _ in column_extents(spec))
        self._orient(len(spec.columns) >= self.landscape_min_columns or minimum > portrait_width)
        caption = self.doc.add_paragraph()
        caption.paragraph_format.keep_with_next = True
        caption.paragraph_format.space_after = Pt(4)
        if spec.number is not None:
            caption.add_run(f"Table {spec.number}. ").bold = True
        caption.add_run(spec.title).bold = spec.number is None

        ncol = len(spec.columns)
        table = self.doc.add_table(rows=1 + len(spec.rows), cols=ncol)
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        widths = [Inches(w) for w in column_widths_in(spec, self._text_width_in())]
        for col_obj, width in zip(table.columns, widths, strict=True):
            col_obj.width = width
            for cell in col_obj.cells:
                cell.width = width
        header = table.rows[0]
        _mark_header_row(header)
        _no_split(header)
        for cell, col in zip(header.cells, spec.columns, strict=True):
            _write_cell(cell, col.label, align=col.align if col.align != "left" else "left", bold=True,
                        size=self.table_size)
            _set_cell_borders(cell, top=_RULE, bottom=_RULE)
        for r, row in enumerate(spec.rows, start=1):
            trow = table.rows[r]
            _no_split(trow)
            last = r == len(spec.rows)
            if row.kind == "section" and len(row.cells) == 1:
                merged = trow.cells[0].merge(trow.cells[ncol - 1]) if ncol > 1 else trow.cells[0]
                _write_cell(merged, row.cells[0], align="left", bold=row.bold, size=self.table_size,
                            indent_pt=6.0 * row.indent)
                cells_for_border = [merged]
            else:
                cells_for_border = list(trow.cells)
                for c, (cell, text, col) in enumerate(zip(trow.cells, row.cells, spec.columns, strict=True)):
                    _write_cell(cell, text, align=col.align, bold=row.bold or (row.kind == "section" and c == 0),
                                size=self.table_size, indent_pt=6.0 * row.indent if c == 0 else 0.0)
            if last:
                for cell in cells_for_border:
                    _set_cell_borders(cell, bottom=_RULE)
        for note in spec.footnotes:
            par = self.doc.add_paragraph()
            par.paragraph_format.space_after = Pt(0)
            run = par.add_run(note)
            run.font.size = Pt(self.table_size - 1)
        self.doc.add_paragraph()

    def add_figure(self, spec: FigureSpec, *, width_in: float | None = None) -> None:
        """Embed the figure's PNG at ``width_in`` (default: text width, at most 6.5 in) with its caption."""
        if not isinstance(spec, FigureSpec):
            raise TypeError(f"add_figure(): expected a FigureSpec, got {type(spec).__name__}")
        if not spec.png_path.is_file():
            raise FileNotFoundError(
                f"Figure {spec.key!r}: PNG file {spec.png_path} not found; save the figure before building the report"
            )
        self._orient(False)
        width = min(width_in or 6.5, self._text_width_in())
        self.doc.add_picture(str(spec.png_path), width=Inches(width))
        picture_par = self.doc.paragraphs[-1]
        picture_par.alignment = WD_ALIGN_PARAGRAPH.CENTER
        picture_par.paragraph_format.keep_with_next = True
        inline = self.doc.inline_shapes[-1]._inline
        inline.docPr.set("descr", spec.alt_text or spec.caption or spec.title)
        caption = self.doc.add_paragraph()
        if spec.number is not None:
            caption.add_run(f"Figure {spec.number}. ").bold = True
        caption.add_run(spec.title).bold = spec.number is None
        if spec.caption:
            caption.add_run(" " + spec.caption)

    def add_section(self, section: Section | tuple[object, ...]) -> None:
        """Heading, then paragraphs, tables and figures of a :class:`Section`."""
        sec = Section.coerce(section)
        self.add_heading(sec.heading, level=sec.level)
        for text in sec.paragraphs:
            self.add_paragraph(text)
        for table in sec.tables:
            self.add_table(table)
        for figure in sec.figures:
            self.add_figure(figure)

    # -- output -------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """The .docx bytes, re-zipped with fixed dates (identical for identical content)."""
        buf = io.BytesIO()
        self.doc.save(buf)
        stamp = self.created.strftime("%Y-%m-%dT%H:%M:%SZ")
        return normalize_zip(buf.getvalue(), rewrite={"docProps/core.xml": lambda x: pin_core_dates(x, stamp)})

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write atomically to ``path``."""
        return atomic_write_bytes(path, self.to_bytes())


def write_docx(path: str | os.PathLike[str], *, title: str, sections: Sequence[Section | tuple[object, ...]],
               subtitle: str | None = None, created: datetime | None = None, author: str = "ipafstudy",
               style: str | JournalStyle | None = None, landscape_min_columns: int = 7) -> Path:
    """Write a complete Word report: title, then each section in order. Returns the path written."""
    report = DocxReport(title=title, subtitle=subtitle, author=author, created=created, style=style,
                        landscape_min_columns=landscape_min_columns)
    for section in sections:
        report.add_section(section)
    return report.save(path)
