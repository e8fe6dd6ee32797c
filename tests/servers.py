"""Real servers for the tests, shared by tests/omop and tests/workspace: a throw-away PostgreSQL server, free ports.

PostgreSQL runs from the distribution's binaries (``/usr/lib/postgresql/<version>/bin``) in a temporary folder on a
free port; initdb refuses to run as root, so as root the server runs as the unprivileged ``postgres`` user (created
by the Debian package) via ``runuser``.

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


def engine_missing(reason: str) -> None:
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
        engine_missing(f"PostgreSQL server binaries not found ({PG_GLOB}/initdb)")
    as_root = os.geteuid() == 0
    if as_root:
        try:
            import pwd

            pw = pwd.getpwnam(PG_RUN_AS)
        except KeyError:
            engine_missing(f"running as root and there is no unprivileged user {PG_RUN_AS!r} to run PostgreSQL")
        if shutil.which("runuser") is None:
            engine_missing("running as root and runuser is missing")
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
