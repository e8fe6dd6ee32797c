"""Raw tables as read from a file (before any parsing), the CSV reader and the checksums of the files read.

Every loader (CSV folder, XLSX workbook, REDCap export) fills a ``RawInput``; the REDCap reader and the
CSV-folder reader share ``read_csv_rows`` from here, so ``loaders`` and ``redcap`` no longer import each other.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ipafstudy.data.issues import ValidationIssue
from ipafstudy.data.model import SourceFile
from ipafstudy.errors import IpafstudyError
from ipafstudy.fileio import sha256_file

# Tried in this order for a file without a byte-order mark; cp1252 decodes nearly anything (with a warning).
CSV_ENCODINGS = ("utf-8-sig", "cp1252")
# Byte-order marks -> codec. UTF-32 first: its little-endian mark begins with the UTF-16 one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Python's csv module refuses a cell longer than this (its default field_size_limit, 128 KiB); we keep
# the limit (no clinical cell is that long: it is a quote left open or a damaged file) and report it.
CSV_FIELD_LIMIT = 131072
_SHOWN_CHARS = 40


def source_file(path: str | Path, kind: str) -> SourceFile:
    """Provenance record of one input file: absolute path, checksum and what it was read as."""
    resolved = Path(path).resolve()
    return SourceFile(path=str(resolved), sha256=sha256_file(resolved), kind=kind)


@dataclass(slots=True)  # slots: a large file has a million of these
class RawRow:
    """One data row: the row number the user sees in their file and the raw cell values."""

    row: int
    values: dict[str, object]


@dataclass
class RawTable:
    """A table as found in the input: canonical column names -> raw cells, with provenance.

    ``headers`` maps each canonical column name to the header as written in the file, so
    messages can quote the user's own spelling. ``header_known`` is False for a REDCap
    export, whose columns are checked against its own data dictionary instead.
    """

    name: str
    file: str
    sheet: str | None
    rows: list[RawRow] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    header_row: int = 1
    header_known: bool = True


@dataclass
class RawInput:
    """What a loader found in one input: raw tables, the files read and reader-level issues."""

    tables: dict[str, RawTable] = field(default_factory=dict)
    sources: list[SourceFile] = field(default_factory=list)
    issues: list[ValidationIssue] = field(default_factory=list)


def decode_csv_bytes(data: bytes, name: str) -> tuple[str, str]:
    """(text, encoding) of a CSV file: a byte-order mark decides, else UTF-8, else Windows-1252.

    UTF-16 without a byte-order mark (every other byte NUL) cannot be told apart reliably from damaged
    data, so it is refused with one clear message instead of being read as Windows-1252 garbage.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec), codec
            except UnicodeDecodeError as err:
                raise IpafstudyError(
                    f"{name}: the file starts with a {codec.upper()} byte-order mark but is not valid {codec.upper()} "
                    f"text (byte {err.start}); save it again as UTF-8 CSV"
                ) from None
    if b"\x00" in data[:4096]:
        raise IpafstudyError(
            f"{name}: the file contains NUL bytes; it looks like UTF-16 text without a byte-order mark "
            "(or is not a text file). Save it as 'CSV UTF-8 (comma delimited)'"
        )
    for encoding in CSV_ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise IpafstudyError(f"{name}: cannot decode the file as UTF-8 or Windows-1252 text")  # pragma: no cover


def _shown(text: str) -> str:
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + f"... ({len(text)} characters)"


def _locate_bad_field(record: str, delimiter: str) -> tuple[int, bool, str]:
    """(0-based column, quote never closed, start of the cell) of the first cell of ``record`` over the limit.

    ``record`` is the file text from the first line of the record the csv module refused. This
    mimics the csv module (quote char '"', doubled quotes, lenient after a closing quote) only for
    one record, and only after an error, so reading a sound file costs nothing extra.
    """
    column, start, in_quotes, length = 0, 0, False, 0
    at_start = True
    i, n = 0, len(record)
    while i < n:
        char = record[i]
        if at_start and char == '"':
            in_quotes, at_start = True, False
            i += 1
            continue
        at_start = False
        if in_quotes:
            if char == '"':
                if i + 1 < n and record[i + 1] == '"':
                    i += 1  # a doubled quote is one character of the cell
                else:
                    in_quotes = False
                    i += 1
                    continue
        elif char == delimiter:
            column, start, length, at_start = column + 1, i + 1, 0, True
            i += 1
            continue
        elif char in "\r\n":
            break
        length += 1
        if length > CSV_FIELD_LIMIT:
            return column, in_quotes and '"' not in record[i:], record[start:start + _SHOWN_CHARS]
        i += 1
    return column, in_quotes, record[start:start + _SHOWN_CHARS]


