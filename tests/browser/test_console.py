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
    Role.OFFICER: ["a", "b", "w", "roles"],
    Role.AUDITOR: ["x", "roles"],
    Role.ADMIN: [f"{loc.lower()}-{js}" for loc in LOCALES for js in ("js", "nojs")]
    + ["b", "roles", "narrow"],
    Role.VIEWER: ["roles"],
}


@pytest.fixture(scope="module")
def console(redis_server: RedisServer) -> Iterator[tuple[str, dict[str, str], dict[str, Any]]]:
    app, secrets, state = build_console_app(redis_server.url, TAGS)
    state["url"] = redis_server.url
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
    context = open_context(java_script_enabled=js, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/operator/login?lang={locale}")
    html_lang = {"zh-HK": "zh-Hant-HK", "zh-CN": "zh-Hans-CN", "en": "en"}[locale]
    expect(page.locator("html")).to_have_attribute("lang", html_lang)
    problems: dict[str, Any] = {}

    def check(name: str) -> None:
        # axe needs script: it runs where JavaScript is on. The HTML is the same either
        # way (the server renders it); with JavaScript off every screen must still work.
        if js and (found := axe_violations(page)):
            problems[name] = found
        screenshot(page, f"console-{name}-{locale}-{'js' if js else 'nojs'}")

    check("login")
    sign_in(page, base, username, secrets[username], locale)
    expect(page.locator("h1")).to_have_text(_t(locale, "dashboard.title"))
    expect(page.locator("img.chart").first).to_be_visible()
    page.wait_for_load_state("load")
    widths = page.locator("img.chart").evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
    assert len(widths) == 3 and all(w > 0 for w in widths), widths  # the SVGs loaded
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
    page.locator("a[href*='/operator/accounts/viewer-roles/disable']").click()
    check("account-confirm")
    page.goto(f"{base}/operator/consents/cns_0000000000000000000000?lang={locale}")
    expect(page.locator("h1")).to_have_text(_t(locale, "error.not_found.title"))
    check("error-404")
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)
    assert state["services"] is not None


def _store_status(state: dict[str, Any], consent_id: str) -> str:
    """A record's status read straight from Redis (not through the console)."""
    import redis as sync_redis

    from federation.storage.keys import Keys

    client = sync_redis.Redis.from_url(state["url"], decode_responses=True)
    try:
        return str(client.hget(Keys.consent(consent_id), "status"))
    finally:
        client.close()


def test_actions_without_javascript(
    console: tuple[str, dict[str, str], dict[str, Any]],
    open_context: ContextFactory,
    screenshot: Shot,
) -> None:
    base, secrets, state = console
    records = state["records"]
    nojs = {"java_script_enabled": False, "accept_downloads": True}

    # an officer withdraws one consent: reason, confirmation, tokens revoked
    officer = open_context(**nojs).new_page()
    sign_in(officer, base, "officer-w", secrets["officer-w"])
    target = records[10]
    officer.goto(f"{base}/operator/consents/{target.id}?lang=en")
    officer.click("text=Withdraw this consent")
    officer.fill("#reason", "ticket HK-2291: the person asked by phone")
    officer.check("#confirm")
    officer.click("button.button-danger")
    expect(officer.locator(".notice")).to_contain_text("withdrawn")
    expect(officer.locator(".badge").first).to_have_text("Withdrawn")
    screenshot(officer, "console-action-withdrawn-en-nojs")
    assert _store_status(state, target.id) == "revoked"
    assert (target.subject, target.client_id) in [c[:2] for c in state["revoker"].calls]

    # the receipt downloads as a JWS that verifies with the bridge's keys
    with officer.expect_download() as download:
        officer.click("text=Download the signed receipt (JWS)")
    token = Path(download.value.path()).read_text()
    claims = state["services"].verifier.verify_jws(token, typ="consent-receipt+jwt")
    assert claims["consentReceiptID"] == target.id

    # four eyes: officer-a asks, cannot approve; officer-b approves
    asker = open_context(**nojs).new_page()
    sign_in(asker, base, "officer-a", secrets["officer-a"])
    asker.goto(f"{base}/operator/offboarding?lang=en")
    asker.fill("#ob-client", "gd-health-portal")
    asker.fill("#ob-reason", "service closed on 2026-12-31")
    asker.check("#ob-confirm")
    asker.click("text=Ask for approval")
    expect(asker.locator(".notice")).to_contain_text("another operator")
    assert asker.locator("button[value=approve]").count() == 0
    request_url = asker.url
    screenshot(asker, "console-action-offboarding-requested-en-nojs")
    approver = open_context(**nojs).new_page()
    sign_in(approver, base, "officer-b", secrets["officer-b"])
    approver.goto(request_url)
    approver.click("button[value=approve]")
    expect(approver.locator(".badge")).to_have_text("Approved")
    screenshot(approver, "console-action-offboarding-approved-en-nojs")
    for record in records:
        if record.client_id == "gd-health-portal":
            assert _store_status(state, record.id) == "revoked"

    # an auditor exports the search result as CSV and JSON lines
    auditor = open_context(**nojs).new_page()
    sign_in(auditor, base, "auditor-x", secrets["auditor-x"])
    auditor.goto(f"{base}/operator/consents?go=1&client_id=gd-tax-bureau&lang=en")
    with auditor.expect_download() as csv_download:
        auditor.click("text=CSV")
    lines = Path(csv_download.value.path()).read_text().splitlines()
    assert lines[0].startswith("id,subject,client_id,status") and len(lines) == 9
    assert csv_download.value.suggested_filename == "consents.csv"
    with auditor.expect_download() as jsonl_download:
        auditor.click("text=JSON lines")
    rows = Path(jsonl_download.value.path()).read_text().splitlines()
    assert json.loads(rows[0])["meta"]["truncated"] is False and len(rows) == 9

    # an admin adds an account (QR code shown), then disables it; then signs out
    admin = open_context(**nojs).new_page()
    sign_in(admin, base, "admin-b", secrets["admin-b"])
    admin.goto(f"{base}/operator/accounts?lang=en")
    admin.fill("#ac-user", "newbie-op")
    admin.select_option("#ac-role", "viewer")
    admin.fill("#ac-pass", "a long enough password")
    admin.click("text=Add the account")
    expect(admin.locator("img.qr")).to_be_visible()
    assert admin.locator("img.qr").evaluate("img => img.naturalWidth") > 0
    assert len(admin.locator("#totp-secret").inner_text().strip()) >= 16
    screenshot(admin, "console-action-enrol-en-nojs")
    admin.goto(f"{base}/operator/accounts/newbie-op/disable?lang=en")
    admin.click("button.button-danger")
    expect(admin.locator("tr", has_text="newbie-op")).to_contain_text("Disabled")
    admin.click("text=Sign out")
    expect(admin.locator(".notice")).to_contain_text("signed out")
    admin.goto(f"{base}/operator/dashboard")
    expect(admin).to_have_url(re.compile(r"/operator/login"))


