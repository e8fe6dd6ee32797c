"""The HTTP API through Starlette's TestClient: login per role, 401 when logged out or expired, lockout, 403
blinding, 422 naming zone/pattern/value/rule, double submission, export (SQLite; the services run on both engines
in the other test files)."""

from __future__ import annotations

import datetime as dt

import pytest
from starlette.testclient import TestClient

from ipafstudy.workspace import reading as R
from ipafstudy.workspace.api import api_app
from ipafstudy.workspace.auth import COOKIE_NAME

from .conftest import PASSWORD, Clock, make_team

ZONES = ("RU", "RM", "RL", "LU", "LM", "LL")
PATTERNS = ("ggo", "fibrosis", "honeycombing", "consolidation")


@pytest.fixture
def api(tmp_path):
    from ipafstudy.workspace.db import open_workspace

    clock = Clock()
    ws = open_workspace(tmp_path / "api.sqlite", clock=clock)
    team = make_team(ws)
    scans = [R.add_scan(ws, "A-0001", dt.date(2025, 4, 14)), R.add_scan(ws, "A-0002", dt.date(2025, 5, 2))]
    app = api_app(ws)
    yield ws, team, scans, app, clock
    ws.dispose()


def client(app, username: str | None = None, password: str = PASSWORD) -> TestClient:
    c = TestClient(app, base_url="http://testserver", follow_redirects=False)
    if username:
        r = c.post("/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
    return c


def test_login_per_role_sets_an_httponly_strict_cookie_and_sends_each_role_to_its_page(api):
    _, _, _, app, _ = api
    for username, role, page in (("alice", "reader1", "/read"), ("bob", "reader2", "/read"),
                                 ("carol", "adjudicator", "/adjudicate"), ("dave", "investigator", "/explorer")):
        c = client(app)
        r = c.post("/login", data={"username": username, "password": PASSWORD})  # the login form
        assert (r.status_code, r.headers["location"]) == (303, page)
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE_NAME}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert c.get("/api/me").json() == {"username": username, "role": role, "page": page}


def test_401_when_not_logged_in_after_logout_and_after_expiry(api):
    _, _, scans, app, clock = api
    anonymous = client(app)
    for method, path in (("GET", "/api/me"), ("GET", "/api/worklist"), ("GET", f"/api/scans/{scans[0]}/reads/reader1"),
                         ("PUT", f"/api/scans/{scans[0]}/cells/RU/ggo"), ("GET", "/api/adjudication"),
                         ("GET", "/api/export/hrct_reads.csv"), ("POST", f"/api/scans/{scans[0]}/finish")):
        r = anonymous.request(method, path, json={"grade": 1} if method == "PUT" else None)
        assert r.status_code == 401, (method, path)
    alice = client(app, "alice")
    assert alice.get("/api/me").status_code == 200
    clock.advance(minutes=30, seconds=1)  # idle longer than the 30-minute default
    r = alice.get("/api/me")
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    bob = client(app, "bob")
    assert bob.post("/logout", headers={"accept": "application/json"}).status_code == 200
    assert bob.get("/api/me").status_code == 401
    forged = client(app)
    forged.cookies.set(COOKIE_NAME, "not-a-session")
    assert forged.get("/api/me").status_code == 401


def test_wrong_passwords_lock_the_account(api):
    _, _, _, app, clock = api
    c = client(app)
    reasons = [c.post("/login", json={"username": "alice", "password": "wrong one"}).json()["reason"]
               for _ in range(5)]
    assert reasons == ["bad_credentials"] * 4 + ["locked"]
    r = c.post("/login", json={"username": "alice", "password": PASSWORD})
    assert (r.status_code, r.json()["reason"]) == (401, "locked")
    form = c.post("/login", data={"username": "alice", "password": PASSWORD})  # the browser form
    assert form.status_code == 303 and form.headers["location"].startswith("/?error=locked")
    clock.advance(minutes=15, seconds=1)
    assert c.post("/login", json={"username": "alice", "password": PASSWORD}).status_code == 200


