"""Word report writer: real Word tables from TableSpecs, embedded PNG figures, deterministic bytes.

Tables use the three-rule journal layout (rule above and below the header, rule under the last
row), a header row that repeats on every page, section rows spanning the table, indented rows,
and footnotes under the table. Tables with many columns get a landscape page. Page numbers are a
PAGE field in the footer. Captions use Word's built-in Caption style and number themselves with
SEQ fields ("Table {SEQ Table}", "Figure {SEQ Figure}", "Supplementary Table S{SEQ TableS}"), each
label bookmarked with the table's or figure's key, so Word's Insert > Cross-reference lists them
and "Update field" keeps the numbers. The page size (A4 or US Letter) is an option. The saved file is
re-zipped with fixed entry dates and fixed core properties, so the same content always gives the
same bytes.
"""

from __future__ import annotations

import functools
import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Mm, Pt, RGBColor

from ipafstudy.errors import check_option
from ipafstudy.fileio import atomic_write_bytes, normalize_zip, pin_core_dates
from ipafstudy.reporting.format import JournalStyle, get_style, keep_relations_together
from ipafstudy.reporting.tablespec import FigureSpec, Section, TableSpec

#: Used for document dates when the caller gives none: a fixed date keeps files reproducible.
DEFAULT_CREATED = datetime(2000, 1, 1, tzinfo=UTC)

_ALIGN = {"left": WD_ALIGN_PARAGRAPH.LEFT, "right": WD_ALIGN_PARAGRAPH.RIGHT, "center": WD_ALIGN_PARAGRAPH.CENTER}
_RULE = {"val": "single", "sz": "8", "space": "0", "color": "000000"}  # 1 pt rule (sz in eighths of a point)
#: Portrait (width, height) of each page size offered by the plan's ``page_size``.
PAGE_SIZES: dict[str, tuple[Any, Any]] = {"A4": (Mm(210), Mm(297)), "Letter": (Inches(8.5), Inches(11))}
#: "Supplementary Table S1. Title" -> a caption numbered by the SEQ identifier TableS (FigureS for figures).
_SUPPLEMENT = re.compile(r"^Supplementary (Table|Figure) S(\d+)\.\s*")


def _field(paragraph, instruction: str, result: str, *, bold: bool) -> None:
    """A complex field (begin, instruction, separate, cached result, end) whose result Word can update."""
    for kind, value in (("begin", None), ("instr", instruction), ("separate", None), ("text", result),
                        ("end", None)):
        run = paragraph.add_run()
        run.bold = bold
        if kind == "instr":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = f" {value} "
        elif kind == "text":
            el = OxmlElement("w:t")
            el.text = value
        else:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        run._r.append(el)


def _bookmark(paragraph, name: str, bookmark_id: int, *, end: bool) -> None:
    el = OxmlElement("w:bookmarkEnd" if end else "w:bookmarkStart")
    el.set(qn("w:id"), str(bookmark_id))
    if not end:
        el.set(qn("w:name"), name)
    paragraph._p.append(el)


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


def _merge_section_break(doc) -> None:
    """Move the section break python-docx adds in a new empty paragraph into the paragraph before it.

    The empty paragraph can be pushed onto a page of its own and print as a blank page before a
    landscape table; a break carried by the previous paragraph cannot.
    """
    body = doc.element.body
    carrier = body[-2] if len(body) >= 2 else None  # the new paragraph; body[-1] is the document's sectPr
    if carrier is None or carrier.tag != qn("w:p") or len(carrier) != 1:
        return
    previous = carrier.getprevious()
    if previous is None or previous.tag != qn("w:p"):
        return
    p_pr = previous.get_or_add_pPr()
    if p_pr.find(qn("w:sectPr")) is not None:
        return
    sect_pr = carrier[0].find(qn("w:sectPr"))
    if sect_pr is None:
        return
    p_pr.insert_element_before(sect_pr, "w:pPrChange")
    body.remove(carrier)


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