SCREENS = {
    "dashboard:view": "/operator/dashboard",
    "consents:search": "/operator/consents?go=1",
    "consents:offboard": "/operator/offboarding",
    "audit:read": "/operator/audit",
    "accounts:manage": "/operator/accounts",
}
ALLOWED = {
    Role.VIEWER: {"dashboard:view", "consents:search"},
    Role.OFFICER: {"dashboard:view", "consents:search", "consents:offboard"},
    Role.AUDITOR: {"dashboard:view", "consents:search", "audit:read"},
    Role.ADMIN: set(SCREENS),
}
"""Spelled out here, independently of ``consent.operator.roles``."""


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_only_what_it_may_do(
    console: tuple[str, dict[str, str], dict[str, Any]],
    open_context: ContextFactory,
    screenshot: Shot,
    role: Role,
) -> None:
    base, secrets, state = console
    page = open_context().new_page()
    username = f"{role.value}-roles"
    sign_in(page, base, username, secrets[username])
    nav = {a.get_attribute("href").split("?")[0] for a in page.locator(".console-nav a").all()}
    assert nav == {SCREENS[p].split("?")[0] for p in ALLOWED[role]}
    for permission, path in SCREENS.items():
        response = page.goto(f"{base}{path}")
        assert response is not None
        if permission in ALLOWED[role]:
            assert response.status == 200, (role, path)
        else:
            assert response.status == 403, (role, path)
            expect(page.locator("h1")).to_have_text("Not allowed")
    active = next(
        r
        for r in state["records"]
        if r.client_id == "gd-social-security" and _store_status(state, r.id) == "active"
    )
    page.goto(f"{base}/operator/consents/{active.id}?lang=en")
    may_revoke = role in (Role.OFFICER, Role.ADMIN)
    assert page.locator("text=Withdraw this consent").count() == (1 if may_revoke else 0)
    withdraw = page.goto(f"{base}/operator/consents/{active.id}/withdraw")
    assert withdraw is not None and withdraw.status == (200 if may_revoke else 403)
    page.goto(f"{base}/operator/consents?go=1&lang=en")
    may_export = role in (Role.AUDITOR, Role.ADMIN)
    assert page.locator(".export-links").count() == (1 if may_export else 0)
    page.goto(f"{base}/operator/audit?lang=en")
    if role is Role.VIEWER:
        assert not axe_violations(page)
        screenshot(page, "console-403-en-js")


def test_screens_reflow_at_320_px_and_200_percent_zoom(
    console: tuple[str, dict[str, str], dict[str, Any]],
    open_context: ContextFactory,
    screenshot: Shot,
) -> None:
    """WCAG 1.4.10: nothing but the tables' own scroll regions scrolls sideways."""
    base, secrets, state = console
    page = open_context(viewport={"width": 320, "height": 640}).new_page()
    sign_in(page, base, "admin-narrow", secrets["admin-narrow"], "zh-HK")
    record = state["records"][20]
    for path in (
        "/operator/dashboard",
        "/operator/consents?go=1",
        f"/operator/consents/{record.id}",
        "/operator/audit",
        "/operator/accounts",
    ):
        for width, height in ((320, 640), (640, 450)):  # 640x450: 1280x900 at 200 %
            page.set_viewport_size({"width": width, "height": height})
            page.goto(f"{base}{path}")
            overflow = page.evaluate("() => document.documentElement.scrollWidth")
            assert overflow <= width, (path, width, overflow)
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(f"{base}/operator/dashboard")
    screenshot(page, "console-dashboard-zh-HK-320px")
