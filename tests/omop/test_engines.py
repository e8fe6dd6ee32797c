"""PostgreSQL and Spark connections, loaders and result normalisation (ipafstudy.omop.engines).

The servers are real (see conftest.py): a PostgreSQL cluster from the distribution's binaries and a local Spark
session. Cross-engine equality of the screening results is in test_engines_agree.py.
"""

from __future__ import annotations

import datetime as dt
import os

import pyarrow as pa
import pytest

from ipafstudy.errors import IpafstudyError
from ipafstudy.omop import engines as E

from .conftest import free_port, running_postgres, wait_until_closed


def _tricky_tables() -> dict[str, pa.Table]:
    """Values the engines like to treat differently: NULLs everywhere, a comma and quotes, an empty string,
    midnight and non-midnight timestamps, dates, int32 vs int64, duplicate sort keys."""
    return {
        "person": pa.table({
            "person_id": pa.array([3, 1, 2, 4], pa.int64()),
            "year_of_birth": pa.array([1950, None, 1970, 1970], pa.int32()),
            "birth_datetime": pa.array(
                [dt.datetime(1950, 1, 1), None, dt.datetime(1970, 6, 30, 23, 59, 59), dt.datetime(1970, 1, 1)],
                pa.timestamp("us"),
            ),
            "person_source_value": pa.array(['a,"b"', None, "", "d"], pa.string()),
        }),
        "measurement": pa.table({
            "person_id": pa.array([1, 1, 2], pa.int64()),
            "measurement_date": pa.array([dt.date(2020, 1, 1), None, dt.date(2000, 2, 29)], pa.date32()),
            "value_as_number": pa.array([None, 0.1 + 0.2, 1 / 3], pa.float64()),  # shortest repr must round-trip
            "flag": pa.array([True, None, False], pa.bool_()),
        }),
    }


def _expected(table: pa.Table, order_by=None):
    """The reference: the Arrow table itself, normalised by the same rules (no engine involved)."""
    import ibis

    return E.normalise_frame(table.to_pandas(), dict(ibis.Schema.from_pyarrow(table.schema).items()),
                             order_by=order_by)


def _assert_same(got, want):
    import pandas.testing as pdt

    pdt.assert_frame_equal(got, want, check_exact=True)


# ----------------------------------------------------------------------------------------------- URL handling


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://ann:pa%3Ass@h:5/db", "postgresql://ann:***@h:5/db"),
        ("postgresql://ann@h/db?password=pw&schema=cdm", "postgresql://ann@h/db?password=***&schema=cdm"),
        ("postgres://h/db", "postgres://h/db"),
        ("spark://m:7077/cdm", "spark://m:7077/cdm"),
    ],
)
def test_mask_url_hides_passwords_only(url, shown):
    assert E.mask_url(url) == shown


def test_is_engine_db_tells_urls_and_folders_from_duckdb_files(tmp_path):
    (tmp_path / "cdm.duckdb").write_bytes(b"")
    assert E.is_engine_db("postgresql://h/db")
    assert E.is_engine_db("spark://h:7077")
    assert E.is_engine_db("spark+parquet:///x")
    assert E.is_engine_db(tmp_path)
    assert not E.is_engine_db(tmp_path / "cdm.duckdb")
    assert not E.is_engine_db(tmp_path / "missing.duckdb")


@pytest.mark.parametrize(
    ("db", "words"),
    [
        ("mysql://h/db", ["mysql://h/db", "postgresql://"]),
        ("postgresql://h/db?sslmod=require", ["unknown option", "sslmod"]),
        ("postgresql://h:port/db", ["port is not a number"]),
        ("spark://:7077", ["no host"]),
        ("spark://h:7077?tables=x", ["unknown option", "tables"]),
        ("spark+parquet://server/folder", ["local folder"]),
    ],
)
def test_bad_db_arguments_get_one_clear_message(db, words):
    with pytest.raises(IpafstudyError) as err:
        E.connect(db)
    for word in words:
        assert word in str(err.value)


def test_unreachable_postgres_names_the_url_and_masks_the_password():
    port = free_port()  # nobody listens here
    url = f"postgresql://ann:Secret123@127.0.0.1:{port}/cdm"
    with pytest.raises(E.EngineUnavailableError) as err:
        E.connect(url)
    message = str(err.value)
    assert f"postgresql://ann:***@127.0.0.1:{port}/cdm" in message
    assert "Secret123" not in message
    assert "\n" not in message


def test_unreachable_spark_master_fails_fast_without_starting_a_jvm():
    port = free_port()
    with pytest.raises(E.EngineUnavailableError) as err:
        E.connect(f"spark://127.0.0.1:{port}")
    assert f"spark://127.0.0.1:{port}" in str(err.value)


def test_loading_into_an_unreachable_server_writes_nothing(tmp_path):
    port = free_port()
    with pytest.raises(E.EngineUnavailableError):
        E.load_cdm_postgres(f"postgresql://x@127.0.0.1:{port}/cdm", _tricky_tables())


# ------------------------------------------------------------------------------------------------- PostgreSQL


def test_postgres_server_really_runs_and_really_stops():
    import psycopg

    with running_postgres() as server:
        with psycopg.connect(server.url()) as conn:
            assert conn.execute("select 1 + 1").fetchone() == (2,)
        port = server.port
    assert wait_until_closed(port)


def test_postgres_round_trip_is_exact(postgres_server):
    tables = _tricky_tables()
    url = postgres_server.create_database("roundtrip")
    assert E.load_cdm_postgres(url, tables) == ["person", "measurement"]
    con = E.connect(url)
    try:
        for name, table in tables.items():
            _assert_same(E.fetch_frame(con.table(name)), _expected(table))
    finally:
        con.disconnect()


