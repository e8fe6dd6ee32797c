"""omop.extract: the six study tables from a small hand-made CDM, every value worked out by hand below.

The CDM is built here from the concept-set definitions (each code gets its YAML concept_id, or a fresh one), so
the test depends on set NAMES only, like the extract itself. tests/omop/extract_concepts.yaml adds the local
sets a CDM needs for HRCT zone reads, adverse events, routes and smoking (also exercising --concepts).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from ipafstudy.omop.cdm import CDM_TABLES, OmopError
from ipafstudy.omop.concepts import load_concept_sets
from ipafstudy.omop.extract import CONDITION_OCCURRENCE_FIELD, write_extract

EXTRA = Path(__file__).with_name("extract_concepts.yaml")
D = dt.date


def _kind(column: str) -> str:
    if column.endswith("_date"):
        return "date"
    if column in ("value_as_number", "quantity", "range_low", "range_high"):
        return "float64"
    if column in ("domain_id", "vocabulary_id", "concept_class_id"):
        return "string"
    if column.endswith(("_id", "_of_birth", "days_supply")) or "levels" in column:
        return "int64"
    if column == "birth_datetime":
        return "timestamp"
    return "string"


def _known_id(code) -> int | None:
    """The YAML concept_id; OMOP's concept 0 ('No matching concept', vocabulary 'None') for the no-unit code."""
    return 0 if code.vocabulary_id == "None" else code.concept_id


def build_cdm(path: Path, rows: dict[str, list[dict]], extra_units: tuple[tuple[int, str], ...] = ()) -> dict:
    """Write a DuckDB CDM with the given rows (missing columns NULL) and a concept table for every set code."""
    import duckdb
    import pyarrow as pa

    ids, concept_rows = _allocate()
    for cid, code in extra_units:
        concept_rows.append((cid, "UCUM", code, code))
    rows = dict(rows)
    rows["concept"] = [
        {"concept_id": c, "vocabulary_id": v, "concept_code": k, "concept_name": n, "domain_id": "x",
         "concept_class_id": "x", "standard_concept": "S"} for c, v, k, n in concept_rows
    ]
    types = {"date": pa.date32(), "float64": pa.float64(), "int64": pa.int64(), "string": pa.string(),
             "timestamp": pa.timestamp("us")}
    con = duckdb.connect(str(path))
    for table, columns in CDM_TABLES.items():
        data = rows.get(table, [])
        arrow = pa.table({c: pa.array([r.get(c) for r in data], type=types[_kind(c)]) for c in columns})
        con.register("_arrow", arrow)
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM _arrow")
        con.unregister("_arrow")
    con.close()
    return ids


