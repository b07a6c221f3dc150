"""The pages in real Chromium: each language renders (CJK glyphs from a CJK font), nothing
overflows at 320 px or 200 % zoom, keyboard-only use with visible focus, the separate
cross-boundary box blocks "Agree" but never "Decline", everything works with JavaScript
off, WCAG contrast from computed styles, a label for every control, and the language
switcher keeps the path. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from playwright.sync_api import BrowserContext, Page

from federation.pages import LOCALES
from federation.pages.catalogue import catalogues
from federation.pages.locale import HTML_LANG
from tests.browser.conftest import LiveServer
from tests.browser.pages_app import create_pages_app

pytestmark = pytest.mark.browser

CATALOGUES = catalogues()
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 320, "height": 640}
ZOOM_200 = {"width": 640, "height": 450}  # a 1280x900 window at 200 % zoom
PAGES = [
    "/consent",
    "/consent/self-registered",
    "/handoff",
    "/consent/done",
    "/error/upstream_timeout",
    "/error-bare/server_error",
]
CJK_FONTS = ("WenQuanYi", "Noto Sans CJK", "Noto Sans HK", "Noto Sans SC", "Droid Sans Fallback")
ContextFactory = Callable[..., BrowserContext]


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_pages_app()


@pytest.fixture(scope="module")
def base_url(app: FastAPI) -> Iterator[str]:
    server = LiveServer(app).start()
    yield server.url
    server.stop()


def _page(open_context: ContextFactory, **options: Any) -> Page:
    return open_context(**options).new_page()


def _no_horizontal_scroll(page: Page) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"horizontal scroll at {page.url}: {widths}"


def _fonts_of(page: Page, selector: str) -> list[str]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return [font["familyName"] for font in fonts if font["glyphCount"] > 0]


@pytest.mark.parametrize("locale", LOCALES)
def test_consent_page_in_each_language(
    base_url: str,
    open_context: ContextFactory,
    screenshot: Callable[[Page, str], Path],
    locale: str,
) -> None:
    catalogue = CATALOGUES[locale]
    page = _page(open_context, viewport=DESKTOP)
    page.goto(f"{base_url}/consent?lang={locale}")
    assert page.get_attribute("html", "lang") == HTML_LANG[locale]
    heading = page.inner_text("h1")
    rp = {"zh-HK": "廣東政務服務網", "zh-CN": "广东政务服务网"}.get(
        locale, "Guangdong Government Services Portal"
    )
    assert heading == catalogue.text("consent.heading", rp=rp)
    assert page.is_visible("#cross_boundary") and not page.is_checked("#cross_boundary")
    if locale != "en":
        fonts = _fonts_of(page, "h1")
        assert any(font.startswith(CJK_FONTS) for font in fonts), fonts
    screenshot(page, f"consent-{locale}-desktop")
    page.set_viewport_size(PHONE)
    _no_horizontal_scroll(page)
    screenshot(page, f"consent-{locale}-320px")


@pytest.mark.parametrize("viewport", [PHONE, ZOOM_200], ids=["320px", "200pct"])
@pytest.mark.parametrize("locale", LOCALES)
def test_no_page_overflows_small_screens(
    base_url: str,
    open_context: ContextFactory,
    screenshot: Callable[[Page, str], Path],
    locale: str,
    viewport: dict[str, int],
) -> None:
    page = _page(open_context, viewport=viewport)
    for path in PAGES:
        page.goto(f"{base_url}{path}?lang={locale}")
        _no_horizontal_scroll(page)
        font_size = page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
        assert font_size >= 16
    if viewport is PHONE:
        for path in PAGES[1:4]:
            page.goto(f"{base_url}{path}?lang={locale}")
            screenshot(page, f"{path.strip('/').replace('/', '-')}-{locale}-320px")


_CONTROLS = "a[href], button, input:not([type=hidden]), summary, select, textarea"

_FOCUSABLE = (
    "() => Array.from(document.querySelectorAll('" + _CONTROLS + "'))"
    ".map((el, i) => el.offsetParent !== null || el.tagName === 'SUMMARY' ? i : -1)"
    ".filter(i => i >= 0)"
)

_ACTIVE = (
    """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2)
    || (style.boxShadow && style.boxShadow !== 'none');
  const index = Array.from(document.querySelectorAll('"""
    + _CONTROLS
    + """')).indexOf(el);
  return {index: index, tag: el.tagName, html: el.outerHTML.slice(0, 120), ring: ring};
}"""
)


def test_keyboard_only_reaches_every_control_with_visible_focus(
    base_url: str, open_context: ContextFactory, app: FastAPI
) -> None:
    page = _page(open_context, viewport=DESKTOP)
    page.goto(f"{base_url}/consent?lang=en")
    expected = set(page.evaluate(_FOCUSABLE))
    seen: list[str] = []
    for _ in range(len(expected) + 10):
        page.keyboard.press("Tab")
        active = page.evaluate(_ACTIVE)
        if active["tag"] == "BODY":
            break
        assert active["ring"], f"no visible focus on {active}"
        if active["index"] in seen:
            break
        seen.append(active["index"])
    missing = expected - set(seen)
    assert not missing, f"not reachable by Tab: {missing}"
    assert seen[0] == 0  # the skip link comes first
    assert seen == sorted(seen), "tab order must follow the reading order"

    # complete the form with the keyboard alone
    page.focus("#supplied_home_return_permit")
    page.keyboard.type("H12345678")
    page.focus("#cross_boundary")
    page.keyboard.press("Space")
    assert page.is_checked("#cross_boundary")
    page.focus("button[value=agree]")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base_url}/consent/done*")
    assert app.state.last_post["cross_boundary"] == ["yes"]


