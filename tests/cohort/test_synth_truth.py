"""On the generated cohort, screening yields EXACTLY the fates the generator intended (generator_truth.json)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ipafstudy.cli import main
from ipafstudy.cohort.build import build_cohort
from ipafstudy.data.loaders import load_study
from ipafstudy.data.synth import generate_cohort, write_cohort

# generator fate -> flow step key (None = analysed)
FATE_TO_STEP = {
    "eligible": None,
    "not_ipaf": "not_ipaf",
    "no_tacrolimus": "no_tacrolimus",
    "under_min_age": "under_age",
    "short_exposure": "short_exposure",
    "no_baseline": "no_baseline",
    "no_follow_up": "no_follow_up",
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synth") / "data"
    synth = generate_cohort(seed=20250101)
    write_cohort(synth, folder)
    return folder, synth.truth, build_cohort(load_study(folder))


def test_every_patient_meets_its_intended_fate(generated):
    _, truth, cohort = generated
    sc = cohort.screening.set_index("patient_id")
    assert sorted(sc.index) == sorted(truth["patients"])
    wrong = {
        pid: (t["fate"], sc.at[pid, "exclusion_step"], sc.at[pid, "exclusion_reason"])
        for pid, t in truth["patients"].items()
        if FATE_TO_STEP[t["fate"]] != (None if pd.isna(sc.at[pid, "exclusion_step"]) else sc.at[pid, "exclusion_step"])
    }
    assert wrong == {}
    eligible = sorted(pid for pid, t in truth["patients"].items() if t["fate"] == "eligible")
    assert list(cohort.analysed_ids) == eligible


def test_flow_counts_equal_truth_counts(generated):
    _, truth, cohort = generated
    counts = {}
    for key, n in truth["fate_counts"].items():
        step = FATE_TO_STEP[key.split(":")[0]] or "analysed"
        counts[step] = counts.get(step, 0) + n
    flow = {s.key: (s.n_after if s.key == "analysed" else s.n_removed) for s in cohort.flow if s.key != "screened"}
    assert flow == {k: counts.get(k, 0) for k in flow}
    assert cohort.flow[0].n_after == truth["n_screened"]


def test_antibody_groups_equal_truth(generated):
    _, truth, cohort = generated
    cov = cohort.covariates.set_index("patient_id")
    got = {pid: cov.at[pid, "antibody_group"].lower() for pid in cohort.analysed_ids}
    assert got == {pid: truth["patients"][pid]["antibody_group"] for pid in cohort.analysed_ids}


def test_screen_cli_writes_outputs_and_refuses_non_empty(generated, tmp_path, capsys):
    folder, _, cohort = generated
    out = tmp_path / "screen"
    pid = cohort.analysed_ids[0]
    assert main(["screen", str(folder), "--out", str(out), "--patient", pid]) == 0
    text = capsys.readouterr().out
    assert "Analysed: n = 48" in text and f"Patient {pid}" in text
    for name in ("classification.csv", "screening.csv", "timepoints.csv", "flow.json", "adverse_events.csv",
                 "settings.json"):
        assert (out / name).is_file()
    flow = json.loads((out / "flow.json").read_text())
    assert [s["key"] for s in flow["steps"]][-1] == "analysed" and flow["steps"][-1]["n_after"] == 48
    assert main(["screen", str(folder), "--out", str(out)]) == 1  # non-empty without --force
    assert "--force" in capsys.readouterr().err
    assert main(["screen", str(folder), "--out", str(out), "--force"]) == 0


# ---- the situations the generator builds in (generator_truth.json), recovered exactly by the pipeline ----


def test_ipaf_status_matches_truth(generated):
    """Patients the model left undecidable are indeterminate, everyone else IPAF or not as intended."""
    _, truth, cohort = generated
    sc = cohort.screening.set_index("patient_id")
    indeterminate = sorted(p for p, t in truth["patients"].items() if t["not_ipaf_reason"] == "indeterminate")
    assert len(indeterminate) == 1
    assert sorted(sc.index[sc["ipaf_status"] == "indeterminate"]) == indeterminate
    expected = {p: "not_ipaf" if t["fate"] == "not_ipaf" else "ipaf" for p, t in truth["patients"].items()
                if p not in indeterminate}
    assert {p: sc.at[p, "ipaf_status"] for p in expected} == expected


def test_exposure_of_every_treated_patient_matches_truth(generated):
    """Joined (contiguous or overlapping) courses extend the exposure; a course after a gap is not used."""
    _, truth, cohort = generated
    treated = {p: t for p, t in truth["patients"].items() if "tacrolimus_start" in t}
    got = {
        p: (e.start.isoformat(), e.end.isoformat() if e.end and not e.ongoing else None, e.n_courses,
            e.n_courses_joined, e.n_courses_ignored)
        for p, e in cohort.exposures.items() if p in treated
    }
    want = {
        p: (t["tacrolimus_start"], t["tacrolimus_end"], t["tacrolimus_courses"], t["tacrolimus_courses_joined"],
            t["tacrolimus_courses_ignored"])
        for p, t in treated.items()
    }
    assert got == want
    situations = [t.get("situation") for t in treated.values()]
    for kind in ("contiguous_courses", "overlapping_courses", "rechallenge_after_gap"):
        assert situations.count(kind) == 2, kind


def test_open_flags_block_exactly_their_scans(generated):
    """The analysed patient's follow-up HRCT comes from the earlier scan; the no-follow-up patient has none."""
    _, truth, cohort = generated
    blocked = {p: t for p, t in truth["patients"].items() if "open_flag_scan" in t}
    assert {t["fate"] for t in blocked.values()} == {"eligible", "no_follow_up"}
    assert {(f["patient_id"], f["scan_date"]) for f in truth["open_hrct_flags"]} == {
        (p, t["open_flag_scan"]) for p, t in blocked.items()
    }
    values = cohort.values
    follow = values[(values["outcome"] == "hrct_total") & (values["timepoint"] == "follow_up")].set_index("patient_id")
    sc = cohort.screening.set_index("patient_id")
    for pid, t in blocked.items():
        if t["fate"] == "eligible":
            assert str(follow.at[pid, "date"])[:10] == t["follow_up_scan"] != t["open_flag_scan"]
        else:
            assert sc.at[pid, "exclusion_step"] == "no_follow_up"


