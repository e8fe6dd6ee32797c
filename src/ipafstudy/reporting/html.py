"""Self-contained HTML report: one file, inline CSS, figures embedded, accessible and printable.

Tables carry a ``<caption>``, ``<th scope="col">`` headers, ``<th scope="row">`` row labels and
``<th scope="rowgroup">`` section rows, so screen readers announce them properly; footnotes sit in
``<tfoot>``. Figures are embedded as base64 PNG (default) or inline SVG, with alt text. All text is
HTML-escaped. No date or randomness is written unless given, so output is reproducible.
"""

from __future__ import annotations

import base64
import html
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from ipafstudy.errors import check_option
from ipafstudy.fileio import atomic_write_text
from ipafstudy.reporting.format import keep_relations_together
from ipafstudy.reporting.tablespec import FigureSpec, Section, TableSpec

CSS = """
:root { color-scheme: light; }
body { font-family: "Helvetica Neue", Arial, "DejaVu Sans", sans-serif; font-size: 15px; line-height: 1.45;
       color: #111; max-width: 62rem; margin: 2rem auto; padding: 0 1.25rem; }
h1 { font-size: 1.7rem; border-bottom: 2px solid #0072B2; padding-bottom: .3rem; }
h2 { font-size: 1.3rem; margin-top: 2rem; } h3 { font-size: 1.1rem; } h4 { font-size: 1rem; }
.subtitle { color: #444; margin-top: -.5rem; }
.table-wrap { overflow-x: auto; margin: 1rem 0 1.5rem; }
table { border-collapse: collapse; font-size: .88rem; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-weight: normal; padding-bottom: .4rem; }
caption .num, figcaption .num { font-weight: bold; }
thead th { border-top: 2px solid #000; border-bottom: 1px solid #000; vertical-align: bottom; font-weight: bold; }
tbody tr:last-child td, tbody tr:last-child th { border-bottom: 2px solid #000; }
th, td { padding: .25rem .6rem; text-align: left; vertical-align: top; }
tbody th { font-weight: normal; }
tr.section th { font-weight: bold; padding-top: .5rem; }
tr.bold th, tr.bold td { font-weight: bold; }
.right { text-align: right; } .center { text-align: center; }
.indent-1 { padding-left: 1.4rem; } .indent-2 { padding-left: 2.4rem; } .indent-3 { padding-left: 3.4rem; }
.indent-4 { padding-left: 4.4rem; } .indent-5 { padding-left: 5.4rem; }
tfoot td { font-size: .8rem; color: #333; border: none; padding-top: .3rem; }
figure { margin: 1.5rem 0; } figure img, figure svg { max-width: 100%; height: auto; }
figcaption { font-size: .9rem; margin-top: .4rem; }
@media print {
  body { max-width: none; margin: 0; font-size: 10.5pt; }
  .table-wrap { overflow: visible; }
  table, figure { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  h1, h2, h3 { break-after: avoid; page-break-after: avoid; }
}
""".strip()


def _esc(text: str) -> str:
    """Escape and keep line breaks visible."""
    return html.escape(text, quote=True).replace("\n", "<br>")


def _esc_text(text: str) -> str:
    """Running text, captions, footnotes: as :func:`_esc`, and "p < 0.001" never broken across lines."""
    return _esc(keep_relations_together(text))


def _cls(*names: str) -> str:
    present = [n for n in names if n]
    return f' class="{" ".join(present)}"' if present else ""


def table_html(spec: TableSpec) -> str:
    """One TableSpec as an accessible ``<table>`` (wrapped in a scrollable div)."""
    if not isinstance(spec, TableSpec):
        raise TypeError(f"table_html(): expected a TableSpec, got {type(spec).__name__}")
    ncol = len(spec.columns)
    out = [f'<div class="table-wrap"><table id="{html.escape(spec.key)}">']
    if spec.number is not None:
        out.append(f'<caption><span class="num">Table {spec.number}.</span> {_esc_text(spec.title)}</caption>')
    else:
        out.append(f"<caption>{_esc_text(spec.title)}</caption>")
    out.append("<thead><tr>")
    for col in spec.columns:
        align = "" if col.align == "left" else col.align
        out.append(f'<th scope="col"{_cls(align)}>{_esc(col.label)}</th>')
    out.append("</tr></thead>")
    out.append("<tbody>")
    for row in spec.rows:
        indent = f"indent-{row.indent}" if row.indent else ""
        row_cls = _cls("section" if row.kind == "section" else "", "bold" if row.bold else "")
        if row.kind == "section" and len(row.cells) == 1:
            span = f' colspan="{ncol}"' if ncol > 1 else ""
            out.append(f'<tr{row_cls}><th scope="rowgroup"{span}{_cls(indent)}>{_esc(row.cells[0])}</th></tr>')
            continue
        cells = []
        for c, (text, col) in enumerate(zip(row.cells, spec.columns, strict=True)):
            align = "" if col.align == "left" else col.align
            if c == 0:
                scope = "rowgroup" if row.kind == "section" else "row"
                cells.append(f'<th scope="{scope}"{_cls(align, indent)}>{_esc(text)}</th>')
            else:
                cells.append(f"<td{_cls(align)}>{_esc(text)}</td>")
        out.append(f"<tr{row_cls}>{''.join(cells)}</tr>")
    out.append("</tbody>")
    if spec.footnotes:
        notes = "<br>".join(_esc_text(n) for n in spec.footnotes)
        out.append(f'<tfoot><tr><td colspan="{ncol}">{notes}</td></tr></tfoot>')
    out.append("</table></div>")
    return "\n".join(out)