def test_agree_is_blocked_without_the_cross_boundary_box_but_decline_is_not(
    base_url: str, open_context: ContextFactory, app: FastAPI
) -> None:
    page = _page(open_context, viewport=DESKTOP)
    page.goto(f"{base_url}/consent?lang=zh-HK")
    app.state.last_post = {}
    page.fill("#supplied_home_return_permit", "H12345678")
    page.click("button[value=agree]")
    page.wait_for_timeout(300)
    assert page.url.endswith("/consent?lang=zh-HK")
    assert app.state.last_post == {}, "the form must not be sent without the separate consent"
    assert page.evaluate("() => document.getElementById('cross_boundary').validity.valueMissing")
    # declining needs nothing ticked or typed
    page.fill("#supplied_home_return_permit", "")
    page.click("button[value=decline]")
    page.wait_for_load_state()
    assert app.state.last_post["decision"] == ["decline"]
    assert page.inner_text("h1") == CATALOGUES["zh-HK"].text("error.access_denied.title")
    assert page.is_visible("code.reference")


def test_agree_and_decline_have_equal_weight(base_url: str, open_context: ContextFactory) -> None:
    page = _page(open_context, viewport=DESKTOP)
    page.goto(f"{base_url}/consent?lang=en")
    measure = """sel => { const el = document.querySelector(sel); const s = getComputedStyle(el);
      const r = el.getBoundingClientRect();
      return [Math.round(r.width), Math.round(r.height), s.backgroundColor, s.color, s.fontSize,
              s.fontWeight, s.borderTopWidth]; }"""
    agree = page.evaluate(measure, "button[value=agree]")
    decline = page.evaluate(measure, "button[value=decline]")
    assert agree == decline


def test_handoff_cancel_button_looks_like_the_continue_button(
    base_url: str, open_context: ContextFactory, screenshot: Callable[[Page, str], Path]
) -> None:
    """Cancel is a form's button now (a POST), styled as the link button it replaced."""
    page = _page(open_context, viewport=DESKTOP)
    page.goto(f"{base_url}/handoff?lang=en")
    measure = """sel => { const el = document.querySelector(sel); const s = getComputedStyle(el);
      const r = el.getBoundingClientRect();
      return [Math.round(r.height), s.fontSize, s.fontWeight, s.fontFamily, s.borderTopWidth,
              s.borderTopLeftRadius, s.paddingLeft, s.textDecorationLine, s.cursor]; }"""
    link = page.evaluate(measure, ".button-row a.button")
    button = page.evaluate(measure, ".button-row form button.button-secondary")
    assert button == link
    colours = """sel => { const s = getComputedStyle(document.querySelector(sel));
      return [s.color, s.backgroundColor, s.borderTopColor]; }"""
    secondary = page.evaluate(colours, ".button-row form button")
    assert secondary[1] == "rgb(255, 255, 255)" and secondary[0] == secondary[2]  # outline style
    assert page.evaluate(
        "() => { const r = [...document.querySelectorAll('.button-row > *')]"
        ".map(e => e.getBoundingClientRect()); return Math.abs(r[0].top - r[1].top) < 2; }"
    ), "side by side, as before"
    screenshot(page, "handoff-en-desktop")


