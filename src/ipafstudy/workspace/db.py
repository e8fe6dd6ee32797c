"""The workspace database: tables, engine set-up, migrations at open, and the Workspace handle.

One schema for SQLite (a file, the default, created on first start) and PostgreSQL (``--db postgresql://...``).
The schema is changed only by the Alembic migrations packaged in ``ipafstudy/workspace/migrations``;
``open_workspace`` runs them up to head every time, so an older database file is upgraded in place.

SQLite notes (why the engine is set up this way): every write transaction starts with ``BEGIN IMMEDIATE`` so
two concurrent writers queue on the database lock (``busy_timeout``) instead of one failing with "database is
locked" when a read transaction tries to become a write transaction; ``Workspace.read()`` transactions (never
written in) start with a plain BEGIN and, the journal being WAL, neither wait for nor block the writer.
PostgreSQL serialises writes to one scan with ``SELECT ... FOR UPDATE`` on the scan row (see ``reading``).

Times are stored as naive UTC datetimes; ``Workspace.now()`` is the only clock (tests inject one).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ipafstudy.errors import InvalidOptionError, IpafstudyError
from ipafstudy.settings import ClinicalSettings

if TYPE_CHECKING:
    from ipafstudy.workspace.project import Project

metadata = sa.MetaData()

users = sa.Table(
    "users", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", sa.DateTime, nullable=True),
)

sessions = sa.Table(
    "sessions", metadata,
    # sha256 of the cookie token: a copy of the database does not hand out live sessions.
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("last_seen_at", sa.DateTime, nullable=False),
)

scans = sa.Table(
    "scans", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("patient_id", sa.String(64), nullable=False),
    sa.Column("scan_date", sa.Date, nullable=False),
    sa.UniqueConstraint("patient_id", "scan_date", name="uq_scans_patient_date"),
)

reads = sa.Table(
    "reads", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id", ondelete="CASCADE"), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),  # reader1 / reader2 / adjudicator
    sa.Column("reader", sa.String(64), nullable=False),  # the hrct_reads.csv 'reader' column
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),  # NULL: imported read
    sa.Column("status", sa.String(16), nullable=False),  # in_progress / finished
    sa.Column("source", sa.String(16), nullable=False),  # workspace / import
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime, nullable=True),
    sa.UniqueConstraint("scan_id", "role", name="uq_reads_scan_role"),
)

cells = sa.Table(
    "cells", metadata,
    sa.Column("read_id", sa.Integer, sa.ForeignKey("reads.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("zone", sa.String(2), primary_key=True),
    sa.Column("pattern", sa.String(16), primary_key=True),
    sa.Column("grade", sa.Integer, nullable=True),
    sa.Column("percent", sa.Float, nullable=True),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("updated_by", sa.String(64), nullable=False),
)

audit = sa.Table(
    "audit", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("username", sa.String(64), nullable=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("table_name", sa.String(32), nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("old", sa.Text, nullable=True),  # JSON
    sa.Column("new", sa.Text, nullable=True),  # JSON
    sa.Column("request_id", sa.String(100), nullable=True),
)

requests = sa.Table(
    "requests", metadata,
    # One row per request_id a client sent: a repeated submission gets the stored answer, not a second write.
    sa.Column("request_id", sa.String(100), primary_key=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("response", sa.Text, nullable=False),
)


def _wsetting(default: object, doc: str) -> Any:
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class WorkspaceSettings:
    """Login and session settings of a workspace (``workspace.json`` key ``settings``); defaults documented."""

    session_idle_minutes: float = _wsetting(30.0, "A session with no request for this long is logged out.")
    session_max_hours: float = _wsetting(12.0, "A session ends this long after login, however active.")
    lockout_attempts: int = _wsetting(5, "Wrong passwords in a row that lock an account.")
    lockout_minutes: float = _wsetting(15.0, "How long a locked account refuses every login.")
    session_touch_seconds: float = _wsetting(
        60.0, "A session's last-seen time is written at most this often (idle timeout granularity).")

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise InvalidOptionError(f"WorkspaceSettings: {f.name}={value!r} must be a positive number")
        if int(self.lockout_attempts) != self.lockout_attempts:
            raise InvalidOptionError(f"WorkspaceSettings: lockout_attempts={self.lockout_attempts!r} is not whole")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, object]) -> WorkspaceSettings:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidOptionError(f"unknown workspace setting(s) {unknown}; known settings are {sorted(known)}")
        return cls(**values)  # type: ignore[arg-type]


def utc_now() -> dt.datetime:
    """The real clock (UTC, aware)."""
    return dt.datetime.now(dt.UTC)


@dataclass
class Workspace:
    """An open workspace database: engine, clinical settings, login settings and the clock."""

    engine: sa.Engine
    settings: ClinicalSettings = field(default_factory=ClinicalSettings)
    config: WorkspaceSettings = field(default_factory=WorkspaceSettings)
    clock: Callable[[], dt.datetime] = utc_now
    data_dir: Path | None = None  # the project's copy of the study tables (import of a lone hrct_reads.csv)

    def now(self) -> dt.datetime:
        """Current time as stored: naive UTC (an aware clock value is converted)."""
        value = self.clock()
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value

    _write_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @contextmanager
    def session(self) -> Iterator[sa.Connection]:
        """One write transaction (committed on success, rolled back on error).

        On SQLite the writers of this process queue on a lock first: SQLite's own busy wait sleeps and retries,
        which under 20 concurrent writers made the slowest saves wait seconds (benchmarks/bench_workspace.py).
        """
        if self.engine.dialect.name == "sqlite":
            with self._write_lock, self.engine.begin() as conn:
                yield conn
        else:
            with self.engine.begin() as conn:
                yield conn

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """One read-only transaction: on SQLite a plain BEGIN, so readers do not queue behind the writer."""
        with self.engine.connect() as conn:
            conn.execution_options(ipafstudy_read_only=True)
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        """Close the pooled connections (tests that simulate a restart, server shutdown)."""
        self.engine.dispose()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


def to_json(value: object) -> str | None:
    """Audit payload as compact, key-sorted JSON (None stays None)."""
    return None if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 (the driver in the ``postgres`` extra), not psycopg2."""
    parsed = sa.engine.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def create_db_engine(url: str) -> sa.Engine:
    """Engine for a SQLite file (created with its folder) or a PostgreSQL server, set up as the module says."""
    url = normalise_url(url)
    parsed = sa.engine.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise InvalidOptionError("the workspace needs a SQLite file (sqlite:///path), not an in-memory database")
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                                  pool_size=8, max_overflow=32)

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn: sa.Connection) -> None:
            read_only = conn.get_execution_options().get("ipafstudy_read_only")
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    if backend == "postgresql":
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise IpafstudyError(
                "a PostgreSQL workspace needs the psycopg driver: pip install 'ipafstudy[postgres]'") from None
        # At most 15 connections: the test servers allow 20, a default PostgreSQL 100; requests beyond wait.
        return sa.create_engine(url, pool_size=8, max_overflow=7, pool_timeout=60, pool_pre_ping=True)
    raise InvalidOptionError(f"workspace database {parsed.render_as_string()!r}: use sqlite:///FILE or "
                             "postgresql://USER@HOST/DB")


