"""The whole demo journey in real Chromium, in each language: the demo Guangdong
e-service → the bridge → the iAM Smart simulator ("simulate the app": pick a persona,
approve) → the profile / e-ME approval → the consent page (tick the separate
cross-boundary box, agree) → back at the e-service, which shows the SM2SM3 ID token it
verified itself and the released claims. Declining ends in a clear ``access_denied``.

The stack is :class:`federation.demo.stack.DemoStack` (what ``idbridge demo`` runs: real
Redis, simulator, bridge and e-service processes on free loopback ports). Screenshots of
every step go to ``test-artifacts/screenshots/demo-<lang>-<nn>-<step>.png``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page

from federation.demo.stack import DemoStack, free_port_block

pytestmark = pytest.mark.browser

LANGS = ("zh-HK", "zh-CN", "en")
AGREEING = {"zh-HK": "chan-tai-man", "zh-CN": "chow-mei-ling", "en": "wong-siu-ming"}
"""A different persona per test, so that no remembered consent skips the page."""
SIMPLIFIED_NAME = {"chan-tai-man": "陈大文", "chow-mei-ling": "周美玲", "wong-siu-ming": "黄少明"}
DECLINING = {"zh-HK": "lee-ka-fung", "zh-CN": "yip-pak-sun", "en": "tsang-chi-chuen"}
SIGNED_IN = {"zh-HK": "已登入", "zh-CN": "已登录", "en": "You are signed in"}
DENIED = {
    "zh-HK": "你已拒絕登入或拒絕傳送資料",
    "zh-CN": "您已拒绝登录或拒绝传送资料",
    "en": "You declined to sign in or to send your data",
}
PERMIT = "H12345678"
MAX_STEPS = 12


@pytest.fixture(scope="module")
def stack() -> Iterator[DemoStack]:
    with DemoStack(port=free_port_block()) as running:
        yield running


def _step_name(page: Page, stack: DemoStack) -> str:
    """What kind of page the browser is on (by URL and by the page's own controls)."""
    url = page.url
    if url.startswith(stack.ports.service_url):
        return "service"
    if url.startswith(stack.ports.simulator_url):
        if page.locator("select#persona").count():
            return "sim-login"
        if "/sim/app/requests/" in url:
            return "sim-request"
        return "sim-other"
    if page.locator("form.consent-form").count():
        return "consent"
    if page.locator('a.button[href*="continue"], a.button').count():
        return "bridge-page"
    return "bridge-other"


def walk(
    page: Page,
    stack: DemoStack,
    lang: str,
    shot: Callable[[Page, str], Path],
    persona: str,
    *,
    decision: str = "agree",
    tag: str = "",
) -> list[str]:
    """Click through from the e-service home page until the browser is back at the
    e-service; return the kinds of pages seen (in order)."""
    prefix = f"demo-{lang}{tag}"
    page.goto(f"{stack.ports.service_url}/?lang={lang}")
    shot(page, f"{prefix}-00-eservice-home")
    page.click("#login")
    seen: list[str] = []
    for number in range(1, MAX_STEPS):
        page.wait_for_load_state("load")
        kind = _step_name(page, stack)
        seen.append(kind)
        shot(page, f"{prefix}-{number:02d}-{kind}")
        if kind == "service":
            return seen
        if kind == "sim-login":
            page.select_option("select#persona", persona)
            page.click('button[name="action"][value="approve"]')
        elif kind == "sim-request":
            page.click('button[name="action"][value="approve"]')
        elif kind == "consent":
            for field in page.locator('form.consent-form input[type="text"]').all():
                field.fill(PERMIT)
            if decision == "agree":
                for optional in page.locator('input[name="release"]').all():
                    optional.check()  # "also send my ...": show every claim in the demo
                page.check("#cross_boundary")
                if page.locator("#sensitive_consent").count():  # the permit number (PIPL art. 29)
                    page.check("#sensitive_consent")
                shot(page, f"{prefix}-{number:02d}-consent-ticked")
            page.click(f'button[name="decision"][value="{decision}"]')
        elif kind == "bridge-page":
            page.locator("a.button").first.click()
        else:
            raise AssertionError(f"unexpected page {page.url}: {page.content()[:500]}")
    raise AssertionError(f"the journey did not end at the e-service: {seen}")


@pytest.mark.parametrize("lang", LANGS)
def test_whole_journey_in_each_language(
    stack: DemoStack,
    open_context: Callable[..., BrowserContext],
    screenshot: Callable[[Page, str], Path],
    lang: str,
) -> None:
    page = open_context(viewport={"width": 1280, "height": 900}, locale=lang).new_page()
    persona = AGREEING[lang]
    seen = walk(page, stack, lang, screenshot, persona)
    assert seen[0] == "sim-login" and "consent" in seen, seen
    assert page.url.startswith(f"{stack.ports.service_url}/me")
    assert SIGNED_IN[lang] in page.locator("h1").inner_text()
    header = page.locator("#token-header").inner_text()
    assert '"alg": "SM2SM3"' in header
    for check in ("signature", "iss", "aud", "exp", "iat", "nonce", "at_hash"):
        assert page.locator(f'#checks li[data-check="{check}"]').count() == 1
    claims = page.locator("#token-claims").inner_text()
    name = SIMPLIFIED_NAME[persona]  # guangdong-tyrz: the name in simplified Chinese
    assert f'"cn": "{name}"' in claims
    assert page.locator('#released tr[data-claim="cn"] td').inner_text() == name
    assert page.locator('#released tr[data-claim="mail"]').count() == 1  # optional, ticked
    assert page.locator("#raw-token").text_content().count(".") == 2
    assert '"sub"' in page.locator("#userinfo").inner_text()
    page.click("#logout")
    page.wait_for_load_state("load")
    screenshot(page, f"demo-{lang}-99-logged-out")
    assert page.url.startswith(f"{stack.ports.service_url}/logged-out")


@pytest.mark.parametrize("lang", LANGS)
def test_declining_consent_shows_access_denied(
    stack: DemoStack,
    open_context: Callable[..., BrowserContext],
    screenshot: Callable[[Page, str], Path],
    lang: str,
) -> None:
    page = open_context(viewport={"width": 1280, "height": 900}, locale=lang).new_page()
    seen = walk(page, stack, lang, screenshot, DECLINING[lang], decision="decline", tag="-decline")
    assert "consent" in seen, seen
    assert page.url.startswith(f"{stack.ports.service_url}/callback")
    message = page.locator("#message")
    assert message.get_attribute("data-error") == "access_denied"
    assert DENIED[lang] in message.inner_text()
    page.goto(f"{stack.ports.service_url}/me")
    assert not page.url.startswith(f"{stack.ports.service_url}/me")  # not signed in


def test_a_remembered_consent_skips_the_page(
    stack: DemoStack,
    open_context: Callable[..., BrowserContext],
    screenshot: Callable[[Page, str], Path],
) -> None:
    first = walk(open_context().new_page(), stack, "en", screenshot, "ng-wing-chi", tag="-r1")
    assert "consent" in first
    again = open_context().new_page()  # a new browser: no bridge session, same person
    second = walk(again, stack, "en", screenshot, "ng-wing-chi", tag="-r2")
    assert "consent" not in second and second[-1] == "service", second
    assert again.url.startswith(f"{stack.ports.service_url}/me")
