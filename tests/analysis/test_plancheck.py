"""Plan problems (issue 11, "Bad input"): every problem at once, each with its plan key, exit 1, nothing written."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from ipafstudy.analysis.plan import AnalysisPlan, plan_from_dict
from ipafstudy.analysis.plancheck import (
    PlanProblem,
    PlanProblemsError,
    StudyData,
    check_plan_mapping,
    check_with_data,
    data_problems,
    loc_key,
    plan_check,
)
from ipafstudy.cli import main
from ipafstudy.data.loaders import load_study
from ipafstudy.data.synth import copy_bundled


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bundled")
    copy_bundled(folder)
    return folder


@pytest.fixture(scope="module")
def study(bundled: Path):
    return load_study(bundled)


def _keys(problems) -> list[str]:
    return [p.key for p in problems]


def _write(tmp_path: Path, plan: dict) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan), encoding="utf-8")
    return path


# Static problems: one per section, from pydantic field errors and from the registered cross-section checks.
SEVERAL_STATIC = {
    "statistics": {"seed": -1, "quantile_method": "sas"},               # two field errors in one section
    "primary_outcome": "fev1",                                         # cross-section: not an outcome
    "regression": {"predictors": ["bmi", "ever_smoker", "weight"]},    # two unknown variables, with their index
    "figures": {"box_plot_outcomes": ["esr", "ldh"]},
    "clinical": {"min_age": "adult"},
}


def test_every_static_problem_at_once_with_its_key():
    checked = check_plan_mapping(SEVERAL_STATIC)
    assert _keys(checked.problems) == [
        "primary_outcome", "regression.predictors[0]", "regression.predictors[2]", "statistics.quantile_method",
        "statistics.seed", "figures.box_plot_outcomes[1]", "clinical.min_age",
    ]
    by_key = {p.key: p.message for p in checked.problems}
    assert "'bmi' is not a known variable" in by_key["regression.predictors[0]"]
    assert "'weight' is not a known variable" in by_key["regression.predictors[2]"]
    assert "'ldh' is not among the plan's outcomes" in by_key["figures.box_plot_outcomes[1]"]
    # the strict path (analyze without the CLI, python users) raises the same list at once
    with pytest.raises(PlanProblemsError) as info:
        plan_from_dict(SEVERAL_STATIC, source="'p.yaml'")
    assert _keys(info.value.problems) == _keys(checked.problems)
    assert str(info.value).startswith("invalid analysis plan 'p.yaml' (7 problems):\n  primary_outcome: 'fev1'")


def test_a_field_error_does_not_hide_the_checks_of_other_sections():
    # statistics has a field error (replaced by its default while checking); regression still gets its check
    checked = check_plan_mapping({"statistics": {"seed": "x"}, "regression": {"predictors": ["bmi"]}})
    assert _keys(checked.problems) == ["regression.predictors[0]", "statistics.seed"]
    assert checked.replaced == {"statistics"}
    # outcomes has a field error: the checks reading outcomes do not run, so the bad outcome is reported once,
    # not again as "primary_outcome is not an outcome" or "regression.outcome is not a known variable"
    checked = check_plan_mapping({"outcomes": [{"code": "esr", "better": "up"}], "primary_outcome": "esr",
                                  "regression": {"outcome": "esr_change", "predictors": ["bmi"]}})
    assert _keys(checked.problems) == ["outcomes[0].better"]


def test_each_static_kind_alone():
    assert _keys(check_plan_mapping({"regression": {"predictors": ["bmi"]}}).problems) == ["regression.predictors[0]"]
    assert _keys(check_plan_mapping({"regression": {"outcome": "bmi"}}).problems) == ["regression.outcome"]
    assert _keys(check_plan_mapping({"correlation": {"outcomes": ["esr"]}}).problems) == ["correlation.outcomes"]
    assert _keys(check_plan_mapping({"clinical": {"nope": 1}}).problems) == ["clinical.nope"]
    assert _keys(check_plan_mapping({"concomitant": [{"code": "a", "names": ["x"]}, {"code": "a", "names": ["y"]}]}
                                    ).problems) == ["concomitant[1].code"]


def test_good_plans_have_no_problem(study):
    assert check_plan_mapping({}).problems == ()
    assert check_plan_mapping(yaml.safe_load(AnalysisPlan().model_dump_json())).problems == ()
    plan = AnalysisPlan()
    assert data_problems(plan, StudyData(plan, study)) == []


def test_loc_keys():
    assert loc_key(("outcomes", 1, "code")) == "outcomes[1].code"
    assert loc_key(("regression", "predictors", 2)) == "regression.predictors[2]"
    assert loc_key(()) == "(plan)"
    assert PlanProblem("regression.predictors[2]", "x").section == "regression"
    assert PlanProblem("table1[4]", "x").section == "table1"


def test_data_problem_drug_without_course(study):
    plan = plan_from_dict({"exposure": {"drug": "ciclosporin", "names": ["ciclosporin", "Neoral"]}})
    problems = data_problems(plan, StudyData(plan, study))
    assert _keys(problems) == ["exposure.names"]
    assert "no treatments row matches the drug 'ciclosporin'" in problems[0].message


def test_data_problem_subgroup_with_one_level(study):
    # the bundled patients are MSA or MAA: a plan comparing MSA with a group nobody is in has one level
    plan = plan_from_dict({"subgroup": {"groups": ["MSA", "ASS"], "labels": {"MSA": "MSA", "ASS": "ASS"}}})
    problems = data_problems(plan, StudyData(plan, study))
    assert _keys(problems) == ["subgroup.variable"]
    assert "1 level ('MSA') of 'antibody_group'" in problems[0].message
    # the default plan's implicit subgroup is not judged (a small cohort without antibody groups still runs)
    assert data_problems(AnalysisPlan(), StudyData(AnalysisPlan(), study)) == []  # (bundled: two groups anyway)


def test_static_and_data_problems_together(study):
    plan_data = {**SEVERAL_STATIC, "exposure": {"drug": "ciclosporin", "names": ["ciclosporin"]},
                 "subgroup": {"variable": "antibody_group"}}
    checked = check_plan_mapping(plan_data)
    problems, notes = check_with_data(checked, lambda _plan: study)
    # clinical has a problem: the records are loaded with the clinical settings, so no data check runs
    assert "exposure.names" not in _keys(problems) and "data checks did not run" in notes[0]
    del plan_data["clinical"]
    problems, notes = check_with_data(check_plan_mapping(plan_data), lambda _plan: study)
    assert _keys(problems) == [
        "primary_outcome", "regression.predictors[0]", "regression.predictors[2]", "statistics.quantile_method",
        "statistics.seed", "figures.box_plot_outcomes[1]", "exposure.names",
    ]
    # the cohort is built from primary_outcome, so the subgroup check (it needs the cohort) says it could not run
    assert notes == ["1 data check(s) could not run: they need the cohort, built from plan keys with a problem "
                     "(primary_outcome); fix the problems above and check again"]
    del plan_data["primary_outcome"]
    problems, notes = check_with_data(check_plan_mapping(plan_data), lambda _plan: study)
    assert "exposure.names" in _keys(problems)
    # nobody is exposed, so the subgroup check (it needs analysed patients) says it could not run
    assert notes == ["1 data check(s) could not run: they need the analysed patients and no patient is analysed; "
                     "fix the problems above and check again"]


def test_a_registered_check_runs_and_is_skipped_when_its_section_was_replaced():
    from ipafstudy.analysis import plancheck

    @plan_check("title")
    def _no_shouting(plan):
        if plan.title.isupper():
            yield "title", "please do not shout"

    try:
        assert _keys(check_plan_mapping({"title": "LOUD"}).problems) == ["title"]
        assert _keys(check_plan_mapping({"title": 5}).problems) == ["title"]  # the field error only
    finally:
        plancheck._PLAN_CHECKS.remove(next(c for c in plancheck._PLAN_CHECKS if c.fn is _no_shouting))


# --- the CLI: plan --check [--data], analyze ---------------------------------------------------------------------

CLI_PLAN = {
    "regression": {"predictors": ["bmi", "ever_smoker"]},
    "statistics": {"seed": -1},
    "exposure": {"drug": "ciclosporin", "names": ["ciclosporin"]},
}
CLI_KEYS = ["regression.predictors[0]", "statistics.seed", "exposure.names"]


def _listed(err: str) -> list[str]:
    return [line.strip().split(":", 1)[0] for line in err.splitlines()[1:] if line.startswith("  ")
            and not line.strip().startswith("note:")]


def test_plan_check_lists_static_problems_and_with_data_the_data_ones(tmp_path, bundled, capsys):
    path = _write(tmp_path, CLI_PLAN)
    assert main(["plan", "--check", str(path)]) == 1
    err = capsys.readouterr().err
    assert _listed(err) == CLI_KEYS[:2]
    assert main(["plan", "--check", str(path), "--data", str(bundled)]) == 1
    err = capsys.readouterr().err
    assert "(3 problems)" in err and _listed(err) == CLI_KEYS


def test_analyze_lists_every_problem_and_writes_nothing(tmp_path, bundled, capsys):
    path = _write(tmp_path, CLI_PLAN)
    out = tmp_path / "out"
    assert main(["analyze", str(bundled), "--out", str(out), "--plan", str(path), "--quiet"]) == 1
    assert _listed(capsys.readouterr().err) == CLI_KEYS
    assert not out.exists()
    # a data problem alone (the plan itself is valid) stops analyze the same way, before the folder exists
    path = _write(tmp_path, {"exposure": {"drug": "ciclosporin", "names": ["ciclosporin"]}})
    assert main(["analyze", str(bundled), "--out", str(out), "--plan", str(path), "--quiet"]) == 1
    assert _listed(capsys.readouterr().err) == ["exposure.names"]
    assert not out.exists()


def test_plan_check_good_plan(tmp_path, bundled, capsys):
    path = _write(tmp_path, {"statistics": {"seed": 7}})
    assert main(["plan", "--check", str(path), "--data", str(bundled)]) == 0
    assert "valid analysis plan" in capsys.readouterr().out
    assert main(["plan", "--default", "--data", str(bundled)]) == 1
    assert "--data goes with --check" in capsys.readouterr().err


def test_data_problem_outcome_never_measured(study):
    plan = plan_from_dict({"outcomes": [{"code": "crp"}, {"code": "fvc_ml"}, {"code": "hrct_ggo"}],
                           "primary_outcome": "crp", "correlation": {"outcomes": ["crp", "hrct_ggo"]},
                           "figures": {"box_plot_outcomes": ["crp"]},
                           "regression": {"outcome": "crp_change", "predictors": ["crp_baseline"]}})
    problems = data_problems(plan, StudyData(plan, study))
    assert _keys(problems) == ["outcomes[1].code"]  # the bundled records have CRP and HRCT reads, no FVC
    assert "'fvc_ml': no measurements row" in problems[0].message
    no_reads = dataclasses.replace(study, hrct_reads=study.hrct_reads.iloc[0:0])
    assert _keys(data_problems(plan, StudyData(plan, no_reads))) == ["outcomes[1].code", "outcomes[2].code"]


# The issue's kinds of bad input in one plan (the drug with no course is tested alone above: with no course nobody is
# exposed, so the checks that need analysed patients cannot run beside it).
ISSUE_PLAN = {
    "regression": {"predictors": ["bmi", "ever_smoker"]},        # unknown variable
    "table1": ["age_at_start", "smoker", "fvc_ml_baseline"],     # a row that is no variable; one the data lack
    "subgroup": {"variable": "site"},                            # the bundled patients are all from one site
}
ISSUE_KEYS = ["subgroup.variable", "regression.predictors[0]", "table1[1]", "table1[2]"]


@pytest.mark.parametrize("command", ["check", "analyze"])
def test_the_issues_bad_input_kinds_listed_at_once(tmp_path, bundled, capsys, command):
    path = _write(tmp_path, ISSUE_PLAN)
    out = tmp_path / "out"
    args = (["plan", "--check", str(path), "--data", str(bundled)] if command == "check"
            else ["analyze", str(bundled), "--out", str(out), "--plan", str(path), "--quiet"])
    assert main(args) == 1
    err = capsys.readouterr().err
    assert sorted(_listed(err)) == sorted(ISSUE_KEYS), err
    assert "1 level ('Centre A') of 'site'" in err and "'bmi' is not a known variable" in err
    assert "'smoker' is not a Table 1 variable" in err and "no 'fvc_ml' value" in err
    assert not out.exists()
