"""omop.synth: deterministic synthetic CDM, edge cases planted as OMOP rows, truth from rules.ipaf, safe writing."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ipafstudy.cli import main
from ipafstudy.errors import InvalidOptionError, OutputExistsError
from ipafstudy.omop import synth
from ipafstudy.omop.cdm import CDM_TABLES, cdm_tables, connect
from ipafstudy.omop.concepts import load_concept_sets, resolve
from ipafstudy.rules.ipaf import CLINICAL_FIELDS, MORPHOLOGIC_ITEMS, SEROLOGIC_ITEMS

N = 1500


@pytest.fixture(scope="module")
def cdm():
    return synth.synthetic_cdm(N, seed=11, rows_per_person=20)


@pytest.fixture(scope="module")
def truth():
    return synth.synthetic_truth(N, seed=11)


@pytest.fixture(scope="module")
def frame(truth):
    return synth.truth_frame(truth)


def test_same_seed_same_data_other_seed_other_data(cdm):
    again = synth.synthetic_cdm(N, seed=11, rows_per_person=20)
    assert all(cdm[name].equals(again[name]) for name in CDM_TABLES)
    other = synth.synthetic_cdm(N, seed=12, rows_per_person=20)
    assert not cdm["measurement"].equals(other["measurement"])
    assert list(cdm) == list(CDM_TABLES)
    for name, table in cdm.items():
        assert table.column_names == list(CDM_TABLES[name])


def test_ids_unique_and_rows_inside_observation_period(cdm):
    for name in ("condition_occurrence", "drug_exposure", "measurement", "observation"):
        ids = cdm[name].column(0).to_numpy()
        assert len(np.unique(ids)) == len(ids), name
    assert cdm["person"].column("person_id").to_pylist() == list(range(1, N + 1))
    assert cdm["concept"].column("concept_id").to_pylist() == sorted(set(cdm["concept"].column("concept_id")
                                                                          .to_pylist()))


def test_rows_per_person_is_about_what_was_asked():
    tables = synth.synthetic_cdm(400, seed=2, rows_per_person=100)
    clinical = sum(tables[t].num_rows for t in ("condition_occurrence", "drug_exposure", "measurement", "observation"))
    assert 95 <= clinical / 400 <= 115  # 100 background rows (Poisson) plus the planted facts


_EXPECTED = {  # worked by hand from clinical-rules.md s.1 for each planted edge case
    "ipaf_clinical_serologic": ("ipaf", "yes", "yes", "unknown"),
    "ana_160_speckled_below_threshold": ("indeterminate", "yes", "unknown", "unknown"),
    "ana_320_homogeneous_at_threshold": ("ipaf", "yes", "yes", "unknown"),
    "ana_80_nucleolar_any_titre": ("ipaf", "yes", "yes", "unknown"),
    "ana_40_centromere_any_titre": ("ipaf", "yes", "yes", "unknown"),
    "ana_nucleolar_titre_missing": ("ipaf", "yes", "yes", "unknown"),
    "ana_speckled_titre_missing_unknown": ("indeterminate", "yes", "unknown", "unknown"),
    "ana_640_pattern_missing_unknown": ("indeterminate", "yes", "unknown", "unknown"),
    "rf_exactly_2x_uln": ("ipaf", "yes", "yes", "unknown"),
    "rf_below_2x_uln": ("indeterminate", "yes", "unknown", "unknown"),
    "rf_positive_value_missing_unknown": ("indeterminate", "yes", "unknown", "unknown"),
    "defined_ctd_sle": ("not_ipaf", "yes", "yes", "unknown"),
    "defined_ctd_descendant": ("not_ipaf", "yes", "unknown", "yes"),
    "ild_descendant_level_2": ("ipaf", "yes", "unknown", "yes"),
    "rheumatoid_lung_is_ild_and_ctd": ("not_ipaf", "yes", "yes", "yes"),
    "no_ild_with_features": ("not_ipaf", "yes", "yes", "yes"),
    "alternative_etiology_hp": ("not_ipaf", "yes", "unknown", "yes"),
    "alternative_etiology_descendant": ("not_ipaf", "yes", "unknown", "yes"),
    "alternative_etiology_recorded_no": ("not_ipaf", "yes", "unknown", "yes"),
    "uip_clinical_serologic": ("ipaf", "yes", "yes", "unknown"),
    "uip_clinical_only_not_ipaf": ("not_ipaf", "yes", "no", "no"),
    "ild_only_everything_unknown": ("indeterminate", "unknown", "unknown", "unknown"),
    "clinical_absent_serologic_morphologic": ("ipaf", "no", "yes", "yes"),
    "multi_compartment_pleural": ("ipaf", "yes", "unknown", "yes"),
    "biopsy_lymphoid_aggregates": ("ipaf", "unknown", "yes", "yes"),
    "ro52_alone": ("indeterminate", "unknown", "unknown", "yes"),
    "borderline_jo1": ("ipaf", "yes", "unknown", "yes"),
    "pl12_antisynthetase": ("ipaf", "unknown", "yes", "yes"),
    "raynaud_yes_and_no_yes_wins": ("ipaf", "yes", "unknown", "yes"),
    "raynaud_descendant": ("ipaf", "yes", "yes", "unknown"),
}


def test_planted_edge_cases_get_the_verdict_worked_by_hand(frame):
    by_scenario = frame[frame["scenario"] != ""].set_index("scenario")
    assert len(by_scenario) == len(synth.SCENARIOS)
    for name, (status, clinical, serologic, morphologic) in _EXPECTED.items():
        row = by_scenario.loc[name]
        got = (row["status"], row["domain_clinical"], row["domain_serologic"], row["domain_morphologic"])
        assert got == (status, clinical, serologic, morphologic), name
    assert by_scenario.loc["no_ild_with_features", "entry_interstitial_pneumonia"] == "no"
    assert by_scenario.loc["ild_only_everything_unknown", "status_missing_absent"] == "not_ipaf"
    assert "serologic.ana" in by_scenario.loc["ana_80_nucleolar_any_titre", "items_met"]
    assert "serologic.rf" in by_scenario.loc["rf_exactly_2x_uln", "items_met"]
    assert by_scenario.loc["rheumatoid_lung_is_ild_and_ctd", "entry_no_defined_ctd"] == "no"
    # courses days 30-149 and 200-564 after the ILD date: 485 covered days; the study rule stops at the gap (120 days)
    two = by_scenario.loc["tacrolimus_two_courses"]
    assert bool(two["tacrolimus_exposed"]) and two["tacrolimus_days"] == 120 + 365
    assert two["tacrolimus_exposure_days"] == 120 and two["tacrolimus_end"] != two["tacrolimus_last_end"]
    # courses days 10-69 and 70-169: the second starts the day after the first ends, so they join (160 days)
    joined = by_scenario.loc["tacrolimus_continued_course"]
    assert joined["tacrolimus_days"] == joined["tacrolimus_exposure_days"] == 160
    assert joined["tacrolimus_end"] == joined["tacrolimus_last_end"]
    short = by_scenario.loc["tacrolimus_short"]
    assert short["tacrolimus_days"] == short["tacrolimus_exposure_days"] == 45


def test_truth_lists_the_planted_facts(frame, truth):
    by_scenario = frame[frame["scenario"] != ""].set_index("scenario")
    assert by_scenario.loc["rf_exactly_2x_uln", "facts"]["RF"] == ["positive", 40.0, 20.0]
    assert by_scenario.loc["ana_nucleolar_titre_missing", "facts"]["ANA"] == ["positive", None, "nucleolar"]
    assert "129452008" in by_scenario.loc["ild_descendant_level_2", "facts"]["ild"]
    assert "ild" not in by_scenario.loc["no_ild_with_features", "facts"]
    assert by_scenario.loc["raynaud_yes_and_no_yes_wins", "facts"]["raynaud"] == "yes_and_no"
    assert by_scenario.loc["tacrolimus_continued_course", "facts"]["tacrolimus"][1][0] == \
        str(np.datetime64(by_scenario.loc["tacrolimus_continued_course", "facts"]["tacrolimus"][0][1])
            + np.timedelta64(1, "D"))
    assert truth["default"]["facts"] == {} and truth["default"]["status"] == "not_ipaf"


def test_random_persons_cover_every_item_and_status(truth):
    rows = [dict(zip(truth["columns"], r, strict=True)) for r in truth["rows"]]
    met = {item for r in rows for item in r["items_met"].split(";") if item}
    wanted = ({f"clinical.{i}" for i in CLINICAL_FIELDS} | {f"serologic.{i}" for i in SEROLOGIC_ITEMS}
              | {f"morphologic.{i}" for i in MORPHOLOGIC_ITEMS})
    assert wanted - met == set()
    assert {r["status"] for r in rows if r["ild"]} == {"ipaf", "not_ipaf", "indeterminate"}
    assert {r["combination"] for r in rows} >= {"clinical + serologic", "clinical + morphologic",
                                                "serologic + morphologic", "all three"}
    counts = truth["counts"]
    assert sum(counts["status"].values()) == N
    assert 0 < counts["tacrolimus_exposed"] < counts["ild"] < N


def _person_ids(cdm, table, concept_col, concept_ids):
    t = cdm[table]
    mask = pc.is_in(t.column(concept_col), value_set=pa.array(sorted(concept_ids), "int64"))
    return set(t.filter(mask).column("person_id").to_pylist())


def test_rows_read_back_give_the_truth_for_ild_ctd_and_exposure(tmp_path, frame):
    """An independent reader (pyarrow filters, not the screen): concept sets resolved in the written database."""
    db = synth.write_synthetic_cdm(tmp_path / "cdm.duckdb", N, seed=11, rows_per_person=20)
    tables = cdm_tables(connect(db))
    resolved = resolve(tables, load_concept_sets()).to_pyarrow().to_pylist()
    ids = {}
    for row in resolved:
        ids.setdefault(row["concept_set"], set()).add(row["concept_id"])
    cdm = {name: getattr(tables, name).to_pyarrow() for name in CDM_TABLES}
    ild = _person_ids(cdm, "condition_occurrence", "condition_concept_id", ids["interstitial_pneumonia"])
    assert ild == set(frame.index[frame["ild"].astype(bool)])
    ctd = _person_ids(cdm, "condition_occurrence", "condition_concept_id", ids["defined_ctd"])
    assert ctd == set(frame.index[frame["entry_no_defined_ctd"] == "no"])
    exposed = _person_ids(cdm, "drug_exposure", "drug_concept_id", ids["tacrolimus"])
    assert exposed == set(frame.index[frame["tacrolimus_exposed"].astype(bool)])
    # only descendants were written for tacrolimus: the ingredient itself never appears
    ingredient = [r["concept_id"] for r in cdm["concept"].to_pylist() if r["concept_code"] == "42316"]
    assert not _person_ids(cdm, "drug_exposure", "drug_concept_id", ingredient)
    # the rheumatoid-lung person is found by BOTH sets, through two different ancestors
    rheumatoid = [r["concept_id"] for r in cdm["concept"].to_pylist() if r["concept_code"] == "319841000119107"]
    assert rheumatoid[0] in ids["interstitial_pneumonia"] and rheumatoid[0] in ids["defined_ctd"]
    # nothing is recorded after the end of the observation periods
    end = pc.max(cdm["observation_period"].column("observation_period_end_date")).as_py()
    assert pc.max(cdm["drug_exposure"].column("drug_exposure_end_date")).as_py() <= end


def test_persons_on_tacrolimus_get_study_follow_up_linked_by_ids(cdm, frame):
    """HRCT zone reads, visits and adverse events (omop.synth_followup) for every person with a course."""
    sets = load_concept_sets()
    vocab = synth.build_vocabulary(sets)
    zone_ids = {vocab.set_ids[s.name] for s in sets.in_group("hrct_zone_score")}
    meas = cdm["measurement"]
    read = pc.is_in(meas.column("measurement_concept_id"), value_set=pa.array(sorted(zone_ids), pa.int64()))
    with_reads = set(meas.filter(read).column("person_id").to_pylist())
    assert with_reads == set(frame.index[frame["tacrolimus_exposed"].astype(bool)])
    conditions = cdm["condition_occurrence"]
    ae = conditions.filter(pc.equal(conditions.column("condition_type_concept_id"), vocab.set_ids["ae_report"]))
    assert ae.num_rows > 0
    obs = cdm["observation"]
    linked = obs.filter(pc.is_valid(obs.column("observation_event_id")))
    assert set(linked.column("observation_event_id").to_pylist()) == set(ae.column(0).to_pylist())
    owner = dict(zip(ae.column(0).to_pylist(), ae.column("person_id").to_pylist(), strict=True))
    assert all(owner[e] == p for e, p in zip(linked.column("observation_event_id").to_pylist(),
                                             linked.column("person_id").to_pylist(), strict=True))


def test_write_refuses_existing_files_and_leaves_nothing_on_failure(tmp_path, monkeypatch):
    out = tmp_path / "db.duckdb"
    synth.write_synthetic_cdm(out, 50, seed=1, rows_per_person=2)
    truth = json.loads(synth.truth_path(out).read_text())
    assert truth["persons"] == 50 and synth.truth_path(out).name == "db.truth.json"
    with pytest.raises(OutputExistsError):
        synth.write_synthetic_cdm(out, 50, seed=1)
    before = out.read_bytes()

    def broken(*args, **kwargs):
        yield from ()
        raise RuntimeError("disk trouble")

    monkeypatch.setattr(synth, "iter_synthetic_blocks", broken)
    with pytest.raises(RuntimeError):
        synth.write_synthetic_cdm(out, 50, seed=2, force=True)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db.duckdb", "db.truth.json"]
    with pytest.raises(RuntimeError):
        synth.write_synthetic_cdm(tmp_path / "new.duckdb", 50, seed=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db.duckdb", "db.truth.json"]


@pytest.mark.parametrize("persons", [0, -3, 2.5, True])
def test_bad_persons_is_a_clear_error(persons):
    with pytest.raises(InvalidOptionError, match="--persons must be a whole number >= 1"):
        synth.synthetic_cdm(persons, seed=1)


def test_cli_writes_cdm_and_truth_and_refuses_mixed_flags(tmp_path, capsys):
    out = tmp_path / "cli.duckdb"
    assert main(["synth", "--omop", "--persons", "40", "--out", str(out), "--seed", "4"]) == 0
    assert out.is_file() and synth.truth_path(out).is_file()
    assert main(["synth", "--omop", "--persons", "40", "--out", str(out)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["synth", "--omop", "--persons", "40", "--out", str(tmp_path / "x.duckdb"), "--example",
                 "mmf-fvc"]) == 1
    assert "--example cannot be combined with --omop" in capsys.readouterr().err
    assert main(["synth", "--omop", "--out", str(tmp_path / "y.duckdb")]) == 1
    assert "--persons N is required" in capsys.readouterr().err
    assert not (tmp_path / "x.duckdb").exists() and not (tmp_path / "y.duckdb").exists()