def test_blinding_reader2_gets_403_for_reader1s_scan_by_every_route(api):
    _, _, scans, app, _ = api
    alice, bob = client(app, "alice"), client(app, "bob")
    scan = scans[0]
    for i, z in enumerate(ZONES):
        assert alice.put(f"/api/scans/{scan}/cells/{z}/fibrosis", json={"grade": i % 5}).status_code == 200
    r = bob.get(f"/api/scans/{scan}/reads/reader1")
    assert r.status_code == 403
    assert "fibrosis" not in r.text and '"grade"' not in r.text
    assert bob.get(f"/api/scans/{scan}/reads/adjudicator").status_code == 403
    assert bob.get("/api/export/hrct_reads.csv").status_code == 403
    assert bob.get("/api/adjudication").status_code == 403
    tasks = bob.get("/api/worklist").json()["tasks"]
    assert [(t["scan_id"], t["status"], t["n_cells_saved"]) for t in tasks] == [(scans[0], "new", 0),
                                                                                (scans[1], "new", 0)]
    own = bob.get(f"/api/scans/{scan}/reads/reader2").json()
    assert own["cells"] == [] and own["reader"] is None
    # alice sees her own read; erin (also reader1) does not.
    assert len(alice.get(f"/api/scans/{scan}/reads/reader1").json()["cells"]) == 6
    erin = client(app, "erin")
    assert erin.get(f"/api/scans/{scan}/reads/reader1").status_code == 403
    assert erin.put(f"/api/scans/{scan}/cells/RU/ggo", json={"grade": 1}).status_code == 403


@pytest.mark.parametrize(("body", "column", "rule"), [
    ({"grade": 5}, "fibrosis", "range"),
    ({"grade": 1.5}, "fibrosis", "type"),
    ({"percent": 140}, "fibrosis_pct", "range"),
    ({"percent": "lots"}, "fibrosis_pct", "type"),
])
def test_422_names_zone_pattern_value_and_rule(api, body, column, rule):
    ws, team, scans, app, _ = api
    r = client(app, "alice").put(f"/api/scans/{scans[0]}/cells/LM/fibrosis", json=body)
    assert r.status_code == 422
    got = r.json()
    value = next(iter(body.values()))
    assert (got["zone"], got["pattern"], got["column"], got["value"], got["rule"]) == ("LM", "fibrosis", column,
                                                                                      value, rule)
    assert "zone LM" in got["detail"] and "pattern fibrosis" in got["detail"] and repr(value) in got["detail"]
    assert R.read_form(ws, team.reader1, scans[0]).cells == {}


def test_422_for_a_body_that_is_not_a_score(api):
    _, _, scans, app, _ = api
    alice = client(app, "alice")
    url = f"/api/scans/{scans[0]}/cells/RU/ggo"
    assert alice.put(url, content=b"grade=2", headers={"content-type": "application/json"}).status_code == 422
    assert alice.put(url, json=[2]).status_code == 422
    assert alice.put(url, json={"grade": 2, "colour": "red"}).json()["rule"] == "unknown_column"
    nan = alice.put(url, content=b'{"percent": NaN}', headers={"content-type": "application/json"})
    assert nan.status_code == 422 and "NaN" in nan.json()["detail"]
    assert alice.put(f"/api/scans/{scans[0]}/cells/XX/ggo", json={"grade": 2}).json()["rule"] == "category"
    assert alice.put(f"/api/scans/{scans[0] + 99}/cells/RU/ggo", json={"grade": 2}).status_code == 404