def test_same_day_values_are_averaged_and_missing_outcomes_are_missing(generated):
    _, truth, cohort = generated
    values = cohort.values.set_index(["patient_id", "outcome", "timepoint"])
    n_same_day = n_missing = 0
    for pid, t in truth["patients"].items():
        for sd in t.get("same_day_values", []):
            n_same_day += 1
            timepoint = "baseline" if sd["date"] < t["tacrolimus_start"] else "follow_up"
            row = values.loc[(pid, sd["variable"], timepoint)]
            assert str(row["date"])[:10] == sd["date"]
            assert row["value"] == sum(sd["values"]) / len(sd["values"])
        for miss in t.get("missing_outcomes", []):
            n_missing += 1
            assert (pid, miss["outcome"], miss["timepoint"]) not in values.index
            assert (pid, miss["outcome"], "follow_up") in values.index
    assert n_same_day == 2 and n_missing == 2
    data = cohort.analysis_frame()
    assert data["mmrc_change"].notna().sum() == data["crp_change"].notna().sum() == len(cohort.analysed_ids) - 1


def test_lab_derived_events_are_exactly_the_unrecorded_ones(generated):
    """Lab-derived rows (hypomagnesaemia without a recorded row, the one AKI) are those the model left out."""
    _, truth, cohort = generated
    ae = cohort.adverse_events
    lab = ae[ae["source"] == "lab-derived"]
    got = sorted(zip(lab["patient_id"], lab["event"], lab["onset_date"].astype(str).str[:10], strict=True))
    want = sorted((p, e["event"], e["onset_date"]) for p, t in truth["patients"].items()
                  for e in t.get("lab_only_events", []))
    assert got == want
    assert [e for _, e, _ in want].count("renal_insufficiency") == 1
    summary = cohort.adverse_event_summary.set_index("event")
    assert summary.at["renal_insufficiency", "n_patients"] == 1


def test_untreated_follow_up_gives_the_intended_comparators(generated):
    """Every untreated IPAF patient with intended follow-up is a comparator with the intended index visit."""
    _, truth, cohort = generated
    intended = {pid: t["untreated_follow_up"] for pid, t in truth["patients"].items() if "untreated_follow_up" in t}
    no_drug = sorted(pid for pid, t in truth["patients"].items() if t["fate"] == "no_tacrolimus")
    assert intended and set(intended) <= set(no_drug)
    comp = cohort.comparator
    assert set(comp.ids) == set(intended)
    rows = comp.patients.set_index("patient_id")
    for pid, t in intended.items():
        assert rows.at[pid, "index_date"].isoformat() == t["index_date"], pid  # an older scan is skipped
    frame = comp.analysis_frame().set_index("patient_id")
    for pid, t in intended.items():
        assert frame.at[pid, "hrct_total_follow_up_date"].isoformat() == t["follow_up_date"], pid
        assert frame.at[pid, "mmrc_baseline"] == t["intended_baseline"]["mmrc"], pid
    assert any(t["older_scan"] for t in intended.values())  # the rule is exercised


def test_untreated_follow_up_changes_no_other_row(monkeypatch):
    """Generating without the untreated step gives the same rows for every other patient and the same cut-off."""
    from ipafstudy.data.synth import generate as gen

    full = generate_cohort(seed=11, n_screened=150)
    monkeypatch.setattr(gen, "untreated_follow_up", lambda seed, patients, rows, truth: {})
    bare = generate_cohort(seed=11, n_screened=150)
    untreated = {pid for pid, t in full.truth["patients"].items() if "untreated_follow_up" in t}
    assert untreated
    for name, table in full.tables.items():
        if name in ("measurements", "hrct_reads"):  # the only tables that gain rows, of untreated patients only
            assert not bare.tables[name]["patient_id"].isin(untreated).any()
            table = table[~table["patient_id"].isin(untreated)].reset_index(drop=True)
        pd.testing.assert_frame_equal(table, bare.tables[name].reset_index(drop=True), obj=name)
    assert {k: v for k, v in full.truth.items() if k != "patients"} == \
        {k: v for k, v in bare.truth.items() if k != "patients"}
    latest = max(pd.to_datetime(bare.tables["measurements"]["date"]).max(),
                 pd.to_datetime(bare.tables["treatments"]["start_date"]).max(),
                 pd.to_datetime(bare.tables["hrct_reads"]["scan_date"]).max())
    assert pd.to_datetime(full.tables["measurements"]["date"]).max() <= latest
    assert pd.to_datetime(full.tables["hrct_reads"]["scan_date"]).max() <= latest
