"""Issue 10 item 9: text that a spreadsheet would run as a formula is written inert, numbers stay numbers."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from ipafstudy.cli import main
from ipafstudy.fileio import (
    csv_text,
    escape_formula,
    frame_xlsx_bytes,
    set_xlsx_value,
    unescape_formula,
    unescape_formulas,
)

sys.path.insert(0, str(Path(__file__).parent))
from hostile import EVIL_DETAIL, EVIL_ID, EVIL_SITE, hostile_copy

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NUMERIC_ONLY = set("0123456789.,()% +-eE")


@pytest.mark.parametrize("text", ["=1+1", "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(A1:A2)",
                                  "\tx", "\rx", "=HYPERLINK(\"http://x\")", "-A1", "-1.5x", "-E1"])
def test_formula_text_gets_a_quote(text):
    assert escape_formula(text) == "'" + text
    assert unescape_formula(escape_formula(text)) == text


@pytest.mark.parametrize("value", [-1.5, 3, 0.0, float("nan"), None, "-1.5", "+2", "-1e-05", "-0.59, 2.65",
                                   "-3 (-12%)", "-", "P-01", "", "a=b", "'=x", "2020-01-01"])
def test_numbers_and_plain_text_unchanged(value):
    out = escape_formula(value)
    assert out is value or (out == value)


def test_csv_text_escapes_only_text_cells():
    frame = pd.DataFrame({"id": ["=1+1", "P-1", "-2"], "x": [-1.5, 2.0, None], "n": [-3, 0, 4],
                          "note": ["@cmd", None, "-0.5"]})
    text = csv_text(frame)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ["'=1+1", "-1.5", "-3", "'@cmd"]  # numbers (negative too) written as numbers
    assert rows[2] == ["P-1", "2.0", "0", ""]
    assert rows[3] == ["-2", "", "4", "-0.5"]  # numeric-only text is not a formula
    back = unescape_formulas(pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False))
    assert list(back["id"]) == ["=1+1", "P-1", "-2"]
    assert csv_text(frame, escape=False).splitlines()[1].startswith("=1+1,")
    assert list(frame["id"]) == ["=1+1", "P-1", "-2"]  # the caller's frame is not modified


def test_xlsx_text_is_text_never_formula(tmp_path):
    path = tmp_path / "t.xlsx"
    path.write_bytes(frame_xlsx_bytes(pd.DataFrame({"id": [EVIL_ID, "A"], "v": [-1.5, None],
                                                    "d": [pd.Timestamp("2021-03-04"), pd.NaT]}), "s"))
    ws = openpyxl.load_workbook(path).active
    assert ws["A2"].value == EVIL_ID and ws["A2"].data_type == "s"  # the text itself, inert (no quote added)
    assert ws["B2"].value == -1.5 and ws["B2"].data_type == "n"
    assert ws["B3"].value is None and ws["C2"].value == "2021-03-04" and ws["C3"].value is None
    wb = openpyxl.Workbook()
    cell = set_xlsx_value(wb.active["A1"], "=1+1")
    assert cell.data_type == "s"


def _assert_csv_inert(path: Path) -> int:
    """Every text cell of a CSV file is inert; returns how many cells were escaped."""
    escaped = 0
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle):
            for cell in row:
                if cell[:1] in TRIGGERS:
                    assert set(cell) <= NUMERIC_ONLY, f"{path.name}: live formula {cell!r}"
                escaped += cell.startswith("'=") or cell.startswith("'@") or cell.startswith("'+")
    return escaped


def test_screen_outputs_are_inert(tmp_path, capsys):
    data = hostile_copy(tmp_path / "data")
    assert main(["screen", str(data), "--out", str(tmp_path / "out")]) == 0
    total = sum(_assert_csv_inert(p) for p in sorted((tmp_path / "out").glob("*.csv")))
    screening = (tmp_path / "out" / "screening.csv").read_text(encoding="utf-8")
    assert "'" + EVIL_SITE in screening and "'=HYPERLINK(" in screening
    assert "'" + EVIL_DETAIL in (tmp_path / "out" / "adverse_events.csv").read_text(encoding="utf-8")
    assert total >= 5


def test_analyze_outputs_are_inert_and_explain_reads_ids_back(tmp_path, capsys):
    data = hostile_copy(tmp_path / "data")
    out = tmp_path / "out"
    assert main(["analyze", str(data), "--out", str(out), "--quiet"]) == 0
    for path in [out / "analysis_dataset.csv", *sorted((out / "tables").glob("*.csv"))]:
        _assert_csv_inert(path)
    assert "'=HYPERLINK(" in (out / "analysis_dataset.csv").read_text(encoding="utf-8")
    wb = openpyxl.load_workbook(out / "tables.xlsx")
    formulas = [(ws.title, c.coordinate) for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []
    capsys.readouterr()
    assert main(["explain", str(out), "crp", "--csv", str(tmp_path / "crp.csv")]) == 0
    assert EVIL_ID in capsys.readouterr().out  # read back unescaped, matched to results.json
    _assert_csv_inert(tmp_path / "crp.csv")
    assert "'=HYPERLINK(" in (tmp_path / "crp.csv").read_text(encoding="utf-8")


def test_hrct_worklist_xlsx_and_csv_round_trip(tmp_path, capsys):
    synth = tmp_path / "synth"
    assert main(["synth", "--out", str(synth), "--n-screened", "40", "--open-hrct-flags", "3"]) == 0
    assert main(["hrct", "worklist", str(synth), "--out", str(tmp_path / "plain.csv")]) == 0
    first = pd.read_csv(tmp_path / "plain.csv", dtype=str)["patient_id"].iloc[0]  # a patient with an open flag
    data = hostile_copy(tmp_path / "data", source=synth, target=first)
    for suffix in ("xlsx", "csv"):
        wl = tmp_path / f"worklist.{suffix}"
        assert main(["hrct", "worklist", str(data), "--out", str(wl)]) == 0
        if suffix == "xlsx":
            ws = openpyxl.load_workbook(wl).active
            ids = [c for c in ws["A"][1:] if c.value == EVIL_ID]
            assert ids and all(c.data_type == "s" for c in ids)
            assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
            filled = pd.read_excel(wl, dtype=object)
        else:
            _assert_csv_inert(wl)
            filled = pd.read_csv(wl, dtype=str, keep_default_na=False)
        assert "'" + EVIL_ID in set(filled["patient_id"]) or suffix == "xlsx"
        filled["adjudicator"] = "RAD-3"
        filled["adjudicator_grade"] = 1
        filled_path = tmp_path / f"filled.{suffix}"
        if suffix == "xlsx":  # filled in the workbook itself, as a radiologist would (pandas would write formulas)
            wb = openpyxl.load_workbook(wl)
            ws = wb.active
            header = [c.value for c in ws[1]]
            for row in ws.iter_rows(min_row=2):
                row[header.index("adjudicator")].value = "RAD-3"
                row[header.index("adjudicator_grade")].value = 1
            wb.save(filled_path)
        else:
            filled.to_csv(filled_path, index=False)
        rows_path = tmp_path / f"rows_{suffix}.csv"
        assert main(["hrct", "adjudicated", str(filled_path), "--out", str(rows_path)]) == 0
        rows = pd.read_csv(rows_path, dtype=str)
        assert EVIL_ID in set(rows["patient_id"])  # the id as in the data, so the rows append cleanly
    scores = tmp_path / "scores.csv"
    assert main(["hrct", "scores", str(data), "--out", str(scores)]) == 0
    assert _assert_csv_inert(scores) >= 1
