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
    assert [c.value for c in ws[5]] == list(demo_table.rows[1].cells)  # text cells as formatted
    assert ws["D5"].value == "<0.001" and ws["D5"].data_type == "s" and ws["D5"].number_format == "@"
    assert ws["C6"].value == "3 (1, 5)" and ws["C6"].data_type == "s"
    # a plain number is numeric; the number format keeps the printed trailing zero
    assert ws["D6"].value == 0.05 and ws["D6"].data_type == "n" and ws["D6"].number_format == "0.000"
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


def test_numbers_are_numeric_cells_with_the_printed_decimals(tmp_path):
    rows = (Row(("Age", "56", "\u22121.25", "0.050", ".004", "1.000")),
            Row(("ESR", "<0.001", "12 (8, 15)", "34 (70.8%)", "\u2212", "\u2014")))
    cols = tuple(Column(k, k.upper(), "right") for k in ("a", "b", "c", "d", "e", "f"))
    table = TableSpec("table2_paired", "Minus \u22121 in the title", cols, rows,
                      footnotes=("Change \u22120.5 to 0.5.",), number=2)
    ws = openpyxl.load_workbook(write_xlsx(tmp_path / "n.xlsx", [table]))["Table 2"]
    numbers = [(c.value, c.number_format, c.data_type) for c in ws[4][1:]]
    assert numbers == [(56, "0", "n"), (-1.25, "0.00", "n"), (0.05, "0.000", "n"), (0.004, "#.000", "n"),
                       (1.0, "0.000", "n")]
    texts = [(c.value, c.data_type) for c in ws[5][1:]]
    assert texts == [("<0.001", "s"), ("12 (8, 15)", "s"), ("34 (70.8%)", "s"), ("-", "s"), ("\u2014", "s")]
    assert ws["A1"].value == "Table 2. Minus -1 in the title"  # ASCII minus everywhere in the workbook
    assert ws["A7"].value == "Change -0.5 to 0.5."
    assert not any("\u2212" in str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)


def test_label_columns_stay_text(tmp_path):
    table = TableSpec("t", "T", (Column("grade", "Grade"), Column("n", "n", "right")), (Row(("2", "5")),))
    ws = openpyxl.load_workbook(write_xlsx(tmp_path / "l.xlsx", [table]))["t"]
    assert (ws["A4"].value, ws["A4"].data_type) == ("2", "s")
    assert (ws["B4"].value, ws["B4"].data_type) == (5, "n")


def test_text_starting_with_equals_is_never_a_formula(tmp_path):
    table = TableSpec("t", "T", (Column("a", "=HYPERLINK(\"x\")"),), (Row(("=1+1",)),))
    path = write_xlsx(tmp_path / "f.xlsx", [table])
    ws = openpyxl.load_workbook(path)["t"]
    assert (ws["A4"].value, ws["A4"].data_type) == ("=1+1", "s")
    assert ws["A3"].data_type == "s"
    with zipfile.ZipFile(path) as z:
        assert b"<f>" not in z.read("xl/worksheets/sheet1.xml")


def test_supplementary_sheets_named_table_s():
    names = sheet_names([spec("table1_baseline", 1), spec("tableS1_normality"), spec("tableS12_x"), spec("other")])
    assert names == ["Table 1", "Table S1", "Table S12", "other"]
