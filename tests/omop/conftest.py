"""Real database engines for the OMOP tests: a PostgreSQL server and a local Spark session.

Both are session-scoped (starting them costs seconds) and stopped at the end of the session. PostgreSQL runs from
the distribution's binaries (``/usr/lib/postgresql/<version>/bin``) in a temporary folder on a free port; initdb
refuses to run as root, so as root the server runs as the unprivileged ``postgres`` user (created by the Debian
package) via ``runuser`` (the server helpers live in tests/servers.py, shared with the workspace tests).
Spark runs in local mode inside a JVM started by pyspark (Java from the distribution).

When the binaries are missing the tests that need them are skipped with the reason, unless
``IPAFSTUDY_REQUIRE_ENGINES=1`` (set by ``.ci/run``): then a missing engine fails the test, so CI cannot go green
by skipping.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.servers import (  # noqa: F401 - re-exported for the omop tests
    PostgresServer,
    engine_missing,
    free_port,
    running_postgres,
    wait_until_closed,
)


def java_home() -> str | None:
    """JAVA_HOME as set, or derived from the java on PATH (/usr/bin/java -> /usr/lib/jvm/...)."""
    if os.environ.get("JAVA_HOME") and Path(os.environ["JAVA_HOME"], "bin", "java").exists():
        return os.environ["JAVA_HOME"]
    java = shutil.which("java")
    if java is None:
        return None
    return str(Path(java).resolve().parent.parent)


@contextlib.contextmanager
def local_spark() -> Iterator[object]:
    """A local-mode SparkSession (2 threads, no UI, UTC) whose JVM is shut down at the end."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        engine_missing("pyspark is not installed (pip install -e '.[spark]')")
    home = java_home()
    if home is None:
        engine_missing("Java is not installed (apt-get install openjdk-17-jre-headless)")
    from ipafstudy.omop.engines import local_spark_session

    root = Path(tempfile.mkdtemp(prefix="ipafstudy-spark-"))
    old_home = os.environ.get("JAVA_HOME")
    os.environ["JAVA_HOME"] = home
    session = None
    try:
        session = local_spark_session(scratch=root)
        yield session
    finally:
        if session is not None:
            from ipafstudy.omop.engines import stop_spark_session

            stop_spark_session(session)
        if old_home is None:
            os.environ.pop("JAVA_HOME", None)
        else:
            os.environ["JAVA_HOME"] = old_home
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the whole test session."""
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def spark_session() -> Iterator[object]:
    """One local Spark session for the whole test session."""
    with local_spark() as session:
        yield session


#: The synthetic CDM every engine gets in the agreement tests: big enough for every verdict, small for Spark.
ENGINE_PERSONS = 200
ENGINE_SEED = 20261201
ENGINES = ("duckdb", "postgresql", "spark")


@pytest.fixture(scope="session")
def engine_cdm_tables(tmp_path_factory) -> tuple[Path, dict[str, object]]:
    """One synthetic CDM as a DuckDB file, and its tables read back from that file (the same data for every engine)."""
    import ibis

    from ipafstudy.omop.synth import write_synthetic_cdm

    root = tmp_path_factory.mktemp("engine-cdm")
    duck = Path(write_synthetic_cdm(root / "cdm.duckdb", persons=ENGINE_PERSONS, seed=ENGINE_SEED))
    con = ibis.duckdb.connect(str(duck), read_only=True)
    try:
        tables = {name: con.table(name).to_pyarrow() for name in con.list_tables()}
    finally:
        con.disconnect()
    return duck, tables


@pytest.fixture(scope="session")
def engine_dbs(engine_cdm_tables) -> dict[str, str]:
    """``DB`` argument per engine for the same synthetic CDM, built lazily (an engine that is missing skips only
    the tests that ask for it): use :func:`engine_db`."""
    duck, _ = engine_cdm_tables
    return {"duckdb": str(duck)}


def engine_db(request: pytest.FixtureRequest, engine: str) -> str:
    """The ``DB`` argument of the shared synthetic CDM on ``engine``, loading it there on first use."""
    from ipafstudy.omop import engines as E

    dbs: dict[str, str] = request.getfixturevalue("engine_dbs")
    if engine not in dbs:
        _, tables = request.getfixturevalue("engine_cdm_tables")
        if engine == "postgresql":
            server: PostgresServer = request.getfixturevalue("postgres_server")
            url = server.create_database("engine_cdm")
            E.load_cdm_postgres(url, tables)
            dbs[engine] = url
        elif engine == "spark":
            request.getfixturevalue("spark_session")
            folder = request.getfixturevalue("tmp_path_factory").mktemp("engine-parquet") / "cdm"
            dbs[engine] = str(E.write_cdm_parquet(folder, tables))
        else:
            raise ValueError(engine)
    return dbs[engine]