#: Cell padding allowance per column (inches): the table's left + right cell margins (2 x 0.075 in) plus slack.
CELL_PADDING_IN = 0.2
#: Left and right cell margin written into every table (twentieths of a point; 108 = 0.075 in, Word's default).
CELL_MARGIN_TWIPS = 108
#: Fallback average character width (inches at 9 pt) if the font file cannot be read.
CHAR_WIDTH_IN = 0.075
#: Room kept under a figure for its caption and spacing (inches), on top of the estimated caption lines.
FIGURE_CAPTION_RESERVE_IN = 0.35

_WORD_SPLIT = re.compile(r"[ \t\n]+")  # breakable spaces only: U+00A0 (no-break space) keeps words together


@functools.lru_cache(maxsize=2)
def _measure_font(bold: bool) -> Any:
    """DejaVu Sans from matplotlib's own font folder: present everywhere matplotlib is, and wider than
    Calibri or Arial, so widths measured with it are an upper bound whichever of those Word or
    LibreOffice ends up using."""
    from matplotlib import ft2font, get_data_path

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ft2font.FT2Font(str(Path(get_data_path()) / "fonts" / "ttf" / name))


@functools.lru_cache(maxsize=65536)
def text_width_in(text: str, size_pt: float, *, bold: bool = False) -> float:
    """Printed width (inches) of one line of ``text`` at ``size_pt`` in DejaVu Sans (see :func:`_measure_font`).

    >>> text_width_in("", 9.0), text_width_in("Before", 9.0, bold=True) > text_width_in("Before", 9.0)
    (0.0, True)
    """
    if not text:
        return 0.0
    try:
        from matplotlib import ft2font

        font = _measure_font(bold)
        font.set_size(float(size_pt), 72)  # 72 dpi: one pixel is one point
        load_flags = getattr(ft2font, "LoadFlags", None)  # matplotlib >= 3.10; older versions have the constant
        flags = load_flags.NO_HINTING if load_flags is not None else ft2font.LOAD_NO_HINTING
        font.set_text(text, 0.0, flags=flags)
        width_pt = font.get_width_height()[0] / 64.0
    except Exception:  # pragma: no cover - font unreadable: fall back to an average character width
        width_pt = len(text) * CHAR_WIDTH_IN * 72 * float(size_pt) / 9.0 * (1.1 if bold else 1.0)
    return width_pt / 72.0


def _words(line: str) -> list[str]:
    return [w for w in _WORD_SPLIT.split(line) if w]


@dataclass(frozen=True, slots=True)
class ColumnExtent:
    """Printed widths (inches, no padding) that bound one column's width.

    ``header_word``: widest word of the bold header label; the column is never narrower, so a
    header word is never split. ``word``: widest unbreakable word in the column (header or body).
    ``line``: widest body line written out in full. ``header_line``: the header label on one line.
    """

    header_word: float
    word: float
    line: float
    header_line: float


def column_extents(spec: TableSpec, size_pt: float = 9.0) -> list[ColumnExtent]:
    """Per column, the widths a column needs (see :class:`ColumnExtent`); indented first cells count their indent."""
    extents = []
    for c, col in enumerate(spec.columns):
        head_lines = col.label.split("\n")
        header_word = max((text_width_in(w, size_pt, bold=True) for ln in head_lines for w in _words(ln)), default=0.0)
        header_line = max(text_width_in(ln, size_pt, bold=True) for ln in head_lines)
        words, lines = [header_word], [0.0]
        for row in spec.rows:
            if row.kind == "section" and len(row.cells) == 1:
                continue
            bold = row.bold or (row.kind == "section" and c == 0)
            extra = 6.0 * row.indent / 72.0 if c == 0 else 0.0
            for line in spec.padded_cells(row)[c].split("\n"):
                lines.append(text_width_in(line, size_pt, bold=bold) + extra)
                words.append(max((text_width_in(w, size_pt, bold=bold) for w in _words(line)), default=0.0) + extra)
        extents.append(ColumnExtent(header_word, max(words), max(max(lines), max(words)), header_line))
    return extents


def minimum_table_width_in(spec: TableSpec, size_pt: float = 9.0) -> float:
    """Width below which some word of the table would have to break: the sum of the widest words plus padding."""
    return sum(e.word + CELL_PADDING_IN for e in column_extents(spec, size_pt))


