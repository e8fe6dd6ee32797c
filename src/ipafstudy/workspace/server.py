"""The workspace as one ASGI application: login page, JSON API, the Shiny pages, and the guard in front of them.

``build_app(project)`` joins:

* ``/``: a plain HTML login form (no Shiny, no JavaScript) posting to ``POST /login`` (``api``), which sets the
  session cookie and sends the user to their role's page; messages (wrong password, locked, expired session,
  logged out) arrive as a query parameter and are printed escaped.
* ``api.routes(ws)``: login, logout and the JSON API; those routes check the session and role themselves.
* ``/read`` (reader1, reader2), ``/adjudicate`` (adjudicator), ``/export`` and ``/explorer`` (investigator): Shiny
  apps. ``RoleGuard`` checks the session cookie and the role on every HTTP request AND every websocket handshake
  under these prefixes (Shiny's page, its static files, its websocket, its download routes), so a page of
  another role is never rendered and no websocket session opens for it. No session or an ended one: the browser
  goes back to the login page (with "your session has ended" when a cookie was sent); wrong role: 403.

The Shiny pages also re-check the session on every save (``app``): a page left open past the idle timeout
cannot write, and is sent back to the login page.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from ipafstudy.workspace.db import Workspace
    from ipafstudy.workspace.project import Project

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

READER_ROLES = ("reader1", "reader2")
# Which roles may open which page (path prefix). Order does not matter: prefixes do not overlap.
PAGE_ROLES: dict[str, tuple[str, ...]] = {
    "/read": READER_ROLES,
    "/adjudicate": ("adjudicator",),
    "/export": ("investigator",),
    "/explorer": ("investigator",),
}
# Scope key under which the guard leaves the logged-in user for the page (auth.UserInfo).
USER_SCOPE_KEY = "ipafstudy.user"

LOGIN_MESSAGES = {
    "expired": "Your session has ended (idle too long, logged out elsewhere, or expired). Please log in again.",
    "logged_out": "You are logged out.",
    "login": "Please log in to open that page.",
}


def page_for(path: str) -> tuple[str, tuple[str, ...]] | None:
    """The guarded page prefix a request path falls under, with the roles allowed there (None: not guarded)."""
    for prefix, roles in PAGE_ROLES.items():
        if path == prefix or path.startswith(prefix + "/"):
            return prefix, roles
    return None


def home_page(role: str) -> str:
    """The page of a role, where POST /login sends it (``api.ROLE_PAGES``), as the folder URL Shiny needs."""
    from ipafstudy.workspace.api import ROLE_PAGES

    return ROLE_PAGES.get(role, "/").rstrip("/") + "/"


def login_url(reason: str | None = None, error: str | None = None) -> str:
    """``/`` with the message the login page should print."""
    query = {}
    if reason:
        query["reason"] = reason
    if error:
        query["error"] = error
    return "/" + ("?" + urlencode(query, quote_via=quote) if query else "")


class RoleGuard:
    """ASGI middleware: session cookie + role check for every HTTP request and websocket under ``PAGE_ROLES``.

    Pure ASGI (not BaseHTTPMiddleware) so it sees websocket handshakes too. The user lookup touches the database
    (and may write the session's last-seen time), so it runs in a worker thread, not on the event loop.
    """

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], ws: Workspace) -> None:
        self.app = app
        self.ws = ws

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        page = page_for(scope["path"])
        if page is None:
            await self.app(scope, receive, send)
            return
        from anyio import to_thread
        from starlette.requests import HTTPConnection

        from ipafstudy.workspace.auth import COOKIE_NAME, user_for_token

        prefix, roles = page
        token = HTTPConnection(scope).cookies.get(COOKIE_NAME)
        user = await to_thread.run_sync(user_for_token, self.ws, token) if token else None
        if user is not None and user.role in roles:
            scope[USER_SCOPE_KEY] = user
            await self.app(scope, receive, _no_store(send) if scope["type"] == "http" else send)
            return
        if scope["type"] == "websocket":
            # Closing before accept makes the server refuse the handshake (HTTP 403): no Shiny session starts.
            await send({"type": "websocket.close", "code": 4401 if user is None else 4403})
            return
        from starlette.responses import HTMLResponse, RedirectResponse

        if user is None:
            response: Any = RedirectResponse(login_url("expired" if token else "login"), status_code=303)
            if token:
                response.delete_cookie(COOKIE_NAME, path="/")
        else:
            response = HTMLResponse(_forbidden_page(user.username, user.role, prefix), status_code=403)
        response.headers["Cache-Control"] = "no-store"
        await response(scope, receive, send)


def _no_store(send: Send) -> Send:
    """Pages with scores must not stay in the browser cache (the back button after logout shows nothing)."""

    async def wrapped(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
            headers.append((b"cache-control", b"no-store"))
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; background: #f4f6f8; color: #1d2630; }
main { max-width: 26rem; margin: 4rem auto; background: white; padding: 2rem; border-radius: 8px;
       box-shadow: 0 1px 4px rgba(0,0,0,.12); }
h1 { font-size: 1.3rem; margin-top: 0; }
label { display: block; margin: .8rem 0 .2rem; font-weight: 600; }
input[type=text], input[type=password] { width: 100%; box-sizing: border-box; padding: .5rem; font-size: 1rem; }
button { margin-top: 1.2rem; padding: .5rem 1.2rem; font-size: 1rem; }
.message { padding: .6rem .8rem; border-radius: 4px; margin-bottom: 1rem; }
.error { background: #fdecea; color: #8a1c12; }
.info { background: #e8f1fb; color: #123a63; }
"""


def _document(title: str, body: str) -> str:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style></head>'
            f"<body><main>{body}</main></body></html>")


