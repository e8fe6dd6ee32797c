"""XLSX writer: one sheet per table, cells as given text, layout, safe sheet names, identical bytes."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import openpyxl
import pytest

from ipafstudy.reporting.tablespec import Column, Row, TableSpec
from ipafstudy.reporting.xlsx import sheet_names, write_xlsx, xlsx_bytes


def test_sheet_content(tmp_path, demo_table, demo_wide_table):
    path = write_xlsx(tmp_path / "t.xlsx", [demo_table, demo_wide_table])
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Table 2", "Table 3"]
    ws = wb["Table 2"]
    assert ws["A1"].value == "Table 2. Before and after <tacrolimus> & co" and ws["A1"].font.bold
    assert [c.value for c in ws[3]] == [c.label for c in demo_table.columns]
    assert all(c.font.bold for c in ws[3])
    assert ws["A4"].value == "HRCT scores" and ws["A4"].font.bold
    assert "A4:D4" in {str(r) for r in ws.merged_cells.ranges}
    assert [c.value for c in ws[5]] == list(demo_table.rows[1].cells)
    assert ws["D5"].data_type == "s" and ws["D5"].number_format == "@"
    assert ws["C6"].value == "3 (1, 5)" and ws["D6"].value == "0.050"  # text, trailing zero kept
    assert ws["A5"].alignment.indent == 1 and ws["A6"].alignment.indent == 2
    assert ws["D5"].alignment.horizontal == "right"
    assert ws["A7"].value == "Laboratory" and ws["B7"].value is None  # 4-cell section row: not merged
    assert ws["A10"].value == "IQR, interquartile range." and ws["A11"].value == "Wilcoxon signed-rank test."
    assert ws.freeze_panes == "A4"
    # widths follow the longest text: column A holds "Total HRCT score" (16) + 2 + 2 x max indent (2)
    assert ws.column_dimensions["A"].width == 16 + 2 + 4


def test_deterministic(demo_table):
    a = xlsx_bytes([demo_table])
    b = xlsx_bytes([demo_table])
    assert a == b
    with zipfile.ZipFile(io.BytesIO(a)) as z:
        assert b"2000-01-01T00:00:00Z" in z.read("docProps/core.xml")
    when = datetime(2026, 2, 3, tzinfo=UTC)
    with zipfile.ZipFile(io.BytesIO(xlsx_bytes([demo_table], created=when))) as z:
        assert b"2026-02-03T00:00:00Z" in z.read("docProps/core.xml")


def spec(key: str, number: int | None = None) -> TableSpec:
    return TableSpec(key, "T", (Column("a", "A"),), (Row(("x",)),), number=number)


def test_sheet_names_are_safe_and_unique():
    long_key = "a" * 40
    names = sheet_names([spec(long_key), spec(long_key), spec("x", 1), spec("y", 1), spec("Table_1")])
    assert names[0] == "a" * 31
    assert names[1] == "a" * 27 + " (2)" and len(names[1]) == 31
    assert names[2:4] == ["Table 1", "Table 1 (2)"]
    assert names[4] == "Table_1"
    assert len({n.lower() for n in names}) == len(names)


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="no tables"):
        write_xlsx(tmp_path / "e.xlsx", [])
    with pytest.raises(TypeError, match="expected a TableSpec"):
        write_xlsx(tmp_path / "e.xlsx", ["t"])
    assert not (tmp_path / "e.xlsx").exists()


def test_empty_table_still_writes(tmp_path):
    empty = TableSpec("empty", "No rows", (Column("a", "A"), Column("b", "B")), ())
    wb = openpyxl.load_workbook(write_xlsx(tmp_path / "e.xlsx", [empty]))
    assert [c.value for c in wb["empty"][3]] == ["A", "B"]
