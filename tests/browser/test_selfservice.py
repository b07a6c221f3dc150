"""The residents' self-service area (``/consents``) in real Chromium, on the real demo stack
(:class:`federation.demo.stack.DemoStack`: Redis, the iAM Smart simulator, the bridge and the
demo Guangdong e-service as separate processes).

A person first signs in at the demo e-service (which records a consent), then — in another,
fresh browser — opens the bridge's ``/consents``, signs in through the bridge's own journey
(simulator: pick the persona, approve), sees the consent, withdraws it after the
confirmation page and sees it withdrawn; the record in Redis is ``revoked`` by the subject
and the e-service's session has ended by back-channel logout. Also: each language renders
(CJK glyphs from a CJK font), nothing overflows at 320 px or 200 % zoom, contrast ≥ 4.5:1
from computed styles, a label for every control, everything works with JavaScript off,
keyboard-only withdrawal with a visible focus ring, and the downloads (receipt JWS verified
with the bridge's JWKS, receipt JSON, export) arrive with the right content type and parse.
Screenshots go to ``test-artifacts/screenshots/selfservice-*.png``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from playwright.sync_api import BrowserContext, Page, Request

from federation.crypto.jose import decode_jwt
from federation.demo.stack import DemoStack, free_port_block
from federation.pages import LOCALES
from federation.pages.catalogue import catalogues
from federation.pages.locale import HTML_LANG
from federation.storage.keys import Keys
from tests.browser.test_pages import _CONTRAST, _UNLABELLED, CJK_FONTS, _fonts_of

pytestmark = pytest.mark.browser

CATALOGUES = catalogues()
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 320, "height": 640}
ZOOM_200 = {"width": 640, "height": 450}  # a 1280x900 window at 200 % zoom
PERMIT = "H12345678"
MAX_STEPS = 12
PERSONA = {"zh-HK": "chan-tai-man", "zh-CN": "chow-mei-ling", "en": "wong-siu-ming"}
"""A different person per test: each list holds exactly that person's consent."""
ContextFactory = Callable[..., BrowserContext]
Shot = Callable[[Page, str], Path]

_SELF_TEXT = [
    "body",
    "h1",
    "h2",
    "h3",
    "p",
    "li",
    "dt",
    "dd",
    "a",
    ".button",
    ".button-secondary",
    ".hint",
    ".tag",
    ".status",
    "code",
    ".lang-switcher a",
    ".lang-current",
    ".reference-box p",
]


@pytest.fixture(scope="module")
def stack() -> Iterator[DemoStack]:
    with DemoStack(port=free_port_block()) as running:
        yield running


@pytest.fixture(scope="module")
def store(stack: DemoStack) -> Iterator[redis.Redis]:
    assert stack.redis is not None
    client = redis.Redis.from_url(stack.redis.url, decode_responses=True)
    yield client
    client.close()


# -- driving the journeys ------------------------------------------------------------------


def _approve_upstream(page: Page, stack: DemoStack, persona: str) -> bool:
    """On a simulator page: pick the persona / approve. False when not on the simulator."""
    if not page.url.startswith(stack.ports.simulator_url):
        return False
    if page.locator("select#persona").count():
        page.select_option("select#persona", persona)
    page.click('button[name="action"][value="approve"]')
    return True


def consent_at_eservice(page: Page, stack: DemoStack, persona: str, lang: str) -> None:
    """Sign in at the demo e-service through the bridge and agree: one consent recorded."""
    page.goto(f"{stack.ports.service_url}/?lang={lang}")
    page.click("#login")
    for _ in range(MAX_STEPS):
        page.wait_for_load_state("load")
        if page.url.startswith(f"{stack.ports.service_url}/me"):
            return
        if _approve_upstream(page, stack, persona):
            continue
        if page.locator("form.consent-form").count():
            for field in page.locator('form.consent-form input[type="text"]').all():
                field.fill(PERMIT)
            page.check("#cross_boundary")
            page.click('button[name="decision"][value="agree"]')
        elif page.locator("a.button").count():
            page.locator("a.button").first.click()  # hand-off without JavaScript
        else:
            raise AssertionError(f"unexpected page {page.url}: {page.content()[:400]}")
    raise AssertionError(f"the e-service sign-in did not finish: {page.url}")


