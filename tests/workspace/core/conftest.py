"""Fixtures of the workspace back-end tests: a workspace database on SQLite and on a real PostgreSQL server,
an injectable clock, and one account per role.

``workspace_url`` is parametrised over both engines, so every service test runs on both. PostgreSQL comes from
tests/servers.py (skipped without the server binaries unless IPAFSTUDY_REQUIRE_ENGINES=1).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from tests.servers import PostgresServer, running_postgres

PASSWORD = "correct horse battery"
START = dt.datetime(2026, 3, 2, 9, 0, 0)
_db_numbers = itertools.count(1)


class Clock:
    """A settable clock: ``clock()`` is the time; ``advance(minutes=...)`` moves it."""

    def __init__(self, start: dt.datetime = START) -> None:
        self.value = start

    def __call__(self) -> dt.datetime:
        return self.value

    def advance(self, **delta: float) -> dt.datetime:
        self.value += dt.timedelta(**delta)
        return self.value


@pytest.fixture(autouse=True)
def fast_scrypt(request, monkeypatch):
    """Cheaper scrypt (N=2^10) so the many logins of these tests stay fast; a test that asks for the
    ``real_scrypt`` fixture keeps the production cost."""
    if "real_scrypt" not in request.fixturenames:
        from ipafstudy.workspace import auth

        monkeypatch.setattr(auth, "SCRYPT_N", 2**10)


@pytest.fixture
def real_scrypt() -> None:
    """Marker fixture: keep the production scrypt cost (see fast_scrypt)."""


@pytest.fixture(scope="session")
def workspace_pg() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the workspace tests (each test gets its own database on it)."""
    with running_postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def workspace_url(request, tmp_path) -> str:
    """An empty workspace database: a new SQLite file, or a new database on the test PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'workspace.sqlite'}"
    server: PostgresServer = request.getfixturevalue("workspace_pg")
    return server.create_database(f"ws_{next(_db_numbers)}")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def open_ws(workspace_url, clock) -> Iterator[Callable]:
    """``open_ws(**kw)`` opens (another) Workspace on the test database; all are disposed at the end."""
    from ipafstudy.workspace.db import open_workspace

    opened = []

    def make(**kwargs):
        kwargs.setdefault("clock", clock)
        ws = open_workspace(workspace_url, **kwargs)
        opened.append(ws)
        return ws

    yield make
    for ws in opened:
        ws.dispose()


@dataclass
class Team:
    """One account per role (plus a second reader1) in a workspace."""

    reader1: object
    reader2: object
    adjudicator: object
    investigator: object
    other_reader1: object


def make_team(ws) -> Team:
    from ipafstudy.workspace.auth import create_user

    return Team(
        reader1=create_user(ws, "alice", "reader1", PASSWORD),
        reader2=create_user(ws, "bob", "reader2", PASSWORD),
        adjudicator=create_user(ws, "carol", "adjudicator", PASSWORD),
        investigator=create_user(ws, "dave", "investigator", PASSWORD),
        other_reader1=create_user(ws, "erin", "reader1", PASSWORD),
    )


@pytest.fixture
def ws(open_ws):
    return open_ws()


@pytest.fixture
def team(ws) -> Team:
    return make_team(ws)
