"""One failing case per validation rule, each asserting file, row, column and value.

Row numbers are worked out from the fixture: row i (0-based) of a table is file row i + 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ipafstudy.cli import main
from ipafstudy.data.issues import ValidationIssue
from ipafstudy.data.loaders import load_study, validate_path
from ipafstudy.errors import DataValidationError

try:  # tests/ may or may not be a package, depending on how the suite is laid out
    from .conftest import tiny_tables, write_csv_study
except ImportError:
    from conftest import tiny_tables, write_csv_study  # type: ignore[no-redef]


def _validate(tmp_path: Path, tables: dict) -> list[ValidationIssue]:
    return list(validate_path(write_csv_study(tmp_path / "s", tables)).issues)


def _only(issues: list[ValidationIssue], rule: str) -> ValidationIssue:
    found = [i for i in issues if i.rule == rule]
    assert len(found) == 1, [i.describe() for i in issues]
    return found[0]


def test_valid_study_has_no_issues(tmp_path: Path) -> None:
    report = validate_path(write_csv_study(tmp_path / "s"))
    assert report.issues == ()
    assert not report.has_errors


# (table, row index, column, bad text, rule, expected severity)
CELL_CASES = [
    ("measurements", 0, "value", "abc", "type", "error"),
    ("measurements", 1, "date", "14/03/2021", "date_unparseable", "error"),
    ("treatments", 0, "start_date", "2021-02-30", "date_impossible", "error"),
    ("treatments", 1, "start_date", "1850-01-01", "date_impossible", "error"),
    ("hrct_reads", 3, "ggo", "7", "range", "error"),
    ("hrct_reads", 4, "fibrosis", "1.5", "type", "error"),
    ("adverse_events", 0, "grade", "6", "range", "error"),
    ("patients", 0, "sex", "x", "category", "error"),
    ("patients", 2, "raynaud", "maybe", "category", "error"),
    ("patients", 1, "age_at_index", "-4", "range", "error"),
    ("measurements", 1, "unit", "mg/dl", "unknown_unit", "error"),
    ("measurements", 3, "variable", "fev1", "unknown_variable", "error"),
    ("antibodies", 1, "antibody", "anti-XYZ", "unknown_antibody", "error"),
    ("antibodies", 0, "titre", "strong", "titre_unparseable", "error"),
    ("antibodies", 2, "result", "maybe", "category", "error"),
    ("treatments", 2, "start_date", "", "required_value", "error"),
    ("adverse_events", 1, "patient_id", "P99", "unknown_patient", "error"),
    ("treatments", 0, "end_date", "2020-01-01", "end_before_start", "error"),
    ("patients", 0, "birth_date", "2021-01-01", "birth_after_index", "error"),
    ("antibodies", 3, "upper_limit_normal", "", "rf_without_uln", "warning"),
    ("adverse_events", 1, "event", "other", "detail_missing", "warning"),
]


@pytest.mark.parametrize("case", CELL_CASES, ids=lambda c: f"{c[4]}-{c[0]}.{c[2]}")
def test_each_cell_rule(tmp_path: Path, case: tuple) -> None:
    table, idx, column, bad, rule, severity = case
    tables = tiny_tables()
    tables[table][idx][column] = bad
    issue = _only(_validate(tmp_path, tables), rule)
    assert (issue.file, issue.sheet, issue.row) == (f"{table}.csv", None, idx + 2)
    expected_column = "event_detail" if rule == "detail_missing" else column
    assert issue.column == expected_column
    if rule not in ("required_value", "rf_without_uln", "detail_missing", "birth_after_index", "end_before_start"):
        assert issue.value == bad
    assert issue.severity == severity


def test_unknown_unit_message_is_actionable(tmp_path: Path) -> None:
    tables = tiny_tables()
    # Put an ESR with a CRP unit at file row 3 (second data row).
    tables["measurements"][1]["unit"] = "mg/dl"
    issue = _only(_validate(tmp_path, tables), "unknown_unit")
    assert issue.describe() == (
        "measurements.csv row 3, column unit: 'mg/dl' is not accepted for esr; use one of ['mm/h', 'mm/hr']"
    )


@pytest.mark.parametrize(
    ("variable", "value", "unit", "rule"),
    [
        ("mmrc", "5", "mmrc", "range"),  # mMRC runs 0-4
        ("mmrc", "0", "mrc", "range"),  # the original MRC scale runs 1-5
        ("mmrc", "6", "mrc", "range"),
        ("mmrc", "2.5", "mmrc", "type"),
        ("esr", "-3", "mm/h", "range"),  # no negative labs
        ("crp", "120", "mg/dL", "range"),  # 120 mg/dL = 1200 mg/L > 1000 mg/L
        ("crp", "1001", "mg/L", "range"),
        ("magnesium", "-0.1", "mmol/L", "range"),
    ],
)
def test_measurement_ranges_after_conversion(tmp_path: Path, variable: str, value: str, unit: str, rule: str) -> None:
    tables = tiny_tables()
    tables["measurements"][0].update(variable=variable, value=value, unit=unit)
    issue = _only(_validate(tmp_path, tables), rule)
    assert (issue.file, issue.row, issue.column, issue.value) == ("measurements.csv", 2, "value", float(value))


@pytest.mark.parametrize(
    ("variable", "value", "unit"),
    [("mmrc", "4", "mmrc"), ("mmrc", "0", "mmrc"), ("mmrc", "5", "mrc"), ("mmrc", "1", "mrc"), ("crp", "100", "mg/dL"),
     ("crp", "0", "mg/L"), ("esr", "0", "mm/hr")],
)
def test_measurement_range_edges_are_valid(tmp_path: Path, variable: str, value: str, unit: str) -> None:
    tables = tiny_tables()
    tables["measurements"][0].update(variable=variable, value=value, unit=unit, date="2019-12-01")
    assert _validate(tmp_path, tables) == []


def test_crp_message_shows_converted_value(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["measurements"][0].update(variable="crp", value="120", unit="mg/dL")
    issue = _only(_validate(tmp_path, tables), "range")
    assert "1200 mg/L" in issue.message and "0-100 mg/dL" in issue.message


def test_percent_over_100(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["hrct_reads"][0]["ggo_pct"] = "120"
    issue = _only(_validate(tmp_path, tables), "range")
    assert (issue.row, issue.column, issue.value) == (2, "ggo_pct", "120")


def test_grade_pct_mismatch_warning(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["hrct_reads"][0]["ggo"] = "1"
    tables["hrct_reads"][0]["ggo_pct"] = "60"  # 60 % is grade 3 (51-75 %)
    issue = _only(_validate(tmp_path, tables), "grade_pct_mismatch")
    assert (issue.row, issue.column, issue.severity) == (2, "ggo", "warning")
    assert "grade 3" in issue.message


def test_missing_grade_warning(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["hrct_reads"][5]["honeycombing"] = ""
    issue = _only(_validate(tmp_path, tables), "missing_grade")
    assert (issue.row, issue.column, issue.severity) == (7, "honeycombing", "warning")


def test_age_missing_warning(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["patients"][1]["age_at_index"] = ""
    issue = _only(_validate(tmp_path, tables), "age_missing")
    assert (issue.file, issue.row, issue.severity) == ("patients.csv", 3, "warning")


def test_missing_column_reported_once_not_per_row(tmp_path: Path) -> None:
    tables = tiny_tables()
    for row in tables["measurements"]:
        del row["unit"]
    folder = write_csv_study(tmp_path / "s", tables)
    text = (folder / "measurements.csv").read_text()
    (folder / "measurements.csv").write_text(text.replace(",unit", "", 1))
    issues = list(validate_path(folder).issues)
    missing = [i for i in issues if i.rule == "missing_column"]
    assert len(missing) == 1
    assert (missing[0].file, missing[0].row, missing[0].column) == ("measurements.csv", None, "unit")
    assert not [i for i in issues if i.rule == "required_value"]


def test_unknown_and_duplicate_columns(tmp_path: Path) -> None:
    folder = write_csv_study(tmp_path / "s")
    path = folder / "treatments.csv"
    lines = path.read_text().splitlines()
    lines[0] += ",comment,Drug"
    lines[1:] = [line + ",x,y" for line in lines[1:]]
    path.write_text("\n".join(lines) + "\n")
    issues = list(validate_path(folder).issues)
    unknown = _only(issues, "unknown_column")
    assert (unknown.row, unknown.column, unknown.severity) == (1, "comment", "warning")
    dup = _only(issues, "duplicate_column")
    assert (dup.row, dup.column, dup.severity) == (1, "Drug", "error")


def test_patients_without_id_column_is_one_issue(tmp_path: Path) -> None:
    folder = write_csv_study(tmp_path / "s")
    (folder / "patients.csv").write_text("")  # an empty file: no header at all
    issues = list(validate_path(folder).issues)
    assert [(i.file, i.column, i.rule) for i in issues] == [
        ("patients.csv", "patient_id", "missing_column"),
        ("patients.csv", "sex", "missing_column"),
    ]


def test_missing_patients_table(tmp_path: Path) -> None:
    folder = write_csv_study(tmp_path / "s")
    (folder / "patients.csv").unlink()
    issue = _only(list(validate_path(folder).issues), "missing_table")
    assert issue.file == "s" and issue.row is None


def test_duplicate_patient(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["patients"].append(dict(tables["patients"][0]))
    issue = _only(_validate(tmp_path, tables), "duplicate_patient")
    assert (issue.row, issue.column, issue.value) == (5, "patient_id", "P01")
    assert "row 2" in issue.message


def test_conflicting_measurement_duplicate(tmp_path: Path) -> None:
    tables = tiny_tables()
    # Same patient, date and variable as row 2 (crp 1.2 mg/dL = 12 mg/L), written in mg/L as 15.
    tables["measurements"].append({**tables["measurements"][0], "value": "15", "unit": "mg/L"})
    issue = _only(_validate(tmp_path, tables), "conflicting_duplicate")
    assert (issue.file, issue.row, issue.column, issue.value) == ("measurements.csv", 9, "value", 15.0)
    assert "row 2" in issue.message


def test_same_value_in_other_unit_is_an_identical_duplicate(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["measurements"].append({**tables["measurements"][0], "value": "12", "unit": "mg/L"})
    issue = _only(_validate(tmp_path, tables), "duplicate_row")
    assert (issue.row, issue.severity) == (9, "warning")


def test_conflicting_hrct_duplicate(tmp_path: Path) -> None:
    tables = tiny_tables()
    copy = dict(tables["hrct_reads"][0])
    copy["consolidation"] = "4"
    tables["hrct_reads"].append(copy)
    n = len(tables["hrct_reads"])
    issue = _only(_validate(tmp_path, tables), "conflicting_duplicate")
    assert (issue.file, issue.row, issue.column, issue.value) == ("hrct_reads.csv", n + 1, "consolidation", 4.0)


def test_injected_errors_are_all_reported_at_once(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["measurements"][1]["unit"] = "mg/dl"  # row 3: bad unit for ESR
    tables["hrct_reads"][6]["fibrosis"] = "7"  # row 8: grade 7
    tables["treatments"][3]["patient_id"] = "P77"  # row 5: unknown patient
    tables["adverse_events"][0]["onset_date"] = "01.05.2020"  # row 2: unparseable date
    tables["measurements"].append({**tables["measurements"][3], "value": "9"})  # row 9 conflicts with row 5
    tables["antibodies"][2]["antibody"] = "Anti-Foo"  # row 4: unknown antibody
    report = validate_path(write_csv_study(tmp_path / "s", tables))
    found = {(i.file, i.row, i.column, i.rule) for i in report.errors}
    assert found == {
        ("measurements.csv", 3, "unit", "unknown_unit"),
        ("hrct_reads.csv", 8, "fibrosis", "range"),
        ("treatments.csv", 5, "patient_id", "unknown_patient"),
        ("adverse_events.csv", 2, "onset_date", "date_unparseable"),
        ("measurements.csv", 9, "value", "conflicting_duplicate"),
        ("antibodies.csv", 4, "antibody", "unknown_antibody"),
    }
    with pytest.raises(DataValidationError) as info:
        load_study(tmp_path / "s")
    assert len(info.value.report.errors) == 6


def test_report_frame_json_and_text(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["patients"][0]["sex"] = "x"
    tables["antibodies"][3]["upper_limit_normal"] = ""
    report = validate_path(write_csv_study(tmp_path / "s", tables))
    frame = report.to_frame()
    assert list(frame.columns) == ["file", "sheet", "row", "column", "value", "rule", "message", "severity"]
    assert sorted(frame["severity"]) == ["error", "warning"]
    payload = json.loads(report.to_json())
    assert payload["n_errors"] == 1 and payload["n_warnings"] == 1 and payload["valid"] is False
    text = report.to_text()
    assert "patients.csv row 2, column sex" in text and "1 error(s), 1 warning(s)" in text


def test_cli_exit_codes_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write_csv_study(tmp_path / "good")
    tables = tiny_tables()
    tables["antibodies"][3]["upper_limit_normal"] = ""  # a warning only
    warn = write_csv_study(tmp_path / "warn", tables)
    tables["hrct_reads"][0]["ggo"] = "9"
    bad = write_csv_study(tmp_path / "bad", tables)
    assert main(["validate", str(good)]) == 0
    assert main(["validate", str(warn)]) == 0
    out_json = tmp_path / "report.json"
    assert main(["validate", str(bad), "--json", str(out_json)]) == 1
    payload = json.loads(out_json.read_text())
    assert [i["rule"] for i in payload["issues"] if i["severity"] == "error"] == ["range"]
    assert main(["validate", str(bad), "--json", str(out_json)]) == 1  # refuses to overwrite
    assert "already exists" in capsys.readouterr().err
    assert main(["validate", str(good), "--json", str(out_json), "--force"]) == 0
    assert json.loads(out_json.read_text())["valid"] is True


def test_synthetic_multisite_cohort_passes_validation(tmp_path: Path) -> None:
    from ipafstudy.data import synth
    cohort = synth.generate_cohort(seed=11, n_screened=60, n_sites=3)
    synth.write_cohort(cohort, tmp_path / "synth")
    report = validate_path(tmp_path / "synth")
    assert report.errors == (), report.to_text()
    # The generator enters a value twice on purpose (same-day duplicates); nothing else may warn.
    assert {i.rule for i in report.warnings} <= {"duplicate_row"}, report.to_text()
    study = load_study(tmp_path / "synth")
    assert len(study.patients) == len(cohort.tables["patients"])
    assert len(study.measurements) == len(cohort.tables["measurements"])


def test_antibody_aliases_extend_the_normaliser(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["antibodies"][1]["antibody"] = "Jo one (lab X)"
    folder = write_csv_study(tmp_path / "s", tables)
    assert _only(list(validate_path(folder).issues), "unknown_antibody").row == 3
    study = load_study(folder, antibody_aliases={"Jo one (lab X)": "anti-Jo-1"})
    assert study.antibodies.loc[1, ["antibody", "antibody_raw"]].tolist() == ["Jo-1", "Jo one (lab X)"]
    aliases = tmp_path / "aliases.yaml"
    aliases.write_text('"Jo one (lab X)": Jo-1\n', encoding="utf-8")
    assert main(["validate", str(folder), "--antibody-aliases", str(aliases)]) == 0
    aliases.write_text('"Jo one (lab X)": Jo-99\n', encoding="utf-8")
    assert main(["validate", str(folder), "--antibody-aliases", str(aliases)]) == 1  # bad target: config error


def test_two_readers_with_one_role(tmp_path: Path) -> None:
    tables = tiny_tables()
    # rad3 also calls itself reader1 for zone RU of the same scan (rad1 holds reader1 at row 2)
    tables["hrct_reads"].append({**tables["hrct_reads"][0], "reader": "rad3"})
    n = len(tables["hrct_reads"])
    issue = _only(_validate(tmp_path, tables), "duplicate_role")
    assert (issue.file, issue.row, issue.column, issue.value) == ("hrct_reads.csv", n + 1, "reader_role", "reader1")
    assert "row 2" in issue.message


def test_conflicting_antibody_results_same_day_warn(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["antibodies"].append({**tables["antibodies"][1], "antibody": "JO1", "result": "negative"})
    issue = _only(_validate(tmp_path, tables), "conflicting_duplicate")
    assert (issue.row, issue.column, issue.value, issue.severity) == (6, "result", "negative", "warning")


def test_birth_after_the_first_course_of_any_drug(tmp_path: Path) -> None:
    """birth_after_index does not look for one drug by name: a mycophenolate study (no tacrolimus) gets it too,
    and the message names the earliest course, whatever its drug (issue 11 item 1 left-over)."""
    tables = tiny_tables()
    for row in tables["treatments"]:
        row["drug"] = row["drug"].lower().replace("tacrolimus", "mycophenolate")
    tables["treatments"].append({"patient_id": "P02", "drug": "hydroxychloroquine", "start_date": "2019-05-01"})
    tables["patients"][1]["birth_date"] = "2019-06-01"  # after the hydroxychloroquine course, before mycophenolate
    issue = _only(_validate(tmp_path, tables), "birth_after_index")
    assert (issue.file, issue.row, issue.column) == ("patients.csv", 3, "birth_date")
    assert "first treatment start 2019-05-01 (hydroxychloroquine)" in issue.message
    assert "tacrolimus" not in issue.message
    tables["patients"][1]["birth_date"] = "2019-05-01"  # born the day of the first course: possible, no error
    assert not [i for i in _validate(tmp_path / "b", tables) if i.rule == "birth_after_index"]