def test_postgres_schema_option_reads_that_schema(postgres_server):
    import psycopg

    url = postgres_server.create_database("schemas")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA cdm")
    E.load_cdm_postgres(url + "?schema=cdm", {"person": _tricky_tables()["person"]})
    con = E.connect(url + "?schema=cdm")
    try:
        assert con.table("person").count().execute() == 4
    finally:
        con.disconnect()
    con = E.connect(url)  # the public schema has no person table
    try:
        assert "person" not in con.list_tables()
    finally:
        con.disconnect()


def test_postgres_load_refuses_existing_tables_and_is_all_or_nothing(postgres_server):
    url = postgres_server.create_database("atomic")
    E.load_cdm_postgres(url, {"person": _tricky_tables()["person"]})
    with pytest.raises(E.EngineInputError, match="already has table"):
        E.load_cdm_postgres(url, _tricky_tables())
    bad = {"measurement": _tricky_tables()["measurement"], "odd": pa.table({"x": pa.array([[1]])})}
    with pytest.raises(E.EngineInputError, match=r"odd\.x"):
        E.load_cdm_postgres(url, bad)
    con = E.connect(url)
    try:
        assert sorted(con.list_tables()) == ["person"]  # the failed load left no measurement table behind
    finally:
        con.disconnect()


# ------------------------------------------------------------------------------------------------------ Spark


def test_parquet_folder_round_trip_on_spark_is_exact(spark_session, tmp_path):
    tables = _tricky_tables()
    folder = E.write_cdm_parquet(tmp_path / "cdm", tables)
    assert sorted(p.name for p in folder.iterdir()) == ["measurement.parquet", "person.parquet"]
    for db in (folder, f"spark+parquet://{folder}"):
        con = E.connect(db)
        assert sorted(con.list_tables()) == ["measurement", "person"]
        for name, table in tables.items():
            _assert_same(E.fetch_frame(con.table(name)), _expected(table))


def test_parquet_folders_do_not_see_each_others_tables(spark_session, tmp_path):
    one = E.write_cdm_parquet(tmp_path / "one", {"person": _tricky_tables()["person"]})
    two = E.write_cdm_parquet(tmp_path / "two", {"measurement": _tricky_tables()["measurement"]})
    con_one, con_two = E.connect(one), E.connect(two)
    assert con_one.list_tables() == ["person"]
    assert con_two.list_tables() == ["measurement"]


def test_parquet_writer_never_overwrites_silently(tmp_path):
    folder = E.write_cdm_parquet(tmp_path / "cdm", {"person": _tricky_tables()["person"]})
    before = (folder / "person.parquet").read_bytes()
    with pytest.raises(IpafstudyError, match="not empty"):
        E.write_cdm_parquet(folder, {"person": _tricky_tables()["measurement"]})
    assert (folder / "person.parquet").read_bytes() == before


def test_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(E.EngineInputError, match="holds no tables"):
        E.connect_parquet_folder(tmp_path)


# -------------------------------------------------------------------------------------------- normalisation


def test_normalise_sorts_nulls_last_and_evens_out_types():
    import ibis
    import pandas as pd

    frame = pd.DataFrame({
        "k": [2.0, None, 1.0],  # an integer column that came back as float because of a NULL
        "d": [pd.Timestamp("2020-01-02"), pd.NaT, pd.Timestamp("2020-01-01")],  # a date that came back as timestamp
        "s": ["b", None, "a"],
    })
    types = {"k": ibis.dtype("int32"), "d": ibis.dtype("date"), "s": ibis.dtype("string")}
    out = E.normalise_frame(frame, types)
    assert str(out["k"].dtype) == "Int64"
    assert out["k"].tolist()[:2] == [1, 2]
    assert out["k"].isna().tolist() == [False, False, True]
    assert out["d"].tolist()[:2] == [dt.date(2020, 1, 1), dt.date(2020, 1, 2)]
    assert out["s"].tolist() == ["a", "b", None]



def test_spark_without_java_is_one_clear_message(tmp_path):
    """In a fresh process (pyspark allows one JVM per process): JAVA_HOME pointing nowhere -> EngineUnavailableError."""
    import subprocess
    import sys

    folder = E.write_cdm_parquet(tmp_path / "cdm", {"person": _tricky_tables()["person"]})
    code = (
        "from ipafstudy.omop import engines as E\n"
        "try:\n"
        f"    E.connect({str(folder)!r})\n"
        "except E.EngineUnavailableError as exc:\n"
        "    print('MESSAGE', exc)\n"
    )
    env = {**os.environ, "JAVA_HOME": str(tmp_path / "no-java")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert "MESSAGE Cannot open the Parquet folder" in done.stdout, done.stderr
    assert "Java 17" in done.stdout


def test_spark_master_url_is_refused_while_a_local_session_runs(spark_session):
    """getOrCreate() would silently hand back the local session; the URL's master must not be ignored."""
    import socket

    with socket.socket() as listener:  # something listens, so the TCP probe passes
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(E.EngineInputError, match="already runs Spark with master local"):
            E.connect(f"spark://127.0.0.1:{port}")


def test_run_record_masks_a_password_given_as_url_option():
    """``?password=`` is a documented PostgreSQL URL option: the screen's run record must not keep it."""
    from ipafstudy.omop.screen import input_record

    record = input_record("postgresql://ann:Secret1@db.example/cdm?password=Secret2&schema=cdm", {})
    text = repr(record)
    assert "Secret1" not in text and "Secret2" not in text
    assert "postgresql://ann:***@db.example/cdm?password=***&schema=cdm" in text
