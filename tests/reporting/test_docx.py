"""Word writer: real tables with the spec's text, layout features, embedded figure, identical bytes."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import docx
import matplotlib
import pytest
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image as PILImage
from PIL import ImageFont

from ipafstudy.errors import InvalidOptionError
from ipafstudy.reporting.docx import (
    CELL_PADDING_IN,
    DocxReport,
    column_extents,
    column_widths_in,
    text_width_in,
    write_docx,
)
from ipafstudy.reporting.figures import save_figure
from ipafstudy.reporting.tablespec import Column, FigureSpec, Row, Section, TableSpec


def build(tmp_path, demo_table, demo_wide_table, demo_figure, name="r.docx", **kw):
    sections = [
        Section("Results", ("First paragraph.\nSecond line.",), (demo_table, demo_wide_table), (demo_figure,)),
        ("Methods", ("Methods text.",)),
    ]
    return write_docx(tmp_path / name, title="Tacrolimus in IPAF", sections=sections, **kw)


def test_table_content_and_layout(tmp_path, demo_table, demo_wide_table, demo_figure):
    doc = docx.Document(str(build(tmp_path, demo_table, demo_wide_table, demo_figure)))
    assert len(doc.tables) == 2
    table = doc.tables[0]
    assert [c.text for c in table.rows[0].cells] == [c.label for c in demo_table.columns]
    # section row spans the whole table: python-docx reports the merged cell once per grid column
    assert {c.text for c in table.rows[1].cells} == {"HRCT scores"}
    for r, row in enumerate(demo_table.rows[1:], start=2):
        assert tuple(c.text for c in table.rows[r].cells) == row.cells
    assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None  # header repeats across pages
    # indentation and bold as specified
    ggo = table.rows[3].cells[0].paragraphs[0]
    assert ggo.paragraph_format.left_indent.pt == 12.0
    assert all(run.bold for run in ggo.runs)
    assert table.rows[2].cells[0].paragraphs[0].paragraph_format.left_indent.pt == 6.0
    assert table.rows[1].cells[3].paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.LEFT  # section row: one merged cell
    assert [c.paragraphs[0].alignment for c in table.rows[2].cells] == [
        WD_ALIGN_PARAGRAPH.LEFT, WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.RIGHT]
    texts = [p.text for p in doc.paragraphs]
    assert "Table 2. Before and after <tacrolimus> & co" in texts
    i = texts.index("IQR, interquartile range.")
    assert texts[i + 1] == "Wilcoxon signed-rank test."


def test_wide_table_on_landscape_page_and_page_numbers(tmp_path, demo_table, demo_wide_table, demo_figure):
    doc = docx.Document(str(build(tmp_path, demo_table, demo_wide_table, demo_figure)))
    orientations = [s.orientation for s in doc.sections]
    assert WD_ORIENT.LANDSCAPE in orientations
    landscape = doc.sections[orientations.index(WD_ORIENT.LANDSCAPE)]
    assert landscape.page_width > landscape.page_height
    assert orientations[-1] == WD_ORIENT.PORTRAIT  # back to portrait for the figure and Methods
    footer_xml = doc.sections[0].footer._element.xml
    assert 'w:instr="PAGE"' in footer_xml


def test_figure_embedded_with_caption(tmp_path, demo_table, demo_wide_table, demo_figure):
    path = build(tmp_path, demo_table, demo_wide_table, demo_figure)
    doc = docx.Document(str(path))
    assert len(doc.inline_shapes) == 1
    assert doc.inline_shapes[0]._inline.docPr.get("descr") == "Line plot"
    assert "Figure 1. Response Pre, before; Post, after." in [p.text for p in doc.paragraphs]
    with zipfile.ZipFile(path) as z:
        media = [n for n in z.namelist() if n.startswith("word/media/")]
        assert len(media) == 1
        assert z.read(media[0]) == demo_figure.png_path.read_bytes()


def test_deterministic_bytes_and_fixed_dates(tmp_path, demo_table, demo_wide_table, demo_figure):
    a = build(tmp_path, demo_table, demo_wide_table, demo_figure, "a.docx").read_bytes()
    b = build(tmp_path, demo_table, demo_wide_table, demo_figure, "b.docx").read_bytes()
    assert a == b
    when = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    c = build(tmp_path, demo_table, demo_wide_table, demo_figure, "c.docx", created=when)
    assert c.read_bytes() != a
    props = docx.Document(str(c)).core_properties
    assert props.created.replace(tzinfo=UTC) == when and props.modified.replace(tzinfo=UTC) == when
    with zipfile.ZipFile(io.BytesIO(a)) as z:
        assert {info.date_time for info in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_builder_and_errors(tmp_path, demo_table, demo_figure):
    rep = DocxReport(title="T", subtitle="Sub")
    rep.add_heading("H", level=2)
    rep.add_table(demo_table)
    with pytest.raises(TypeError, match="TableSpec"):
        rep.add_table("not a table")
    missing = FigureSpec("gone", "Gone", "", tmp_path / "nope.png")
    with pytest.raises(FileNotFoundError, match=r"nope\.png"):
        rep.add_figure(missing)
    out = rep.save(tmp_path / "b.docx")
    assert docx.Document(str(out)).core_properties.title == "T"
    with pytest.raises(ValueError, match="heading, paragraphs"):
        write_docx(tmp_path / "x.docx", title="T", sections=[("a", (), (), (), 1, "extra")])


def _pil_width_in(text: str, size_pt: float = 9.0, bold: bool = False) -> float:
    """Independent reference: Pillow's advance width of the same DejaVu font (at 100x size, then scaled)."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    font = ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name), int(size_pt * 100))
    return font.getlength(text) / 100 / 72