_SVG_PROLOG = re.compile(r"^\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?", re.IGNORECASE | re.DOTALL)


def figure_html(spec: FigureSpec, *, embed: Literal["png", "svg"] = "png") -> str:
    """One FigureSpec as a ``<figure>`` with the image embedded (base64 PNG or inline SVG)."""
    check_option("figure_html", "embed", embed, ("png", "svg"))
    if not isinstance(spec, FigureSpec):
        raise TypeError(f"figure_html(): expected a FigureSpec, got {type(spec).__name__}")
    alt = html.escape(spec.alt_text or spec.caption or spec.title, quote=True)
    if embed == "svg" and spec.svg_path is not None:
        if not spec.svg_path.is_file():
            raise FileNotFoundError(f"Figure {spec.key!r}: SVG file {spec.svg_path} not found")
        svg = _SVG_PROLOG.sub("", spec.svg_path.read_text(encoding="utf-8"), count=1)
        svg = svg.replace("<svg ", f'<svg role="img" aria-label="{alt}" ', 1)
        body = svg
    else:
        if not spec.png_path.is_file():
            raise FileNotFoundError(
                f"Figure {spec.key!r}: PNG file {spec.png_path} not found; save the figure before building the report"
            )
        data = base64.b64encode(spec.png_path.read_bytes()).decode("ascii")
        body = f'<img src="data:image/png;base64,{data}" alt="{alt}">'
    head = f'<span class="num">Figure {spec.number}.</span> ' if spec.number is not None else ""
    title = _esc_text(spec.title) if spec.number is not None else f"<strong>{_esc_text(spec.title)}</strong>"
    caption = f" {_esc_text(spec.caption)}" if spec.caption else ""
    return f'<figure id="{html.escape(spec.key)}">\n{body}\n<figcaption>{head}{title}{caption}</figcaption>\n</figure>'


#: CSS ``@page`` size of each page size a plan may name (printing the HTML report).
PAGE_SIZES_CSS = {"A4": "A4", "Letter": "letter"}


def render_html(*, title: str, sections: Sequence[Section | tuple[object, ...]], subtitle: str | None = None,
                lang: str = "en", embed: Literal["png", "svg"] = "png", generated: str | None = None,
                page_size: str = "A4") -> str:
    """The whole report as one HTML string (see :func:`write_html`); ``page_size`` sets the print page."""
    check_option("render_html", "embed", embed, ("png", "svg"))
    check_option("render_html", "page_size", page_size, tuple(PAGE_SIZES_CSS))
    page_css = f"@media print {{ @page {{ size: {PAGE_SIZES_CSS[page_size]}; margin: 2cm; }} }}"
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{html.escape(lang)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="ipafstudy">',
        f"<title>{html.escape(title)}</title>",
        f"<style>\n{CSS}\n{page_css}\n</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{_esc(title)}</h1>",
    ]
    if subtitle:
        parts.append(f'<p class="subtitle">{_esc(subtitle)}</p>')
    if generated:
        parts.append(f'<p class="subtitle">{_esc(generated)}</p>')
    for item in sections:
        sec = Section.coerce(item)
        level = sec.level + 1
        parts.append(f"<section>\n<h{level}>{_esc(sec.heading)}</h{level}>")
        parts.extend(f"<p>{_esc_text(p)}</p>" for p in sec.paragraphs)
        parts.extend(table_html(t) for t in sec.tables)
        parts.extend(figure_html(f, embed=embed) for f in sec.figures)
        parts.append("</section>")
    parts += ["</main>", "</body>", "</html>", ""]
    return "\n".join(parts)


def write_html(path: str | os.PathLike[str], *, title: str, sections: Sequence[Section | tuple[object, ...]],
               subtitle: str | None = None, lang: str = "en", embed: Literal["png", "svg"] = "png",
               generated: str | None = None, page_size: str = "A4") -> Path:
    """Write a self-contained HTML report atomically; ``generated`` is an optional dated line (off by default)."""
    text = render_html(title=title, sections=sections, subtitle=subtitle, lang=lang, embed=embed, generated=generated,
                       page_size=page_size)
    return atomic_write_text(path, text)