def _water_fill(lo: list[float], hi: list[float], available: float) -> list[float]:
    """Widths between ``lo`` and ``hi`` summing to ``available``: one common cap, found by bisection."""
    low_cap, high_cap = 0.0, max(hi)
    for _ in range(60):
        cap = (low_cap + high_cap) / 2
        total = sum(max(a, min(b, cap)) for a, b in zip(lo, hi, strict=True))
        low_cap, high_cap = (cap, high_cap) if total < available else (low_cap, cap)
    return [max(a, min(b, high_cap)) for a, b in zip(lo, hi, strict=True)]


def column_widths_in(spec: TableSpec, available_in: float, size_pt: float = 9.0) -> list[float]:
    """Column widths (inches) filling ``available_in``; header words never break while any layout allows it.

    In order of preference: every body line and header label on one line (spare width shared in
    proportion); body lines on one line and headers wrapped at spaces; number columns (aligned
    right or centre) on one line and text columns (aligned left) wrapped at spaces under one common
    cap (water-filling); else the same cap on every column, each keeping its widest word. If the widest words do
    not all fit, each column keeps its widest header word and the rest is shared in proportion to
    what the body words lack (long body words then break, header words never do). Only when even
    the header words do not fit do all columns shrink alike.
    """
    ext = column_extents(spec, size_pt)
    pad = CELL_PADDING_IN
    hard = [e.header_word + pad for e in ext]
    lo = [max(e.word, e.header_word) + pad for e in ext]
    body = [max(e.line, e.word, e.header_word) + pad for e in ext]
    full = [max(b, e.header_line + pad) for b, e in zip(body, ext, strict=True)]
    if sum(full) <= available_in:
        spare = available_in - sum(full)
        return [h + spare * h / sum(full) for h in full]
    if sum(body) <= available_in:
        return _water_fill(body, full, available_in)
    # numbers (right- or centre-aligned columns) stay on one line; text columns wrap under one cap
    keep = [b if col.align != "left" else low for b, low, col in zip(body, lo, spec.columns, strict=True)]
    if sum(keep) <= available_in:
        return _water_fill(keep, full, available_in)
    if sum(lo) <= available_in:  # long lines wrap under the cap; short columns keep body and header on one line
        return _water_fill(lo, full, available_in)
    if sum(hard) < available_in:
        share = (available_in - sum(hard)) / (sum(lo) - sum(hard))
        return [h + (low - h) * share for h, low in zip(hard, lo, strict=True)]
    return [x * available_in / sum(hard) for x in hard]


def _set_cell_margins(table, twips: int) -> None:
    """Write the left/right cell margins explicitly so the width calculation knows the padding."""
    tbl_pr = table._tbl.tblPr
    mar = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:w"), str(twips))
        el.set(qn("w:type"), "dxa")
        mar.append(el)
    tbl_pr.insert_element_before(mar, "w:tblLook", "w:tblCaption", "w:tblDescription", "w:tblPrChange")  # schema order