def login_page(*, error: str | None = None, reason: str | None = None, user: Any = None) -> str:
    """The login form (or, for a user already logged in, a link to their page and a logout button)."""
    parts = ["<h1>ipafstudy workspace</h1>"]
    if error:
        parts.append(f'<p class="message error" role="alert" id="login-error">{html.escape(error)}</p>')
    if reason in LOGIN_MESSAGES:
        kind = "error" if reason == "expired" else "info"
        parts.append(f'<p class="message {kind}" role="status" id="login-reason">{LOGIN_MESSAGES[reason]}</p>')
    if user is not None:
        home = home_page(user.role)
        parts.append(
            f"<p>Logged in as <b>{html.escape(user.username)}</b> ({html.escape(user.role)}).</p>"
            f'<p><a href="{home}">Open your page</a></p>'
            '<form method="post" action="/logout"><button type="submit">Log out</button></form>'
        )
    else:
        parts.append(
            '<form method="post" action="/login">'
            '<label for="username">Username</label>'
            '<input type="text" id="username" name="username" autocomplete="username" required autofocus>'
            '<label for="password">Password</label>'
            '<input type="password" id="password" name="password" autocomplete="current-password" required>'
            '<button type="submit">Log in</button></form>'
        )
    return _document("Log in - ipafstudy", "".join(parts))


def _forbidden_page(username: str, role: str, prefix: str) -> str:
    allowed = ", ".join(PAGE_ROLES[prefix])
    return _document("Not allowed - ipafstudy", (
        "<h1>Not allowed</h1>"
        f'<p class="message error" role="alert">The page {html.escape(prefix)} is for: {html.escape(allowed)}. '
        f"You are logged in as {html.escape(username)} ({html.escape(role)}).</p>"
        f'<p><a href="{home_page(role)}">Open your page</a></p>'
        '<form method="post" action="/logout"><button type="submit">Log out</button></form>'
    ))


def _placeholder_explorer() -> Any:
    """Stand-in for the study explorer while ``workspace.explorer`` is not available."""
    from shiny import App, ui

    from ipafstudy.workspace.app import page_header

    def page(request: Any) -> Any:
        return ui.page_fluid(
            page_header(request.scope.get(USER_SCOPE_KEY), "Study explorer"),
            ui.p("The study explorer is not installed in this version."),
        )

    return App(page, None)


def _explorer(project: Project, ws: Workspace) -> Any:
    try:
        from ipafstudy.workspace.explorer import explorer_app
    except ImportError:
        return _placeholder_explorer()
    from ipafstudy.workspace.transfer import reads_csv_writer

    return explorer_app(project.data_dir, Path(project.root) / "explorer", reads_csv=reads_csv_writer(ws),
                        plan_path=project.plan_path, settings_path=project.settings_path)


def build_app(project: Project, *, workspace: Workspace | None = None) -> Starlette:
    """The whole workspace as one Starlette app (serve it with uvicorn).

    ``workspace``: an already open database handle (tests pass one with their own clock); by default the
    project's database is opened (and migrated) here and closed when the server shuts down.
    """
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse
    from starlette.routing import Mount, Route

    from ipafstudy.workspace import api
    from ipafstudy.workspace.app import adjudicate_app, export_app, read_app
    from ipafstudy.workspace.auth import COOKIE_NAME, user_for_token
    from ipafstudy.workspace.db import open_workspace

    ws = workspace if workspace is not None else open_workspace(project)

    async def home(request: Request) -> HTMLResponse:
        from anyio import to_thread

        token = request.cookies.get(COOKIE_NAME)
        user = await to_thread.run_sync(user_for_token, ws, token) if token else None
        # POST /login (api) sends a refusal back as ?error=<reason>&message=<text>: the text is what is shown.
        params = request.query_params
        response = HTMLResponse(login_page(error=params.get("message") or params.get("error"),
                                           reason=params.get("reason"), user=user))
        response.headers["Cache-Control"] = "no-store"
        return response

    @asynccontextmanager
    async def lifespan(_app: Starlette):  # type: ignore[no-untyped-def]
        yield
        if workspace is None:
            ws.dispose()

    routes = [
        Route("/", home, methods=["GET"]),
        *api.routes(ws),
        Mount("/read", app=read_app(ws)),
        Mount("/adjudicate", app=adjudicate_app(ws)),
        Mount("/export", app=export_app(ws)),
        Mount("/explorer", app=_explorer(project, ws)),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(RoleGuard, ws=ws)
    app.state.workspace = ws
    app.state.project = project
    return app
