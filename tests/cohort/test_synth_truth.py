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
