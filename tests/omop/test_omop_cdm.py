"""omop.cdm: the required tables and columns, connecting read-only, one error naming every missing part."""

from __future__ import annotations

import duckdb
import pytest

from ipafstudy.fileio import sha256_file
from ipafstudy.omop.cdm import CDM_TABLES, CdmTables, OmopError, cdm_tables, check_cdm, connect
from ipafstudy.omop.synth import synthetic_cdm


def _write(path, tables):
    con = duckdb.connect(str(path))
    for name, table in tables.items():
        con.register("t", table)
        con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM t')
        con.unregister("t")
    con.close()
    return path


@pytest.fixture(scope="module")
def small_cdm():
    return synthetic_cdm(60, seed=3, rows_per_person=5)


def test_every_cdm_table_has_an_attribute_and_an_id_or_key_column():
    assert set(CDM_TABLES) == {f for f in CdmTables.__dataclass_fields__}
    assert set(CDM_TABLES) == {"person", "observation_period", "condition_occurrence", "drug_exposure", "measurement",
                               "observation", "concept", "concept_ancestor"}
    for name, columns in CDM_TABLES.items():
        assert len(set(columns)) == len(columns), name
        if name not in ("concept", "concept_ancestor"):
            assert "person_id" in columns, name


def test_synthetic_cdm_passes_and_tables_are_ibis_tables(tmp_path, small_cdm):
    path = _write(tmp_path / "cdm.duckdb", small_cdm)
    before = sha256_file(path)
    con = connect(path)
    check_cdm(con)
    tables = cdm_tables(con)
    assert tables.person.count().execute() == 60
    assert list(tables.as_dict()) == list(CDM_TABLES)
    assert con.raw_sql("SELECT current_setting('enable_progress_bar')").fetchall() == [(False,)]  # quiet console
    con.disconnect()
    assert sha256_file(path) == before  # opened read-only: the input is never modified


def test_every_missing_table_and_column_is_named_at_once(tmp_path, small_cdm):
    broken = dict(small_cdm)
    del broken["measurement"]
    broken["person"] = broken["person"].drop(["year_of_birth"])
    broken["concept"] = broken["concept"].drop(["vocabulary_id", "concept_code"])
    con = connect(_write(tmp_path / "broken.duckdb", broken))
    with pytest.raises(OmopError) as err:
        cdm_tables(con)
    text = str(err.value)
    assert len(err.value.problems) == 3
    assert "table measurement is missing" in text
    assert "person.year_of_birth" in text
    assert "concept.vocabulary_id" in text and "concept.concept_code" in text
    assert "person.gender_concept_id" not in text


def test_upper_case_names_are_accepted(tmp_path, small_cdm):
    upper = {name.upper(): t.rename_columns([c.upper() for c in t.column_names]) for name, t in small_cdm.items()}
    tables = cdm_tables(connect(_write(tmp_path / "upper.duckdb", upper)))
    assert "person_id" in tables.person.columns
    assert tables.concept.filter(tables.concept.vocabulary_id == "SNOMED").count().execute() > 0


def test_missing_file_and_non_duckdb_file_give_one_clear_message(tmp_path):
    with pytest.raises(OmopError, match="no such DuckDB file"):
        connect(tmp_path / "absent.duckdb")
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a database\n")
    with pytest.raises(OmopError, match="cannot be opened as a DuckDB database") as err:
        connect(text_file)
    assert str(text_file) in str(err.value)
    assert text_file.read_text() == "not a database\n"


def test_url_without_the_engines_module_is_one_clear_message(monkeypatch, tmp_path):
    import sys

    import ipafstudy.omop
    import ipafstudy.omop.engines  # imported earlier in a full session: the package has the attribute

    # as if the engines module were not installed: no attribute on the package, and the import fails
    monkeypatch.delattr(ipafstudy.omop, "engines", raising=False)
    monkeypatch.setitem(sys.modules, "ipafstudy.omop.engines", None)
    for db in ("postgresql://ann@localhost:5/cdm", str(tmp_path)):
        with pytest.raises(OmopError, match="PostgreSQL / Spark connections are not available") as err:
            connect(db)
        assert db in str(err.value)