def sign_in_to_self_service(
    page: Page, stack: DemoStack, persona: str, lang: str, shot: Shot | None = None
) -> list[str]:
    """From the bridge's ``/consents`` sign-in page through the simulator back to the list;
    return the URLs the browser requested on the way, redirects included (without query)."""
    page.goto(f"{stack.ports.issuer}/consents?lang={lang}")
    assert page.inner_text("h1") == CATALOGUES[lang].text("selfservice.signin_title")
    if shot:
        shot(page, f"selfservice-{lang}-01-sign-in")
    seen: list[str] = []

    def record(request: Request) -> None:
        if request.is_navigation_request():
            seen.append(request.url.split("?")[0])

    page.on("request", record)
    page.get_by_role("link", name=_signin_button(lang)).click()
    for _ in range(MAX_STEPS):
        page.wait_for_load_state("load")
        if page.url.split("?")[0] == f"{stack.ports.issuer}/consents":
            page.remove_listener("request", record)
            assert page.inner_text("h1") == CATALOGUES[lang].text("selfservice.list_title")
            return seen
        if _approve_upstream(page, stack, persona):
            continue
        if page.locator("form.consent-form").count():
            raise AssertionError("the self-service sign-in must not ask for consent")
        if page.locator("main a.button").count():
            page.locator("main a.button").first.click()
        else:
            raise AssertionError(f"unexpected page {page.url}: {page.content()[:400]}")
    raise AssertionError(f"the self-service sign-in did not finish: {seen}")


def _signin_button(lang: str) -> str:
    catalogue = CATALOGUES[lang]
    return catalogue.text("selfservice.signin_button", upstream=catalogue.text("upstream.iamsmart"))


def _consent_ids(page: Page) -> list[str]:
    ids = page.eval_on_selector_all(
        "article.consent-entry h4", "els => els.map(el => el.id.slice(2))"
    )
    return list(ids)


def _record(store: redis.Redis, consent_id: str) -> dict[str, str]:
    record = store.hgetall(Keys.consent(consent_id))
    assert isinstance(record, dict) and record, f"no record {consent_id}"
    return record


def _signed_in_list(
    open_context: ContextFactory,
    stack: DemoStack,
    persona: str,
    lang: str,
    shot: Shot | None = None,
    **options: Any,
) -> tuple[Page, Page, str]:
    """(e-service browser, self-service browser on the list, the consent id)."""
    service = open_context(viewport=DESKTOP, locale=lang).new_page()
    consent_at_eservice(service, stack, persona, lang)
    options.setdefault("viewport", DESKTOP)
    page = open_context(locale=lang, **options).new_page()
    sign_in_to_self_service(page, stack, persona, lang, shot)
    ids = _consent_ids(page)
    assert len(ids) == 1, ids
    return service, page, ids[0]


# -- checks shared by every page -------------------------------------------------------------


def _no_horizontal_scroll(page: Page) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"horizontal scroll at {page.url}: {widths}"


def _check_page(page: Page, lang: str) -> None:
    """Language, one h1, switcher, labels, contrast ≥ 4.5:1, base font ≥ 16 px."""
    assert page.get_attribute("html", "lang") == HTML_LANG[lang]
    assert page.locator("main h1").count() == 1
    assert page.locator("nav.lang-switcher a").count() == 2
    assert page.evaluate(_UNLABELLED) == [], page.url
    ratios = page.evaluate(_CONTRAST, _SELF_TEXT)
    assert len(ratios) > 10
    low = [(sel, ratio) for sel, ratio in ratios if ratio < 4.5]
    assert not low, f"contrast below 4.5:1 on {page.url}: {low}"
    assert page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)") >= 16
    if lang != "en":
        fonts = _fonts_of(page, "h1")
        assert any(font.startswith(CJK_FONTS) for font in fonts), fonts


def _at_small_sizes(page: Page, shot: Shot, name: str) -> None:
    """No horizontal scroll at 320 px and at 200 % zoom; a 320 px screenshot."""
    size = page.viewport_size
    page.set_viewport_size(ZOOM_200)
    _no_horizontal_scroll(page)
    page.set_viewport_size(PHONE)
    _no_horizontal_scroll(page)
    shot(page, f"{name}-320px")
    if size:
        page.set_viewport_size(size)


