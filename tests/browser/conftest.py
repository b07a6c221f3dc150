"""Browser test harness: Playwright driving Debian's Chromium (``/usr/bin/chromium``).

Fixtures:

- ``serve(app) -> base_url``: runs an ASGI app with uvicorn on a real loopback port in a
  background thread; stopped at the end of the test (``live_server`` is the module-scoped
  variant for tests that share one app).
- ``open_context(**options) -> BrowserContext``: a fresh headless Chromium with its own
  empty user-data directory (so no cookie, cache or setting leaks between tests); any
  Playwright context option (``viewport``, ``java_script_enabled``, ``locale`` ...).
- ``screenshot(page, name) -> Path``: a full-page PNG under ``test-artifacts/screenshots/``
  (kept as a test artifact; the directory is git-ignored).

Chromium missing is a failure with instructions, never a skip: ``make test`` installs it.
``IDBRIDGE_CHROMIUM`` points at another binary.
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright

CHROMIUM = Path(os.environ.get("IDBRIDGE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"


class LiveServer:
    """uvicorn serving ``app`` on 127.0.0.1 (a free port) in a daemon thread."""

    def __init__(self, app: Any) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="auto")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Any], str]]:
    """Start ``app`` on a loopback port; returns its base URL."""
    servers: list[LiveServer] = []

    def start(app: Any) -> str:
        server = LiveServer(app).start()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.stop()


# Package scope, not session: Playwright's sync API keeps an event loop running on the main
# thread while it is open, and pytest-asyncio cannot start its own loop for the async tests
# that follow until it is closed.
@pytest.fixture(scope="package")
def playwright_runtime() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}. Browser tests need Debian's chromium and "
            "fonts-wqy-microhei: run `make test` (it calls scripts/system-deps.sh test), or "
            "`sudo apt-get install chromium fonts-wqy-microhei`, or set IDBRIDGE_CHROMIUM.",
            pytrace=False,
        )
    with sync_playwright() as runtime:
        yield runtime


@pytest.fixture
def open_context(
    playwright_runtime: Playwright,
) -> Iterator[Callable[..., BrowserContext]]:
    """Launch a fresh headless Chromium (own user-data dir) with the given context options."""
    opened: list[tuple[BrowserContext, tempfile.TemporaryDirectory[str]]] = []

    def launch(**options: Any) -> BrowserContext:
        profile = tempfile.TemporaryDirectory(prefix="idbridge-chromium-")
        context = playwright_runtime.chromium.launch_persistent_context(
            profile.name,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            **options,
        )
        context.set_default_timeout(10_000)
        opened.append((context, profile))
        return context

    yield launch
    for context, profile in opened:
        context.close()
        profile.cleanup()


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    """Save a full-page screenshot as a test artifact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Page, name: str) -> Path:
        path = SCREENSHOTS / (re.sub(r"[^A-Za-z0-9_.-]+", "-", name) + ".png")
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