def _keep_with_next(cell_or_doc_part) -> None:
    for paragraph in cell_or_doc_part.paragraphs:
        paragraph.paragraph_format.keep_with_next = True


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
                 table_size: float = 9.0, keep_together_rows: int = 25, page_size: str = "A4") -> None:
        check_option("DocxReport", "page_size", page_size, tuple(PAGE_SIZES))
        self.style = get_style(style)
        self.page_size = page_size
        self._sequence: dict[str, int] = {}
        self._bookmarks = 0
        self.body_size = body_size
        self.keep_together_rows = keep_together_rows
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
        caption_style = self.doc.styles["Caption"]  # Word's built-in style: captions are listed as such
        caption_style.font.size = Pt(body_size)
        caption_style.font.bold = False
        caption_style.font.italic = False
        caption_style.font.color.rgb = RGBColor(0, 0, 0)
        section = self.doc.sections[0]
        section.page_width, section.page_height = PAGE_SIZES[page_size]
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
        _merge_section_break(self.doc)
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

    def _text_height_in(self) -> float:
        section = self.doc.sections[-1]
        return (section.page_height - section.top_margin - section.bottom_margin) / 914400

    def wants_landscape(self, spec: TableSpec) -> bool:
        """A table goes on a landscape page when it has many columns or its words do not fit the portrait width."""
        return (len(spec.columns) >= self.landscape_min_columns
                or minimum_table_width_in(spec, self.table_size) > self._portrait_text_width_in())

    # -- captions -----------------------------------------------------------------------------
    def _caption(self, kind: str, number: int | None, title: str, key: str) -> Any:
        """A Caption-style paragraph: "<kind> {SEQ kind}. title", the label bookmarked as ``key``.

        An unnumbered title "Supplementary Table S1. ..." is numbered by the sequence ``TableS``. A
        number that is not the next in its sequence is forced with the SEQ switch ``\\r``, so updating
        fields in Word never changes a number the text refers to.
        """
        paragraph = self.doc.add_paragraph(style="Caption")
        paragraph.paragraph_format.keep_with_next = True
        supplement = _SUPPLEMENT.match(title) if number is None else None
        if number is None and supplement is None:
            paragraph.add_run(keep_relations_together(title)).bold = True
            return paragraph
        if supplement is not None:
            prefix, sequence = f"Supplementary {kind} S", f"{kind}S"
            number, title = int(supplement.group(2)), title[supplement.end():]
        else:
            prefix, sequence = f"{kind} ", kind
        expected = self._sequence.get(sequence, 0) + 1
        self._sequence[sequence] = number
        instruction = f"SEQ {sequence} \\* ARABIC" + ("" if number == expected else f" \\r {number}")
        self._bookmarks += 1
        name = re.sub(r"\W", "_", key if key[:1].isalpha() else f"ref_{key}")[:40]  # Word: a letter, then \w
        _bookmark(paragraph, name, self._bookmarks, end=False)
        paragraph.add_run(prefix).bold = True
        _field(paragraph, instruction, str(number), bold=True)
        _bookmark(paragraph, name, self._bookmarks, end=True)
        paragraph.add_run(". ").bold = True
        paragraph.add_run(keep_relations_together(title)).bold = supplement is not None
        return paragraph

    # -- blocks -------------------------------------------------------------------------------
    def add_heading(self, text: str, level: int = 1, *, landscape: bool = False) -> None:
        """A heading (levels 1-3), kept on the page of what follows it.

        ``landscape=True`` puts the heading on the landscape page of the wide table that follows, so
        it is not left alone at the foot of the previous portrait page.
        """
        self._orient(landscape)
        heading = self.doc.add_heading(text, level=level)
        heading.paragraph_format.keep_with_next = True

    def add_paragraph(self, text: str) -> None:
        """A body paragraph; "\\n" inside the text becomes a line break."""
        self._orient(False)
        paragraph = self.doc.add_paragraph()
        lines = keep_relations_together(text).split("\n")
        for i, line in enumerate(lines):
            run = paragraph.add_run(line)
            if i < len(lines) - 1:
                run.add_break()

    def add_table(self, spec: TableSpec) -> None:
        """A TableSpec as a real Word table with caption above and footnotes below.

        The caption stays with the table, the footnotes with its last row, and a table of at most
        ``keep_together_rows`` rows is not split across pages.
        """
        if not isinstance(spec, TableSpec):
            raise TypeError(f"add_table(): expected a TableSpec, got {type(spec).__name__}")
        self._orient(self.wants_landscape(spec))
        caption = self._caption("Table", spec.number, spec.title, spec.key)
        caption.paragraph_format.space_after = Pt(4)

        ncol = len(spec.columns)
        table = self.doc.add_table(rows=1 + len(spec.rows), cols=ncol)
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        _set_cell_margins(table, CELL_MARGIN_TWIPS)
        widths = [Inches(w) for w in column_widths_in(spec, self._text_width_in(), self.table_size)]
        for col_obj, width in zip(table.columns, widths, strict=True):
            col_obj.width = width
            for cell in col_obj.cells:
                cell.width = width
        keep_all = len(spec.rows) <= self.keep_together_rows
        header = table.rows[0]
        _mark_header_row(header)
        _no_split(header)
        for cell, col in zip(header.cells, spec.columns, strict=True):
            _write_cell(cell, col.label, align=col.align, bold=True, size=self.table_size)
            _set_cell_borders(cell, top=_RULE, bottom=_RULE)
            _keep_with_next(cell)  # never a header alone at the foot of a page
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
            if keep_all or row.kind == "section" or (last and spec.footnotes):
                for cell in cells_for_border:  # section rows stay with their first data row
                    _keep_with_next(cell)
            if last:
                for cell in cells_for_border:
                    _set_cell_borders(cell, bottom=_RULE)
        for i, note in enumerate(spec.footnotes):
            par = self.doc.add_paragraph()
            more = i < len(spec.footnotes) - 1
            par.paragraph_format.space_after = Pt(0 if more else 14)  # the space after the table
            par.paragraph_format.keep_with_next = True if more else None
            run = par.add_run(keep_relations_together(note))
            run.font.size = Pt(self.table_size - 1)
        if not spec.footnotes:  # a paragraph must separate two tables, or Word joins them
            self.doc.add_paragraph().paragraph_format.space_after = Pt(6)

    def figure_size_in(self, spec: FigureSpec, width_in: float | None = None) -> tuple[float, float]:
        """(width, height) in inches: as wide as asked (default: text width, at most 6.5 in), then shrunk
        so the picture and its caption fit the printable height of the page."""
        from docx.image.image import Image

        image = Image.from_file(str(spec.png_path))
        aspect = image.px_height / image.px_width
        width = min(width_in or 6.5, self._text_width_in())
        caption = (f"Figure {spec.number}. " if spec.number is not None else "") + spec.title + " " + spec.caption
        caption_lines = 1 + int(text_width_in(caption, self.body_size) / self._text_width_in())
        max_height = self._text_height_in() - FIGURE_CAPTION_RESERVE_IN - caption_lines * self.body_size * 1.25 / 72
        if width * aspect > max_height:
            width = max_height / aspect
        return width, width * aspect

    def add_figure(self, spec: FigureSpec, *, width_in: float | None = None) -> None:
        """Embed the figure's PNG, scaled to fit the page width and height, with its caption below."""
        if not isinstance(spec, FigureSpec):
            raise TypeError(f"add_figure(): expected a FigureSpec, got {type(spec).__name__}")
        if not spec.png_path.is_file():
            raise FileNotFoundError(
                f"Figure {spec.key!r}: PNG file {spec.png_path} not found; save the figure before building the report"
            )
        self._orient(False)
        width, height = self.figure_size_in(spec, width_in)
        self.doc.add_picture(str(spec.png_path), width=Inches(width), height=Inches(height))
        picture_par = self.doc.paragraphs[-1]
        picture_par.alignment = WD_ALIGN_PARAGRAPH.CENTER
        picture_par.paragraph_format.keep_with_next = True
        inline = self.doc.inline_shapes[-1]._inline
        inline.docPr.set("descr", spec.alt_text or spec.caption or spec.title)
        caption = self._caption("Figure", spec.number, spec.title, spec.key)
        caption.paragraph_format.keep_with_next = None
        if spec.caption:
            caption.add_run(" " + keep_relations_together(spec.caption))

    def add_section(self, section: Section | tuple[object, ...]) -> None:
        """Heading, then paragraphs, tables and figures of a :class:`Section`.

        When a wide table directly follows the heading, the heading goes on the table's landscape page.
        """
        sec = Section.coerce(section)
        landscape = not sec.paragraphs and bool(sec.tables) and self.wants_landscape(sec.tables[0])
        self.add_heading(sec.heading, level=sec.level, landscape=landscape)
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
               style: str | JournalStyle | None = None, landscape_min_columns: int = 7,
               page_size: str = "A4") -> Path:
    """Write a complete Word report: title, then each section in order. Returns the path written."""
    report = DocxReport(title=title, subtitle=subtitle, author=author, created=created, style=style,
                        landscape_min_columns=landscape_min_columns, page_size=page_size)
    for section in sections:
        report.add_section(section)
    return report.save(path)