# -- the tests ---------------------------------------------------------------------------------


def test_sign_in_see_withdraw_and_the_eservice_is_signed_out(
    stack: DemoStack,
    store: redis.Redis,
    open_context: ContextFactory,
    screenshot: Shot,
) -> None:
    lang, persona = "en", "ng-wing-chi"
    en = CATALOGUES[lang]
    service = open_context(viewport=DESKTOP, locale=lang).new_page()
    consent_at_eservice(service, stack, persona, lang)
    assert service.url.startswith(f"{stack.ports.service_url}/me")

    page = open_context(viewport=DESKTOP, locale=lang).new_page()  # another browser
    passed = sign_in_to_self_service(page, stack, persona, lang)
    assert any(url.startswith(stack.ports.simulator_url) for url in passed), passed
    assert f"{stack.ports.issuer}/consents/callback" in passed
    (consent_id,) = _consent_ids(page)
    assert _record(store, consent_id)["status"] == "active"
    entry = page.locator("article.consent-entry")
    assert entry.locator(".status-active").inner_text() == en.text("selfservice.status.active")
    assert "Guangdong e-government service (demo)" in page.inner_text("main h2")
    screenshot(page, "selfservice-journey-01-list")

    page.get_by_role("link", name=en.text("selfservice.withdraw")).click()
    page.wait_for_url(f"**/consents/{consent_id}/withdraw*")
    assert page.inner_text("h1") == en.text("selfservice.withdraw_title")
    screenshot(page, "selfservice-journey-02-confirm")
    page.get_by_role("link", name=en.text("selfservice.withdraw_cancel")).click()
    page.wait_for_load_state("load")
    assert _record(store, consent_id)["status"] == "active"  # "No, go back" changes nothing

    service.goto(f"{stack.ports.service_url}/me?lang={lang}")
    assert service.url.startswith(f"{stack.ports.service_url}/me")  # still signed in there
    page.get_by_role("link", name=en.text("selfservice.withdraw")).click()
    page.get_by_role("button", name=en.text("selfservice.withdraw_confirm")).click()
    page.wait_for_url("**/consents?notice=withdrawn")
    screenshot(page, "selfservice-journey-03-withdrawn")
    assert en.text("selfservice.notice.withdrawn") in page.inner_text("[role=status]")
    assert entry.locator(".status-revoked").inner_text() == en.text("selfservice.status.revoked")
    assert en.text("selfservice.end_reason.withdrawn_by_you", detail="") in entry.inner_text()
    assert page.get_by_role("link", name=en.text("selfservice.withdraw")).count() == 0
    record = _record(store, consent_id)
    assert record["status"] == "revoked" and record["revoked_by"] == "subject"

    # the back-channel logout token reached the e-service: its session is gone
    service.goto(f"{stack.ports.service_url}/me?lang={lang}")
    assert not service.url.startswith(f"{stack.ports.service_url}/me"), service.url

    page.get_by_role("button", name=en.text("selfservice.sign_out")).click()
    page.wait_for_url("**/consents/signed-out*")
    assert page.inner_text("h1") == en.text("signed_out.title")
    screenshot(page, "selfservice-journey-04-signed-out")
    page.goto(f"{stack.ports.issuer}/consents?lang={lang}")
    assert page.inner_text("h1") == en.text("selfservice.signin_title")
    assert _consent_ids(page) == []