@pytest.mark.parametrize(("text", "bold"), [("Before", True), ("Total HRCT score", False),
                                            ("\u22122.0 (\u22123.3, \u22121.5)", False), ("Spearman ρ", True)])
def test_text_width_matches_an_independent_measure(text, bold):
    assert text_width_in(text, 9.0, bold=bold) == pytest.approx(_pil_width_in(text, 9.0, bold), abs=0.01)
    assert text_width_in(text, 18.0, bold=bold) == pytest.approx(2 * text_width_in(text, 9.0, bold=bold), rel=0.02)


def test_text_width_edge_cases():
    assert text_width_in("", 9.0) == 0.0
    assert text_width_in("Excluded", 9.0, bold=True) > text_width_in("Excluded", 9.0)


def test_column_extents(demo_table):
    ext = column_extents(demo_table)
    w = _pil_width_in
    indent = 6.0 / 72  # inches per indent level (6 pt)
    # first column: header "Variable" (bold); widest word is "Laboratory" in bold (first cell of a 4-cell
    # section row), wider than "Total" + 1 indent or "GGO" (bold) + 2 indents; widest line "Total HRCT score"
    assert ext[0].header_word == pytest.approx(w("Variable", bold=True), abs=0.01)
    assert ext[0].word == pytest.approx(w("Laboratory", bold=True), abs=0.01)
    assert ext[0].line == pytest.approx(w("Total HRCT score") + indent, abs=0.01)
    # p column: header words "p", "value"; the widest body word is "<0.001"
    assert ext[3].header_word == pytest.approx(w("value", bold=True), abs=0.01)
    assert ext[3].word == pytest.approx(max(w("<0.001"), w("value", bold=True)), abs=0.01)
    assert ext[3].header_line == pytest.approx(w("p value", bold=True), abs=0.01)


