"""The harness itself: a Shiny page mounted in Starlette, served on loopback, clicked in Debian's chromium."""

from __future__ import annotations

from tests.workspace.conftest import serve_asgi


def _counter_app():
    from shiny import App, reactive, render, ui
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route

    page = ui.page_fluid(ui.input_action_button("add", "Add one"), ui.output_text("count"))

    def server(input, output, session):
        @render.text
        def count():
            return f"count={input.add()}"

        @reactive.effect
        def _():
            input.add()

    async def forbidden(request):
        return PlainTextResponse("forbidden", status_code=403)

    return Starlette(routes=[Route("/api/secret", forbidden), Mount("/", app=App(page, server))])


def test_shiny_page_clicks_and_plain_route_answers_403(browser_context, screenshot):
    with serve_asgi(_counter_app()) as base:
        page = browser_context().new_page()
        page.goto(base + "/")
        page.get_by_text("count=0").wait_for()
        page.get_by_role("button", name="Add one").click()
        page.get_by_text("count=1").wait_for()
        assert screenshot(page, "counter").stat().st_size > 0
        response = page.request.get(base + "/api/secret")
        assert response.status == 403
