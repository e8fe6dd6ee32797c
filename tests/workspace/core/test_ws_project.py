"""Projects: made from a study data folder (copied with checksums, the input untouched) or the bundled demo."""

from __future__ import annotations

import hashlib
import json
import shutil
import stat
from importlib import resources
from pathlib import Path

import pytest

from ipafstudy.workspace.project import create_demo_project, open_project

BUNDLED = Path(str(resources.files("ipafstudy") / "example_data"))


def _digests(folder: Path) -> dict[str, tuple[str, int]]:
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.iterdir())}


def test_a_data_folder_becomes_a_project_beside_it_and_is_never_modified(tmp_path):
    data = tmp_path / "study"
    shutil.copytree(BUNDLED, data)
    before = _digests(data)
    project = open_project(data)
    assert project.created and project.root == tmp_path / "study-workspace"
    assert _digests(data) == before  # same bytes, not even touched
    manifest = json.loads((project.root / "workspace.json").read_text())
    for name in ("patients.csv", "hrct_reads.csv"):
        assert manifest["checksums"][name] == before[name][0]
        assert hashlib.sha256((project.data_dir / name).read_bytes()).hexdigest() == before[name][0]
    assert "generator_truth.json" not in manifest["checksums"]  # only the study tables
    assert project.db_url == f"sqlite:///{project.root / 'workspace.sqlite'}"
    # The second start reopens the same project.
    again = open_project(data)
    assert (again.root, again.created) == (project.root, False)
    assert open_project(project.root).root == project.root


def test_a_project_folder_that_is_something_else_is_refused(tmp_path):
    from ipafstudy.errors import IpafstudyError

    data = tmp_path / "study"
    shutil.copytree(BUNDLED, data)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(IpafstudyError, match="not a workspace project"):
        open_project(data, project_dir=busy)
    assert [p.name for p in busy.iterdir()] == ["notes.txt"]
    with pytest.raises(IpafstudyError, match="neither a workspace project"):
        open_project(tmp_path / "missing")


def test_a_project_on_postgresql_is_not_silently_reopened_on_sqlite(tmp_path):
    from ipafstudy.errors import InvalidOptionError
    from ipafstudy.workspace.project import _write_manifest

    root = tmp_path / "p"
    root.mkdir()
    _write_manifest(root, {}, None, "postgresql://u:secret@db.example/ws", None, None)
    manifest = (root / "workspace.json").read_text()
    assert "secret" not in manifest
    with pytest.raises(InvalidOptionError, match="pass --db"):
        open_project(root)


def test_demo_project_leaves_two_scans_unread_and_makes_one_account_per_role(tmp_path):
    from ipafstudy.workspace.auth import login, user_for_token
    from ipafstudy.workspace.db import open_workspace
    from ipafstudy.workspace.reading import worklist

    project = create_demo_project(tmp_path / "demo")
    passwords = project.initial_passwords
    assert sorted(passwords) == ["adjudicator", "investigator", "reader1", "reader2"]
    path = project.root / "initial-passwords.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert all(f"{u}\t{p}" in path.read_text() for u, p in passwords.items())
    ws = open_workspace(project)
    try:
        for role in ("reader1", "reader2"):
            user = user_for_token(ws, login(ws, role, passwords[role]))
            tasks = worklist(ws, user)
            assert [(t.status, t.n_cells_saved) for t in tasks] == [("new", 0), ("new", 0)]
        investigator = user_for_token(ws, login(ws, "investigator", passwords["investigator"]))
        assert sum(t.status == "reading" for t in worklist(ws, investigator)) == 2
    finally:
        ws.dispose()
    from ipafstudy.errors import IpafstudyError

    with pytest.raises(IpafstudyError, match="not empty"):
        create_demo_project(tmp_path / "demo")