def test_works_with_javascript_off(
    app: FastAPI,
    base_url: str,
    open_context: ContextFactory,
    screenshot: Callable[[Page, str], Path],
) -> None:
    page = _page(open_context, viewport=PHONE, java_script_enabled=False)
    page.goto(f"{base_url}/handoff?lang=en")
    assert page.is_hidden("[data-waiting]")
    page.get_by_role("link", name=CATALOGUES["en"].text("handoff.continue")).click()
    page.wait_for_url("**/consent")  # a plain link: no script needed
    page.goto(f"{base_url}/handoff?lang=en")
    app.state.last_post = {}
    page.get_by_role("button", name=CATALOGUES["en"].text("handoff.cancel")).click()
    page.wait_for_url("**/handoff/cancel?lang=en")  # a form POST, no script needed
    assert page.inner_text("h1") == CATALOGUES["en"].text("error.upstream_cancelled.title")
    assert app.state.last_post["csrf_token"][0].startswith("v1.")

    page.goto(f"{base_url}/consent?lang=en")
    page.click("details.reveal summary")
    assert page.is_visible("details.reveal > span.value")
    page.fill("#supplied_home_return_permit", "H1234")  # passes nothing to the server: pattern
    page.check("#cross_boundary")
    page.check("input[value=mobile_phone]")
    page.click("button[value=agree]")
    assert page.url.endswith("/consent?lang=en")  # the browser's own validation stopped it
    page.fill("#supplied_home_return_permit", "H12345678")
    page.click("button[value=agree]")
    page.wait_for_url("**/consent/done")
    assert page.inner_text("h1") == CATALOGUES["en"].text("consent_done.heading")
    screenshot(page, "consent-done-en-nojs")


def test_server_side_rejection_rerenders_with_errors(
    base_url: str, open_context: ContextFactory, screenshot: Callable[[Page, str], Path]
) -> None:
    page = _page(open_context, viewport=PHONE)
    page.goto(f"{base_url}/consent?lang=zh-HK")
    # get past the browser's hint so that the server's validation answers
    page.fill("#supplied_home_return_permit", "h12345678x")
    page.locator("#supplied_home_return_permit").evaluate("el => el.removeAttribute('pattern')")
    page.check("#cross_boundary")
    page.click("button[value=agree]")
    page.wait_for_load_state()
    assert page.is_visible(".error-summary")
    assert page.input_value("#supplied_home_return_permit") == "h12345678x"
    assert page.get_attribute("#supplied_home_return_permit", "aria-invalid") == "true"
    _no_horizontal_scroll(page)
    screenshot(page, "consent-zh-HK-errors-320px")


_CONTRAST = """selectors => {
  const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = el => {
    for (let node = el; node; node = node.parentElement) {
      const c = rgb(getComputedStyle(node).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const out = [];
  for (const sel of selectors) {
    for (const el of document.querySelectorAll(sel)) {
      if (!el.offsetParent && el.tagName !== 'BODY') continue;
      const fg = lum(rgb(getComputedStyle(el).color).slice(0, 3));
      const bg = lum(background(el));
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
      out.push([sel, Math.round(ratio * 100) / 100]);
    }
  }
  return out;
}"""

_TEXT_SELECTORS = [
    "body",
    "h1",
    "h2",
    "p",
    "dt",
    "dd",
    "label",
    ".hint",
    ".tag",
    "a",
    ".button",
    ".button-secondary",
    ".service-name",
    ".lang-switcher a",
    ".lang-current",
    ".value",
    ".error-message",
    ".error-summary a",
    ".reveal-label",
    "code",
    ".rp-unvetted strong",
]