def _cdm_rows(c: dict[str, int]) -> dict[str, list[dict]]:
    """Persons 1 (full record), 2 (ILD, CTD, alternative etiology, birth year only), 3 (no ILD: not extracted)."""
    n = iter(range(1, 1000))

    def meas(person, concept, date, **kw):
        return {"measurement_id": next(n), "person_id": person, "measurement_concept_id": concept,
                "measurement_date": date, "measurement_type_concept_id": 32817, **kw}

    def obs(person, concept, date, **kw):
        return {"observation_id": next(n), "person_id": person, "observation_concept_id": concept,
                "observation_date": date, **kw}

    def cond(person, concept, date, type_id=32817, **kw):
        return {"condition_occurrence_id": kw.pop("id", next(n)), "person_id": person, "condition_concept_id": concept,
                "condition_start_date": date, "condition_type_concept_id": type_id, **kw}

    def drug(person, concept, start, end, **kw):
        return {"drug_exposure_id": next(n), "person_id": person, "drug_concept_id": concept,
                "drug_exposure_start_date": start, "drug_exposure_end_date": end, **kw}

    ae_link = {"obs_event_field_concept_id": CONDITION_OCCURRENCE_FIELD, "observation_event_id": 500}
    return {
        "person": [
            {"person_id": 1, "gender_concept_id": 8532, "year_of_birth": 1960, "month_of_birth": 5, "day_of_birth": 10,
             "care_site_id": 7},
            {"person_id": 2, "gender_concept_id": 8507, "year_of_birth": 1970},
            {"person_id": 3, "gender_concept_id": 8507, "year_of_birth": 1980},
        ],
        "condition_occurrence": [
            cond(1, c["interstitial_pneumonia"], D(2019, 6, 1)),
            cond(2, c["interstitial_pneumonia"], D(2019, 6, 1)),
            cond(2, c["defined_ctd"], D(2019, 6, 1)),
            cond(2, c["alternative_etiology"], D(2019, 6, 1)),
            cond(3, c["raynaud"], D(2019, 6, 1)),
            cond(1, c["ae_hypomagnesaemia"], D(2020, 3, 1), c["ae_report"], id=500),
            cond(1, 999, D(2020, 4, 1), c["ae_report"], id=501, condition_source_value="=rash"),  # inert in a sheet
            cond(1, c["ae_hypomagnesaemia"], D(2018, 1, 1)),  # a diagnosis, not an adverse event report
        ],
        "observation": [
            obs(1, c["raynaud"], D(2019, 6, 1), value_as_concept_id=c["answer_yes"]),
            obs(1, c["mechanics_hands"], D(2019, 6, 1), value_as_concept_id=c["answer_no"]),
            obs(1, c["hrct_read"], D(2019, 6, 1), value_as_concept_id=c["hrct_nsip"]),
            obs(1, c["smoking_former"], D(2019, 6, 1)),
            obs(1, c["ae_grade"], D(2020, 3, 1), value_as_number=2.0, **ae_link),
            obs(1, c["ae_serious"], D(2020, 3, 1), value_as_concept_id=c["answer_no"], **ae_link),
            obs(1, c["ae_outcome"], D(2020, 3, 1), value_as_concept_id=c["ae_outcome_resolved"], **ae_link),
            obs(1, c["ae_attribution"], D(2020, 3, 1), value_as_concept_id=c["ae_attribution_related"], **ae_link),
        ],
        "drug_exposure": [
            drug(1, c["tacrolimus"], D(2020, 1, 1), D(2020, 12, 31), quantity=4.0, dose_unit_source_value="mg/day",
                 route_concept_id=c["route_oral"]),
            drug(1, c["pirfenidone"], D(2020, 6, 1), D(2020, 7, 1)),
            drug(1, c["nintedanib"], D(2019, 1, 1), D(2019, 2, 1)),
        ],
        "measurement": [
            meas(1, c["crp"], D(2020, 1, 2), value_as_number=1.5, unit_concept_id=c["unit:mg/dL"]),
            meas(1, c["esr"], D(2020, 1, 2), value_as_number=20.0, unit_concept_id=c["unit:mm/h"]),
            meas(1, c["esr"], D(2020, 1, 2), value_as_number=30.0, unit_concept_id=c["unit:mm/h"]),  # repeat: mean
            meas(1, c["antibody_ana"], D(2019, 6, 1), value_as_number=320.0, value_as_concept_id=c["result_positive"]),
            meas(1, c["ana_pattern"], D(2019, 6, 1), value_as_concept_id=c["ana_pattern_speckled"]),
            meas(1, c["antibody_rf"], D(2019, 6, 1), value_as_number=40.0, range_high=14.0),
            meas(1, c["antibody_jo1"], D(2019, 6, 1)),  # no result at all: left out, counted
            meas(1, c["hrct_zone_RU_ggo_grade"], D(2020, 1, 10), value_as_number=2.0, provider_id=11,
                 measurement_type_concept_id=c["hrct_role_reader1"]),
            meas(1, c["hrct_zone_RU_fibrosis_grade"], D(2020, 1, 10), value_as_number=1.0, provider_id=11,
                 measurement_type_concept_id=c["hrct_role_reader1"]),
            meas(1, c["hrct_zone_RU_ggo_pct"], D(2020, 1, 10), value_as_number=30.0, provider_id=11,
                 measurement_type_concept_id=c["hrct_role_reader1"]),
            meas(1, c["hrct_zone_LL_ggo_grade"], D(2020, 1, 10), value_as_number=3.0, provider_id=12,
                 measurement_type_concept_id=c["hrct_role_adjudicator"]),
            meas(3, c["crp"], D(2020, 1, 2), value_as_number=5.0, unit_concept_id=c["unit:mg/L"]),
        ],
    }


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("extract")
    db = root / "cdm.duckdb"
    build_cdm(db, _cdm_rows(_ids_only()))
    summary = write_extract(db, root / "data", concepts_file=EXTRA)
    return root / "data", summary


