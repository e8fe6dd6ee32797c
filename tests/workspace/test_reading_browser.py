"""The reading workspace in Debian's chromium: login per role, a full two-reader session through adjudication to the
exported hrct_reads.csv, blinding, bad grades, two tabs, an ended session, lockout, and a server restart.

One demo project and one server for the module. Each test reads its own scan (the demo's two unread scans plus
scans registered here), so the tests do not depend on each other's order. The workspace clock is the real clock
plus an offset the expiry test moves forward. Expected values are worked here from what the test types and
from the clinical settings' adjudication rule, never read back from the code under test.
"""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest
from tests.workspace.conftest import free_port, serve_asgi

ZONES = ("RU", "RM", "RL", "LU", "LM", "LL")


PATTERNS = ("ggo", "fibrosis", "honeycombing", "consolidation")
COLUMNS = ["patient_id", "scan_date", "reader", "reader_role", "zone", "ggo", "fibrosis", "honeycombing",
           "consolidation", "ggo_pct", "fibrosis_pct", "honeycombing_pct", "consolidation_pct"]
HOME = {"reader1": "/read/", "reader2": "/read/", "adjudicator": "/adjudicate/", "investigator": "/explorer/"}


class Site:
    """The module's project, server address, accounts and clock."""

    def __init__(self, project, ws, base, passwords, offset):
        self.project, self.ws, self.base, self.passwords, self._offset = project, ws, base, passwords, offset

    def advance(self, minutes: float) -> None:
        self._offset[0] += dt.timedelta(minutes=minutes)

    def add_scan(self, patient_id: str, day: int) -> int:
        from ipafstudy.workspace.reading import add_scan

        return add_scan(self.ws, patient_id, dt.date(2030, 1, day), by="test")

    def login(self, context, username: str, password: str | None = None):
        page = context.new_page()
        page.goto(self.base + "/")
        page.fill("#username", username)
        page.fill("#password", password if password is not None else self.passwords[username])
        page.click("button[type=submit]")
        return page


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from ipafstudy.workspace.db import open_workspace, utc_now
    from ipafstudy.workspace.project import create_demo_project
    from ipafstudy.workspace.server import build_app

    project = create_demo_project(tmp_path_factory.mktemp("reading") / "demo")
    offset = [dt.timedelta(0)]
    ws = open_workspace(project, clock=lambda: utc_now() + offset[0])
    with serve_asgi(build_app(project, workspace=ws)) as base:
        yield Site(project, ws, base, dict(project.initial_passwords), offset)
    ws.dispose()


def _unread_scans(site) -> list[tuple[int, str, str]]:
    """The demo's scans without any read: (id, patient, date), worked from the database rows directly."""
    import sqlalchemy as sa

    from ipafstudy.workspace import db

    with site.ws.session() as conn:
        read = {r.scan_id for r in conn.execute(sa.select(db.reads.c.scan_id))}
        rows = conn.execute(sa.select(db.scans).order_by(db.scans.c.patient_id, db.scans.c.scan_date)).all()
    return [(int(r.id), r.patient_id, r.scan_date.isoformat()) for r in rows if r.id not in read
            and r.scan_date.year < 2030]


def _type(page, box_id: str, text: str, *, expect: str | None = None) -> None:
    """Type into a box, leave it with Tab, wait for the status under it (``expect``: its text)."""
    page.fill(f"#{box_id} input", text)
    page.keyboard.press("Tab")
    status = page.locator(f"#{box_id} .ipaf-status")
    if expect is not None:
        status.filter(has_text=expect).wait_for()


def _open_scan(page, base: str, scan_id: int) -> None:
    page.goto(f"{base}/read/?scan={scan_id}")
    page.locator("#read-form").wait_for()
    page.locator("#worklist").wait_for()  # the live session is up: saves will be heard


def _entry_text(value) -> str:
    return f"{value[1]:g}%" if isinstance(value, tuple) else str(value)


# ---------------------------------------------------------------------------- login per role