@pytest.mark.parametrize(
    "path",
    [
        "/consent?lang=en",
        "/consent/self-registered?lang=zh-HK",
        "/handoff?lang=zh-HK",
        "/error/rate_limited?lang=zh-CN",
        "/consent/done",
    ],
)
def test_text_and_button_contrast_is_at_least_4_5(
    base_url: str, open_context: ContextFactory, path: str
) -> None:
    page = _page(open_context, viewport=DESKTOP)
    page.goto(f"{base_url}{path}")
    ratios = page.evaluate(_CONTRAST, _TEXT_SELECTORS)
    assert len(ratios) > 20
    low = [(sel, ratio) for sel, ratio in ratios if ratio < 4.5]
    assert not low, f"contrast below 4.5:1 on {path}: {low}"


def test_error_state_contrast(base_url: str, open_context: ContextFactory) -> None:
    page = _page(open_context, viewport=DESKTOP)
    page.goto(f"{base_url}/consent?lang=en")
    page.fill("#supplied_home_return_permit", "H12345678")
    page.click("button[value=agree]")  # blocked by the browser; submit without the box:
    page.eval_on_selector("#cross_boundary", "el => el.removeAttribute('required')")
    page.click("button[value=agree]")
    page.wait_for_selector(".error-summary")
    ratios = page.evaluate(_CONTRAST, [".error-message", ".error-summary a", ".error-summary h2"])
    assert ratios and all(ratio >= 4.5 for _, ratio in ratios), ratios


_UNLABELLED = """() => {
  const problems = [];
  for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
    const byFor = el.id && document.querySelector('label[for="' + el.id + '"]');
    const text = byFor ? byFor.textContent.trim() : (el.getAttribute('aria-label') || '');
    if (!text && !el.closest('label')) problems.push(el.outerHTML);
  }
  for (const el of document.querySelectorAll('button, a[href], summary')) {
    if (!el.textContent.trim() && !el.getAttribute('aria-label')) problems.push(el.outerHTML);
  }
  for (const el of document.querySelectorAll('img')) {
    if (!el.hasAttribute('alt')) problems.push(el.outerHTML);
  }
  return problems;
}"""


@pytest.mark.parametrize("path", PAGES)
def test_every_control_has_a_label(base_url: str, open_context: ContextFactory, path: str) -> None:
    page = _page(open_context, viewport=DESKTOP)
    for locale in LOCALES:
        page.goto(f"{base_url}{path}?lang={locale}")
        assert page.evaluate(_UNLABELLED) == []
        assert page.locator("main h1").count() == 1
        assert page.locator("nav.lang-switcher a").count() == 2


def test_language_switcher_keeps_the_path(base_url: str, open_context: ContextFactory) -> None:
    page = _page(open_context, viewport=PHONE)
    page.goto(f"{base_url}/error/journey_expired?lang=en")
    page.click("nav.lang-switcher a[hreflang=zh-Hans-CN]")
    page.wait_for_load_state()
    assert "/error/journey_expired?" in page.url and page.url.endswith("lang=zh-CN")
    assert page.get_attribute("html", "lang") == "zh-Hans-CN"
    assert page.inner_text("h1") == CATALOGUES["zh-CN"].text("error.journey_expired.title")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert cookies["idb_lang"] == "zh-CN"
    page.goto(f"{base_url}/consent/done")  # no lang parameter: the cookie remembers
    assert page.get_attribute("html", "lang") == "zh-Hans-CN"
    page.click("nav.lang-switcher a[hreflang=zh-Hant-HK]")
    page.wait_for_load_state()
    assert page.url == f"{base_url}/consent/done?lang=zh-HK"
    assert page.get_attribute("html", "lang") == "zh-Hant-HK"


def test_handoff_polling_moves_on_when_javascript_is_on(
    base_url: str,
    open_context: ContextFactory,
    app: FastAPI,
    screenshot: Callable[[Page, str], Path],
) -> None:
    app.state.polls = 0
    page = _page(open_context, viewport=DESKTOP)
    page.goto(f"{base_url}/handoff?lang=zh-HK")
    assert page.is_visible("[data-waiting]")
    assert page.is_visible("img[alt]")
    screenshot(page, "handoff-zh-HK-desktop")
    page.wait_for_url(f"{base_url}/consent", timeout=15_000)
    assert app.state.polls >= 2


def test_skip_link_moves_focus_to_main(base_url: str, open_context: ContextFactory) -> None:
    page = _page(open_context, viewport=DESKTOP)
    page.goto(f"{base_url}/consent?lang=zh-HK")
    page.keyboard.press("Tab")
    assert page.is_visible(".skip-link")
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