@pytest.mark.parametrize("lang", LOCALES)
def test_each_language_renders_and_fits(
    stack: DemoStack,
    open_context: ContextFactory,
    screenshot: Shot,
    lang: str,
) -> None:
    catalogue = CATALOGUES[lang]
    page = open_context(viewport=DESKTOP, locale=lang).new_page()
    page.goto(f"{stack.ports.issuer}/consents?lang={lang}")
    _check_page(page, lang)
    _at_small_sizes(page, screenshot, f"selfservice-{lang}-sign-in")

    _, page, consent_id = _signed_in_list(open_context, stack, PERSONA[lang], lang)
    _check_page(page, lang)
    assert catalogue.text("selfservice.status.active") in page.inner_text(".status")
    screenshot(page, f"selfservice-{lang}-list-desktop")
    _at_small_sizes(page, screenshot, f"selfservice-{lang}-list")

    page.goto(f"{stack.ports.issuer}/consents/{consent_id}/withdraw")
    assert page.inner_text("h1") == catalogue.text("selfservice.withdraw_title")
    _check_page(page, lang)
    screenshot(page, f"selfservice-{lang}-withdraw-desktop")
    _at_small_sizes(page, screenshot, f"selfservice-{lang}-withdraw")
    measure = """sel => { const el = document.querySelector(sel); const s = getComputedStyle(el);
      const r = el.getBoundingClientRect();
      return [Math.round(r.height), s.fontSize, s.fontWeight, s.borderTopWidth]; }"""
    yes = page.evaluate(measure, ".button-row button")
    no = page.evaluate(measure, ".button-row a.button")
    assert yes == no, "withdraw and go back must have equal weight"

    page.get_by_role("button", name=catalogue.text("selfservice.withdraw_confirm")).click()
    page.wait_for_url("**/consents?notice=withdrawn")
    _check_page(page, lang)  # the notice and the withdrawn status too
    assert catalogue.text("selfservice.status.revoked") in page.inner_text(".status")
    _at_small_sizes(page, screenshot, f"selfservice-{lang}-withdrawn")

    page.get_by_role("button", name=catalogue.text("selfservice.sign_out")).click()
    page.wait_for_url("**/consents/signed-out*")
    assert page.get_attribute("html", "lang") == HTML_LANG[lang]
    assert page.inner_text("h1") == catalogue.text("signed_out.title")
    _check_page(page, lang)
    _at_small_sizes(page, screenshot, f"selfservice-{lang}-signed-out")


def test_works_with_javascript_off(
    stack: DemoStack,
    store: redis.Redis,
    open_context: ContextFactory,
    screenshot: Shot,
) -> None:
    lang = "zh-HK"
    catalogue = CATALOGUES[lang]
    _, page, consent_id = _signed_in_list(
        open_context, stack, "lee-ka-fung", lang, java_script_enabled=False, viewport=PHONE
    )
    screenshot(page, "selfservice-zh-HK-nojs-list")
    page.get_by_role("link", name=catalogue.text("selfservice.withdraw")).click()
    page.wait_for_url(f"**/consents/{consent_id}/withdraw*")
    page.get_by_role("button", name=catalogue.text("selfservice.withdraw_confirm")).click()
    page.wait_for_url("**/consents?notice=withdrawn")
    assert _record(store, consent_id)["status"] == "revoked"
    page.click("nav.lang-switcher a[hreflang=en]")  # the switcher is a plain link
    page.wait_for_load_state("load")
    assert page.inner_text("h1") == CATALOGUES["en"].text("selfservice.list_title")
    screenshot(page, "selfservice-en-nojs-withdrawn")
    page.get_by_role("button", name=CATALOGUES["en"].text("selfservice.sign_out")).click()
    page.wait_for_url("**/consents/signed-out*")
    assert page.inner_text("h1") == CATALOGUES["en"].text("signed_out.title")


_CONTROLS = "a[href], button, input:not([type=hidden]), summary, select, textarea"
_ACTIVE = (
    """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2)
    || (style.boxShadow && style.boxShadow !== 'none');
  const index = Array.from(document.querySelectorAll('"""
    + _CONTROLS
    + """')).indexOf(el);
  return {index: index, tag: el.tagName, href: el.getAttribute('href') || '',
          text: el.textContent.trim(), ring: ring};
}"""
)


def _tab_to(page: Page, wanted: Callable[[dict[str, Any]], bool], limit: int = 40) -> list[int]:
    """Press Tab until ``wanted(active)``; every focused control must show a focus ring and
    the order must follow the document. Returns the indices passed."""
    seen: list[int] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        active = page.evaluate(_ACTIVE)
        assert active["tag"] != "BODY", f"Tab left the page before reaching the control: {seen}"
        assert active["ring"], f"no visible focus on {active}"
        assert not seen or active["index"] > seen[-1], "tab order must follow the reading order"
        seen.append(active["index"])
        if wanted(active):
            return seen
    raise AssertionError(f"not reachable with Tab: {seen}")


