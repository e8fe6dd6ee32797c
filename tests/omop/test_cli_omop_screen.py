"""``ipafstudy omop screen``: outputs, run record, refusal to overwrite, bad input, plan and concept files, and the
synthetic CDM's truth file equal to the screen."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from tests.omop.cdm_builder import CdmBuilder

from ipafstudy.cli import main
from ipafstudy.fileio import sha256_file
from ipafstudy.rules.ipaf import IpafInput

YES = {"alternative_etiology_excluded": True, "defined_ctd": False}


def small_cdm(path: Path) -> Path:
    """Four persons: IPAF on tacrolimus 200 days, IPAF on mycophenolate, indeterminate, and no ILD."""
    builder = CdmBuilder()
    builder.ipaf(IpafInput("1", interstitial_pneumonia=True, raynaud=True, hrct_pattern="nsip", **YES))
    builder.ipaf(IpafInput("2", interstitial_pneumonia=True, gottron_sign=True, biopsy_pattern="op", **YES))
    builder.ipaf(IpafInput("3", interstitial_pneumonia=True, raynaud=True, **YES))
    builder.ipaf(IpafInput("4", interstitial_pneumonia=False, raynaud=True, hrct_pattern="nsip", **YES))
    builder.drug(1, builder.by_set["tacrolimus"], dt.date(2021, 1, 1), dt.date(2021, 7, 19))
    builder.drug(2, builder.by_set["mycophenolate"], dt.date(2021, 1, 1), dt.date(2021, 2, 1))
    return builder.write(path)


def read_candidates(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "candidates.csv", dtype=str, keep_default_na=False)


def test_screen_writes_candidates_flow_and_run_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = small_cdm(tmp_path / "cdm.duckdb")
    before = sha256_file(db)
    out = tmp_path / "out"
    assert main(["omop", "screen", str(db), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["candidates.csv", "flow.json", "run.json"]
    printed = capsys.readouterr().out
    assert "No interstitial lung disease: 1 removed (4 -> 3)" in printed
    cand = read_candidates(out)
    assert list(cand["person_id"]) == ["1", "2", "3"]
    assert list(cand["status"]) == ["ipaf", "ipaf", "indeterminate"]
    assert list(cand["step"]) == ["eligible", "no_tacrolimus", "not_ipaf"]
    first = cand.iloc[0]
    assert first["drug_start"] == "2021-01-01" and first["drug_days"] == "200" and first["age_at_start"] == "60"
    assert first["morphologic_hrct_pattern"] == "yes" and first["morphologic_hrct_pattern_value"] == "nsip"
    assert first["clinical_raynaud_date"] == "2020-01-01" and first["clinical_raynaud_value"] == "yes"
    assert first["serologic_ana"] == "unknown" and first["serologic_ana_concept_id"] == ""
    flow = json.loads((out / "flow.json").read_text())
    steps = {s["key"]: s for s in flow["steps"]}
    assert steps["persons"]["n"] == 4 and steps["eligible"]["n"] == 1
    for key in ("not_ipaf", "no_tacrolimus", "under_age", "short_exposure"):
        assert steps[key]["n_removed"] == int((cand["step"] == key).sum()), key
    assert [b["n"] for b in steps["not_ipaf"]["breakdown"]] == [0, 0, 1]
    record = json.loads((out / "run.json").read_text())
    assert record["inputs"]["database"] == {"db": str(db), "kind": "duckdb", "sha256": before}
    assert record["outputs"] == {n: sha256_file(out / n) for n in ("candidates.csv", "flow.json")}
    assert record["settings"]["missing_feature_means"] == "unknown"
    assert record["data_cutoff_date_used"] == "2024-12-31"
    assert {"ipafstudy", "ibis-framework", "duckdb", "backend"} <= set(record["versions"])
    assert sha256_file(db) == before  # the input is never modified


def test_refuses_non_empty_out_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = small_cdm(tmp_path / "cdm.duckdb")
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert main(["omop", "screen", str(db), "--out", str(out)]) == 1
    assert "not empty" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert main(["omop", "screen", str(db), "--out", str(out), "--force"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["candidates.csv", "flow.json", "notes.txt", "run.json"]
    assert (out / "notes.txt").read_text() == "keep me"


def test_missing_tables_and_columns_one_message_nothing_written(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    db = small_cdm(tmp_path / "cdm.duckdb")
    con = duckdb.connect(str(db))
    con.execute("DROP TABLE measurement")
    con.execute("ALTER TABLE observation DROP COLUMN value_as_concept_id")
    con.close()
    out = tmp_path / "out"
    assert main(["omop", "screen", str(db), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "table measurement is missing" in err and "observation.value_as_concept_id" in err
    assert not out.exists()
    assert main(["omop", "screen", str(tmp_path / "nope.duckdb"), "--out", str(out)]) == 1
    assert "nope.duckdb" in capsys.readouterr().err and not out.exists()


def test_plan_settings_and_drug(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = small_cdm(tmp_path / "cdm.duckdb")
    plan = tmp_path / "plan.yaml"
    plan.write_text("clinical:\n  missing_feature_means: absent\n  min_exposure_days: 30\n"
                    "exposure:\n  drug: mycophenolate\n  names: [mycophenolate]\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["omop", "screen", str(db), "--out", str(out), "--plan", str(plan)]) == 0
    cand = read_candidates(out)
    assert list(cand["status"]) == ["ipaf", "ipaf", "not_ipaf"]  # unknown items read as absent
    assert list(cand["step"]) == ["no_tacrolimus", "eligible", "not_ipaf"]  # the plan's drug, 32 days >= 30
    record = json.loads((out / "run.json").read_text())
    assert record["settings"]["missing_feature_means"] == "absent"
    assert record["drug"]["concept_set_drug"] == "mycophenolate"
    assert record["inputs"]["plan"]["sha256"] == sha256_file(plan)
    assert "No mycophenolate" in capsys.readouterr().out

    plan.write_text("exposure:\n  drug: unobtainium\n  names: [unobtainium]\n", encoding="utf-8")
    assert main(["omop", "screen", str(db), "--out", str(tmp_path / "out2"), "--plan", str(plan)]) == 1
    assert "unobtainium" in capsys.readouterr().err and not (tmp_path / "out2").exists()


def test_extra_concepts_add_a_local_ild_code(tmp_path: Path) -> None:
    builder = CdmBuilder()
    local = builder.concept("MYSITE", "ILD-9", "Site ILD code", "Condition", 2_100_000_001)
    builder.rows["concept_ancestor"].append({"ancestor_concept_id": local, "descendant_concept_id": local,
                                             "min_levels_of_separation": 0, "max_levels_of_separation": 0})
    builder.person(1)
    builder.condition(1, local, dt.date(2020, 1, 1))
    db = builder.write(tmp_path / "cdm.duckdb")
    assert main(["omop", "screen", str(db), "--out", str(tmp_path / "a")]) == 0
    assert read_candidates(tmp_path / "a").empty
    extra = tmp_path / "extra.yaml"
    extra.write_text("format: 1\nconcept_sets:\n  interstitial_pneumonia:\n    codes:\n"
                     "      - {vocabulary_id: MYSITE, code: ILD-9, name: Site ILD code}\n", encoding="utf-8")
    assert main(["omop", "screen", str(db), "--out", str(tmp_path / "b"), "--concepts", str(extra)]) == 0
    cand = read_candidates(tmp_path / "b")
    assert list(cand["person_id"]) == ["1"]
    assert cand.loc[0, "entry_interstitial_pneumonia_concept_id"] == str(local)
    record = json.loads((tmp_path / "b" / "run.json").read_text())
    assert record["inputs"]["concepts"]["sha256"] == sha256_file(extra)


def test_omop_without_subcommand_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["omop"]) == 0
    assert "screen" in capsys.readouterr().out


def test_synthetic_cdm_truth_equals_the_screen(tmp_path: Path) -> None:
    """omop.synth's truth file (computed with classify_ipaf on the planted facts) equals the screen."""
    from ipafstudy.omop.synth import truth_frame, truth_path, write_synthetic_cdm

    db = write_synthetic_cdm(tmp_path / "synth.duckdb", 1500, seed=11)
    truth = truth_frame(json.loads(truth_path(db).read_text()))
    out = tmp_path / "out"
    assert main(["omop", "screen", str(db), "--out", str(out)]) == 0
    cand = read_candidates(out).set_index("person_id")
    cand.index = cand.index.astype(int)
    ild = truth[truth["ild"].astype(bool)]
    assert sorted(cand.index) == sorted(ild.index)
    assert len(cand) > 50 and set(cand["status"]) == {"ipaf", "not_ipaf", "indeterminate"}
    columns = ["status", "combination", "entry_interstitial_pneumonia", "entry_alternative_etiology_excluded",
               "entry_no_defined_ctd", "domain_clinical", "domain_serologic", "domain_morphologic"]
    got, want = cand.loc[ild.index, columns], ild[columns].fillna("")
    assert (got == want).all().all(), got[(got != want).any(axis=1)].join(want, rsuffix="_truth").head()
    exposed = cand.loc[ild.index, "drug_exposed"] == "yes"
    assert (exposed == ild["tacrolimus_exposed"].astype(bool)).all()
    starts = ild.loc[exposed, "tacrolimus_first_start"].astype(str)
    assert (cand.loc[starts.index, "drug_start"] == starts).all()
    # end and days by the study rule (cohort.exposure: first continuous run, capped at the cut-off)
    ends = ild.loc[exposed, "tacrolimus_end"].astype(str)
    assert (cand.loc[ends.index, "drug_end"] == ends).all()
    days = ild.loc[exposed, "tacrolimus_exposure_days"].astype(int).astype(str)
    assert (cand.loc[days.index, "drug_days"] == days).all()
    assert (cand.loc[exposed[exposed].index, "drug_courses"].astype(int) > 1).any()  # joined or gapped courses
    # the items met, named as the truth names them (domain.item)
    items = [c for c in cand.columns if c.startswith(("clinical_", "serologic_", "morphologic_"))
             and not c.endswith(("_concept_id", "_date", "_value"))]
    met = cand[items].eq("yes").apply(lambda r: {c.replace("_", ".", 1) for c in items if r[c]}, axis=1)
    assert (met.loc[ild.index] == ild["items_met"].map(lambda s: set(filter(None, s.split(";"))))).all()
    # the other missing_feature_means: the truth's status_missing_absent
    plan = tmp_path / "absent.yaml"
    plan.write_text("clinical:\n  missing_feature_means: absent\n", encoding="utf-8")
    assert main(["omop", "screen", str(db), "--out", str(tmp_path / "absent"), "--plan", str(plan)]) == 0
    absent = read_candidates(tmp_path / "absent").set_index("person_id")
    absent.index = absent.index.astype(int)
    assert (absent.loc[ild.index, "status"] == ild["status_missing_absent"]).all()
    assert (absent["status"] != cand["status"]).any()  # the setting changes verdicts in this CDM


def test_csv_bytes_equals_fileio_csv_text() -> None:
    """screen.csv_bytes (Arrow) writes exactly what fileio.csv_text (pandas) writes, escaping included."""
    import pyarrow as pa

    from ipafstudy.fileio import csv_text
    from ipafstudy.omop.screen import csv_bytes

    cells = ["plain", "a, b", 'say "x"', "two\nlines", "=SUM(A1)", "-1.5", "+cmd", "", "@x", "tab\tin", "\rcr",
             "-2+3+cmd|' /C calc'!A0", "ünïcode"]
    table = pa.table({"text": cells, "ids": [str(i) for i in range(len(cells))]})
    assert csv_bytes(table) == csv_text(table.to_pandas()).encode("utf-8")
    assert csv_bytes(table, frozenset({"ids"})) == csv_text(table.to_pandas()).encode("utf-8")
    empty = table.slice(0, 0)
    assert csv_bytes(empty) == csv_text(empty.to_pandas()).encode("utf-8")