def test_column_widths_prefer_whole_lines_then_wrap_long_ones(demo_table):
    ext = column_extents(demo_table)
    full = [max(e.line, e.word, e.header_line) + CELL_PADDING_IN for e in ext]
    roomy = column_widths_in(demo_table, sum(full) + 1.0)
    assert sum(roomy) == pytest.approx(sum(full) + 1.0)
    assert all(r >= f for r, f in zip(roomy, full, strict=True))
    # tight: short columns keep their full width, the widest ones share one cap
    tight = column_widths_in(demo_table, sum(full) - 0.3)
    assert sum(tight) == pytest.approx(sum(full) - 0.3)
    assert tight[3] == pytest.approx(full[3])
    assert all(t >= e.word + CELL_PADDING_IN - 1e-9 for t, e in zip(tight, ext, strict=True))


def _long_word_table() -> TableSpec:
    cols = (Column("step", "Step"), Column("before", "Before", "right"), Column("removed", "Excluded", "right"),
            Column("dose", "Dose changed", "right"), Column("reason", "Reason"))
    return TableSpec("flow", "Flow", cols, (Row(("Not IPAF", "271", "175", "0",
                                                 "(follow_up_rule='latest_complete_visit_with_every_outcome')")),))


def test_header_words_never_break_when_a_body_word_is_too_long():
    spec = _long_word_table()
    ext = column_extents(spec)
    assert sum(e.word + CELL_PADDING_IN for e in ext) > 4.0  # the long body word cannot fit
    widths = column_widths_in(spec, 4.0)
    assert sum(widths) == pytest.approx(4.0)
    for width, col in zip(widths, spec.columns, strict=True):
        widest = max(_pil_width_in(word, bold=True) for word in col.label.split())
        assert width >= widest + CELL_PADDING_IN - 0.01, col.label
    # hopeless: even the header words do not fit -> all shrink alike, in proportion to their header words
    tiny = column_widths_in(spec, 1.0)
    hard = [e.header_word + CELL_PADDING_IN for e in ext]
    assert tiny == pytest.approx([h / sum(hard) for h in hard])


def _section_index_of(doc, text: str) -> int:
    """Index of the document section holding the first paragraph with ``text`` (a sectPr in a paragraph ends one)."""
    index = 0
    for el in doc.element.body:
        if el.tag == qn("w:p"):
            if "".join(t.text or "" for t in el.iter(qn("w:t"))) == text:
                return index
            if el.find(f"{qn('w:pPr')}/{qn('w:sectPr')}") is not None:
                index += 1
    raise AssertionError(f"{text!r} not found")


def test_heading_moves_onto_the_landscape_page_of_its_table(tmp_path, demo_table, demo_wide_table):
    sections = [Section("Portrait part", ("Text.",), (demo_table,)),
                Section("Wide results", (), (demo_wide_table,), level=2)]
    doc = docx.Document(str(write_docx(tmp_path / "w.docx", title="T", sections=sections)))
    heading_section = doc.sections[_section_index_of(doc, "Wide results")]
    assert heading_section.orientation == WD_ORIENT.LANDSCAPE
    assert _section_index_of(doc, "Wide results") == _section_index_of(doc, "Table 3. A wide table")
    heading = next(p for p in doc.paragraphs if p.text == "Wide results")
    caption = next(p for p in doc.paragraphs if p.text == "Table 3. A wide table")
    assert heading.paragraph_format.keep_with_next and caption.paragraph_format.keep_with_next
    # the section break rides on the footnote paragraph: no empty paragraph that could print a blank page
    for el in doc.element.body:
        if el.tag == qn("w:p") and el.find(f"{qn('w:pPr')}/{qn('w:sectPr')}") is not None:
            assert "".join(t.text or "" for t in el.iter(qn("w:t")))


def test_footnotes_stay_with_the_last_row(tmp_path, demo_table):
    rep = DocxReport(title="T", keep_together_rows=0)
    rep.add_table(demo_table)
    table = rep.doc.tables[0]
    assert all(p.paragraph_format.keep_with_next for c in table.rows[-1].cells for p in c.paragraphs)
    assert not any(p.paragraph_format.keep_with_next for c in table.rows[2].cells for p in c.paragraphs)
    notes = [p for p in rep.doc.paragraphs if p.text in demo_table.footnotes]
    assert [bool(p.paragraph_format.keep_with_next) for p in notes] == [True, False]