def test_keyboard_only_withdrawal_with_visible_focus(
    stack: DemoStack,
    store: redis.Redis,
    open_context: ContextFactory,
) -> None:
    lang = "en"
    en = CATALOGUES[lang]
    _, page, consent_id = _signed_in_list(open_context, stack, "yip-pak-sun", lang)
    page.goto(f"{stack.ports.issuer}/consents?lang={lang}")  # focus starts at the top
    passed = _tab_to(page, lambda a: a["href"].endswith(f"/consents/{consent_id}/withdraw"))
    assert passed[0] == 0  # the skip link comes first
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/consents/{consent_id}/withdraw")
    _tab_to(
        page,
        lambda a: a["tag"] == "BUTTON" and a["text"] == en.text("selfservice.withdraw_confirm"),
    )
    page.keyboard.press("Enter")
    page.wait_for_url("**/consents?notice=withdrawn")
    assert _record(store, consent_id)["status"] == "revoked"
    _tab_to(page, lambda a: a["tag"] == "BUTTON" and a["text"] == en.text("selfservice.sign_out"))
    page.keyboard.press("Enter")
    page.wait_for_url("**/consents/signed-out*")


def _download(page: Page, link_name: str) -> tuple[str, bytes]:
    """Click a download link; (suggested file name, bytes)."""
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).click()
    download = info.value
    path = download.path()
    assert path is not None, download.failure()
    return download.suggested_filename, Path(path).read_bytes()


def test_downloads_arrive_with_their_type_and_parse(
    stack: DemoStack,
    store: redis.Redis,
    open_context: ContextFactory,
) -> None:
    lang = "en"
    en = CATALOGUES[lang]
    context_options = {"accept_downloads": True}
    _, page, consent_id = _signed_in_list(
        open_context, stack, "tsang-chi-chuen", lang, **context_options
    )
    jwks = page.request.get(f"{stack.ports.issuer}/jwks/sm2").json()  # sm2_jwks_uri

    name, body = _download(page, en.text("selfservice.receipt_jws"))
    assert name == f"consent-receipt-{consent_id}.jws"
    header, receipt = decode_jwt(body, jwks, algorithms=["SM2SM3"])
    assert header["alg"] == "SM2SM3"
    assert receipt["consentReceiptID"] == consent_id

    name, body = _download(page, en.text("selfservice.receipt_json"))
    assert name == f"consent-receipt-{consent_id}.json"
    readable = json.loads(body)
    # each download is issued (signed) anew: the same receipt, its ``iat`` the moment of
    # that download (two downloads may straddle a second)
    again = readable["receipt"]
    assert {**again, "iat": 0} == {**receipt, "iat": 0} and 0 <= again["iat"] - receipt["iat"] <= 60
    assert decode_jwt(readable["jws"], jwks, algorithms=["SM2SM3"])[1] == again

    name, body = _download(page, en.text("selfservice.export"))
    assert name == "idbridge-my-consents.json"
    export = json.loads(body)
    assert export["subject"] == _record(store, consent_id)["subject"]
    assert export["issuer"] == stack.ports.issuer
    (entry,) = export["records"]
    assert entry["record"]["id"] == consent_id and entry["record"]["status"] == "active"
    assert entry["events"], "each record comes with its audit events"

    # the same URLs, with this browser's cookies: the content types
    expected = {
        f"/consents/{consent_id}/receipt.jws": "application/jose",
        f"/consents/{consent_id}/receipt.json": "application/json",
        "/consents/export.json": "application/json",
    }
    for path, media_type in expected.items():
        response = page.request.get(stack.ports.issuer + path, max_redirects=0)
        assert response.status == 200, (path, response.status)
        assert response.headers["content-type"].split(";")[0] == media_type, path
        assert response.headers["content-disposition"].startswith("attachment;"), path
        assert response.headers["cache-control"] == "no-store", path

    # signed out, the downloads are gone
    page.get_by_role("button", name=en.text("selfservice.sign_out")).click()
    page.wait_for_url("**/consents/signed-out*")
    for path in expected:
        response = page.request.get(stack.ports.issuer + path, max_redirects=0)
        assert response.status == 303 and response.headers["location"] == "/consents", path
