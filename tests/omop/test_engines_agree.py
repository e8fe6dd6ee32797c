"""The same synthetic CDM gives identical results on DuckDB, PostgreSQL and Spark.

DuckDB (the embedded default) is the reference; each other engine gets the same tables (read back from the DuckDB
file, so the data are identical by construction) and must give equal frames after ``engines.fetch_frame``.
Session-scoped servers (conftest.py): the slow part is starting them, not the queries.
"""

from __future__ import annotations

import pandas.testing as pdt
import pytest

from ipafstudy.omop import engines as E
from ipafstudy.omop.cdm import cdm_tables, connect, missing_cdm_parts
from ipafstudy.omop.concepts import load_concept_sets, resolve, unit_table

from .conftest import engine_db, free_port

OTHERS = ("postgresql", "spark")


def _same(got, want, what):
    assert len(want) > 0, f"{what}: the reference is empty, so equality would prove nothing"
    pdt.assert_frame_equal(got, want, check_exact=True, obj=what)


@pytest.fixture(scope="module")
def reference(request):
    """Results on DuckDB, computed once."""
    con = connect(engine_db(request, "duckdb"))
    tables = cdm_tables(con)
    sets = load_concept_sets()
    out = {
        "resolved": E.fetch_frame(resolve(tables, sets), order_by=["concept_set", "concept_id"]),
        "units": E.fetch_frame(unit_table(tables, sets)),
        "counts": {name: t.count().execute() for name, t in tables.as_dict().items()},
    }
    con.disconnect()
    return out


@pytest.mark.parametrize("engine", OTHERS)
def test_cdm_check_and_concept_resolution_agree(request, reference, engine):
    con = connect(engine_db(request, engine))
    assert missing_cdm_parts(con) == []
    tables = cdm_tables(con)
    sets = load_concept_sets()
    assert {name: int(t.count().execute()) for name, t in tables.as_dict().items()} == reference["counts"]
    _same(E.fetch_frame(resolve(tables, sets), order_by=["concept_set", "concept_id"]), reference["resolved"],
          f"resolve() on {engine}")
    _same(E.fetch_frame(unit_table(tables, sets)), reference["units"], f"unit_table() on {engine}")


@pytest.mark.parametrize("engine", ("duckdb", *OTHERS))
def test_missing_tables_and_columns_are_named_alike_on_every_engine(request, engine, tmp_path, engine_cdm_tables):
    """A CDM without measurement and without person.year_of_birth: the same problems on every engine."""
    _, tables = engine_cdm_tables
    broken = {name: t for name, t in tables.items() if name != "measurement"}
    broken["person"] = broken["person"].drop_columns(["year_of_birth"])
    if engine == "duckdb":
        import duckdb

        path = tmp_path / "broken.duckdb"
        with duckdb.connect(str(path)) as con:
            for name, table in broken.items():
                con.register("arrow_in", table)
                con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM arrow_in')
                con.unregister("arrow_in")
        db = str(path)
    elif engine == "postgresql":
        db = request.getfixturevalue("postgres_server").create_database("broken_cdm")
        E.load_cdm_postgres(db, broken)
    else:
        request.getfixturevalue("spark_session")
        db = str(E.write_cdm_parquet(tmp_path / "broken", broken))
    problems = missing_cdm_parts(connect(db))
    assert len(problems) == 2
    assert any("table measurement is missing" in p for p in problems)
    assert any("person.year_of_birth" in p for p in problems)


# ------------------------------------------------------------------------------------------------------ screen


@pytest.fixture(scope="module")
def duckdb_screen(request, tmp_path_factory):
    """``omop screen`` outputs on DuckDB (the reference)."""
    from ipafstudy.omop.screen import ScreenOptions, run_screen

    out = tmp_path_factory.mktemp("screen") / "duckdb"
    run_screen(engine_db(request, "duckdb"), out, ScreenOptions(), load_concept_sets())
    return out


