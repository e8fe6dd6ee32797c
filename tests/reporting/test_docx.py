"""Word writer: real tables with the spec's text, layout features, embedded figure, identical bytes."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import docx
import pytest
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn

from ipafstudy.reporting.docx import (
    CELL_PADDING_IN,
    CHAR_WIDTH_IN,
    DocxReport,
    column_extents,
    column_widths_in,
    write_docx,
)
from ipafstudy.reporting.tablespec import FigureSpec, Section


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
    assert table.rows[1].cells[3].paragraphs[0].alignment is not None
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


def test_column_extents_and_widths(demo_table):
    ext = column_extents(demo_table)
    # first column: longest line "Total HRCT score" (16) + 2 (indent 1); longest word "Laboratory" (10,
    # a 4-cell section row at indent 0) beats "Variable" (8), "Total" + 2 (7) and "GGO" + 4 (7)
    assert ext[0] == (10, 18)
    assert ext[3] == (6, 6)  # "<0.001"; header words "p", "value" are shorter
    natural = [max(w, n) * CHAR_WIDTH_IN + CELL_PADDING_IN for w, n in ext]
    roomy = column_widths_in(demo_table, sum(natural) + 1.0)
    assert sum(roomy) == pytest.approx(sum(natural) + 1.0)
    assert all(r >= n for r, n in zip(roomy, natural, strict=True))
    # tight: short columns keep their natural width, long ones are capped at a common width
    tight = column_widths_in(demo_table, sum(natural) - 0.3)
    assert sum(tight) == pytest.approx(sum(natural) - 0.3)
    assert tight[3] == pytest.approx(natural[3])
    # hopeless: even single words do not fit -> everything shrinks proportionally to its minimum
    tiny = column_widths_in(demo_table, 1.0)
    minimum = [w * CHAR_WIDTH_IN + CELL_PADDING_IN for w, _ in ext]
    assert tiny == pytest.approx([m / sum(minimum) for m in minimum])