def test_double_submission_is_saved_once(api):
    ws, _, scans, app, _ = api
    alice = client(app, "alice")
    url = f"/api/scans/{scans[0]}/cells/RU/ggo"
    first = alice.put(url, json={"grade": 2, "request_id": "r-1"}).json()
    second = alice.put(url, json={"grade": 2, "request_id": "r-1"}).json()
    assert (first["replayed"], second["replayed"], second["saved_at"]) == (False, True, first["saved_at"])
    assert len([a for a in R.audit_rows(ws) if a["action"] == "save_cell"]) == 1
    assert alice.put(url, json={"grade": 3, "request_id": "r-1"}).status_code == 409


def test_two_tabs_a_restart_and_the_whole_reading_to_export(api, tmp_path):
    ws, _, scans, app, clock = api
    scan = scans[0]
    tab1, tab2 = client(app, "alice"), client(app, "alice")
    bob = client(app, "bob")
    r1 = {(z, p): 1 for z in ZONES for p in PATTERNS}
    r2 = dict(r1)
    r2[("LU", "ggo")] = 4  # gap 3 > 1: the one discordant zone
    cells = list(r1)
    for i, (z, p) in enumerate(cells):  # alice alternates between two tabs
        tab = tab1 if i % 2 else tab2
        assert tab.put(f"/api/scans/{scan}/cells/{z}/{p}", json={"grade": r1[(z, p)]}).status_code == 200
    # A restart halfway through bob's read: a new app on a new Workspace over the same file; his cookie still works.
    for z, p in cells[:12]:
        assert bob.put(f"/api/scans/{scan}/cells/{z}/{p}", json={"grade": r2[(z, p)]}).status_code == 200
    from ipafstudy.workspace.db import open_workspace

    ws.dispose()
    ws2 = open_workspace(str(ws.engine.url.database), clock=clock)
    app2 = api_app(ws2)
    bob2 = client(app2)
    bob2.cookies.set(COOKIE_NAME, bob.cookies.get(COOKIE_NAME))
    tasks = bob2.get("/api/worklist").json()["tasks"]
    assert (tasks[0]["status"], tasks[0]["n_cells_saved"]) == ("in_progress", 12)
    early = bob2.post(f"/api/scans/{scan}/finish")
    assert early.status_code == 422 and len(early.json()["missing"]) == 12
    for z, p in cells[12:]:
        assert bob2.put(f"/api/scans/{scan}/cells/{z}/{p}", json={"grade": r2[(z, p)]}).status_code == 200
    alice2 = client(app2, "alice")
    assert len(alice2.get(f"/api/scans/{scan}/reads/reader1").json()["cells"]) == 24
    assert alice2.post(f"/api/scans/{scan}/finish").json()["status"] == "finished"
    assert bob2.post(f"/api/scans/{scan}/finish").json()["status"] == "finished"
    carol = client(app2, "carol")
    items = carol.get("/api/adjudication").json()["items"]
    assert [(i["zone"], i["pattern"], i["reader1_grade"], i["reader2_grade"], i["open"]) for i in items] == [
        ("LU", "ggo", 1, 4, True)]
    assert carol.get(f"/api/scans/{scan}/reads/reader2").status_code == 200
    assert carol.put(f"/api/adjudication/{scan}/LU/ggo", json={"grade": 3, "request_id": "c1"}).status_code == 200
    assert carol.put(f"/api/adjudication/{scan}/LU/fibrosis", json={"grade": 3}).status_code == 409
    assert client(app2, "alice").get("/api/adjudication").status_code == 403
    dave = client(app2, "dave")
    r = dave.get("/api/export/hrct_reads.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.text.splitlines()
    expected = [f"A-0001,2025-04-14,alice,reader1,{z},1,1,1,1,,,," for z in ZONES]
    expected += [f"A-0001,2025-04-14,bob,reader2,{z},{4 if z == 'LU' else 1},1,1,1,,,," for z in ZONES]
    expected += ["A-0001,2025-04-14,carol,adjudicator,LU,3,,,,,,,"]
    assert lines[1:] == expected
    assert r.headers["x-scans-left-out"] == '{"reading": 1}'
    ws2.dispose()
