"""Dates after today or after a stated cut-off (issue 10 item 10): a transposed year must not silently
become the data cut-off. ``today`` is injected so the tests do not depend on the day they run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ipafstudy.cli import main
from ipafstudy.cohort.build import build_cohort
from ipafstudy.data.loaders import load_study, validate_path
from ipafstudy.errors import DataValidationError

try:
    from .conftest import tiny_tables, write_csv_study, write_xlsx_study
except ImportError:
    from conftest import tiny_tables, write_csv_study, write_xlsx_study  # type: ignore[no-redef]

TODAY = dt.date(2026, 12, 1)


def _transposed(tmp_path: Path) -> Path:
    tables = tiny_tables()
    tables["treatments"][0]["end_date"] = "2052-12-01"  # 2025 typed as 2052
    return write_csv_study(tmp_path / "study", tables)


def test_transposed_year_is_an_error_naming_the_cell(tmp_path: Path) -> None:
    folder = _transposed(tmp_path)
    report = validate_path(folder, today=TODAY)
    errors = [(i.file, i.row, i.column, i.value, i.rule) for i in report.errors]
    assert errors == [("treatments.csv", 2, "end_date", "2052-12-01", "date_in_future")]
    assert "after today (2026-12-01)" in report.errors[0].message
    with pytest.raises(DataValidationError):
        load_study(folder, today=TODAY)


def test_before_the_fix_the_typo_became_the_cut_off(tmp_path: Path) -> None:
    """The same input on a day after 2052: valid, and the derived cut-off is the typed date."""
    folder = _transposed(tmp_path)
    study = load_study(folder, today=dt.date(2053, 1, 1))
    assert build_cohort(study).data_cutoff_date == dt.date(2052, 12, 1)


def test_today_is_allowed_and_tomorrow_is_not(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["measurements"][0]["date"] = TODAY.isoformat()
    tables["adverse_events"][0]["onset_date"] = (TODAY + dt.timedelta(days=1)).isoformat()
    folder = write_csv_study(tmp_path / "study", tables)
    errors = validate_path(folder, today=TODAY).errors
    assert [(i.file, i.row, i.column, i.rule) for i in errors] == [
        ("adverse_events.csv", 2, "onset_date", "date_in_future")
    ]


def test_dates_after_a_stated_cut_off_are_errors(tmp_path: Path) -> None:
    folder = write_csv_study(tmp_path / "study")  # tiny study: latest dates 2020-08-01 (crp), 2020-12-01 (end)
    cutoff = dt.date(2020, 8, 1)
    report = validate_path(folder, today=TODAY, data_cutoff_date=cutoff)
    found = sorted((i.file, i.row, i.column, i.rule) for i in report.errors)
    assert found == [("treatments.csv", 2, "end_date", "date_after_cutoff"),  # 2020-12-01
                     ("treatments.csv", 4, "end_date", "date_after_cutoff")]  # 2020-09-30
    assert "after the data cut-off 2020-08-01" in report.errors[0].message
    assert not validate_path(folder, today=TODAY, data_cutoff_date=dt.date(2020, 12, 1)).errors


def test_birth_date_in_the_future_and_xlsx_dates(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["patients"][2]["birth_date"] = dt.date(2070, 12, 31)  # a real spreadsheet date
    path = write_xlsx_study(tmp_path / "study.xlsx", tables)
    errors = validate_path(path, today=TODAY).errors
    found = {(i.sheet, i.row, i.column, i.rule) for i in errors}
    assert ("patients", 4, "birth_date", "date_in_future") in found
    assert {rule for *_, rule in found} <= {"date_in_future", "birth_after_index"}


def test_screen_prints_the_derived_and_the_stated_cut_off(tmp_path: Path, capsys) -> None:
    folder = write_csv_study(tmp_path / "study")
    assert main(["screen", str(folder), "--out", str(tmp_path / "s1")]) == 0
    assert "data cut-off: 2020-12-01 (derived: the latest date in the records" in capsys.readouterr().out
    settings = tmp_path / "settings.yaml"
    settings.write_text("data_cutoff_date: 2021-06-30\n", encoding="utf-8")
    assert main(["screen", str(folder), "--out", str(tmp_path / "s2"), "--settings", str(settings)]) == 0
    assert "data cut-off: 2021-06-30 (stated" in capsys.readouterr().out
    settings.write_text("data_cutoff_date: 2020-08-01\n", encoding="utf-8")
    assert main(["screen", str(folder), "--out", str(tmp_path / "s3"), "--settings", str(settings)]) == 1
    assert "after the data cut-off 2020-08-01" in capsys.readouterr().err


def test_validate_with_a_plan_checks_its_cut_off(tmp_path: Path, capsys) -> None:
    folder = write_csv_study(tmp_path / "study")
    plan = tmp_path / "plan.yaml"
    plan.write_text("clinical:\n  data_cutoff_date: 2020-08-01\n", encoding="utf-8")
    assert main(["validate", str(folder)]) == 0
    capsys.readouterr()
    assert main(["validate", str(folder), "--plan", str(plan)]) == 1
    out = capsys.readouterr().out
    assert out.count("date_after_cutoff") == 2


def test_bundled_cohort_with_a_transposed_year(tmp_path: Path) -> None:
    """The reviewer's case: one end_date typed 2052 in the bundled cohort is one error at that cell."""
    import csv

    from ipafstudy.data.synth import copy_bundled

    folder = tmp_path / "bundled"
    copy_bundled(folder)
    assert not validate_path(folder, today=TODAY).errors
    path = folder / "treatments.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    end = rows[0].index("end_date")
    index = next(i for i, r in enumerate(rows[1:], start=1) if r[end])
    rows[index][end] = "2052" + rows[index][end][4:]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    errors = validate_path(folder, today=TODAY).errors
    assert [(i.file, i.row, i.column, i.rule) for i in errors] == [
        ("treatments.csv", index + 1, "end_date", "date_in_future")
    ]
