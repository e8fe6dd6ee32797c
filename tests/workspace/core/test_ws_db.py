"""The workspace schema comes only from the packaged Alembic migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from ipafstudy.workspace import db
from ipafstudy.workspace.db import WorkspaceSettings, create_db_engine, current_revision, open_workspace, upgrade

from .conftest import PASSWORD

# Worked from the design (docs/workspace.md, "Database"): the tables and their columns.
EXPECTED_COLUMNS = {
    "users": {"id", "username", "role", "password_hash", "created_at", "failed_logins", "locked_until"},
    "sessions": {"token_hash", "user_id", "created_at", "last_seen_at"},
    "scans": {"id", "patient_id", "scan_date"},
    "reads": {"id", "scan_id", "role", "reader", "user_id", "status", "source", "created_at", "finished_at"},
    "cells": {"read_id", "zone", "pattern", "grade", "percent", "updated_at", "updated_by"},
    "audit": {"id", "at", "username", "action", "table_name", "key", "old", "new", "request_id"},
    "requests": {"request_id", "username", "at", "payload", "response"},
}


def test_empty_database_upgrades_to_the_expected_schema(workspace_url, open_ws):
    ws = open_ws()
    inspector = sa.inspect(ws.engine)
    tables = set(inspector.get_table_names())
    assert tables == {*EXPECTED_COLUMNS, "alembic_version"}
    for table, columns in EXPECTED_COLUMNS.items():
        assert {c["name"] for c in inspector.get_columns(table)} == columns, table
    assert current_revision(ws.engine) == "0002"
    # The models the code queries agree with what the migrations built (Alembic's own comparison).
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with ws.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diffs == []
    unique = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("reads")}
    assert ("scan_id", "role") in unique
    # Opening again is a no-op upgrade (the server's second start).
    again = open_ws()
    assert current_revision(again.engine) == "0002"


def test_a_database_at_the_first_revision_upgrades_keeping_its_rows(workspace_url, open_ws, clock):
    from ipafstudy.workspace.auth import hash_password, login, user_for_token

    engine = create_db_engine(workspace_url)
    try:
        upgrade(engine, "0001")
        assert current_revision(engine) == "0001"
        assert "failed_logins" not in {c["name"] for c in sa.inspect(engine).get_columns("users")}
        with engine.begin() as conn:  # rows written by the 0001 schema (no lockout columns yet)
            conn.execute(sa.text("INSERT INTO users (id, username, role, password_hash, created_at) "
                                 "VALUES (1, 'old', 'reader1', :h, :t)"),
                         {"h": hash_password(PASSWORD), "t": dt.datetime(2026, 1, 5)})
            conn.execute(sa.text("INSERT INTO scans (id, patient_id, scan_date) VALUES (7, 'P-1', :d)"),
                         {"d": dt.date(2025, 5, 1)})
            conn.execute(sa.text("INSERT INTO reads (id, scan_id, role, reader, user_id, status, source, created_at)"
                                 " VALUES (3, 7, 'reader1', 'old', 1, 'in_progress', 'workspace', :t)"),
                         {"t": dt.datetime(2026, 1, 6)})
            conn.execute(sa.text("INSERT INTO cells (read_id, zone, pattern, grade, percent, updated_at, updated_by)"
                                 " VALUES (3, 'RU', 'ggo', 2, NULL, :t, 'old')"), {"t": dt.datetime(2026, 1, 6)})
    finally:
        engine.dispose()
    ws = open_ws()
    assert current_revision(ws.engine) == "0002"
    with ws.session() as conn:
        user = conn.execute(sa.select(db.users)).one()
        cell = conn.execute(sa.select(db.cells)).one()
    assert (user.username, user.failed_logins, user.locked_until) == ("old", 0, None)
    assert (cell.zone, cell.pattern, cell.grade, cell.percent) == ("RU", "ggo", 2, None)
    assert user_for_token(ws, login(ws, "old", PASSWORD)).username == "old"


def test_sqlite_file_and_folder_are_created_on_first_start(tmp_path, clock):
    path = tmp_path / "new" / "folder" / "ws.sqlite"
    ws = open_workspace(path, clock=clock)
    try:
        assert path.is_file()
        assert current_revision(ws.engine) == "0002"
        with ws.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        ws.dispose()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "mysql://x@y/z"])
def test_unsupported_databases_are_refused_with_the_reason(url):
    from ipafstudy.errors import InvalidOptionError

    with pytest.raises(InvalidOptionError, match=r"sqlite:///|SQLite file"):
        create_db_engine(url)


def test_workspace_settings_defaults_and_refusals():
    s = WorkspaceSettings()
    assert (s.session_idle_minutes, s.session_max_hours, s.lockout_attempts, s.lockout_minutes) == (30, 12, 5, 15)
    from ipafstudy.errors import InvalidOptionError

    with pytest.raises(InvalidOptionError, match="lockout_attempts=0"):
        WorkspaceSettings(lockout_attempts=0)
    with pytest.raises(InvalidOptionError, match=r"unknown workspace setting\(s\) \['idle'\]"):
        WorkspaceSettings.from_dict({"idle": 3})