def alembic_config(connection: sa.Connection | None = None) -> Any:
    """Alembic Config built in code (no alembic.ini): the migrations packaged inside ipafstudy."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("ipafstudy.workspace") / "migrations"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` (head by default) on this database."""
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)


def current_revision(engine: sa.Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def open_workspace(
    project_or_url: Project | str | Path,
    *,
    settings: ClinicalSettings | None = None,
    config: WorkspaceSettings | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> Workspace:
    """Open (and create or upgrade) the workspace database of a project, a database URL or a SQLite file path.

    A project brings its own clinical settings (its settings file or plan) and login settings; explicit
    ``settings``/``config`` override them. Migrations run to head before anything else touches the database.
    """
    data_dir = None
    if isinstance(project_or_url, (str, Path)):
        text = str(project_or_url)
        url = text if "://" in text else sqlite_url(Path(text))
    else:
        project = project_or_url
        url = project.db_url
        data_dir = project.data_dir
        if settings is None:
            settings = project.clinical_settings()
        if config is None:
            config = project.workspace_settings()
    engine = create_db_engine(url)
    try:
        upgrade(engine)
    except Exception:
        engine.dispose()
        raise
    return Workspace(engine=engine, settings=settings or ClinicalSettings(), config=config or WorkspaceSettings(),
                     clock=clock or utc_now, data_dir=data_dir)