@pytest.mark.parametrize("role", ["reader1", "reader2", "adjudicator", "investigator"])
def test_login_per_role_lands_on_the_role_page(site, browser_context, screenshot, role):
    context = browser_context()
    page = context.new_page()
    page.goto(site.base + "/")
    if role == "reader1":
        screenshot(page, "login")
    page = site.login(context, role)
    page.wait_for_url(site.base + HOME[role])
    if role != "investigator":  # the study explorer (ws-explorer's page) has its own header
        page.locator("#ipaf-user").filter(has_text=role).wait_for()
    ready = {"reader1": "#worklist", "reader2": "#worklist", "adjudicator": "#queue-count"}.get(role)
    if ready:  # rendered by the live session once the page is connected
        page.locator(ready).wait_for()
        screenshot(page, role)  # (the study explorer's own tests take its screenshots)
    other = "/adjudicate/" if role != "adjudicator" else "/read/"
    response = page.goto(site.base + other)
    assert response.status == 403
    page.get_by_text("Not allowed").wait_for()
    if role == "investigator":
        page.goto(site.base + "/export/")
        page.locator("#ipaf-user").filter(has_text=role).wait_for()
        page.locator("#progress").wait_for()
        screenshot(page, "export")
    page.get_by_role("button", name="Log out").first.click()
    page.wait_for_url(site.base + "/")
    page.locator("#username").wait_for()
    assert page.goto(site.base + HOME[role]).url == site.base + "/?reason=login"


# ---------------------------------------------------------------------------- the whole reading round


