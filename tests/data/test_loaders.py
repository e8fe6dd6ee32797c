"""CSV-folder and XLSX loaders: types, provenance, spellings, read-only inputs."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pandas as pd
import pytest

from ipafstudy.data.loaders import load_study, validate_path
from ipafstudy.data.schema import PROVENANCE_COLUMNS, TABLES
from ipafstudy.data.validation import study_columns
from ipafstudy.errors import DataValidationError, IpafstudyError

try:  # tests/ may or may not be a package, depending on how the suite is laid out
    from .conftest import tiny_tables, tree_digest, write_csv_study, write_xlsx_study
except ImportError:
    from conftest import tiny_tables, tree_digest, write_csv_study, write_xlsx_study  # type: ignore[no-redef]


def test_csv_folder_types_and_values(tiny_csv: Path) -> None:
    study = load_study(tiny_csv)
    p = study.patients.set_index("patient_id")
    assert p.loc["P01", "birth_date"] == dt.date(1965, 4, 2)
    assert p.loc["P02", "birth_date"] is None
    assert p.loc["P02", "age_at_index"] == 58.0
    # Accepted spellings: Female -> female, M -> male, Y/TRUE/1 -> yes, blank -> unknown.
    assert list(p["sex"]) == ["female", "male", "female"]
    assert (p.loc["P01", "alternative_etiology_excluded"], p.loc["P01", "mechanics_hands"]) == ("yes", "yes")
    assert p.loc["P01", "raynaud"] == "yes" and p.loc["P01", "nintedanib"] == "unknown"
    assert p.loc["P02", "hrct_pattern"] == "nsip_op" and p.loc["P01", "biopsy_pattern"] == "not_done"
    assert pd.isna(p.loc["P02", "biopsy_pattern"])


def test_antibodies_normalised_and_titre_parsed(tiny_csv: Path) -> None:
    ab = load_study(tiny_csv).antibodies
    assert list(ab["antibody_raw"]) == ["ANA", "anti-Jo-1", "PL7", "Rheumatoid factor"]
    assert list(ab["antibody"]) == ["ANA", "Jo-1", "PL-7", "RF"]
    assert ab.loc[0, "titre"] == 320.0 and ab.loc[0, "pattern"] == "speckled"
    assert ab.loc[2, "result"] == "positive"  # 'pos'


def test_measurements_converted_with_originals_kept(tiny_csv: Path) -> None:
    m = load_study(tiny_csv).measurements
    crp = m.iloc[0]
    # 1.2 mg/dL x 10 = 12 mg/L
    assert (crp["variable"], crp["value"], crp["unit"]) == ("crp", pytest.approx(12.0), "mg/L")
    assert (crp["original_variable"], crp["original_value"], crp["original_unit"]) == ("crp", 1.2, "mg/dL")
    mrc = m.iloc[2]  # MRC 3 = mMRC 2
    assert (mrc["variable"], mrc["value"], mrc["unit"]) == ("mmrc", 2.0, "mmrc")
    mg = m.iloc[4]  # 1.8 mg/dL / 2.43 = 0.7407 mmol/L
    assert mg["value"] == pytest.approx(1.8 / 2.43) and mg["unit"] == "mmol/L"
    pred = m.iloc[5]  # 20 mg prednisone x 4/5 = 16 mg methylprednisolone
    assert (pred["variable"], pred["value"], pred["original_variable"]) == ("methylprednisolone_dose", 16.0,
                                                                            "prednisone_dose")


def test_provenance_columns_and_rows(tiny_csv: Path) -> None:
    study = load_study(tiny_csv)
    for name in TABLES:
        frame = study.table(name)
        assert tuple(frame.columns) == study_columns(name)
        assert set(PROVENANCE_COLUMNS) <= set(frame.columns)
        assert list(frame["_source_row"]) == list(range(2, len(frame) + 2))
        assert set(frame["_source_file"]) == {f"{name}.csv"}
    assert study.patients["patient_id"].tolist() == ["P01", "P02", "P03"]
    assert study.treatments["drug"].tolist()[2] == "tacrolimus"  # 'Tacrolimus' lower-cased


def test_sources_have_sha256_of_every_file(tiny_csv: Path) -> None:
    (tiny_csv / "notes.txt").write_text("ignored")
    study = load_study(tiny_csv)
    assert len(study.sources) == len(TABLES)
    for src in study.sources:
        assert src.kind == "csv"
        assert src.sha256 == hashlib.sha256(Path(src.path).read_bytes()).hexdigest()


def test_missing_optional_table_is_empty(tmp_path: Path) -> None:
    tables = tiny_tables()
    del tables["adverse_events"], tables["hrct_reads"]
    study = load_study(write_csv_study(tmp_path / "s", tables))
    assert len(study.adverse_events) == 0
    assert tuple(study.hrct_reads.columns) == study_columns("hrct_reads")
    assert study.hrct_reads["ggo"].dtype == "float64"


def test_blank_lines_keep_row_numbers_and_semicolons(tmp_path: Path) -> None:
    folder = write_csv_study(tmp_path / "s")
    path = folder / "measurements.csv"
    lines = path.read_text().splitlines()
    lines.insert(2, "")  # an empty line becomes file row 3
    text = "\n".join(lines).replace(",", ";") + "\n"
    path.write_bytes(("\ufeff" + text).encode("utf-8"))  # with a byte-order mark, as Excel writes
    text_lines = text.splitlines()
    assert text_lines[3].startswith("P01;2020-01-20;esr")  # ESR is now on row 4
    m = load_study(folder).measurements
    assert m.loc[m["original_variable"] == "esr", "_source_row"].tolist() == [4]


def test_header_spelling_is_forgiving(tmp_path: Path) -> None:
    folder = write_csv_study(tmp_path / "s")
    path = folder / "adverse_events.csv"
    text = path.read_text()
    path.write_text(text.replace("patient_id", "Patient ID", 1).replace("onset_date", "Onset-Date", 1))
    assert len(load_study(folder).adverse_events) == 2


def test_inputs_unchanged_after_loading(tmp_path: Path) -> None:
    folder = write_csv_study(tmp_path / "s")
    workbook = write_xlsx_study(tmp_path / "s.xlsx")
    before = tree_digest(folder) | tree_digest(workbook)
    load_study(folder)
    load_study(workbook)
    validate_path(folder)
    assert tree_digest(folder) | tree_digest(workbook) == before


def _xlsx_tables() -> dict:
    tables = tiny_tables()
    tables["patients"][0]["birth_date"] = dt.date(1965, 4, 2)  # a real Excel date
    tables["patients"][2]["birth_date"] = "1970-12-31"  # ISO text
    tables["treatments"][0]["start_date"] = dt.datetime(2020, 2, 1)
    tables["measurements"][0]["value"] = 1.2  # a real number
    tables["patients"][0]["patient_id"] = "P01"
    return tables


def test_xlsx_real_dates_and_iso_text(tmp_path: Path) -> None:
    study = load_study(write_xlsx_study(tmp_path / "s.xlsx", _xlsx_tables()))
    p = study.patients.set_index("patient_id")
    assert p.loc["P01", "birth_date"] == dt.date(1965, 4, 2)
    assert p.loc["P03", "birth_date"] == dt.date(1970, 12, 31)
    assert study.treatments.loc[0, "start_date"] == dt.date(2020, 2, 1)
    assert study.measurements.loc[0, "value"] == pytest.approx(12.0)
    assert set(study.measurements["_source_sheet"]) == {"measurements"}
    assert set(study.measurements["_source_file"]) == {"s.xlsx"}
    assert study.sources[0].kind == "xlsx"


def test_xlsx_numeric_ids_and_extra_sheets(tmp_path: Path) -> None:
    import openpyxl

    tables = tiny_tables()
    for name in tables:
        for row in tables[name]:
            row["patient_id"] = {"P01": 101, "P02": 102, "P03": 103}[row["patient_id"]]
    path = write_xlsx_study(tmp_path / "s.xlsx", tables)
    wb = openpyxl.load_workbook(path)
    wb.create_sheet("README").append(["anything"])
    wb.create_sheet("Notes").append(["anything"])
    wb["measurements"].title = "tmp"
    wb["tmp"].title = "Measurements"  # sheet names match case-insensitively
    wb.save(path)
    study = load_study(path)
    assert study.patient_ids == ["101", "102", "103"]
    assert len(study.measurements) == len(tables["measurements"])
    assert set(study.measurements["_source_sheet"]) == {"Measurements"}
    issues = validate_path(path).issues
    assert [(i.sheet, i.rule, i.severity) for i in issues] == [("Notes", "unknown_sheet", "warning")]


def test_xlsx_errors_point_at_sheet_and_row(tmp_path: Path) -> None:
    tables = _xlsx_tables()
    tables["hrct_reads"][4]["ggo"] = 5
    tables["measurements"][2]["date"] = 44000  # a bare Excel serial number, not a date cell
    report = validate_path(write_xlsx_study(tmp_path / "s.xlsx", tables))
    found = {(i.file, i.sheet, i.row, i.column, i.rule) for i in report.errors}
    assert found == {
        ("s.xlsx", "hrct_reads", 6, "ggo", "range"),
        ("s.xlsx", "measurements", 4, "date", "date_unparseable"),
    }
    assert "s.xlsx sheet hrct_reads row 6, column ggo" in report.to_text()


def test_load_study_raises_with_full_report(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["patients"][0]["sex"] = "?"
    tables["patients"][1]["sex"] = "unknown"
    with pytest.raises(DataValidationError) as info:
        load_study(write_csv_study(tmp_path / "s", tables))
    assert [i.row for i in info.value.report.errors] == [2, 3]
    assert "patients.csv row 2, column sex" in str(info.value)


def test_unusable_paths_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(IpafstudyError, match="no such file"):
        load_study(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IpafstudyError, match="no table files"):
        load_study(tmp_path / "empty")
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip file")
    with pytest.raises(IpafstudyError, match="cannot open the workbook"):
        load_study(tmp_path / "broken.xlsx")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(IpafstudyError, match="not a folder"):
        load_study(tmp_path / "x.json")


def test_loading_is_deterministic(tiny_csv: Path) -> None:
    a, b = load_study(tiny_csv), load_study(tiny_csv)
    for name in TABLES:
        pd.testing.assert_frame_equal(a.table(name), b.table(name))