def test_tall_figure_is_scaled_to_the_page_height(tmp_path):
    fig = Figure(figsize=(2, 12))
    FigureCanvasAgg(fig)
    fig.add_subplot(1, 1, 1).plot([0, 1], [1, 0])
    png, _ = save_figure(fig, tmp_path / "tall", dpi=72)
    spec = FigureSpec("tall", "Tall", "A caption.", png, number=1)
    rep = DocxReport(title="T")
    rep.add_figure(spec)
    shape = rep.doc.inline_shapes[0]
    text_height = 297 / 25.4 - 2.0  # A4 (the default page) with 1-inch margins
    assert shape.height / 914400 < text_height - 0.5  # room left for the caption
    letter = DocxReport(title="T", page_size="Letter")
    letter.add_figure(spec)
    assert letter.doc.inline_shapes[0].height / 914400 < (11.0 - 2.0) - 0.5  # US Letter with 1-inch margins
    with PILImage.open(png) as im:
        px_w, px_h = im.size
    assert px_h / px_w > 3  # really taller than the page allows at full width
    assert shape.height / shape.width == pytest.approx(px_h / px_w, rel=0.01)  # aspect ratio kept
    wide = FigureSpec("wide", "Wide", "", _wide_png(tmp_path), number=2)
    rep.add_figure(wide)
    # a wide figure fills the text width: A4 210 mm less two 1-inch margins (at most 6.5 in)
    assert rep.doc.inline_shapes[1].width / 914400 == pytest.approx(210 / 25.4 - 2.0, rel=1e-4)
    letter.add_figure(wide)
    assert letter.doc.inline_shapes[1].width / 914400 == pytest.approx(6.5)  # Letter: 8.5 - 2 = 6.5 in


def _wide_png(tmp_path) -> Path:
    fig = Figure(figsize=(8, 2))
    FigureCanvasAgg(fig)
    fig.add_subplot(1, 1, 1).plot([0, 1], [0, 1])
    return save_figure(fig, tmp_path / "wide", dpi=72)[0]


def test_number_columns_stay_on_one_line_before_text_columns_do():
    cols = (Column("variable", "Variable"), Column("g1", "MSAs (n = 28)", "right"),
            Column("test", "Test"))
    rows = (Row(("CRP, mg/L", "5.75 (1.18, 16.31)", "Fisher-Freeman-Halton exact test of the grade table")),)
    spec = TableSpec("t4", "Groups", cols, rows)
    cell = _pil_width_in("5.75 (1.18, 16.31)") + CELL_PADDING_IN
    text = _pil_width_in("Fisher-Freeman-Halton exact test of the grade table") + CELL_PADDING_IN
    available = cell + 2.8  # room for the number on one line, not for the whole text line
    assert available < cell + text
    widths = column_widths_in(spec, available)
    assert sum(widths) == pytest.approx(available)
    assert widths[1] >= cell - 0.01  # the number is not wrapped
    assert widths[2] < text  # the text column wraps instead


# -- captions with SEQ fields, page size (issue 10 item 8) ------------------------------------------------

def _caption_fields(paragraph):
    """(instruction, cached result) of each complex field in a paragraph, read from the XML."""
    runs = paragraph._p.findall(qn("w:r"))
    fields, instr, result, state = [], "", "", None
    for run in runs:
        char = run.find(qn("w:fldChar"))
        if char is not None:
            kind = char.get(qn("w:fldCharType"))
            if kind == "begin":
                instr, result, state = "", "", "instr"
            elif kind == "separate":
                state = "result"
            elif kind == "end":
                fields.append((instr, result))
                state = None
            continue
        if state == "instr":
            instr += "".join(t.text or "" for t in run.findall(qn("w:instrText")))
        elif state == "result":
            result += "".join(t.text or "" for t in run.findall(qn("w:t")))
    return fields


