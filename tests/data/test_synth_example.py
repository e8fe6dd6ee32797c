"""The worked example ``mmf-fvc`` (issue 11 item 8): determinism, validity, the files' content and the truth.

The file checks read the written CSVs with plain pandas; the truth checks compare the generator's intentions
(generator_truth.json) with what the pipeline makes of the files under the example's own plan, so a generator
bug and a pipeline bug cannot hide behind each other.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ipafstudy.analysis.examples import EXAMPLE_PLANS, example_plan, example_plan_yaml
from ipafstudy.analysis.plan import load_plan
from ipafstudy.analysis.plancheck import StudyData
from ipafstudy.cli import main as cli_main
from ipafstudy.data import synth
from ipafstudy.data.loaders import load_study, validate_path
from ipafstudy.data.synth.mmf_fvc import EXPOSURE_NAMES, MMF_NAMES
from ipafstudy.errors import InvalidOptionError
from ipafstudy.rules.drugs import DrugMatcher

EXAMPLE = "mmf-fvc"


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mmf") / "data"
    assert cli_main(["synth", "--example", EXAMPLE, "--out", str(folder)]) == 0
    return folder


@pytest.fixture(scope="module")
def truth(written: Path) -> dict:
    return json.loads((written / "generator_truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tables(written: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(written / f"{name}.csv", dtype=str, keep_default_na=False)
            for name in ("patients", "treatments", "measurements", "hrct_reads", "adverse_events")}


@pytest.fixture(scope="module")
def cohort(written: Path):
    plan = load_plan(written / "analysis_plan.yaml")
    study = load_study(written, variables=plan.variable_catalogue)
    return StudyData(plan, study).cohort  # built as analyze builds it from the plan


# ---- determinism and the command line


def test_same_seed_same_bytes_other_seed_other_bytes(written: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert cli_main(["synth", "--example", EXAMPLE, "--out", str(again)]) == 0
    names = sorted(p.name for p in written.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    assert names == sorted(["analysis_plan.yaml", "generator_truth.json", "patients.csv", "antibodies.csv",
                            "treatments.csv", "measurements.csv", "hrct_reads.csv", "adverse_events.csv"])
    for name in names:
        assert (written / name).read_bytes() == (again / name).read_bytes(), name
    other = synth.cohort_files(synth.generate_example(EXAMPLE, seed=7))
    assert other["measurements.csv"] != (written / "measurements.csv").read_bytes()
    assert synth.cohort_files(synth.generate_example(EXAMPLE, seed=7)) == other


def test_example_differs_from_the_default_cohort(written: Path) -> None:
    default = synth.cohort_files(synth.generate_cohort(n_screened=40))
    assert default["treatments.csv"] != (written / "treatments.csv").read_bytes()
    assert b"tacrolimus" not in (written / "measurements.csv").read_bytes()


def test_synth_help_lists_the_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli_main(["synth", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "--example" in text and "mmf-fvc: mycophenolate (MMF) in IPAF" in text
    assert "ipafstudy synth --example mmf-fvc --out" in text


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--bundled"], "--bundled and --example"), (["--sites", "2"], "--sites and --open-hrct-flags"),
     (["--open-hrct-flags", "1"], "--sites and --open-hrct-flags"), (["--seed", "-1"], "seed=-1"),
     (["--n-screened", "0"], "n_screened=0")],
)
def test_bad_example_options_are_refused_and_nothing_is_written(
    extra: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert cli_main(["synth", "--example", EXAMPLE, "--out", str(out), *extra]) == 1
    assert message in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


def test_unknown_example_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli_main(["synth", "--example", "nope", "--out", str(tmp_path / "x")])
    assert "mmf-fvc" in capsys.readouterr().err
    with pytest.raises(InvalidOptionError, match="unknown example 'nope'; examples are: mmf-fvc"):
        synth.generate_example("nope")


def test_non_empty_folder_is_refused_unless_force(written: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert cli_main(["synth", "--example", EXAMPLE, "--out", str(out)]) == 1
    assert "--force" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert cli_main(["synth", "--example", EXAMPLE, "--out", str(out), "--force"]) == 0
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "patients.csv").read_bytes() == (written / "patients.csv").read_bytes()


@pytest.mark.parametrize("n", [1, 2, 12])
def test_small_screens_generate_and_validate(n: int, tmp_path: Path) -> None:
    cohort = synth.generate_example(EXAMPLE, n_screened=n, seed=3)
    assert cohort.truth["n_screened"] == n == len(cohort.tables["patients"])
    synth.write_cohort(cohort, tmp_path / "d")
    report = validate_path(tmp_path / "d", variables=example_plan(EXAMPLE).variable_catalogue)
    assert list(report.errors) == []


# ---- the written files are valid and look like the study the issue describes


def test_validate_passes_with_the_example_plan_and_names_the_declared_variable_without_it(
    written: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["validate", str(written), "--plan", str(written / "analysis_plan.yaml")]) == 0
    assert "0 error(s), 0 warning(s)" in capsys.readouterr().out
    report = validate_path(written)  # without the plan, LDH is not a known variable
    assert list(report.errors) and {i.rule for i in report.errors} == {"unknown_variable"}
    assert {i.value for i in report.errors} == {"ldh"}
    assert "variables: [{code: ldh" in report.errors[0].message


def test_plan_check_with_the_data_finds_no_problem(written: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = str(written / "analysis_plan.yaml")
    assert cli_main(["plan", "--check", plan, "--data", str(written)]) == 0
    text = capsys.readouterr().out
    assert "valid analysis plan (outcomes: fvc_ml, fvc_pct_pred, dlco_pct_pred, six_mwd_m, ldh, hrct_total; " \
        "primary: fvc_ml" in text


def test_the_written_plan_is_the_example_plan_and_prints_every_value(written: Path) -> None:
    text = (written / "analysis_plan.yaml").read_text(encoding="utf-8")
    assert text == example_plan_yaml(EXAMPLE)
    assert load_plan(written / "analysis_plan.yaml").to_dict() == example_plan(EXAMPLE).to_dict()
    data = yaml.safe_load(text)
    assert data["exposure"]["drug"] == "mycophenolate"
    assert str(data["clinical"]["data_cutoff_date"]) == "2025-09-30"  # the plan's own value, not the default
    assert data["timepoints"]["follow_up"] == {"rule": "landmarks", "months": [6, 12], "window_days": 45,
                                               "analysis_month": None}
    better = {o["code"]: o["better"] for o in data["outcomes"]}  # filled in from the catalogue and the declaration
    assert better == {"fvc_ml": "higher", "fvc_pct_pred": "higher", "dlco_pct_pred": "higher", "six_mwd_m": "higher",
                      "ldh": "lower", "hrct_total": "lower"}
    assert text.count("# ") > 40  # every key has its description


def test_treatments_name_mycophenolate_six_ways_with_distractors(tables: dict[str, pd.DataFrame]) -> None:
    tr = tables["treatments"]
    matcher = DrugMatcher("mycophenolate", EXPOSURE_NAMES, "mycophenolate")
    mmf = tr[tr["drug"].map(matcher.matches)]
    assert set(mmf["drug"]) == set(MMF_NAMES)
    assert set(EXPOSURE_NAMES) <= set(EXAMPLE_PLANS[EXAMPLE]["exposure"]["names"])
    others = set(tr.loc[~tr["drug"].map(matcher.matches), "drug"])
    assert {"prednisolone", "hydroxychloroquine", "azathioprine", "tacrolimus 0.1% ointment"} <= others
    assert set(tr.loc[tr["drug"] == "tacrolimus 0.1% ointment", "route"]) == {"topical"}
    assert (mmf["route"] == "").sum() == 1  # one course without a route (counts, with a warning)
    myfortic = mmf[mmf["drug"].isin(["Myfortic", "mycophenolic acid"])]
    assert set(myfortic["dose"]) == {"1440"}


def test_visits_every_three_months_with_the_lung_function_variables(
    tables: dict[str, pd.DataFrame], truth: dict
) -> None:
    m = tables["measurements"]
    assert {"fvc_ml", "FVC", "fvc_pct_pred", "dlco_pct_pred", "six_mwd_m", "ldh", "neutrophils", "alt"} == set(
        m["variable"])
    assert set(m.loc[m["variable"] == "FVC", "unit"]) == {"L"}
    assert set(m.loc[m["variable"] == "fvc_ml", "unit"]) == {"mL"}
    fvc = m[m["variable"] == "fvc_pct_pred"].copy()
    fvc["date"] = pd.to_datetime(fvc["date"])
    gaps = []
    for pid in truth["analysed_ids"]:
        start = pd.Timestamp(truth["patients"][pid]["mmf_start"])
        dates = sorted(fvc.loc[(fvc["patient_id"] == pid) & (fvc["date"] > start), "date"])
        gaps += [(b - a).days for a, b in itertools.pairwise(dates)]
    gaps_s = pd.Series(gaps)
    assert 85 <= gaps_s.median() <= 97
    assert (gaps_s >= 150).sum() > 0  # missed visits
    # realistic missingness: fewer DLCO and 6MWD than spirometry visits
    per_var = m.groupby("variable").size()
    assert per_var["dlco_pct_pred"] < per_var["fvc_pct_pred"]
    assert per_var["six_mwd_m"] < 0.75 * per_var["fvc_pct_pred"]


def test_hrct_two_readers_per_scan_and_an_adjudicator_only_where_flagged(
    tables: dict[str, pd.DataFrame], truth: dict
) -> None:
    h = tables["hrct_reads"]
    per_scan = h.groupby(["patient_id", "scan_date", "reader_role"]).size().unstack(fill_value=0)
    assert (per_scan["reader1"] == 6).all() and (per_scan["reader2"] == 6).all()
    assert per_scan["adjudicator"].sum() == truth["hrct_flags"] > 0
    for pid in truth["analysed_ids"]:
        t = truth["patients"][pid]
        scans = sorted(h.loc[h["patient_id"] == pid, "scan_date"].unique())
        assert scans == sorted([t["baseline_scan"], t["follow_up_scan"]])
        days = (dt.date.fromisoformat(t["follow_up_scan"]) - dt.date.fromisoformat(t["mmf_start"])).days
        ongoing_a_year = t["mmf_end"] is None or (dt.date.fromisoformat(t["mmf_end"])
                                                   - dt.date.fromisoformat(t["mmf_start"])).days >= 387
        if ongoing_a_year and dt.date.fromisoformat(t["mmf_start"]) < dt.date(2024, 9, 1):
            assert 351 <= days <= 386, pid  # the 12-month scan


def test_screened_out_patients_of_every_kind(truth: dict) -> None:
    removed = truth["flow_removed"]
    assert removed == {"not_ipaf": 65, "no_tacrolimus": 12, "under_age": 2, "short_exposure": 5, "no_baseline": 3,
                       "no_follow_up": 3, "analysed": 60}
    assert sum(removed.values()) == truth["n_screened"] == 150
    assert len(truth["analysed_ids"]) == 60


# ---- the pipeline, run with the example's plan, finds what the generator intended


def test_pipeline_analyses_exactly_the_intended_patients(cohort, truth: dict) -> None:
    assert list(cohort.analysed_ids) == truth["analysed_ids"]
    sc = cohort.screening.set_index("patient_id")
    got = {pid: ("analysed" if pd.isna(sc.at[pid, "exclusion_step"]) else sc.at[pid, "exclusion_step"])
           for pid in truth["patients"]}
    assert got == {pid: t["flow_step"] for pid, t in truth["patients"].items()}


def test_exposure_is_the_mycophenolate_course_never_the_ointment(cohort, truth: dict) -> None:
    for pid, t in truth["patients"].items():
        if "mmf_start" not in t:
            assert not cohort.exposures[pid].exposed, pid
            continue
        exp = cohort.exposures[pid]
        assert exp.start.isoformat() == t["mmf_start"], pid
        assert exp.n_courses_joined == 1, pid
        if t["mmf_end"] is not None:
            assert exp.end.isoformat() == t["mmf_end"], pid
    warned = sorted(pid for pid, t in truth["patients"].items() if t.get("route_missing"))
    assert len(warned) == 1 and len(cohort.exposure_warnings) == 1 and warned[0] in cohort.exposure_warnings[0]


def test_concomitant_prednisolone_at_start_equals_truth(cohort, truth: dict) -> None:
    cov = cohort.covariates.set_index("patient_id")
    got = {pid: bool(cov.at[pid, "concomitant_prednisolone"]) for pid in cohort.analysed_ids}
    assert got == {pid: truth["patients"][pid]["concomitant_prednisolone"] for pid in cohort.analysed_ids}
    assert 0 < sum(got.values()) < len(got)


def test_baseline_fvc_is_the_generated_baseline_visit(tables: dict[str, pd.DataFrame], truth: dict) -> None:
    m = tables["measurements"]
    for pid in truth["analysed_ids"]:
        t = truth["patients"][pid]
        start = dt.date.fromisoformat(t["mmf_start"])
        rows = m[(m["patient_id"] == pid) & (m["variable"] == "fvc_pct_pred")]
        in_window = [(d, v) for d, v in zip(rows["date"], rows["value"], strict=True)
                     if 0 <= (start - dt.date.fromisoformat(d)).days <= 90]
        assert len(in_window) == 1, pid
        assert in_window[0] == (t["baseline_visit"], str(t["baseline"]["fvc_pct_pred"]))


def test_plan_example_prints_the_example_plan(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["plan", "--example", EXAMPLE]) == 0
    text = capsys.readouterr().out
    assert text == example_plan_yaml(EXAMPLE)
    assert text.startswith("# ipafstudy analysis plan of the worked example 'mmf-fvc'")
    assert yaml.safe_load(text)["concomitant"][0]["code"] == "prednisolone"
    with pytest.raises(SystemExit):
        cli_main(["plan", "--example", "nope"])
    with pytest.raises(InvalidOptionError, match="unknown example"):
        example_plan("nope")


def test_every_analysed_patient_has_fvc_at_the_6_or_12_month_landmark(
    tables: dict[str, pd.DataFrame], truth: dict
) -> None:
    """So the analysed set is the same under a landmarks plan (6 and 12 months, +/- 45 days, on treatment)."""
    m = tables["measurements"]
    fvc = m[m["variable"] == "fvc_pct_pred"]
    hits = {6: 0, 12: 0}
    for pid in truth["analysed_ids"]:
        t = truth["patients"][pid]
        start = pd.Timestamp(t["mmf_start"])
        end = pd.Timestamp(t["mmf_end"] or truth["data_cutoff_date"])
        dates = pd.to_datetime(fvc.loc[fvc["patient_id"] == pid, "date"])
        found = []
        for months in (6, 12):
            mark = start + pd.DateOffset(months=months)
            if ((dates - mark).abs().dt.days.le(45) & dates.gt(start) & dates.le(end)).any():
                found.append(months)
                hits[months] += 1
        assert found, pid
        if t.get("situation") == "missed_6_month_visit":
            assert found == [12], pid
    assert hits[6] == len(truth["analysed_ids"]) - 1 and 0 < hits[12] < hits[6]
