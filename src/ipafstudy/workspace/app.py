"""The Shiny pages of the workspace: the reader's worklist and zone form, the adjudicator's queue, the export page.

Each page is built per request (Shiny's ``ui`` as a function of the request), from the database, for the user
the guard (``server.RoleGuard``) has let through: what a reader sees is their own read only, filled from
``reading.read_form``. Every value a user types is saved on its own as soon as the box is left (Tab, Enter or a
click elsewhere: Shiny's ``update_on="blur"``), through ``reading.save_cell`` / ``save_adjudication``, which
validate exactly as the study loaders do; the answer appears beside the box ("saved 3", or the loaders' message
in red; a refused value is not stored). Before each save the session cookie is checked again, so a page left
open past the session's end cannot write and is sent back to the login page.

Where the issue is silent: a reader types either a grade (``0``-``4``) or a percentage of the zone (``35%``) in a
box; an empty box clears the cell. A finished read is locked (``reading``), so its boxes are shown disabled.
The investigator's export is a link to the JSON API's ``GET /api/export/hrct_reads.csv`` (one export code
path, ``transfer``), which holds the closed scans only.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from htmltools import Tag, TagList, tags
from shiny import App, Inputs, Outputs, Session, reactive, render, ui

from ipafstudy.rules.codes import PATTERNS, ZONES
from ipafstudy.workspace.auth import COOKIE_NAME, UserInfo, user_for_token
from ipafstudy.workspace.db import Workspace
from ipafstudy.workspace.reading import (
    IncompleteRead,
    WorkspaceError,
    adjudication_queue,
    finish_read,
    read_form,
    save_adjudication,
    save_cell,
    worklist,
)
from ipafstudy.workspace.server import USER_SCOPE_KEY

EXPIRED_URL = "/?reason=expired"

ZONE_NAMES = {"RU": "Right upper", "RM": "Right middle", "RL": "Right lower",
              "LU": "Left upper", "LM": "Left middle", "LL": "Left lower"}
PATTERN_NAMES = {"ggo": "Ground glass", "fibrosis": "Fibrosis", "honeycombing": "Honeycombing",
                 "consolidation": "Consolidation"}
ROLE_NAMES = {"reader1": "Reader 1", "reader2": "Reader 2", "adjudicator": "Adjudicator",
              "investigator": "Investigator"}

_CSS = """
body { background: #f4f6f8; }
.ipaf-bar { display: flex; align-items: center; gap: 1.2rem; padding: .6rem 1rem; background: #1d3557;
            color: white; margin: 0 -12px 1rem; }
.ipaf-bar a { color: #dbe9ff; }
.ipaf-bar .ipaf-title { font-weight: 600; font-size: 1.1rem; }
.ipaf-bar .ipaf-user { margin-left: auto; }
.ipaf-bar form { margin: 0; }
.ipaf-panel { background: white; border-radius: 6px; padding: 1rem; margin-bottom: 1rem;
              box-shadow: 0 1px 3px rgba(0,0,0,.1); }
table.ipaf-grid td, table.ipaf-grid th { padding: .3rem .5rem; vertical-align: top; }
table.ipaf-grid input { width: 5.5em; }
.ipaf-status { display: block; font-size: .8rem; min-height: 1.1em; max-width: 14em; }
[data-state=saved] .ipaf-status { color: #1b7a35; }
[data-state=error] .ipaf-status { color: #b3261e; font-weight: 600; }
[data-state=error] input { border: 2px solid #b3261e; }
[data-state=saving] .ipaf-status { color: #555; }
.ipaf-message { padding: .5rem .8rem; border-radius: 4px; }
.ipaf-message.error { background: #fdecea; color: #8a1c12; }
.ipaf-message.ok { background: #e7f5ea; color: #1b5e20; }
"""

# Client side: when a box is left with a changed value (the 'change' event: Tab, Enter, a click elsewhere), show
# "saving..." and send one event (box id, its key, the text) to the page's single save handler; then apply the
# server's answers (status per box, lock, redirect to the login page when the session has ended).
_JS = """
$(document).on('change', '.ipaf-cell input', function () {
  var cell = $(this).closest('.ipaf-cell'); cell.attr('data-state', 'saving');
  cell.find('.ipaf-status').text('saving...');
  Shiny.setInputValue('ipaf_save', {cell: cell.attr('id'), key: cell.attr('data-key'), value: this.value,
                                    nonce: Math.random()}, {priority: 'event'});
});
Shiny.addCustomMessageHandler('ipaf-status', function (m) {
  var cell = $('#' + m.cell); cell.attr('data-state', m.state); cell.find('.ipaf-status').text(m.text);
});
Shiny.addCustomMessageHandler('ipaf-lock', function (m) { $('.ipaf-cell input').prop('disabled', true); });
Shiny.addCustomMessageHandler('ipaf-redirect', function (m) { window.location.assign(m.url); });
"""


# --------------------------------------------------------------------------- shared pieces


def _head() -> TagList:
    return TagList(ui.tags.style(_CSS), ui.tags.script(_JS))


def page_header(user: UserInfo | None, title: str) -> Tag:
    """The top bar of every page: title, links to the user's pages, who is logged in, and Log out."""
    links: list[Tag] = []
    if user is not None and user.role == "investigator":
        links = [tags.a(label, href=href) for label, href in (("Study explorer", "/explorer/"),
                                                               ("Reads and export", "/export/")) if label != title]
    who = f"{user.username} ({ROLE_NAMES.get(user.role, user.role)})" if user is not None else ""
    return tags.div(
        tags.span("ipafstudy", class_="ipaf-title"), tags.span(title), *links,
        tags.span(who, class_="ipaf-user", id="ipaf-user"),
        tags.form(tags.button("Log out", type="submit", class_="btn btn-sm btn-light"), method="post",
                  action="/logout"),
        class_="ipaf-bar",
    )


def _user_of(request_or_conn: Any) -> UserInfo | None:
    return request_or_conn.scope.get(USER_SCOPE_KEY)


def cell_text(grade: int | None, percent: float | None) -> str:
    """How a stored cell shows in its box: the grade, else the percentage with '%'.

    >>> cell_text(3, None), cell_text(None, 37.5), cell_text(None, None)
    ('3', '37.5%', '')
    """
    if grade is not None:
        return str(grade)
    if percent is not None:
        return f"{percent:g}%"
    return ""


def parse_entry(text: str | None) -> dict[str, str | None]:
    """A box's text as ``save_cell`` arguments: ``35%`` is a percentage, anything else a grade (as typed, so the
    loaders' own parser judges it and names the rule); an empty box clears the cell.

    >>> parse_entry(" 2 "), parse_entry("35 %"), parse_entry("")
    ({'grade': '2', 'percent': None}, {'grade': None, 'percent': '35'}, {'grade': None, 'percent': None})
    """
    value = (text or "").strip()
    if not value:
        return {"grade": None, "percent": None}
    if value.endswith("%"):
        return {"grade": None, "percent": value[:-1].strip()}
    return {"grade": value, "percent": None}


class _Page:
    """Per-session helpers: the live user (session re-checked), messages to the browser, DB calls off the loop."""

    def __init__(self, ws: Workspace, session: Session) -> None:
        self.ws = ws
        self.session = session

    def token(self) -> str | None:
        return self.session.http_conn.cookies.get(COOKIE_NAME)

    async def user(self) -> UserInfo | None:
        """The user of this page's session cookie now, or None after sending the browser to the login page."""
        token = self.token()
        user = await asyncio.to_thread(user_for_token, self.ws, token) if token else None
        if user is None:
            await self.session.send_custom_message("ipaf-redirect", {"url": EXPIRED_URL})
        return user

    async def call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(func, self.ws, *args, **kwargs)

    async def status(self, cell: str, state: str, text: str) -> None:
        await self.session.send_custom_message("ipaf-status", {"cell": cell, "state": state, "text": text})


def _cell_box(cell_id: str, key: str, value: str, *, disabled: bool, label: str) -> Tag:
    """A text box with the save status under it; ``key`` tells the save handler which cell it is."""
    box = tags.input(type="text", class_="form-control", value=value, placeholder="0-4 or %", autocomplete="off",
                     aria_label=label, disabled="disabled" if disabled else None)
    state = "saved" if value else ""
    return tags.div(box, tags.span(state, class_="ipaf-status"), class_="ipaf-cell", id=cell_id, data_key=key,
                    data_state=state)


def _int_param(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


# --------------------------------------------------------------------------- readers: worklist and form


def _box_id(zone: str, pattern: str) -> str:
    return f"box-{zone}-{pattern}"


def _worklist_table(tasks: list[Any], current: int | None) -> Tag:
    if not tasks:
        return tags.p("No scans to read.")
    status_text = {"new": "not started", "in_progress": "in progress", "finished": "finished"}
    rows = [
        tags.tr(
            tags.td(t.patient_id), tags.td(t.scan_date.isoformat()),
            tags.td(status_text.get(t.status, t.status)), tags.td(f"{t.n_cells_saved} / {len(ZONES) * len(PATTERNS)}"),
            tags.td("open below" if t.scan_id == current else tags.a("Open", href=f"?scan={t.scan_id}",
                                                                    id=f"open-scan-{t.scan_id}")),
            id=f"task-{t.scan_id}",
        )
        for t in tasks
    ]
    return tags.table(tags.thead(tags.tr(*[tags.th(h) for h in ("Patient", "Scan date", "Status", "Cells saved",
                                                               "")])),
                      tags.tbody(*rows), class_="table table-sm ipaf-grid", id="worklist")


def _read_form_ui(form: Any) -> Tag:
    locked = form.status == "finished"
    head = tags.tr(tags.th("Zone"), *[tags.th(PATTERN_NAMES[p]) for p in PATTERNS])
    rows = []
    for zone in ZONES:
        cells = []
        for pattern in PATTERNS:
            value = form.cells.get((zone, pattern))
            text = cell_text(value.grade, value.percent) if value is not None else ""
            cells.append(tags.td(_cell_box(_box_id(zone, pattern), f"{zone} {pattern}", text, disabled=locked,
                                           label=f"{ZONE_NAMES[zone]} {PATTERN_NAMES[pattern]}")))
        rows.append(tags.tr(tags.th(f"{zone} ({ZONE_NAMES[zone]})"), *cells))
    title = f"Scan of {form.patient_id} on {form.scan_date.isoformat()}: your read ({ROLE_NAMES[form.role]})"
    return tags.div(
        tags.h4(title, id="form-title"),
        tags.p("Type a grade 0-4, or the percentage of the zone (e.g. 35%). Each box is saved when you leave it "
               "(Tab, Enter or a click elsewhere); the answer shows under the box. Empty a box to clear it."),
        tags.p("This read is finished and locked." if locked else "", id="form-locked"),
        tags.table(tags.thead(head), tags.tbody(*rows), class_="ipaf-grid", id="read-form"),
        TagList() if locked else ui.input_action_button("finish", "Finish read", class_="btn-primary"),
        ui.output_ui("finish_message"),
        class_="ipaf-panel",
    )


def read_app(ws: Workspace) -> App:
    """Readers' page: their worklist and, with ``?scan=ID``, the 6 zones x 4 patterns form of their own read."""

    def page(request: Any) -> Tag:
        user = _user_of(request)
        scan_id = _int_param(request.query_params.get("scan"))
        body: list[Any] = []
        if user is not None:
            body.append(tags.div(tags.h4("Your worklist"), ui.output_ui("worklist_panel"), class_="ipaf-panel"))
            if scan_id is not None:
                try:
                    body.append(_read_form_ui(read_form(ws, user, scan_id)))
                except WorkspaceError as err:
                    body.append(tags.p(str(err), class_="ipaf-message error", id="form-error"))
        return ui.page_fluid(_head(), page_header(user, "HRCT reading"), *body, title="HRCT reading - ipafstudy")

    def server(input: Inputs, output: Outputs, session: Session) -> None:
        helper = _Page(ws, session)
        changed = reactive.value(0)

        def scan_id() -> int | None:
            search = input[".clientdata_url_search"]() or ""
            from urllib.parse import parse_qs

            values = parse_qs(search.lstrip("?")).get("scan")
            return _int_param(values[0]) if values else None

        @render.ui
        async def worklist_panel() -> Tag:
            changed()
            user = _user_of(session.http_conn)
            if user is None:
                return tags.p()
            with reactive.isolate():
                current = scan_id()
            return _worklist_table(await helper.call(worklist, user), current)

        @reactive.effect
        @reactive.event(input.ipaf_save)
        async def _save() -> None:
            event = input.ipaf_save()
            if not isinstance(event, dict):  # only the page's own script sends this input
                return
            cell_id = str(event.get("cell", ""))
            zone, _, pattern = str(event.get("key", "")).partition(" ")
            sid = scan_id()
            user = await helper.user()
            if user is None or sid is None:
                return
            try:
                saved = await helper.call(save_cell, user, sid, zone, pattern, request_id=uuid.uuid4().hex,
                                          **parse_entry(event.get("value")))
            except WorkspaceError as err:  # InvalidScore names zone, pattern, value and rule; Conflict, Forbidden
                await helper.status(cell_id, "error", f"not saved: {err}")
                return
            shown = cell_text(saved.grade, saved.percent)
            await helper.status(cell_id, "saved", f"saved {shown}" if shown else "cleared")
            changed.set(changed() + 1)

        finish_note: reactive.Value[Tag | None] = reactive.value(None)

        @reactive.effect
        @reactive.event(input.finish)
        async def _finish() -> None:
            sid = scan_id()
            user = await helper.user()
            if user is None or sid is None:
                return
            try:
                await helper.call(finish_read, user, sid)
            except IncompleteRead as err:
                finish_note.set(tags.p(str(err), class_="ipaf-message error", id="finish-error"))
                return
            except WorkspaceError as err:
                finish_note.set(tags.p(str(err), class_="ipaf-message error", id="finish-error"))
                return
            await session.send_custom_message("ipaf-lock", {})
            finish_note.set(tags.p("Read finished and locked. Thank you.", class_="ipaf-message ok",
                                   id="finish-ok"))
            changed.set(changed() + 1)

        @render.ui
        def finish_message() -> Tag | None:
            return finish_note()

    return App(page, server)


# --------------------------------------------------------------------------- adjudicator




def _read_text(grade: int | None, percent: float | None) -> str:
    parts = [str(grade) if grade is not None else "-"]
    if percent is not None:
        parts.append(f"({percent:g}%)")
    return " ".join(parts)


def _queue_ui(items: list[Any]) -> Tag:
    if not items:
        return tags.p("No discordant zones are waiting: both readers must finish a scan before its discordant "
                      "zones appear here.", id="queue-empty")
    by_scan: dict[int, list[Any]] = {}
    for item in items:
        by_scan.setdefault(item.scan_id, []).append(item)
    panels = []
    for scan_id, group in by_scan.items():
        first = group[0]
        rows = []
        for item in group:
            value = "" if item.adjudicator_grade is None else str(item.adjudicator_grade)
            rows.append(tags.tr(
                tags.td(f"{item.zone} ({ZONE_NAMES[item.zone]})"), tags.td(PATTERN_NAMES[item.pattern]),
                tags.td(_read_text(item.reader1_grade, item.reader1_percent), class_="read1"),
                tags.td(_read_text(item.reader2_grade, item.reader2_percent), class_="read2"),
                tags.td(item.flag_reason),
                tags.td(_cell_box(f"adj-{scan_id}-{item.zone}-{item.pattern}", f"{scan_id} {item.zone} {item.pattern}",
                                  value, disabled=False, label=f"Adjudicator grade {item.zone} {item.pattern}")),
                id=f"item-{scan_id}-{item.zone}-{item.pattern}",
            ))
        panels.append(tags.div(
            tags.h5(f"Scan of {first.patient_id} on {first.scan_date.isoformat()}"),
            tags.table(tags.thead(tags.tr(*[tags.th(h) for h in ("Zone", "Pattern", "Reader 1", "Reader 2",
                                                                "Why flagged", "Your grade (0-4)")])),
                       tags.tbody(*rows), class_="table table-sm ipaf-grid"),
            class_="ipaf-panel", id=f"scan-{scan_id}",
        ))
    return TagList(*panels)


def adjudicate_app(ws: Workspace) -> App:
    """The adjudicator's queue: each discordant zone/pattern with both reads and a grade box (saved on leaving).

    The queue is computed in a worker thread after the page opened (it runs the discordance rule over every
    finished scan, which takes a moment on a large cohort), so the server keeps answering other users meanwhile.
    """

    def page(request: Any) -> Tag:
        user = _user_of(request)
        show_all = request.query_params.get("all") == "1"
        switch = (tags.a("Show only scans with zones to grade", href="?") if show_all
                  else tags.a("Show adjudicated scans too", href="?all=1"))
        return ui.page_fluid(
            _head(), page_header(user, "Adjudication"),
            tags.div(ui.output_ui("queue_summary"), switch, class_="ipaf-panel"),
            ui.output_ui("queue"), title="Adjudication - ipafstudy",
        )

    def server(input: Inputs, output: Outputs, session: Session) -> None:
        helper = _Page(ws, session)
        changed = reactive.value(0)

        async def items_now() -> list[Any]:
            user = _user_of(session.http_conn)
            return await helper.call(adjudication_queue, user) if user is not None else []

        @render.ui
        async def queue() -> Tag | TagList:
            # Rendered once per page view: re-rendering after each save would wipe what is being typed.
            search = input[".clientdata_url_search"]() or ""
            items = await items_now()
            if "all=1" not in search:  # scans with a zone still to grade (all of each such scan's flags)
                open_scans = {i.scan_id for i in items if i.open}
                items = [i for i in items if i.scan_id in open_scans]
            return _queue_ui(items)

        @render.ui
        async def queue_summary() -> Tag:
            changed()
            current = await items_now()
            n_open = sum(1 for i in current if i.open)
            scans = {i.scan_id for i in current if i.open}
            return tags.p(f"{n_open} discordant zone/pattern cell(s) still to grade on {len(scans)} scan(s); "
                          f"{len(current) - n_open} graded.", id="queue-count")

        @reactive.effect
        @reactive.event(input.ipaf_save)
        async def _save() -> None:
            event = input.ipaf_save()
            if not isinstance(event, dict):  # only the page's own script sends this input
                return
            cell_id = str(event.get("cell", ""))
            scan, zone, pattern = [*str(event.get("key", "")).split(" "), "", "", ""][:3]
            text = str(event.get("value") or "").strip()
            user = await helper.user()
            if user is None:
                return
            try:
                saved = await helper.call(save_adjudication, user, _int_param(scan) or -1, zone, pattern,
                                          text or None, request_id=uuid.uuid4().hex)
            except WorkspaceError as err:
                await helper.status(cell_id, "error", f"not saved: {err}")
                return
            shown = cell_text(saved.grade, None)
            await helper.status(cell_id, "saved", f"saved {shown}" if shown else "cleared")
            changed.set(changed() + 1)

    return App(page, server)


# --------------------------------------------------------------------------- investigator: reads and export


def _progress_ui(tasks: list[Any]) -> TagList:
    counts = {state: sum(1 for t in tasks if t.status == state) for state in ("reading", "adjudication", "closed")}
    pending = [t for t in tasks if t.status != "closed"]
    table = tags.table(
        tags.thead(tags.tr(*[tags.th(h) for h in ("Patient", "Scan date", "State")])),
        tags.tbody(*[tags.tr(tags.td(t.patient_id), tags.td(t.scan_date.isoformat()), tags.td(t.status),
                             id=f"pending-{t.scan_id}") for t in pending]),
        class_="table table-sm ipaf-grid", id="pending",
    ) if pending else tags.p("Every scan is closed.")
    return TagList(
        tags.p(f"{counts['closed']} scan(s) closed, {counts['adjudication']} waiting for the adjudicator, "
               f"{counts['reading']} still being read.", id="progress"),
        table,
    )


def export_app(ws: Workspace) -> App:
    """The investigator's reading progress and the export of ``hrct_reads.csv`` (closed scans only)."""

    def page(request: Any) -> Tag:
        user = _user_of(request)
        return ui.page_fluid(
            _head(), page_header(user, "Reads and export"),
            tags.div(tags.h4("Reading progress"), ui.output_ui("progress_panel"), class_="ipaf-panel"),
            tags.div(
                tags.h4("Export"),
                tags.p("hrct_reads.csv in the study format, with every read of the closed scans (both readers and "
                       "the adjudicator). Put it in a copy of the study data folder and run ipafstudy analyze."),
                tags.a("Download hrct_reads.csv", href="/api/export/hrct_reads.csv", download="hrct_reads.csv",
                       class_="btn btn-primary", id="export-link"),
                class_="ipaf-panel",
            ),
            title="Reads and export - ipafstudy",
        )

    def server(input: Inputs, output: Outputs, session: Session) -> None:
        @render.ui
        async def progress_panel() -> TagList:
            user = _user_of(session.http_conn)
            tasks = await asyncio.to_thread(worklist, ws, user) if user is not None else []
            return _progress_ui(tasks)

    return App(page, server)
