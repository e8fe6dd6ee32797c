"""Shared fixtures for the workspace tests: serve any ASGI app on loopback, and drive Debian's chromium.

Browser tests need /usr/bin/chromium (``apt-get install chromium``; ``.ci/run`` installs it). Without it they are
skipped, unless ``IPAFSTUDY_REQUIRE_BROWSER=1`` (set by ``.ci/run``), where a missing browser fails the run.
Screenshots go to ``test-artifacts/screenshots/`` (the ``screenshot`` fixture), kept after the run.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from tests.servers import free_port

CHROMIUM = os.environ.get("IPAFSTUDY_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
    "--disable-sync", "--no-first-run", "--metrics-recording-only",
]


@contextmanager
def serve_asgi(app, port: int | None = None) -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread on 127.0.0.1; yields the base URL, stops the server on exit."""
    import uvicorn
    from shiny.reactive import _core

    # Shiny keeps ONE asyncio.Lock per process, bound to the first event loop that waits on it. A real server has
    # one loop; every test server here runs its own, so a lock left bound by an earlier module's server failed a
    # later module's clicks under contention ("bound to a different event loop"). Each test server starts fresh.
    _core._reactive_environment._lock = None
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the test server on port {port} did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="session")
def chromium_browser():
    """One headless Debian chromium for the session (Playwright's own browser download is not used)."""
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        if os.environ.get("IPAFSTUDY_REQUIRE_BROWSER") == "1":
            pytest.fail(f"IPAFSTUDY_REQUIRE_BROWSER=1 but {CHROMIUM} is missing: apt-get install chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_context(chromium_browser):
    """A fresh browser profile (own cookies) per test; several per test stand for several users or tabs."""
    contexts = []

    def make():
        context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(30_000)  # generous: a loaded 2-core machine, never a timing assertion
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot(request) -> Callable:
    """``screenshot(page, "name")`` saves a full-page PNG under test-artifacts/screenshots/ (kept as an artefact)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