def _captions(doc):
    return [p for p in doc.paragraphs if p.style.name == "Caption"]


def test_captions_use_caption_style_and_seq_fields(tmp_path, demo_table, demo_figure):
    supplementary = TableSpec("tableS4_correlation", "Supplementary Table S4. Spearman correlations",
                              (Column("a", "A"),), (Row(("x",)),))
    plain = TableSpec("extra", "An unnumbered table", (Column("a", "A"),), (Row(("x",)),))
    sections = [Section("Results", (), (demo_table, supplementary, plain), (demo_figure,))]
    doc = docx.Document(str(write_docx(tmp_path / "c.docx", title="T", sections=sections)))
    caps = _captions(doc)
    assert [c.text for c in caps] == ["Table 2. Before and after <tacrolimus> & co",
                                      "Supplementary Table S4. Spearman correlations", "An unnumbered table",
                                      "Figure 1. Response Pre, before; Post, after."]
    # Table 2 is the first table of its sequence: forced to 2 with \r so updating fields keeps the text's number
    assert _caption_fields(caps[0]) == [(r" SEQ Table \* ARABIC \r 2 ", "2")]
    assert _caption_fields(caps[1]) == [(r" SEQ TableS \* ARABIC \r 4 ", "4")]
    assert _caption_fields(caps[2]) == []
    assert _caption_fields(caps[3]) == [(r" SEQ Figure \* ARABIC ", "1")]  # next in sequence: no \r
    starts = [b.get(qn("w:name")) for c in caps for b in c._p.findall(qn("w:bookmarkStart"))]
    assert starts == ["table2_paired", "tableS4_correlation", "fig1"]
    # the bookmark spans the label and number ("Table 2"), as Word's own captions for cross-references
    p = caps[0]._p
    children = list(p)
    start = children.index(p.find(qn("w:bookmarkStart")))
    end = children.index(p.find(qn("w:bookmarkEnd")))
    label = "".join(t.text for el in children[start:end] for t in el.iter(qn("w:t")))
    assert label == "Table 2"


def test_sequential_numbers_need_no_reset(tmp_path):
    tables = tuple(TableSpec(f"t{i}", f"Title {i}", (Column("a", "A"),), (Row(("x",)),), number=i) for i in (1, 2, 3))
    doc = docx.Document(str(write_docx(tmp_path / "s.docx", title="T", sections=[Section("R", (), tables)])))
    assert [_caption_fields(c) for c in _captions(doc)] == [[(r" SEQ Table \* ARABIC ", str(i))] for i in (1, 2, 3)]


def test_page_size_a4_by_default_letter_on_request(tmp_path, demo_table, demo_wide_table, demo_figure):
    a4 = docx.Document(str(build(tmp_path, demo_table, demo_wide_table, demo_figure)))
    letter = docx.Document(str(build(tmp_path, demo_table, demo_wide_table, demo_figure, name="l.docx",
                                     page_size="Letter")))
    # Word stores the page in twips (1/1440 in): A4 210 x 297 mm -> 11906 x 16838, Letter 8.5 x 11 in -> 12240 x 15840
    a4_twips = (round(210 / 25.4 * 1440), round(297 / 25.4 * 1440))
    assert a4_twips == (11906, 16838)
    for doc, (short, long_) in ((a4, a4_twips), (letter, (12240, 15840))):
        for section in doc.sections:
            landscape = section.orientation == WD_ORIENT.LANDSCAPE
            size = (section.page_width.twips, section.page_height.twips)
            assert size == ((long_, short) if landscape else (short, long_))
        assert any(s.orientation == WD_ORIENT.LANDSCAPE for s in doc.sections)  # the wide table
    with pytest.raises(InvalidOptionError, match="page_size"):
        DocxReport(title="T", page_size="A5")
