"""Empty tables (issue 10 item 11): a header-only patients table is an error, and an input where no patient
can be analysed stops ``analyze`` with one clear message instead of a KeyError."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipafstudy.analysis.study import run_study
from ipafstudy.cli import main
from ipafstudy.data.loaders import load_study, validate_path
from ipafstudy.errors import DataValidationError, InsufficientDataError

try:
    from .conftest import tiny_tables, write_csv_study
except ImportError:
    from conftest import tiny_tables, write_csv_study  # type: ignore[no-redef]


def test_header_only_patients_is_an_error(tmp_path: Path) -> None:
    folder = write_csv_study(tmp_path / "study", {"patients": []})
    assert (folder / "patients.csv").read_text(encoding="utf-8").count("\n") == 1  # the header alone
    report = validate_path(folder)
    assert [(i.file, i.rule, i.severity) for i in report.errors] == [("patients.csv", "empty_table", "error")]
    assert "no data rows" in report.errors[0].message
    with pytest.raises(DataValidationError):
        load_study(folder)


def test_zero_byte_patients_is_an_error(tmp_path: Path) -> None:
    """An empty file has no header either: one missing_column error per required column, no empty_table too."""
    folder = write_csv_study(tmp_path / "study")
    (folder / "patients.csv").write_bytes(b"")
    rules = sorted(i.rule for i in validate_path(folder).errors if i.file == "patients.csv")
    assert rules == ["missing_column", "missing_column"]


def test_header_only_treatments_warns_and_analyze_says_why(tmp_path: Path, capsys) -> None:
    tables = tiny_tables()
    tables["treatments"] = []
    folder = write_csv_study(tmp_path / "study", tables)
    report = validate_path(folder)
    assert not report.errors
    assert [(i.file, i.rule) for i in report.warnings if i.rule == "empty_table"] == [("treatments.csv", "empty_table")]
    study = load_study(folder)
    with pytest.raises(InsufficientDataError, match=r"no patient can be analysed \(3 screened; excluded at"):
        run_study(study)
    out = tmp_path / "out"
    assert main(["analyze", str(folder), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no patient can be analysed") and "Traceback" not in err
    assert not out.exists()  # nothing written, no folder created


def test_header_only_patients_through_the_cli(tmp_path: Path, capsys) -> None:
    folder = write_csv_study(tmp_path / "study", {"patients": []})
    assert main(["validate", str(folder)]) == 1
    assert "empty_table" in capsys.readouterr().out
    out = tmp_path / "out"
    assert main(["analyze", str(folder), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "patients.csv: the patients table has a header but no data rows" in err and "KeyError" not in err
    assert not out.exists()
