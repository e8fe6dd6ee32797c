"""server.build_app without a browser: the login page, the role guard on HTTP and websockets, and `ipafstudy serve`.

One demo project for the module (the bundled cohort, one account per role); requests go through Starlette's
TestClient, so these run in well under a second each.
"""

from __future__ import annotations

import pytest

from ipafstudy.cli import main


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from ipafstudy.workspace.project import create_demo_project

    return create_demo_project(tmp_path_factory.mktemp("server") / "demo")


@pytest.fixture(scope="module")
def client(demo):
    from starlette.testclient import TestClient

    from ipafstudy.workspace.server import build_app

    with TestClient(build_app(demo), follow_redirects=False) as test_client:
        yield test_client


def _login(client, demo, role):
    from ipafstudy.workspace.auth import COOKIE_NAME

    client.cookies.clear()
    response = client.post("/login", data={"username": role, "password": demo.initial_passwords[role]})
    assert response.status_code == 303, response.text
    assert client.cookies.get(COOKIE_NAME)
    return response


def test_login_page_is_a_plain_form_posting_to_login(client):
    client.cookies.clear()
    response = client.get("/")
    assert response.status_code == 200
    assert '<form method="post" action="/login">' in response.text
    assert 'name="username"' in response.text and 'type="password"' in response.text
    assert "<script" not in response.text  # no JavaScript needed to log in
    assert response.headers["cache-control"] == "no-store"


def test_login_page_prints_messages_escaped(client):
    client.cookies.clear()
    response = client.get("/", params={"error": "<script>alert(1)</script> wrong password"})
    assert "&lt;script&gt;alert(1)&lt;/script&gt; wrong password" in response.text
    assert "<script>" not in response.text
    assert "session has ended" in client.get("/", params={"reason": "expired"}).text
    assert "session has ended" not in client.get("/", params={"reason": "<b>made-up</b>"}).text


@pytest.mark.parametrize("path", ["/read/", "/adjudicate/", "/export/", "/explorer/", "/read/lib/x.js"])
def test_pages_without_a_session_go_to_the_login_page(client, path):
    client.cookies.clear()
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == "/?reason=login"


def test_guard_matches_whole_path_segments_only(client):
    from ipafstudy.workspace.server import page_for

    assert page_for("/read") == ("/read", ("reader1", "reader2"))
    assert page_for("/read/websocket/")[0] == "/read"
    assert page_for("/reader") is None and page_for("/readx/") is None and page_for("/") is None
    client.cookies.clear()
    assert client.get("/reader").status_code == 404  # not a page: no redirect, no guard


def test_an_unknown_or_ended_session_goes_to_login_with_the_expired_message(client):
    from ipafstudy.workspace.auth import COOKIE_NAME

    client.cookies.clear()
    client.cookies.set(COOKIE_NAME, "not-a-live-token")
    response = client.get("/read/")
    assert response.status_code == 303
    assert response.headers["location"] == "/?reason=expired"
    assert f'{COOKIE_NAME}=""' in response.headers["set-cookie"]  # the dead cookie is dropped


# page -> the roles that may open it; every other role gets 403 (worked from the role list)
ALLOWED = {"/read/": {"reader1", "reader2"}, "/adjudicate/": {"adjudicator"}, "/export/": {"investigator"},
           "/explorer/": {"investigator"}}
ROLES = ("reader1", "reader2", "adjudicator", "investigator")
HOME = {"reader1": "/read/", "reader2": "/read/", "adjudicator": "/adjudicate/", "investigator": "/explorer/"}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_opens_its_pages_and_no_other(client, demo, role):
    login = _login(client, demo, role)
    assert login.headers["location"].rstrip("/") == HOME[role].rstrip("/")
    for path, roles in ALLOWED.items():
        response = client.get(path)
        if role in roles:
            assert response.status_code == 200, (role, path)
            assert response.headers["cache-control"] == "no-store"
            if path != "/explorer/":  # the study explorer (ws-explorer) has its own header
                assert f"{role} (" in response.text  # the top bar names the user
        else:
            assert response.status_code == 403, (role, path)
            assert "Not allowed" in response.text