@pytest.mark.parametrize("engine", OTHERS)
def test_screen_outputs_are_identical_on_every_engine(request, duckdb_screen, engine, tmp_path):
    """candidates.csv (verdicts, steps, evidence concept/date/value per criterion) and flow.json, byte for byte."""
    import json

    from ipafstudy.omop.screen import ScreenOptions, run_screen

    statuses = {row["status"] for row in _csv_rows(duckdb_screen / "candidates.csv")}
    assert {"ipaf", "not_ipaf"} <= statuses, "the shared CDM must produce both verdicts for the comparison to bite"
    run_screen(engine_db(request, engine), tmp_path / engine, ScreenOptions(), load_concept_sets())
    for name in ("candidates.csv", "flow.json"):
        assert (tmp_path / engine / name).read_bytes() == (duckdb_screen / name).read_bytes(), f"{name} on {engine}"
    record = json.loads((tmp_path / engine / "run.json").read_text())
    assert record["versions"]["backend"] == {"postgresql": "postgres", "spark": "pyspark"}[engine]


def _csv_rows(path):
    import csv

    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("kind", ["postgresql", "spark"])
def test_unreachable_server_is_one_message_exit_1_and_nothing_written(kind, tmp_path, capsys):
    from ipafstudy.cli import main

    port = free_port()
    db = f"postgresql://ann:Secret99@127.0.0.1:{port}/cdm" if kind == "postgresql" else f"spark://127.0.0.1:{port}"
    out = tmp_path / "out"
    assert main(["omop", "screen", db, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: Cannot connect")
    assert f"127.0.0.1:{port}" in err
    assert "Secret99" not in err
    assert not out.exists()


def test_copy_cdm_puts_the_same_tables_on_postgresql_and_parquet(request, engine_cdm_tables, tmp_path):
    """copy_cdm streams every CDM table from the DuckDB file; the copies hold the same rows (order-free compare)."""
    import ibis

    duck, _ = engine_cdm_tables
    server = request.getfixturevalue("postgres_server")
    url = server.create_database("copied")
    names = E.copy_cdm(duck, url)
    folder = tmp_path / "copied"
    assert E.copy_cdm(duck, str(folder)) == names
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.parquet" for n in names)
    with pytest.raises(E.EngineInputError, match="already has table"):
        E.copy_cdm(duck, url)  # never replaced silently
    source = ibis.duckdb.connect(str(duck), read_only=True)
    target = E.connect(url)
    try:
        for name in ("person", "measurement", "concept_ancestor"):
            _same(E.fetch_frame(target.table(name)), E.fetch_frame(source.table(name)), f"{name} copied")
    finally:
        target.disconnect()
        source.disconnect()
    import pyarrow.parquet as pq

    assert pq.read_table(folder / "measurement.parquet").num_rows == engine_cdm_tables[1]["measurement"].num_rows

# ----------------------------------------------------------------------------------------------------- extract


@pytest.fixture(scope="module")
def duckdb_extract(request, tmp_path_factory):
    """``omop extract`` of the shared CDM on DuckDB (the reference)."""
    from ipafstudy.omop.extract import write_extract

    out = tmp_path_factory.mktemp("extract") / "duckdb"
    write_extract(engine_db(request, "duckdb"), out)
    return out


@pytest.mark.parametrize("engine", OTHERS)
def test_extract_is_identical_on_every_engine(request, duckdb_extract, engine, tmp_path):
    """The six study tables (and any other file the extract writes) byte for byte, except the run record."""
    from ipafstudy.omop.extract import write_extract

    write_extract(engine_db(request, engine), tmp_path / engine)
    want = sorted(p.name for p in duckdb_extract.iterdir() if p.suffix == ".csv")
    assert "patients.csv" in want
    assert sorted(p.name for p in (tmp_path / engine).iterdir() if p.suffix == ".csv") == want
    for name in want:
        assert (tmp_path / engine / name).read_bytes() == (duckdb_extract / name).read_bytes(), f"{name} on {engine}"
