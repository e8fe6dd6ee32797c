"""Hostile CSV files (issue 10 items 12, 14, 18): broken quotes, huge cells, UTF-16, the shared reader."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import pytest

from ipafstudy.data.loaders import load_study, validate_path
from ipafstudy.data.sources import CSV_FIELD_LIMIT, read_csv_rows
from ipafstudy.errors import DataValidationError, IpafstudyError

try:
    from .conftest import tiny_tables, write_csv_study
except ImportError:
    from conftest import tiny_tables, write_csv_study  # type: ignore[no-redef]


def _csv_text(rows: list[dict[str, str]]) -> str:
    cols: list[str] = []
    for row in rows:
        cols.extend(k for k in row if k not in cols)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=cols, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _study(tmp_path: Path) -> Path:
    return write_csv_study(tmp_path / "study")


def _csv_syntax(report) -> list:
    return [i for i in report.errors if i.rule == "csv_syntax"]


def test_unterminated_quote_is_reported_with_row_and_column(tmp_path: Path) -> None:
    folder = _study(tmp_path)
    path = folder / "measurements.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    # Data row 3 (file row 4): the unit cell opens a quote that is never closed.
    cells = lines[3].split(",")
    unit = header.index("unit")
    cells[unit] = '"mm/h'
    lines[3] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = validate_path(folder)
    problems = _csv_syntax(report)
    assert len(problems) == 1, report.to_text()
    issue = problems[0]
    assert (issue.file, issue.row, issue.column) == ("measurements.csv", 4, "unit")
    assert "never closed" in issue.message
    assert issue.value.startswith("mm/h")
    with pytest.raises(DataValidationError):
        load_study(folder)


def test_cell_over_128_kib_is_reported_not_a_crash(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["adverse_events"][1]["event_detail"] = "x" * (CSV_FIELD_LIMIT + 10)
    folder = write_csv_study(tmp_path / "study", tables)
    report = validate_path(folder)  # before the fix: _csv.Error: field larger than field limit (131072)
    problems = _csv_syntax(report)
    assert len(problems) == 1, report.to_text()
    issue = problems[0]
    assert (issue.file, issue.row, issue.column) == ("adverse_events.csv", 3, "event_detail")
    assert "128 KiB" in issue.message
    assert len(str(issue.value)) < 100  # the report shows the start of the cell, not 128 KiB of it


def test_unclosed_quote_on_a_large_file_points_at_the_opening_row(tmp_path: Path) -> None:
    tables = tiny_tables()
    many = [dict(tables["measurements"][0], date=f"2020-01-{1 + k % 28:02d}", variable="crp",
                 value=str(k)) for k in range(6000)]
    text = _csv_text(many)
    lines = text.split("\r\n")
    lines[10] = lines[10].replace(",crp,", ',"crp,', 1)  # file row 11 opens a quote; ~180 KB follow
    folder = write_csv_study(tmp_path / "study", {k: v for k, v in tables.items() if k != "measurements"})
    (folder / "measurements.csv").write_text("\r\n".join(lines), encoding="utf-8", newline="")
    problems = _csv_syntax(validate_path(folder))
    assert [(i.row, i.column) for i in problems] == [(11, "variable")]
    assert "never closed" in problems[0].message


def test_semicolon_file_and_rows_before_the_problem_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('a;b\n1;2\n3;"x\n4;5\n', encoding="utf-8")
    issues: list = []
    rows, _ = read_csv_rows(path, issues)
    assert rows == [(1, ["a", "b"]), (2, ["1", "2"])]
    assert [(i.row, i.column, i.rule) for i in issues] == [(3, "b", "csv_syntax")]
    with pytest.raises(IpafstudyError, match=r"t.csv row 3, column b"):
        read_csv_rows(path)  # without an issue list (REDCap dictionary) it is one clear error


def test_sound_files_read_as_before(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('a,b\n1,"two\nlines"\n"q ""x""",\n', encoding="utf-8")
    issues: list = []
    rows, encoding = read_csv_rows(path, issues)
    assert encoding == "utf-8-sig"
    assert rows == [(1, ["a", "b"]), (2, ["1", "two\nlines"]), (3, ['q "x"', ""])] and not issues
    path.write_text("a,b\n1,2", encoding="utf-8")  # no final newline
    assert read_csv_rows(path)[0] == [(1, ["a", "b"]), (2, ["1", "2"])]
    path.write_bytes(b"")
    assert read_csv_rows(path)[0] == []


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-8", "utf-32-le"])
def test_unicode_with_byte_order_mark_is_read(tmp_path: Path, codec: str) -> None:
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE, "utf-8": codecs.BOM_UTF8,
           "utf-32-le": codecs.BOM_UTF32_LE}[codec]
    tables = tiny_tables()
    tables["patients"][0]["site"] = "Zürich–Süd"
    folder = write_csv_study(tmp_path / "study", tables)
    path = folder / "patients.csv"
    path.write_bytes(bom + path.read_text(encoding="utf-8").encode(codec))
    report = validate_path(folder)
    assert not report.errors, report.to_text()
    assert not [i for i in report.warnings if i.rule == "encoding"]  # Unicode is not a Windows-1252 guess
    study = load_study(folder)
    assert study.patients.loc[0, "site"] == "Zürich–Süd"
    assert list(study.patients["patient_id"]) == ["P01", "P02", "P03"]


def test_utf16_without_bom_is_refused_with_one_message(tmp_path: Path) -> None:
    folder = _study(tmp_path)
    path = folder / "patients.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16-le"))
    with pytest.raises(IpafstudyError, match=r"patients.csv: .*UTF-16 text without a byte-order mark"):
        validate_path(folder)


def test_windows_1252_still_read_with_a_warning(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["patients"][0]["site"] = "Zürich"
    folder = write_csv_study(tmp_path / "study", tables)
    path = folder / "patients.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp1252"))
    report = validate_path(folder)
    assert [i.rule for i in report.warnings if i.file == "patients.csv"] == ["encoding"]
    assert load_study(folder).patients.loc[0, "site"] == "Zürich"


def test_redcap_and_loaders_share_the_reader_without_a_cycle() -> None:
    import ipafstudy.data.redcap as redcap
    import ipafstudy.data.sources as sources

    assert redcap.read_csv_rows is sources.read_csv_rows
    source = Path(redcap.__file__).read_text(encoding="utf-8")
    assert "ipafstudy.data.loaders" not in source