def test_websocket_handshake_is_checked_too(client, demo):
    from starlette.websockets import WebSocketDisconnect

    client.cookies.clear()
    with pytest.raises(WebSocketDisconnect) as no_session, client.websocket_connect("/read/websocket/"):
        pass
    assert no_session.value.code == 4401
    _login(client, demo, "reader1")
    with pytest.raises(WebSocketDisconnect) as wrong_role, client.websocket_connect("/adjudicate/websocket/"):
        pass
    assert wrong_role.value.code == 4403


def test_logged_in_user_sees_a_link_to_their_page_on_the_login_url(client, demo):
    _login(client, demo, "adjudicator")
    text = client.get("/").text
    assert 'href="/adjudicate/"' in text and 'action="/logout"' in text


def test_reader_page_shows_own_worklist_and_refuses_unknown_scan(client, demo):
    _login(client, demo, "reader2")
    page = client.get("/read/")
    assert 'id="worklist"' not in page.text  # the worklist is rendered by the live session, not in the HTML
    missing = client.get("/read/", params={"scan": "999999"})
    assert missing.status_code == 200
    assert 'id="form-error"' in missing.text and "999999" in missing.text


# ---------------------------------------------------------------------------- ipafstudy serve


def test_serve_refuses_bad_arguments_before_starting(capsys, tmp_path):
    assert main(["serve"]) == 1
    assert "DATA_OR_PROJECT" in capsys.readouterr().err
    assert main(["serve", str(tmp_path), "--demo"]) == 1
    assert "not both" in capsys.readouterr().err
    assert main(["serve", "--demo", "--port", "70000"]) == 1
    assert "70000" in capsys.readouterr().err
    assert main(["serve", str(tmp_path / "nothing-here")]) == 1
    assert "nothing-here" in capsys.readouterr().err
    assert not (tmp_path / "nothing-here-workspace").exists()  # no half-made project


def test_serve_demo_creates_then_reuses_the_project(monkeypatch, capsys, tmp_path):
    import uvicorn

    started = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.append((app, kw)))
    root = tmp_path / "demo"
    assert main(["serve", "--demo", "--project", str(root), "--port", "8123"]) == 0
    first = capsys.readouterr().out
    passwords = dict(line.split("\t") for line in (root / "initial-passwords.txt").read_text().splitlines()
                     if not line.startswith("#"))
    assert set(passwords) == set(ROLES)
    for role, password in passwords.items():
        assert f"{role}" in first and password in first  # printed once, on creation
    assert "http://127.0.0.1:8123/" in first
    assert started[0][1] == {"host": "127.0.0.1", "port": 8123, "log_level": "warning"}
    assert main(["serve", "--demo", "--project", str(root)]) == 0
    second = capsys.readouterr().out
    assert "Reusing" in second and not any(p in second for p in passwords.values())


def test_the_readme_command_starts_the_workspace(tmp_path):
    """The README's one command, run as a reviewer would (its own process), answers with the login page."""
    import re
    import subprocess
    import sys
    import time
    from pathlib import Path

    import httpx
    from tests.workspace.conftest import free_port

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Browser workspace", 1)[1]
    command = re.search(r"^(ipafstudy serve --demo)\s", section, flags=re.M).group(1).split()
    port = free_port()
    argv = [*command[1:], "--project", str(tmp_path / "demo"), "--port", str(port)]
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from ipafstudy.cli import main; sys.exit(main())",
                             *argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not answer within 120 s"
                time.sleep(0.2)
        assert response.status_code == 200 and 'action="/login"' in response.text
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0]
    passwords = (tmp_path / "demo" / "initial-passwords.txt").read_text()
    assert all(line.split("\t")[1] in out for line in passwords.splitlines() if not line.startswith("#"))
    assert f"http://127.0.0.1:{port}/" in out
