"""Real database engines for the OMOP tests: a PostgreSQL server and a local Spark session.

Both are session-scoped (starting them costs seconds) and stopped at the end of the session. PostgreSQL runs from
the distribution's binaries (``/usr/lib/postgresql/<version>/bin``) in a temporary folder on a free port; initdb
refuses to run as root, so as root the server runs as the unprivileged ``postgres`` user (created by the Debian
package) via ``runuser``. Spark runs in local mode inside a JVM started by pyspark (Java from the distribution).

When the binaries are missing the tests that need them are skipped with the reason, unless
``IPAFSTUDY_REQUIRE_ENGINES=1`` (set by ``.ci/run``): then a missing engine fails the test, so CI cannot go green
by skipping.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_GLOB = "/usr/lib/postgresql/*/bin"
PG_SUPERUSER = "ipafstudy"  # the role initdb creates; trust authentication on 127.0.0.1 only
PG_RUN_AS = "postgres"  # unprivileged OS user for the server when the tests run as root


def _engine_missing(reason: str) -> None:
    """Skip (developer machine without the engine) or fail (CI, which must have installed it)."""
    if os.environ.get("IPAFSTUDY_REQUIRE_ENGINES") == "1":
        pytest.fail(f"{reason} (IPAFSTUDY_REQUIRE_ENGINES=1; .ci/run installs it)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_bindir() -> Path | None:
    """The newest installed PostgreSQL server's bin folder (Debian layout), or None."""
    found = [Path(p) for p in glob.glob(PG_GLOB) if (Path(p) / "initdb").exists() and (Path(p) / "pg_ctl").exists()]
    if not found:
        return None
    return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)


@dataclass(frozen=True)
class PostgresServer:
    """A running throw-away server; ``url(db)`` gives the connection URL of one of its databases."""

    host: str
    port: int
    user: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """initdb + pg_ctl start in a fresh temporary folder on a free port; pg_ctl stop and remove it afterwards."""
    bindir = postgres_bindir()
    if bindir is None:
        _engine_missing(f"PostgreSQL server binaries not found ({PG_GLOB}/initdb)")
    as_root = os.geteuid() == 0
    if as_root:
        try:
            import pwd

            pw = pwd.getpwnam(PG_RUN_AS)
        except KeyError:
            _engine_missing(f"running as root and there is no unprivileged user {PG_RUN_AS!r} to run PostgreSQL")
        if shutil.which("runuser") is None:
            _engine_missing("running as root and runuser is missing")
    # Not under pytest's basetemp: that is mode 0700 for root, which the postgres user cannot enter.
    root = Path(tempfile.mkdtemp(prefix="ipafstudy-pg-"))
    data, sock = root / "data", root / "sock"
    data.mkdir()
    sock.mkdir()
    if as_root:
        for path in (root, data, sock):
            os.chown(path, pw.pw_uid, pw.pw_gid)
    prefix = ["runuser", "-u", PG_RUN_AS, "--"] if as_root else []
    port = free_port()
    log = root / "server.log"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120, check=False)

    started = False
    try:
        init = run(str(bindir / "initdb"), "-D", str(data), "-U", PG_SUPERUSER, "--auth=trust", "-E", "UTF8",
                   "--locale=C", "--no-sync")
        if init.returncode != 0:
            pytest.fail(f"initdb failed:\n{init.stdout}\n{init.stderr}", pytrace=False)
        # fsync off and small buffers: a test server on a shared 2-core machine, its data is thrown away.
        opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} -c fsync=off -c full_page_writes=off " \
               "-c synchronous_commit=off -c shared_buffers=32MB -c max_connections=20 -c timezone=UTC"
        start = run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", opts, "-w", "-t", "60", "start")
        started = start.returncode == 0
        if not started:
            text = log.read_text() if log.exists() else ""
            pytest.fail(f"pg_ctl start failed:\n{start.stdout}\n{start.stderr}\n{text}", pytrace=False)
        yield PostgresServer("127.0.0.1", port, PG_SUPERUSER)
    finally:
        if started:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "60", "stop")
        shutil.rmtree(root, ignore_errors=True)


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
        _engine_missing("pyspark is not installed (pip install -e '.[spark]')")
    home = java_home()
    if home is None:
        _engine_missing("Java is not installed (apt-get install openjdk-17-jre-headless)")
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


def wait_until_closed(port: int, seconds: float = 10.0) -> bool:
    """True once nothing accepts connections on 127.0.0.1:port (used to check the server really stopped)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return True
        time.sleep(0.2)
    return False


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