def _allocate() -> tuple[dict[str, int], list[tuple[int, str, str, str]]]:
    """Concept id per set (its first code) and per unit code ("unit:mg/dL"), and the concept rows: the YAML's
    concept_id where it has one, else a fresh id, one per (vocabulary_id, code)."""
    ids: dict[str, int] = {}
    seen: dict[tuple[str, str], int] = {}
    concept_rows = []
    fresh = 2_200_000_000
    for concept_set in load_concept_sets(EXTRA):
        for code in (*concept_set.codes, *concept_set.units):
            key = (code.vocabulary_id, code.code)
            if key not in seen:
                seen[key] = _known_id(code) if _known_id(code) is not None else (fresh := fresh + 1)
                concept_rows.append((seen[key], *key, code.name))
            ids.setdefault(concept_set.name, seen[key])
        for unit in concept_set.units:
            ids.setdefault(f"unit:{unit.code}", seen[(unit.vocabulary_id, unit.code)])
    return ids, concept_rows


def _ids_only() -> dict[str, int]:
    """Concept id per set (and per unit code), as build_cdm assigns them (no database needed)."""
    return _allocate()[0]


def _read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)


def test_patients(extracted):
    folder, summary = extracted
    p = _read(folder, "patients").set_index("patient_id")
    assert list(p.index) == ["1", "2"]  # person 3 has no ILD
    one, two = p.loc["1"], p.loc["2"]
    assert (one.sex, one.birth_date, one.site, one.smoking) == ("female", "1960-05-10", "care-site-7", "former")
    assert (two.sex, two.birth_date, two.site, two.smoking) == ("male", "1970-07-01", "", "")  # mid-year
    assert (one.interstitial_pneumonia, one.defined_ctd, one.alternative_etiology_excluded) == ("yes", "no", "yes")
    assert (two.interstitial_pneumonia, two.defined_ctd, two.alternative_etiology_excluded) == ("yes", "yes", "no")
    assert (one.raynaud, one.mechanics_hands, one.gottron_sign) == ("yes", "no", "")  # no record = unknown
    assert (one.hrct_pattern, two.hrct_pattern) == ("nsip", "")
    assert (one.pirfenidone, one.nintedanib) == ("yes", "no")  # only pirfenidone overlaps the tacrolimus course
    assert summary.persons == 2


def test_measurements_converted(extracted):
    folder, _ = extracted
    m = _read(folder, "measurements")
    assert m.values.tolist() == [["1", "2020-01-02", "crp", "15.0", "mg/L"], ["1", "2020-01-02", "esr", "25.0", "mm/h"]]


def test_antibodies(extracted):
    folder, summary = extracted
    a = _read(folder, "antibodies")
    got = a[["antibody", "result", "titre", "pattern", "value", "upper_limit_normal"]].values.tolist()
    assert got == [["ANA", "positive", "320", "speckled", "", ""], ["RF", "positive", "", "", "40.0", "14.0"]]
    assert summary.left_out == {"antibodies without a result (Jo-1)": 1,
                                "same-day measurement values averaged into one row": 1}


