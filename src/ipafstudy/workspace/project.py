"""A workspace project: a folder holding ``workspace.json``, a copy of the study tables and the SQLite database.

``open_project(DATA_OR_PROJECT)`` opens a project folder, or makes one from a study data folder (CSV tables):
the tables are copied into ``PROJECT/data`` with their SHA-256 checksums recorded (the input folder is never
touched), the database is created and the existing HRCT reads are imported. Without ``project_dir`` the project
is ``DATA-workspace`` beside the data folder; opening the same data folder again reopens that project.

The database is ``PROJECT/workspace.sqlite`` unless a URL is given (PostgreSQL). ``workspace.json`` records the
URL with its password hidden, so a project created on PostgreSQL refuses to silently start an empty SQLite
database when ``--db`` is forgotten.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ipafstudy.errors import InvalidOptionError, IpafstudyError
from ipafstudy.fileio import atomic_write_bytes, atomic_write_text, sha256_file
from ipafstudy.settings import ClinicalSettings

MANIFEST = "workspace.json"
DB_FILE = "workspace.sqlite"
PASSWORDS_FILE = "initial-passwords.txt"
FORMAT = 1
#: How many bundled scans the demo project leaves unread (so a reviewer can read them as two readers).
DEMO_UNREAD_SCANS = 2


@dataclass
class Project:
    """An opened project folder. ``initial_passwords`` is set only by create_demo_project (printed once)."""

    root: Path
    data_dir: Path
    db_url: str
    settings_path: Path | None = None
    plan_path: Path | None = None
    workspace_settings_values: dict[str, Any] = field(default_factory=dict)
    initial_passwords: dict[str, str] | None = None
    created: bool = False  # this call created it (the first start)

    def clinical_settings(self) -> ClinicalSettings:
        """From the settings file (or the plan's ``clinical`` section), else the documented defaults."""
        path = self.settings_path or self.plan_path
        if path is None:
            return ClinicalSettings()
        from ipafstudy.cohort.outputs import load_settings

        return load_settings(str(path))

    def workspace_settings(self) -> Any:
        from ipafstudy.workspace.db import WorkspaceSettings

        return WorkspaceSettings.from_dict(self.workspace_settings_values)


def _redacted(url: str) -> str:
    import sqlalchemy as sa

    return sa.engine.make_url(url).render_as_string(hide_password=True)


def _read_manifest(root: Path) -> dict[str, Any]:
    path = root / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise IpafstudyError(f"{path}: not a readable workspace manifest ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else data
        raise IpafstudyError(f"{path}: unknown workspace format {found!r} (this ipafstudy reads format {FORMAT})")
    return data


def _load(root: Path, db_url: str | None) -> Project:
    from ipafstudy.workspace.db import sqlite_url

    data = _read_manifest(root)
    recorded = data.get("database")
    if db_url is None:
        if recorded and not recorded.startswith("sqlite"):
            raise InvalidOptionError(f"{root}: this project's database is {recorded}; pass --db with its URL")
        url = sqlite_url(root / DB_FILE)
    else:
        url = db_url
        if recorded and _redacted(url) != recorded and not (recorded.startswith("sqlite") and url.startswith("sqlite")):
            raise InvalidOptionError(f"{root}: this project's database is {recorded}, not {_redacted(url)}")

    def rel(key: str) -> Path | None:
        value = data.get(key)
        return (root / value) if value else None

    return Project(root=root, data_dir=root / data.get("data_dir", "data"), db_url=url,
                   settings_path=rel("settings_path"), plan_path=rel("plan_path"),
                   workspace_settings_values=dict(data.get("settings") or {}))


def _copy_tables(source: Path, dest: Path) -> dict[str, str]:
    """Copy the study's table files (CSV/JSON) into dest; checksums of source and copy must agree."""
    from ipafstudy.data.schema import TABLES

    dest.mkdir(parents=True, exist_ok=False)
    checksums: dict[str, str] = {}
    wanted = {f"{name}.csv" for name in TABLES}
    for path in sorted(source.iterdir()):
        if not path.is_file() or path.name.lower() not in wanted:
            continue
        before = sha256_file(path)
        atomic_write_bytes(dest / path.name, path.read_bytes())
        after = sha256_file(dest / path.name)
        if before != after:
            raise IpafstudyError(f"{path}: changed while it was being copied into the project; try again")
        checksums[path.name] = after
    if not checksums:
        raise IpafstudyError(f"{source}: no study tables found (expected {sorted(wanted)})")
    return checksums


def _write_manifest(root: Path, checksums: dict[str, str], source: Path | None, db_url: str | None,
                    settings_path: Path | None, plan_path: Path | None) -> None:
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "source": str(source) if source else None,
        "data_dir": "data",
        "checksums": checksums,
        "database": _redacted(db_url) if db_url else f"sqlite:///{DB_FILE}",
        "settings": {},
    }
    for key, path in (("settings_path", settings_path), ("plan_path", plan_path)):
        if path is not None:
            shutil.copyfile(path, root / path.name)
            manifest[key] = path.name
    atomic_write_text(root / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def is_project(path: Path) -> bool:
    return (Path(path) / MANIFEST).is_file()


def open_project(path: Path, *, db_url: str | None = None, project_dir: Path | None = None,
                 settings_path: Path | None = None, plan_path: Path | None = None) -> Project:
    """Open a project folder, or create one from a study data folder (see the module docstring).

    ``settings_path``/``plan_path`` (clinical settings YAML / analysis plan) are copied into a NEW project;
    an existing project keeps its own.
    """
    path = Path(path)
    if is_project(path):
        return _load(path, db_url)
    if not path.is_dir():
        raise IpafstudyError(f"{path}: neither a workspace project (no {MANIFEST}) nor a folder of study tables")
    root = Path(project_dir) if project_dir else path.with_name(path.name + "-workspace")
    if is_project(root):
        return _load(root, db_url)
    if root.exists() and any(root.iterdir()):
        raise IpafstudyError(f"{root}: exists and is not a workspace project; choose another --project folder")
    root.mkdir(parents=True, exist_ok=True)
    try:
        checksums = _copy_tables(path, root / "data")
        _write_manifest(root, checksums, path.resolve(), db_url, settings_path, plan_path)
        project = _load(root, db_url)
        _initialise(project)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)  # no half-made project left behind
        raise
    project.created = True
    return project


def _initialise(project: Project, *, leave_unread: int = 0) -> list[tuple[str, dt.date]]:
    """Create the database and import the data folder's HRCT reads (all but ``leave_unread`` scans)."""
    from ipafstudy.workspace.db import open_workspace
    from ipafstudy.workspace.transfer import import_reads

    ws = open_workspace(project)
    try:
        if not (project.data_dir / "hrct_reads.csv").exists():
            return []
        return import_reads(ws, project.data_dir, leave_unread=leave_unread).unread_scans
    finally:
        ws.dispose()


def create_demo_project(root: Path, *, db_url: str | None = None) -> Project:
    """The bundled cohort as a project: every read imported except two scans left unread, one account per role
    with a random password (in ``project.initial_passwords`` and ``root/initial-passwords.txt``, mode 0600)."""
    root = Path(root)
    if root.exists() and any(root.iterdir()):
        raise IpafstudyError(f"{root}: exists and is not empty; the demo project needs a new folder")
    from ipafstudy.data.synth import copy_bundled
    from ipafstudy.workspace.auth import ROLES, create_user
    from ipafstudy.workspace.db import open_workspace

    root.mkdir(parents=True, exist_ok=True)
    try:
        staging = root / ".bundled"
        copy_bundled(staging)
        checksums = _copy_tables(staging, root / "data")
        shutil.rmtree(staging)
        _write_manifest(root, checksums, None, db_url, None, None)
        project = _load(root, db_url)
        _initialise(project, leave_unread=DEMO_UNREAD_SCANS)
        passwords = {role: secrets.token_urlsafe(12) for role in ROLES}
        ws = open_workspace(project)
        try:
            for role, password in passwords.items():
                create_user(ws, role, role, password, by="create_demo_project")
        finally:
            ws.dispose()
        text = "".join(f"{role}\t{password}\n" for role, password in passwords.items())
        target = root / PASSWORDS_FILE
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("# username\tpassword (one account per role; change them with 'ipafstudy users passwd')\n")
            handle.write(text)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    project.initial_passwords = passwords
    project.created = True
    return project
