"""``ipafstudy users add|passwd|list PROJECT``."""

from __future__ import annotations

import io
import shutil
from importlib import resources
from pathlib import Path

import pytest

from ipafstudy.cli import main

BUNDLED = Path(str(resources.files("ipafstudy") / "example_data"))


def _run(monkeypatch, capsys, argv, stdin=""):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_add_passwd_list_on_a_data_folder_project(tmp_path, monkeypatch, capsys):
    from ipafstudy.cli.users import ROLES as CLI_ROLES
    from ipafstudy.workspace.auth import ROLES, LoginRefused, login
    from ipafstudy.workspace.db import open_workspace
    from ipafstudy.workspace.project import open_project

    assert CLI_ROLES == ROLES
    data = tmp_path / "study"
    shutil.copytree(BUNDLED, data)
    code, out, _ = _run(monkeypatch, capsys, ["users", "add", str(data), "alice", "--role", "reader1",
                                              "--password-stdin"], "first password\n")
    assert (code, out) == (0, "added alice (reader1)\n")
    project = tmp_path / "study-workspace"
    code, out, err = _run(monkeypatch, capsys, ["users", "add", str(project), "alice", "--role", "reader2",
                                                "--password-stdin"], "another password\n")
    assert code == 1 and "already exists" in err
    code, _, err = _run(monkeypatch, capsys, ["users", "add", str(project), "bob", "--role", "reader2",
                                              "--password-stdin"], "short\n")
    assert code == 1 and "at least 8 characters" in err
    code, out, _ = _run(monkeypatch, capsys, ["users", "passwd", str(project), "alice", "--password-stdin"],
                        "second password\n")
    assert code == 0 and "new password set for alice" in out
    code, out, _ = _run(monkeypatch, capsys, ["users", "list", str(project)])
    assert code == 0 and out.split()[:2] == ["alice", "reader1"] and "locked" not in out
    ws = open_workspace(open_project(project))
    try:
        with pytest.raises(LoginRefused):
            login(ws, "alice", "first password")
        assert login(ws, "alice", "second password")
    finally:
        ws.dispose()


def test_unknown_user_and_bad_role(tmp_path, monkeypatch, capsys):
    data = tmp_path / "study"
    shutil.copytree(BUNDLED, data)
    code, _, err = _run(monkeypatch, capsys, ["users", "passwd", str(data), "nobody", "--password-stdin"],
                        "some long password\n")
    assert code == 1 and "no user 'nobody'" in err
    with pytest.raises(SystemExit):
        main(["users", "add", str(data), "x", "--role", "radiologist"])
    code, out, _ = _run(monkeypatch, capsys, ["users", "list", str(data)])
    assert code == 0 and "no accounts yet" in out
