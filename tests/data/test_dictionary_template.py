"""Data dictionary files agree with the schema; the XLSX template round-trips through the loader."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from ipafstudy.cli import main
from ipafstudy.data.dictionary import DICTIONARY_FILES, write_dictionary
from ipafstudy.data.loaders import load_study
from ipafstudy.data.schema import TABLES
from ipafstudy.data.template import build_template, write_template
from ipafstudy.errors import OutputExistsError
from ipafstudy.rules.antibodies import CANONICAL_ANTIBODIES
from ipafstudy.rules.units import MEASUREMENT_VARIABLES

try:  # tests/ may or may not be a package, depending on how the suite is laid out
    from .conftest import tiny_tables, write_csv_study
except ImportError:
    from conftest import tiny_tables, write_csv_study  # type: ignore[no-redef]


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def dictionary_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dict")
    assert main(["dictionary", "--out", str(out)]) == 0
    return out


def test_dictionary_files_written(dictionary_dir: Path) -> None:
    assert sorted(p.name for p in dictionary_dir.iterdir()) == sorted(DICTIONARY_FILES)


def test_dictionary_csv_agrees_with_schema(dictionary_dir: Path) -> None:
    rows = _read_csv(dictionary_dir / "data_dictionary.csv")
    assert [(r["table"], r["column"]) for r in rows] == [
        (t.name, c.name) for t in TABLES.values() for c in t.columns
    ]
    for r in rows:
        column = TABLES[r["table"]].column(r["column"])
        assert r["type"] == column.kind
        assert r["required"] == ("yes" if column.required else "no")
        if column.allowed:
            assert r["allowed_values"].split(" | ") == list(column.allowed)
        assert r["minimum"] == ("" if column.minimum is None else f"{column.minimum:g}")
    variable = next(r for r in rows if (r["table"], r["column"]) == ("measurements", "variable"))
    assert set(MEASUREMENT_VARIABLES) <= set(variable["allowed_values"].split(" | "))
    antibody = next(r for r in rows if (r["table"], r["column"]) == ("antibodies", "antibody"))
    assert set(antibody["allowed_values"].split(" | ")) == set(CANONICAL_ANTIBODIES)


def test_redcap_dictionary_agrees_with_schema(dictionary_dir: Path) -> None:
    rows = _read_csv(dictionary_dir / "redcap_data_dictionary.csv")
    assert list(rows[0])[:6] == [
        "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
        "Choices, Calculations, OR Slider Labels",
    ]
    assert rows[0]["Variable / Field Name"] == "record_id"
    names = [r["Variable / Field Name"] for r in rows]
    assert len(names) == len(set(names)), "REDCap field names must be unique"
    # one field per column (patient_id is the record_id), in a form named after its table
    n_columns = sum(len(t.columns) - 1 for t in TABLES.values()) + 1
    assert len(rows) == n_columns
    for r in rows[1:]:
        form = r["Form Name"]
        column = TABLES[form].column(r["Variable / Field Name"].removeprefix(
            {"patients": "", "antibodies": "ab_", "treatments": "tx_", "measurements": "meas_",
             "hrct_reads": "hrct_", "adverse_events": "ae_"}[form]))
        if column.allowed:
            labels = [part.split(",", 1)[1].strip() for part in r["Choices, Calculations, OR Slider Labels"].split("|")]
            # labels read back as the canonical values (case-insensitive, spaces for underscores)
            assert [lab.lower().replace(" ", "_") for lab in labels] == [v.lower() for v in column.allowed]
        if column.kind == "date":
            assert r["Text Validation Type OR Show Slider Number"] == "date_ymd"
        assert r["Required Field?"] == ("y" if column.required else "")


def test_markdown_mentions_every_column(dictionary_dir: Path) -> None:
    text = (dictionary_dir / "data_dictionary.md").read_text(encoding="utf-8")
    for table in TABLES.values():
        assert f"## {table.name}" in text
        for column in table.columns:
            assert f"| {column.name} |" in text
    assert "| crp | CRP | mg/L | 0-1000 | mg/dl, mg/l |" in text


def test_dictionary_refuses_to_overwrite(dictionary_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dictionary", "--out", str(dictionary_dir)]) == 1
    assert "already exist" in capsys.readouterr().err
    with pytest.raises(OutputExistsError):
        write_dictionary(dictionary_dir)
    assert len(write_dictionary(dictionary_dir, force=True)) == 3


def test_template_structure(tmp_path: Path) -> None:
    import openpyxl

    path = write_template(tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[0] == "README"
    assert set(TABLES) <= set(wb.sheetnames)
    for table in TABLES.values():
        ws = wb[table.name]
        headers = [c.value for c in ws[1]]
        assert headers == list(table.column_names)
        for cell, column in zip(ws[1], table.columns, strict=True):
            assert cell.comment is not None and column.description in cell.comment.text
            assert ("REQUIRED" in cell.comment.text) == column.required
        coded = {c.name for c in table.columns if c.allowed}
        listed = set()
        for dv in ws.data_validations.dataValidation:
            if dv.type == "list":
                for rng in dv.sqref.ranges:
                    listed.add(ws.cell(row=1, column=rng.min_col).value)
        assert coded <= listed
    grade = wb["hrct_reads"]["F1"]
    assert grade.value == "ggo" and "Range: 0 to 4" in grade.comment.text


def test_template_is_deterministic_and_refuses_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert build_template() == build_template()
    out = tmp_path / "t.xlsx"
    assert main(["template", str(out)]) == 0
    before = out.read_bytes()
    assert main(["template", str(out)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert main(["template", str(out), "--force"]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["t.xlsx"]  # no temporary files left behind


def test_template_round_trip(tmp_path: Path) -> None:
    """Fill the blank template with openpyxl as a user would, then load it back."""
    import openpyxl

    template = write_template(tmp_path / "blank.xlsx")
    wb = openpyxl.load_workbook(template)
    tables = tiny_tables()
    for name, rows in tables.items():
        ws = wb[name]
        position = {c.value: c.column for c in ws[1]}
        for i, row in enumerate(rows, start=2):
            for key, value in row.items():
                if value == "":
                    continue
                if key.endswith("date") and TABLES[name].column(key).kind == "date":
                    value = dt.date.fromisoformat(value)  # a real Excel date
                ws.cell(row=i, column=position[key], value=value)
    filled = tmp_path / "filled.xlsx"
    wb.save(filled)
    from_xlsx = load_study(filled)
    from_csv = load_study(write_csv_study(tmp_path / "csv", tables))
    for name in TABLES:
        a = from_xlsx.table(name).drop(columns=["_source_file", "_source_sheet"])
        b = from_csv.table(name).drop(columns=["_source_file", "_source_sheet"])
        pd.testing.assert_frame_equal(a, b)
    assert set(from_xlsx.patients["_source_sheet"]) == {"patients"}