def _column_name(header: list[object] | None, column: int) -> str:
    if header is not None and column < len(header) and str(header[column]).strip():
        return str(header[column]).strip()
    return f"#{column + 1}"


# Why: a large file repeats the same few texts in most columns; the csv module makes a new string for every
# cell, so a 50 MB file became hundreds of MB of duplicate strings (issue 10 item 17). Each column keeps one
# copy of each text, up to this many distinct texts (a column of mostly unique values stops sharing).
_SHARED_PER_COLUMN = 65536
# A line with its ending as io.StringIO(newline="") yields them: ends at "\r\n", "\r" or "\n".
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def _one_copy(seen: dict[str, str], text: str) -> str:
    found = seen.get(text)
    if found is not None:
        return found
    if len(seen) < _SHARED_PER_COLUMN:
        seen[text] = text
    return text


def _lines(text: str, last: str) -> Iterator[str]:
    """The lines of ``text`` (endings kept), then ``last``, one at a time.

    The same lines io.StringIO(text + last, newline="") would give, without its copy of the whole text
    at four bytes per character.
    """
    for match in _LINE.finditer(text):
        yield match.group()
    yield last


def read_csv_rows(
    path: Path, issues: list[ValidationIssue] | None = None
) -> tuple[list[tuple[int, list[object]]], str]:
    """Rows of a CSV as (row number, cells), header = row 1; delimiter ',' or ';' detected.

    Row numbers count records, as a spreadsheet shows them, so a quoted cell spanning two
    lines still counts as one row. Returns the rows and the encoding that worked.

    A quote that is never closed, or a cell over 128 KiB, is a ``csv_syntax`` problem naming the
    file, row and column; the rows before it are returned and the rest of the file is not read.
    The problem is appended to ``issues``, or raised as IpafstudyError when ``issues`` is None.
    """
    text, encoding = decode_csv_bytes(path.read_bytes(), path.name)
    first_line = text.splitlines()[0] if text else ""
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    # A sentinel line after the text shows whether the last record was still inside a quote at the end:
    # the lenient csv module would otherwise swallow the rest of the file into one cell without a word.
    sentinel = "\x00ipafstudy-end-of-file\x00"
    ending = "" if not text or text.endswith(("\n", "\r")) else "\n"
    reader = csv.reader(_lines(text + ending, sentinel + "\n"), delimiter=delimiter, quotechar='"', strict=False)
    rows: list[tuple[int, list[object]]] = []
    problem: ValidationIssue | None = None
    ends: list[int] = []  # physical line on which each record ended, to find a bad record's first line
    shared: list[dict[str, str]] = []  # per column: one copy of each repeated text (ids, dates, codes, units)
    try:
        for number, cells in enumerate(reader, start=1):
            while len(shared) < len(cells):
                shared.append({})
            rows.append((number, [_one_copy(shared[i], cell) for i, cell in enumerate(cells)]))
            ends.append(reader.line_num)
    except csv.Error as err:
        first = ends[-1] if ends else 0
        record = "".join(io.StringIO(text, newline="").readlines()[first:])
        column, unclosed, start = _locate_bad_field(record, delimiter)
        header = rows[0][1] if rows else None
        what = (
            "a quote opened in this cell is never closed, so the cell runs on to the end of the file"
            if unclosed
            else f"this cell is longer than {CSV_FIELD_LIMIT // 1024} KiB ({err})"
        )
        problem = ValidationIssue(
            path.name, None, len(rows) + 1, _column_name(header, column), _shown(start), "csv_syntax",
            f"{what}; the rest of the file was not read. Close the quote or shorten the cell",
        )
    if problem is None:
        last = rows.pop()[1] if rows else []
        if last != [sentinel]:  # the sentinel was swallowed into the last cell: a quote never closed
            number = len(rows) + 1
            cell = str(last[-1]).split(sentinel)[0] if last else ""
            header = rows[0][1] if rows else None
            problem = ValidationIssue(
                path.name, None, number, _column_name(header, max(len(last) - 1, 0)), _shown(cell), "csv_syntax",
                "a quote opened in this cell is never closed, so the cell runs on to the end of the file; "
                "the rest of the file was not read. Close the quote",
            )
    if problem is not None:
        if issues is None:
            raise IpafstudyError(problem.describe())
        issues.append(problem)
    return rows, encoding
