"""HTML writer: accessible table markup, escaped text, embedded figures, one self-contained file."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import pytest

from ipafstudy.errors import InvalidOptionError
from ipafstudy.reporting.html import figure_html, render_html, table_html, write_html
from ipafstudy.reporting.tablespec import Column, FigureSpec, Row, Section, TableSpec


class Collector(HTMLParser):
    """Records start tags with attributes and the text inside each element kind."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.text: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in {"br", "img", "meta"}:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_data(self, data):
        for tag in set(self.stack):  # text counts for every open element (caption includes its <span>)
            self.text.setdefault(tag, []).append(data)


def parse(text: str) -> Collector:
    c = Collector()
    c.feed(text)
    return c


def test_table_markup(demo_table):
    c = parse(table_html(demo_table))
    assert "".join(c.text["caption"]) == "Table 2. Before and after <tacrolimus> & co"
    cols = [a for t, a in c.tags if t == "th" and a.get("scope") == "col"]
    assert len(cols) == 4
    rowgroups = [a for t, a in c.tags if t == "th" and a.get("scope") == "rowgroup"]
    assert len(rowgroups) == 2 and rowgroups[0]["colspan"] == "4"  # 1-cell section spans; 4-cell one does not
    rows = [a for t, a in c.tags if t == "th" and a.get("scope") == "row"]
    assert [r.get("class") for r in rows] == ["indent-1", "indent-2", "indent-1"]
    tds = "".join(c.text["td"])
    for cell in ("12 (8, 15)", "<0.001", "0.050", "0.302"):
        assert cell in tds
    assert ("tfoot", {}) in c.tags


def test_text_is_escaped(demo_table):
    text = table_html(demo_table)
    assert "&lt;tacrolimus&gt; &amp; co" in text
    assert "<tacrolimus>" not in text
    assert "&lt;0.001" in text


def test_figure_png_embedded(demo_figure):
    c = parse(figure_html(demo_figure))
    (img,) = [a for t, a in c.tags if t == "img"]
    assert img["alt"] == "Line plot"
    prefix = "data:image/png;base64,"
    assert img["src"].startswith(prefix)
    assert base64.b64decode(img["src"][len(prefix):]) == demo_figure.png_path.read_bytes()
    assert "".join(c.text["figcaption"]) == "Figure 1. Response Pre, before; Post, after."


def test_figure_svg_inline(demo_figure):
    text = figure_html(demo_figure, embed="svg")
    assert "<?xml" not in text and "<!DOCTYPE" not in text
    assert '<svg role="img" aria-label="Line plot"' in text


def test_figure_errors(tmp_path, demo_figure):
    with pytest.raises(InvalidOptionError, match="embed='pdf'"):
        figure_html(demo_figure, embed="pdf")
    with pytest.raises(FileNotFoundError, match=r"missing\.png"):
        figure_html(FigureSpec("m", "M", "", tmp_path / "missing.png"))


def test_whole_document(tmp_path, demo_table, demo_figure):
    sections = [Section("Results", ("Line one\nline two",), (demo_table,), (demo_figure,)), ("Methods", ("M.",))]
    a = write_html(tmp_path / "a.html", title="Report & more", sections=sections)
    b = write_html(tmp_path / "b.html", title="Report & more", sections=sections)
    assert a.read_bytes() == b.read_bytes()
    text = a.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in text and '<meta charset="utf-8">' in text
    assert "<style>" in text and "@media print" in text
    assert not re.search(r'(src|href)="(https?:|file:|/)', text)  # self-contained: nothing fetched
    c = parse(text)
    assert "".join(c.text["h1"]) == "Report & more"
    assert [("".join(c.text["h2"]))] == ["ResultsMethods"]
    assert "Line one" in "".join(c.text["p"])
    assert "".join(c.text["title"]) == "Report & more"
    assert "generated" not in text.lower().replace('name="generator"', "")
    dated = render_html(title="T", sections=[], generated="Generated 2026-01-01")
    assert "Generated 2026-01-01" in dated


def test_bad_table_argument():
    with pytest.raises(TypeError, match="TableSpec"):
        table_html({"key": "t"})


def test_relations_are_not_broken_in_text_but_cells_stay_as_written(demo_table):
    text = render_html(title="T", sections=[Section("Results", ("Change p < 0.001 (n = 48).",), (demo_table,))])
    assert "Change p\u00a0&lt;\u00a00.001 (n\u00a0=\u00a048)." in text
    spec = TableSpec("t", "Counts (n = 3)", (Column("a", "Group"), Column("b", "Size", "right")),
                     (Row(("MSA", "n = 3")),), footnotes=("p < 0.05.",))
    html_table = table_html(spec)
    assert '<td class="right">n = 3</td>' in html_table  # cells equal the CSV, plain spaces
    assert "Counts (n\u00a0=\u00a03)" in html_table and "p\u00a0&lt;\u00a00.05." in html_table
