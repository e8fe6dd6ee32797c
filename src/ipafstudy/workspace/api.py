"""HTTP routes of the workspace: login/logout and the JSON API. Roles and blinding are enforced by the services
in ``reading``; this module maps their exceptions to status codes and nothing else decides who sees what.

=========  =====================================================  ===========================================
method     path                                                   who / answer
=========  =====================================================  ===========================================
POST       /login (form or JSON: username, password)              sets the session cookie; 303 to the role's
                                                                   page (JSON clients: 200 with the page)
POST       /logout                                                ends the session; 303 to /
GET        /api/me                                                username, role, page
GET        /api/worklist                                          the user's worklist (reading.worklist)
GET        /api/scans/{scan_id}/reads/{role}                      one read, if blinding allows it (else 403)
PUT        /api/scans/{scan_id}/cells/{zone}/{pattern}            readers: {"grade"|"percent", "request_id"}
POST       /api/scans/{scan_id}/finish                            readers: finish the own read
GET        /api/adjudication                                      adjudicator: the queue
PUT        /api/adjudication/{scan_id}/{zone}/{pattern}           adjudicator: {"grade", "request_id"}
GET        /api/export/hrct_reads.csv                             investigator: the closed scans' reads
=========  =====================================================  ===========================================

401: no session, or it expired (idle / absolute limit) -- also for a wrong password or a locked account on
/login (``reason``: bad_credentials / locked). 403: the role may not (blinding). 404: no such scan. 409: finished
read, reused request_id, unflagged zone. 422: a value the loaders refuse (``zone``, ``pattern``, ``column``,
``value``, ``rule``) or an unfinished read (``missing``). Error bodies are JSON ``{"detail": message, ...}``.
The service functions are synchronous (database work); they run in Starlette's thread pool.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ipafstudy.workspace import auth, reading
from ipafstudy.workspace.auth import COOKIE_NAME, LoginRefused, UserInfo
from ipafstudy.workspace.db import Workspace
from ipafstudy.workspace.reading import IncompleteRead, InvalidScore, WorkspaceError

#: Where each role lands after login (the Shiny pages mounted by server.py).
ROLE_PAGES = {"reader1": "/read", "reader2": "/read", "adjudicator": "/adjudicate", "investigator": "/explorer"}
LOGIN_PAGE = "/"


class Unauthorized(Exception):
    """No valid session: HTTP 401."""


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": message, **extra}, status_code=status)


def _error_response(exc: Exception) -> JSONResponse:
    if isinstance(exc, Unauthorized):
        return _error(401, str(exc) or "log in first")
    if isinstance(exc, InvalidScore):
        return _error(exc.status, str(exc), **exc.details())
    if isinstance(exc, IncompleteRead):
        return _error(exc.status, str(exc), missing=exc.missing)
    if isinstance(exc, WorkspaceError):
        return _error(exc.status, str(exc))
    raise exc


def _wants_json(request: Request) -> bool:
    content = request.headers.get("content-type", "")
    accept = request.headers.get("accept", "")
    return content.startswith("application/json") or ("application/json" in accept and "text/html" not in accept)


def session_token(request: Request) -> str | None:
    return request.cookies.get(COOKIE_NAME)


async def current_user(ws: Workspace, request: Request) -> UserInfo:
    """The logged-in user of this request, or Unauthorized (no cookie, logged out, expired)."""
    user = await run_in_threadpool(auth.user_for_token, ws, session_token(request))
    if user is None:
        raise Unauthorized("log in first: no session, or it has expired")
    return user


async def _json_object(request: Request, allowed: tuple[str, ...]) -> dict[str, Any]:
    try:
        body = json.loads(await request.body(), parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise InvalidScore(f"the request body is not valid JSON ({exc}); send an object such as "
                           '{"grade": 2}', rule="type") from None
    if not isinstance(body, dict):
        raise InvalidScore(f"the request body must be a JSON object with {', '.join(allowed)}", rule="type")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise InvalidScore(f"unknown field(s) {unknown}; send only {', '.join(allowed)}", rule="unknown_column")
    return body


def _no_constant(name: str) -> None:
    """NaN and Infinity are not JSON numbers (Python's parser accepts them; a NaN would read as a blank cell)."""
    raise ValueError(f"{name} is not a number")


Handler = Callable[[Request], Awaitable[Response]]


def _guard(handler: Handler) -> Handler:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except (Unauthorized, WorkspaceError) as exc:
            return _error_response(exc)

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


def routes(ws: Workspace) -> list[Route]:
    """The login/logout routes and the JSON API bound to one open workspace."""

    async def login(request: Request) -> Response:
        as_json = _wants_json(request)
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                data = await request.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                data = None
            if not isinstance(data, dict):
                return _error(422, "send a JSON object with username and password")
        else:
            data = dict(await request.form())
        username, password = str(data.get("username") or ""), str(data.get("password") or "")
        try:
            token = await run_in_threadpool(auth.login, ws, username, password)
        except LoginRefused as refused:
            if as_json:
                return _error(401, str(refused), reason=refused.reason)
            return RedirectResponse(f"{LOGIN_PAGE}?error={refused.reason}&message={quote(str(refused))}",
                                    status_code=303)
        user = await run_in_threadpool(auth.user_for_token, ws, token)
        page = ROLE_PAGES.get(user.role, LOGIN_PAGE) if user else LOGIN_PAGE
        response: Response = (JSONResponse({"username": username, "role": user.role if user else None,
                                            "page": page}) if as_json else RedirectResponse(page, status_code=303))
        response.set_cookie(COOKIE_NAME, token, httponly=True, samesite="strict", path="/",
                            secure=request.url.scheme == "https")
        return response

    async def logout(request: Request) -> Response:
        await run_in_threadpool(auth.logout, ws, session_token(request))
        response: Response = (JSONResponse({"logged_out": True}) if _wants_json(request)
                              else RedirectResponse(LOGIN_PAGE, status_code=303))
        response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict")
        return response

    @_guard
    async def me(request: Request) -> Response:
        user = await current_user(ws, request)
        return JSONResponse({"username": user.username, "role": user.role, "page": ROLE_PAGES.get(user.role)})

    @_guard
    async def worklist(request: Request) -> Response:
        user = await current_user(ws, request)
        tasks = await run_in_threadpool(reading.worklist, ws, user)
        return JSONResponse({"tasks": [t.to_dict() for t in tasks]})

    @_guard
    async def read(request: Request) -> Response:
        user = await current_user(ws, request)
        form = await run_in_threadpool(reading.read_of_role, ws, user, request.path_params["scan_id"],
                                       request.path_params["role"])
        return JSONResponse(form.to_dict())

    @_guard
    async def save_cell(request: Request) -> Response:
        user = await current_user(ws, request)
        body = await _json_object(request, ("grade", "percent", "request_id"))
        p = request.path_params
        saved = await run_in_threadpool(
            lambda: reading.save_cell(ws, user, p["scan_id"], p["zone"], p["pattern"], grade=body.get("grade"),
                                      percent=body.get("percent"), request_id=body.get("request_id")))
        return JSONResponse(saved.to_dict())

    @_guard
    async def finish(request: Request) -> Response:
        user = await current_user(ws, request)
        form = await run_in_threadpool(reading.finish_read, ws, user, request.path_params["scan_id"])
        return JSONResponse(form.to_dict())

    @_guard
    async def queue(request: Request) -> Response:
        user = await current_user(ws, request)
        items = await run_in_threadpool(reading.adjudication_queue, ws, user)
        return JSONResponse({"items": [i.to_dict() for i in items]})

    @_guard
    async def adjudicate(request: Request) -> Response:
        user = await current_user(ws, request)
        body = await _json_object(request, ("grade", "request_id"))
        p = request.path_params
        saved = await run_in_threadpool(
            lambda: reading.save_adjudication(ws, user, p["scan_id"], p["zone"], p["pattern"], body.get("grade"),
                                              request_id=body.get("request_id")))
        return JSONResponse(saved.to_dict())

    @_guard
    async def export(request: Request) -> Response:
        user = await current_user(ws, request)
        if user.role != "investigator":
            raise reading.Forbidden(f"only the investigator exports reads, not {user.role!r}")
        from ipafstudy.workspace.transfer import hrct_reads_text

        text, summary = await run_in_threadpool(hrct_reads_text, ws)
        return Response(text, media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": 'attachment; filename="hrct_reads.csv"',
            "X-Scans-Exported": str(summary.n_scans),
            "X-Scans-Left-Out": json.dumps(summary.left_out, sort_keys=True),
        })

    return [
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/api/me", me, methods=["GET"]),
        Route("/api/worklist", worklist, methods=["GET"]),
        Route("/api/scans/{scan_id:int}/reads/{role}", read, methods=["GET"]),
        Route("/api/scans/{scan_id:int}/cells/{zone}/{pattern}", save_cell, methods=["PUT"]),
        Route("/api/scans/{scan_id:int}/finish", finish, methods=["POST"]),
        Route("/api/adjudication", queue, methods=["GET"]),
        Route("/api/adjudication/{scan_id:int}/{zone}/{pattern}", adjudicate, methods=["PUT"]),
        Route("/api/export/hrct_reads.csv", export, methods=["GET"]),
    ]


def api_app(ws: Workspace) -> Any:
    """A bare Starlette app with only these routes (tests, the benchmark; ``server.build_app`` adds the pages)."""
    from starlette.applications import Starlette

    return Starlette(routes=routes(ws))
