"""Issue 11 item 2 through the data layer: new built-ins, aliases, plan-declared variables, range errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipafstudy.analysis.plan import plan_from_dict
from ipafstudy.cli import main
from ipafstudy.data.loaders import load_study, validate_path

try:
    from .conftest import tiny_tables, write_csv_study
except ImportError:
    from conftest import tiny_tables, write_csv_study  # type: ignore[no-redef]

KL6X = {"code": "kl6x", "label": "KL-6", "unit": "U/mL", "units": {"U/mL": 1, "kU/L": 1000}, "range": [0, 50000]}


def _study_with(tmp_path: Path, *rows: tuple[str, str, str]) -> Path:
    tables = tiny_tables()
    for variable, value, unit in rows:
        tables["measurements"].append(
            {"patient_id": "P01", "date": "2020-03-01", "variable": variable, "value": value, "unit": unit}
        )
    return write_csv_study(tmp_path / "s", tables)


def test_issue_example_fvc_percent_predicted_and_dlco_rows_validate(tmp_path: Path) -> None:
    # the issue's report: one fvc_percent_predicted and one dlco row made validate fail with 2 errors
    path = _study_with(tmp_path, ("fvc_percent_predicted", "72", "%"), ("dlco", "48", "% predicted"))
    assert validate_path(path).issues == ()
    m = load_study(path).measurements
    rows = m[m["original_variable"].isin(["fvc_percent_predicted", "dlco"])].sort_values("variable")
    assert list(rows["variable"]) == ["dlco_pct_pred", "fvc_pct_pred"]
    assert list(rows["value"]) == [48.0, 72.0]
    assert list(rows["original_unit"]) == ["% predicted", "%"]


def test_fvc_in_litres_is_stored_in_ml(tmp_path: Path) -> None:
    m = load_study(_study_with(tmp_path, ("FVC", "2.31", "L"))).measurements
    row = m[m["original_variable"] == "FVC"].iloc[0]
    assert (row["variable"], row["value"], row["unit"], row["original_value"]) == ("fvc_ml", 2310.0, "mL", 2.31)


@pytest.mark.parametrize(
    ("variable", "value", "unit", "shown"),
    [
        ("fvc_ml", "23.1", "L", "FVC, mL 23.1 L (= 23100 mL) is outside the plausible range 0.1-8 L"),
        ("neutrophils", "420000", "/uL", "(= 420 10^9/L) is outside the plausible range 0-100000 /uL"),
        ("spo2_rest_pct", "101", "%", "SpO2 at rest, % 101 % is outside the plausible range 50-100 %"),
        ("glucose", "-1", "mmol/L", "(a negative value is impossible)"),
    ],
)
def test_range_errors_in_the_users_unit(tmp_path: Path, variable: str, value: str, unit: str, shown: str) -> None:
    issues = [i for i in validate_path(_study_with(tmp_path, (variable, value, unit))).issues if i.rule == "range"]
    assert len(issues) == 1 and issues[0].column == "value"
    assert shown in issues[0].message


def test_undeclared_variable_is_an_error_that_says_how_to_declare_it(tmp_path: Path) -> None:
    report = validate_path(_study_with(tmp_path, ("kl6x", "950", "U/mL")))
    (issue,) = report.errors
    assert (issue.rule, issue.column, issue.value, issue.row) == ("unknown_variable", "variable", "kl6x", 9)
    assert "pass it with --plan: variables: [{code: kl6x, label: kl6x, unit: U/mL, units: {U/mL: 1}" in issue.message


def test_declared_variable_is_accepted_converted_and_range_checked(tmp_path: Path) -> None:
    catalogue = plan_from_dict({"variables": [KL6X]}).variable_catalogue
    path = _study_with(tmp_path, ("kl6x", "0.95", "kU/L"), ("KL6X", "60000", "U/mL"))
    issues = validate_path(path, variables=catalogue).issues
    assert [(i.rule, i.row) for i in issues] == [("range", 10)]
    assert "KL-6 60000 U/mL is outside the plausible range 0-50000 U/mL" in issues[0].message
    ok = _study_with(tmp_path / "ok", ("kl6x", "0.95", "kU/L"))
    m = load_study(ok, variables=catalogue).measurements
    row = m[m["variable"] == "kl6x"].iloc[0]
    assert (row["value"], row["unit"]) == (pytest.approx(950.0), "U/mL")  # 0.95 x the plan's factor 1000


def test_declared_integer_variable_rejects_fractions(tmp_path: Path) -> None:
    spec = {"code": "borg", "label": "Borg dyspnoea", "unit": "points", "range": [0, 10], "integer": True}
    catalogue = plan_from_dict({"variables": [spec]}).variable_catalogue
    issues = validate_path(_study_with(tmp_path, ("borg", "2.5", "points")), variables=catalogue).issues
    assert [(i.rule, i.column) for i in issues] == [("type", "value")]


def test_cli_validate_takes_the_plans_variables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _study_with(tmp_path, ("kl6x", "950", "U/mL"))
    assert main(["validate", str(path)]) == 1
    assert "declare it in the analysis plan" in capsys.readouterr().out
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "variables: [{code: kl6x, label: KL-6, unit: U/mL, units: {U/mL: 1, kU/L: 1000}, range: [0, 50000], "
        "integer: false}]\n",
        encoding="utf-8",
    )
    assert main(["validate", str(path), "--plan", str(plan)]) == 0


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({**KL6X, "code": "crp"}, "variables[0].code: 'crp' is already a built-in variable"),
        ({**KL6X, "range": [5, 1]}, "range [5, 1] must be two numbers, low < high"),
        ({**KL6X, "units": {"kU/L": -1}}, "factor -1"),
        ({k: v for k, v in KL6X.items() if k != "range"}, "variables[0].range"),
        ({**KL6X, "colour": "red"}, "variables[0].colour: unknown key"),
    ],
)
def test_bad_plan_variables_name_the_key(spec: dict, message: str) -> None:
    from ipafstudy.errors import InvalidOptionError

    with pytest.raises(InvalidOptionError) as info:
        plan_from_dict({"variables": [spec]})
    assert message in str(info.value)