def test_treatments(extracted):
    folder, _ = extracted
    t = _read(folder, "treatments")
    assert t.values.tolist() == [
        ["1", "nintedanib", "2019-01-01", "2019-02-01", "", "", ""],
        ["1", "tacrolimus", "2020-01-01", "2020-12-31", "4.0", "mg/day", "oral"],
        ["1", "pirfenidone", "2020-06-01", "2020-07-01", "", "", ""],
    ]


def test_hrct_reads_pivoted(extracted):
    folder, _ = extracted
    h = _read(folder, "hrct_reads")
    cols = ["patient_id", "scan_date", "reader", "reader_role", "zone", "ggo", "fibrosis", "ggo_pct", "fibrosis_pct"]
    assert h[cols].values.tolist() == [
        ["1", "2020-01-10", "provider-12", "adjudicator", "LL", "3", "", "", ""],
        ["1", "2020-01-10", "provider-11", "reader1", "RU", "2", "1", "30.0", ""],
    ]


def test_adverse_events(extracted):
    folder, _ = extracted
    ae = _read(folder, "adverse_events")
    assert ae.values.tolist() == [
        ["1", "2020-03-01", "hypomagnesaemia", "", "2", "no", "", "", "resolved", "related"],
        ["1", "2020-04-01", "other", "'=rash", "", "", "", "", "", ""],
    ]


def test_extract_validates_and_records(extracted):
    from ipafstudy.data.loaders import validate_path

    folder, summary = extracted
    report = validate_path(folder)
    assert not report.has_errors, report.to_text()
    record = json.loads((folder / "extract.json").read_text())
    assert record["rows"] == summary.rows and record["rows"]["hrct_reads"] == 2


def test_refuses_non_empty_output_and_unit_without_conversion(tmp_path, extracted):
    folder, _ = extracted
    before = sorted(p.name for p in folder.iterdir())
    from ipafstudy.errors import OutputExistsError

    with pytest.raises(OutputExistsError):
        write_extract(tmp_path / "nowhere.duckdb", folder)
    assert sorted(p.name for p in folder.iterdir()) == before
    rows = _cdm_rows(_ids_only())
    rows["measurement"].append({"measurement_id": 9999, "person_id": 1, "measurement_concept_id": _ids_only()["crp"],
                                "measurement_date": D(2020, 2, 2), "value_as_number": 1.0,
                                "unit_concept_id": 8876})  # mmHg: no conversion for CRP
    db = tmp_path / "bad.duckdb"
    build_cdm(db, rows, extra_units=((8876, "mm[Hg]"),))
    with pytest.raises(OmopError, match="8876"):
        write_extract(db, tmp_path / "out", concepts_file=EXTRA)
    assert not (tmp_path / "out").exists()


def test_cli_extract_and_its_errors(tmp_path, capsys):
    from ipafstudy.cli import main

    db = tmp_path / "cdm.duckdb"
    build_cdm(db, _cdm_rows(_ids_only()))
    assert main(["omop", "extract", str(db), "--out", str(tmp_path / "data"), "--concepts", str(EXTRA)]) == 0
    out = capsys.readouterr().out
    assert "extracted 2 candidate(s)" in out and "note: 1 antibodies without a result (Jo-1)" in out
    # the same folder again: refused, nothing changed
    before = {p.name: p.read_bytes() for p in (tmp_path / "data").iterdir()}
    assert main(["omop", "extract", str(db), "--out", str(tmp_path / "data"), "--concepts", str(EXTRA)]) == 1
    assert "not empty" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in (tmp_path / "data").iterdir()} == before
    # --force replaces the files with identical bytes (deterministic)
    assert main(["omop", "extract", str(db), "--out", str(tmp_path / "data"), "--concepts", str(EXTRA),
                 "--force"]) == 0
    assert {p.name: p.read_bytes() for p in (tmp_path / "data").iterdir()} == before
    # a database that is not a CDM: one message naming what is missing, exit 1, no output folder
    import duckdb

    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    assert main(["omop", "extract", str(empty), "--out", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "table person is missing" in err and "table measurement is missing" in err
    assert not (tmp_path / "none").exists()