def test_two_readers_one_discordant_zone_adjudicated_and_exported(site, browser_context, screenshot, tmp_path):
    from ipafstudy.settings import ClinicalSettings

    scan_id, patient, scan_date = _unread_scans(site)[0]
    # What the two radiologists type: grades, and a few percentages (35% etc.). Reader 2 agrees with reader 1
    # except RL fibrosis (1 vs 3) and LL ggo (2 vs 3, a gap of exactly 1) and LU ggo (30% vs 50%).
    read1 = {(z, p): (i + j) % 3 for i, z in enumerate(ZONES) for j, p in enumerate(PATTERNS)}
    read1[("RL", "fibrosis")] = 1
    read1[("LL", "ggo")] = 2
    read1[("LU", "ggo")] = ("pct", 30.0)
    read1[("RU", "consolidation")] = ("pct", 12.5)
    read2 = dict(read1)
    read2[("RL", "fibrosis")] = 3
    read2[("LL", "ggo")] = 3
    read2[("LU", "ggo")] = ("pct", 50.0)

    # The settings' rule, worked here: flag a grade gap above adjudication_grade_gap (1), or two percentages
    # apart by adjudication_percent_gap (25) points or more; a percentage alone counts as its extent grade.
    settings = ClinicalSettings()

    def grade(value):
        if not isinstance(value, tuple):
            return value
        pct = value[1]
        return 0 if pct == 0 else min(4, -(-pct // 25))

    flagged = sorted(k for k in read1 if abs(grade(read1[k]) - grade(read2[k])) > settings.adjudication_grade_gap
                     or (isinstance(read1[k], tuple) and isinstance(read2[k], tuple)
                         and abs(read1[k][1] - read2[k][1]) >= settings.adjudication_percent_gap))
    assert flagged == [("RL", "fibrosis")]  # exactly one discordant zone, as designed above

    pages = {}
    for role, values in (("reader1", read1), ("reader2", read2)):
        page = site.login(browser_context(), role)
        page.wait_for_url(site.base + "/read/")
        page.locator(f"#open-scan-{scan_id}").click()
        page.locator("#read-form").wait_for()
        page.locator(f"#task-{scan_id}").wait_for()
        for (zone, pattern), value in values.items():  # type all 24 boxes, then wait for every answer
            _type(page, f"box-{zone}-{pattern}", _entry_text(value))
        for (zone, pattern), value in values.items():
            page.locator(f"#box-{zone}-{pattern} .ipaf-status").filter(
                has_text=f"saved {_entry_text(value)}").wait_for()
        pages[role] = page
    # The adjudicator's queue is empty while the reads are open (both readers must finish).
    adjudicator = site.login(browser_context(), "adjudicator")
    adjudicator.wait_for_url(site.base + "/adjudicate/")
    assert adjudicator.locator(f"#scan-{scan_id}").count() == 0
    for role, page in pages.items():
        page.get_by_role("button", name="Finish read").click()
        page.locator("#finish-ok").wait_for()
        assert page.locator("#box-RU-ggo input").is_disabled()
        page.locator(f"#task-{scan_id}").filter(has_text="finished").wait_for()
        screenshot(page, f"{role}-finished")

    adjudicator.reload()
    adjudicator.locator(f"#scan-{scan_id}").wait_for()
    rows = adjudicator.locator(f"#scan-{scan_id} tbody tr")
    assert rows.count() == 1
    item = adjudicator.locator(f"#item-{scan_id}-RL-fibrosis")
    assert item.locator(".read1").inner_text() == "1"
    assert item.locator(".read2").inner_text() == "3"
    count = adjudicator.locator("#queue-count")
    count.wait_for()
    before = int(count.inner_text().split()[0])  # the queue holds imported scans too: count relative to it
    _type(adjudicator, f"adj-{scan_id}-RL-fibrosis", "7", expect="not saved")
    _type(adjudicator, f"adj-{scan_id}-RL-fibrosis", "2", expect="saved 2")
    count.filter(has_text=f"{before - 1} discordant").wait_for()
    screenshot(adjudicator, "adjudicator-queue")

    investigator = site.login(browser_context(), "investigator")
    investigator.wait_for_url(site.base + "/explorer/")
    investigator.goto(site.base + "/export/")
    investigator.locator("#progress").wait_for()
    with investigator.expect_download() as download_info:
        investigator.locator("#export-link").click()
    exported = tmp_path / "hrct_reads.csv"
    download_info.value.save_as(exported)
    with exported.open(newline="", encoding="utf-8") as handle:
        rows_out = list(csv.DictReader(handle))
    assert list(rows_out[0].keys()) == COLUMNS

    def expected_rows(role, values):
        out = []
        for zone in ZONES:
            row = dict.fromkeys(COLUMNS, "")
            row.update(patient_id=patient, scan_date=scan_date, reader=role, reader_role=role, zone=zone)
            for pattern in PATTERNS:
                value = values[(zone, pattern)]
                if isinstance(value, tuple):
                    row[f"{pattern}_pct"] = f"{value[1]:g}"
                else:
                    row[pattern] = str(value)
            out.append(row)
        return out

    adjudicated = dict.fromkeys(COLUMNS, "")
    adjudicated.update(patient_id=patient, scan_date=scan_date, reader="adjudicator", reader_role="adjudicator",
                       zone="RL", fibrosis="2")
    expected = expected_rows("reader1", read1) + expected_rows("reader2", read2) + [adjudicated]
    mine = [r for r in rows_out if (r["patient_id"], r["scan_date"]) == (patient, scan_date)]
    assert mine == expected

    # Every other exported scan is an imported read, row for row as in the project's copy of the study data;
    # the scans of the data left out of the export are exactly those the export page lists as not closed.
    def key(row):
        return tuple(row[c] if c in COLUMNS[:5] else (float(row[c]) if row[c] else None) for c in COLUMNS)

    with (site.project.data_dir / "hrct_reads.csv").open(newline="", encoding="utf-8") as handle:
        source = list(csv.DictReader(handle))
    exported_scans = {(r["patient_id"], r["scan_date"]) for r in rows_out} - {(patient, scan_date)}
    others = [r for r in rows_out if (r["patient_id"], r["scan_date"]) in exported_scans]
    assert sorted(map(key, others)) == sorted(map(key, [r for r in source if (r["patient_id"], r["scan_date"])
                                                        in exported_scans]))
    pending = {tuple(row.split("\t")[:2]) for row in investigator.locator("#pending tbody tr").all_inner_texts()}
    left_out = {(r["patient_id"], r["scan_date"]) for r in source} - exported_scans - {(patient, scan_date)}
    assert left_out and left_out <= pending
    screenshot(investigator, "export-after")

    # The study loaders accept the export in place of the original reads (the analysis runs on these).
    from ipafstudy.cohort.outputs import hrct_scores
    from ipafstudy.data.loaders import load_study

    data = tmp_path / "data"
    data.mkdir()
    for table in site.project.data_dir.iterdir():
        (data / table.name).write_bytes(table.read_bytes())
    (data / "hrct_reads.csv").write_bytes(exported.read_bytes())
    scores = hrct_scores(load_study(data).hrct_reads, settings)
    ours = scores[(scores["patient_id"] == patient) & (scores["scan_date"].astype(str) == scan_date)]
    assert len(ours) >= 1


# ---------------------------------------------------------------------------- blinding


def test_reader2_cannot_fetch_reader1_scores_from_the_browser(site, browser_context):
    scan_id = site.add_scan("A-0002", 2)
    reader1 = site.login(browser_context(), "reader1")
    _open_scan(reader1, site.base, scan_id)
    _type(reader1, "box-RU-ggo", "4", expect="saved 4")
    own = reader1.request.get(f"{site.base}/api/scans/{scan_id}/reads/reader1")
    assert own.status == 200
    assert [c["grade"] for c in own.json()["cells"]] == [4]

    reader2 = site.login(browser_context(), "reader2")
    reader2.wait_for_url(site.base + "/read/")
    response = reader2.request.get(f"{site.base}/api/scans/{scan_id}/reads/reader1")
    assert response.status == 403
    assert "4" not in json.dumps(response.json().get("cells", []))
    # reader2's own form of the same scan is empty: nothing of reader1's leaks into the page
    _open_scan(reader2, site.base, scan_id)
    assert reader2.locator("#box-RU-ggo input").input_value() == ""
    for role in ("adjudicator", "investigator"):  # the scan is not in the queue / not closed: still blinded
        other = site.login(browser_context(), role)
        other.wait_for_url(site.base + HOME[role])
        assert other.request.get(f"{site.base}/api/scans/{scan_id}/reads/reader1").status == 403


# ---------------------------------------------------------------------------- bad input


def test_grade_out_of_range_shows_the_rule_and_is_not_saved(site, browser_context, screenshot):
    scan_id = site.add_scan("A-0002", 3)
    page = site.login(browser_context(), "reader1")
    _open_scan(page, site.base, scan_id)
    _type(page, "box-RM-ggo", "2", expect="saved 2")
    cases = {"box-RM-ggo": "5", "box-RM-fibrosis": "2.5", "box-RM-honeycombing": "120%", "box-RM-consolidation": "x"}
    for box, text in cases.items():
        _type(page, box, text, expect="not saved")
        assert page.locator(f"#{box}").get_attribute("data-state") == "error"
    message = page.locator("#box-RM-ggo .ipaf-status").inner_text()
    assert "RM" in message and "ggo" in message and "'5'" in message and "0 and 4" in message
    assert "120" in page.locator("#box-RM-honeycombing .ipaf-status").inner_text()
    screenshot(page, "bad-grade")
    page.reload()
    page.locator("#worklist").wait_for()
    assert page.locator("#box-RM-ggo input").input_value() == "2"  # the last good value stayed
    for box in ("box-RM-fibrosis", "box-RM-honeycombing", "box-RM-consolidation"):
        assert page.locator(f"#{box} input").input_value() == ""
    cells = page.request.get(f"{site.base}/api/scans/{scan_id}/reads/reader1").json()["cells"]
    assert [(c["zone"], c["pattern"], c["grade"], c["percent"]) for c in cells] == [("RM", "ggo", 2, None)]
    page.get_by_role("button", name="Finish read").click()
    page.locator("#finish-error").filter(has_text="23 of 24").wait_for()


def test_two_tabs_of_the_same_reader_lose_no_saved_score(site, browser_context):
    scan_id = site.add_scan("A-0002", 4)
    context = browser_context()
    first = site.login(context, "reader1")
    first.wait_for_url(site.base + "/read/")
    _open_scan(first, site.base, scan_id)
    second = context.new_page()
    _open_scan(second, site.base, scan_id)
    _type(first, "box-LU-ggo", "1", expect="saved 1")
    _type(second, "box-LU-fibrosis", "2", expect="saved 2")
    _type(first, "box-LL-ggo", "40%", expect="saved 40%")
    _type(second, "box-LU-ggo", "3", expect="saved 3")  # the later change of the same cell wins
    for page in (first, second):
        page.reload()
        page.locator("#worklist").wait_for()
        values = {box: page.locator(f"#{box} input").input_value() for box in ("box-LU-ggo", "box-LU-fibrosis",
                                                                               "box-LL-ggo")}
        assert values == {"box-LU-ggo": "3", "box-LU-fibrosis": "2", "box-LL-ggo": "40%"}
        page.locator(f"#task-{scan_id}").filter(has_text="3 / 24").wait_for()


# ---------------------------------------------------------------------------- sessions


def test_wrong_password_locks_the_account_after_n_tries(site, browser_context, screenshot):
    from ipafstudy.workspace.auth import create_user

    create_user(site.ws, "locked-reader", "reader2", "right-password-1")
    attempts = site.ws.config.lockout_attempts
    context = browser_context()
    for n in range(1, attempts + 1):
        page = site.login(context, "locked-reader", "wrong-password")
        page.locator("#login-error").wait_for()
        text = page.locator("#login-error").inner_text()
        assert ("locked" in text) == (n == attempts), (n, text)
        page.close()
    page = site.login(context, "locked-reader", "right-password-1")
    page.locator("#login-error").filter(has_text="locked").wait_for()  # even the right password, while locked
    assert page.url.startswith(site.base + "/?")
    screenshot(page, "locked")
    assert page.goto(site.base + "/read/").url == site.base + "/?reason=login"


def test_an_ended_session_goes_back_to_login_and_saves_nothing(site, browser_context, screenshot):
    scan_id = site.add_scan("A-0002", 5)
    context = browser_context()
    page = site.login(context, "reader2")
    page.wait_for_url(site.base + "/read/")
    _open_scan(page, site.base, scan_id)
    _type(page, "box-RU-ggo", "1", expect="saved 1")
    site.advance(site.ws.config.session_idle_minutes + 1)
    _type(page, "box-RU-fibrosis", "2")
    page.wait_for_url(site.base + "/?reason=expired")
    page.locator("#login-reason").filter(has_text="session has ended").wait_for()
    screenshot(page, "expired")
    again = context.new_page()
    # the dead cookie is still in the browser: the guard says the session ended (and drops the cookie)
    assert again.goto(f"{site.base}/read/?scan={scan_id}").url == site.base + "/?reason=expired"
    page = site.login(context, "reader2")
    page.wait_for_url(site.base + "/read/")
    cells = page.request.get(f"{site.base}/api/scans/{scan_id}/reads/reader2").json()["cells"]
    assert [(c["zone"], c["pattern"], c["grade"]) for c in cells] == [("RU", "ggo", 1)]


def test_server_restart_mid_session_loses_no_saved_score(site, browser_context):
    from ipafstudy.workspace.server import build_app

    scan_id = site.add_scan("A-0002", 6)
    port = free_port()
    context = browser_context()
    with serve_asgi(build_app(site.project), port=port) as base:
        page = context.new_page()
        page.goto(base + "/")
        page.fill("#username", "reader1")
        page.fill("#password", site.passwords["reader1"])
        page.click("button[type=submit]")
        page.wait_for_url(base + "/read/")
        _open_scan(page, base, scan_id)
        _type(page, "box-RL-ggo", "2", expect="saved 2")
        _type(page, "box-RL-fibrosis", "15%", expect="saved 15%")
    with serve_asgi(build_app(site.project), port=port) as base:  # a new process would see the same database
        page.reload()  # still logged in: sessions live in the database
        page.locator("#read-form").wait_for()
        page.locator("#worklist").wait_for()
        assert page.locator("#box-RL-ggo input").input_value() == "2"
        assert page.locator("#box-RL-fibrosis input").input_value() == "15%"
        _type(page, "box-RL-honeycombing", "0", expect="saved 0")
        page.locator(f"#task-{scan_id}").filter(has_text="3 / 24").wait_for()
