"""Rendering: every error kind in every language with a reference and a way forward,
escaping of relying-party strings, the consent form's rules, the language cookie, static
files and CSP-compatible output (no inline script or style)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from federation.pages import LOCALES, ErrorKind, Pages, mask_value, static_dir
from federation.pages.catalogue import catalogues
from federation.pages.errors import STATUS_CODES
from federation.pages.locale import HTML_LANG
from federation.pages.render import safe_href, safe_img
from tests.browser.pages_app import JOURNEY_ID, create_pages_app
from tests.federation.pages import samples

CATALOGUES = catalogues()


@pytest.fixture
def client() -> Iterator[TestClient]:
    """A fresh client (no cookies carried between tests)."""
    with TestClient(create_pages_app(), follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def pages() -> Pages:
    return Pages(support=samples.SUPPORT, csrf_secret=b"unit-test-secret")


class _Elements(HTMLParser):
    """Collects start tags with their attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def elements(html: str, tag: str | None = None) -> list[dict[str, str | None]]:
    parser = _Elements()
    parser.feed(html)
    return [attrs for name, attrs in parser.tags if tag is None or name == tag]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", list(ErrorKind))
def test_every_error_kind_renders_in_every_language(
    pages: Pages, kind: ErrorKind, locale: str
) -> None:
    response = pages.render_error(
        kind, locale, reference="ref-5f3a9c", retry_url="/authorize?x=1", service=samples.SERVICE
    )
    html = response.body.decode()
    text = unescape(html)
    catalogue = CATALOGUES[locale]
    assert response.status_code == STATUS_CODES[kind]
    assert f'<html lang="{HTML_LANG[locale]}">' in html
    assert catalogue.text(f"error.{kind.value}.title") in text
    assert catalogue.text(f"error.{kind.value}.what") in text
    assert catalogue.text(f"error.{kind.value}.next") in text
    assert "ref-5f3a9c" in html
    assert samples.SUPPORT.email in html
    hrefs = [a["href"] for a in elements(html, "a")]
    assert "/authorize?x=1" in hrefs
    assert samples.SERVICE.url in hrefs
    assert "Traceback" not in html


@pytest.mark.parametrize("locale", LOCALES)
def test_error_without_urls_is_still_not_a_dead_end(pages: Pages, locale: str) -> None:
    response = pages.render_error("server_error", locale, reference="ref-1")
    html = response.body.decode()
    catalogue = CATALOGUES[locale]
    assert response.status_code == 500
    assert catalogue.text("error.contact_no_service") in html
    assert catalogue.text("error.contact") in html
    assert "mailto:" + samples.SUPPORT.email in html
    assert "ref-1" in html


def test_error_reference_defaults_to_the_request_id(client: TestClient) -> None:
    response = client.get("/error-bare/upstream_timeout", headers={"x-request-id": "abcd1234ef"})
    assert response.status_code == 400
    assert '<code class="reference">abcd1234ef</code>' in response.text


def test_unknown_kind_is_rejected(pages: Pages) -> None:
    with pytest.raises(ValueError):
        pages.render_error("no_such_kind", "en", reference="r")


def test_not_found_is_a_trilingual_page(client: TestClient) -> None:
    response = client.get("/nowhere", headers={"accept-language": "zh-CN"})
    assert response.status_code == 404
    assert CATALOGUES["zh-CN"].text("error.not_found.title") in response.text


def test_relying_party_strings_are_escaped(client: TestClient) -> None:
    html = client.get("/consent/evil?lang=en").text
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;rp&#34;)&lt;/script&gt;Evil &amp; Co" in html
    assert "<img src=x" not in html
    assert "javascript:" not in html
    assert all(tag.get("src") != "x" for tag in elements(html, "img"))


def test_consent_form_rules(client: TestClient) -> None:
    html = client.get("/consent?lang=en").text
    inputs = elements(html, "input")
    cross = [i for i in inputs if i.get("name") == "cross_boundary"]
    assert len(cross) == 1
    assert "required" in cross[0] and "checked" not in cross[0]
    assert not [i for i in inputs if i.get("type") == "checkbox" and "checked" in i], "pre-ticked"
    releases = [i["value"] for i in inputs if i.get("name") == "release"]
    assert releases == ["mobile_phone", "email"]  # optional ones only
    csrf = [i for i in inputs if i.get("name") == "csrf_token"]
    assert len(csrf) == 1 and csrf[0]["type"] == "hidden"
    assert client.app.state.pages.check_csrf(csrf[0]["value"], JOURNEY_ID)
    assert elements(html, "form")[0]["action"] == "/consent?lang=en"  # answers stay in English
    buttons = elements(html, "button")
    assert [b["value"] for b in buttons] == ["agree", "decline"]
    assert buttons[0]["class"] == buttons[1]["class"], "agree and decline must look the same"
    assert "formnovalidate" in buttons[1], "declining must never be blocked by the form"
    permit = next(i for i in inputs if i.get("name") == "supplied_home_return_permit")
    assert permit["pattern"] and "required" in permit
    labelled = {label["for"] for label in elements(html, "label")}
    for control in inputs:
        if control.get("type") != "hidden":
            assert control["id"] in labelled, control


def test_consent_page_states_who_what_why(client: TestClient) -> None:
    html = client.get("/consent?lang=en").text
    en = CATALOGUES["en"]
    for text in (
        "Guangdong Government Services Portal",
        samples.RP.contact,
        en.text("consent.region"),
        samples.PURPOSE["en"],
        samples.METHOD["en"],
        samples.RETENTION["en"],
        en.text("consent.remember", days=180),
        en.text("consent.cross_heading"),
        en.text("consent.withdraw"),
        "CHAN, Tai Man",
        "+852 9123 4567",
    ):
        assert text in html, text
    assert 'href="/my/consents"' in html
    # ID numbers are partly masked, the full value behind <details>
    assert "<details" in html and mask_value("A123456(3)") in html
    assert mask_value("A123456(3)") == "A1•••••(3)"


@pytest.mark.parametrize("locale", LOCALES)
def test_consent_page_says_where_the_recipient_is_and_who_registered_it(
    client: TestClient, locale: str
) -> None:
    """The registered host always; "self-registered, not checked" for a dynamic client;
    "checked" for a static client the operator marked verified (issue 16 item 3)."""
    catalogue = CATALOGUES[locale]
    own = client.get(f"/consent/self-registered?lang={locale}").text
    assert '<code class="rp-host">booking.example.cn</code>' in own
    assert catalogue.text("consent.self_registered") in own
    assert catalogue.text("consent.self_registered_detail", host="booking.example.cn") in own
    assert catalogue.text("consent.verified_detail") not in own
    vetted = client.get(f"/consent?lang={locale}").text
    assert '<code class="rp-host">gdzwfw.example.cn</code>' in vetted
    assert catalogue.text("consent.verified_detail") in vetted
    assert catalogue.text("consent.self_registered") not in vetted


def test_consent_page_picks_the_language_of_registered_texts(client: TestClient) -> None:
    html = client.get("/consent?lang=zh-CN").text
    assert samples.PURPOSE["zh-CN"] in html and samples.PURPOSE["zh-HK"] not in html
    assert "广东政务服务网" in html


def test_decline_and_csrf(client: TestClient) -> None:
    page = client.get("/consent?lang=en").text
    token = next(i["value"] for i in elements(page, "input") if i.get("name") == "csrf_token")
    declined = client.post("/consent?lang=en", data={"csrf_token": token, "decision": "decline"})
    assert declined.status_code == 403
    assert CATALOGUES["en"].text("error.access_denied.title") in declined.text
    forged = client.post("/consent?lang=en", data={"csrf_token": "v1.1.x", "decision": "agree"})
    assert forged.status_code == 403
    assert CATALOGUES["en"].text("error.csrf_failed.title") in forged.text


def test_rerender_keeps_input_and_explains(client: TestClient) -> None:
    page = client.get("/consent?lang=zh-HK").text
    token = next(i["value"] for i in elements(page, "input") if i.get("name") == "csrf_token")
    response = client.post(
        "/consent",
        data={
            "csrf_token": token,
            "decision": "agree",
            "supplied_home_return_permit": "X12<b>",
            "release": ["mobile_phone"],
        },
    )
    assert response.status_code == 400
    html = response.text
    zh = CATALOGUES["zh-HK"]
    assert zh.text("supplied.home_return_permit.error") in html
    assert zh.text("consent.cross_required") in html
    permit = next(
        i for i in elements(html, "input") if i.get("name") == "supplied_home_return_permit"
    )
    assert permit["value"] == "X12<b>" and permit["aria-invalid"] == "true"
    phone = next(i for i in elements(html, "input") if i.get("value") == "mobile_phone")
    assert "checked" in phone
    cross = next(i for i in elements(html, "input") if i.get("name") == "cross_boundary")
    assert "checked" not in cross


def test_agree_with_everything_goes_on(client: TestClient) -> None:
    page = client.get("/consent").text
    token = next(i["value"] for i in elements(page, "input") if i.get("name") == "csrf_token")
    response = client.post(
        "/consent",
        data={
            "csrf_token": token,
            "decision": "agree",
            "cross_boundary": "yes",
            "supplied_home_return_permit": "H12345678",
        },
    )
    assert response.status_code == 303


def test_lang_param_sets_cookie_and_switcher_keeps_path(client: TestClient) -> None:
    response = client.get("/consent?lang=en&x=1")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("idb_lang=en;") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    hrefs = {a.get("hreflang"): a["href"] for a in elements(response.text, "a")}
    assert hrefs["zh-Hant-HK"] == "/consent?x=1&lang=zh-HK"
    assert hrefs["zh-Hans-CN"] == "/consent?x=1&lang=zh-CN"
    later = client.get("/consent/done", headers={"accept-language": "zh-CN"})
    assert later.headers["content-language"] == "en"
    assert "set-cookie" not in later.headers


def test_default_language_is_traditional_chinese(client: TestClient) -> None:
    response = client.get("/consent/done", headers={"accept-language": "fr"})
    assert '<html lang="zh-Hant-HK">' in response.text


def test_pages_are_not_cached_and_carry_csp(client: TestClient) -> None:
    response = client.get("/handoff")
    assert response.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in response.headers["content-security-policy"]


@pytest.mark.parametrize("path", ["/consent", "/consent/done", "/handoff", "/error/server_error"])
def test_no_inline_script_or_style(client: TestClient, path: str) -> None:
    html = client.get(path).text
    for script in elements(html, "script"):
        assert script.get("src", "").startswith("/static/"), script
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "<style" not in html
    for attrs in elements(html):
        assert "style" not in attrs
        assert not [name for name in attrs if name.startswith("on")]
    for link in elements(html, "link"):
        assert link["href"].startswith("/static/")


def test_static_files_are_served(client: TestClient) -> None:
    css = client.get("/consent").text
    href = next(link["href"] for link in elements(css, "link"))
    response = client.get(href)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert response.content == (static_dir() / "idbridge.css").read_bytes()
    assert client.get("/static/handoff.js").status_code == 200


def test_url_filters() -> None:
    assert safe_href("javascript:alert(1)") == "#"
    assert safe_href(" JaVa\tScRiPt:alert(1)") == "#"
    assert safe_href("data:text/html,x") == "#"
    assert safe_href("https://gd.example.cn/x?a=1") == "https://gd.example.cn/x?a=1"
    assert safe_href("/consent") == "/consent"
    assert safe_img("data:image/png;base64,AAAA") == "data:image/png;base64,AAAA"
    assert safe_img("data:image/svg+xml,<svg onload=x>") == ""
    assert safe_img("data:image/svg+xml;base64,PHN2Zy8+") == "data:image/svg+xml;base64,PHN2Zy8+"
    assert safe_img("data:text/html;base64,PHN2Zy8+") == ""
    assert safe_img("https://cdn.example/logo.png") == ""
    assert safe_img("//cdn.example/logo.png") == ""
    assert safe_img("/static/logo.png") == "/static/logo.png"


@pytest.mark.parametrize(
    ("value", "masked"),
    [("A123456(3)", "A1•••••(3)"), ("H12345678", "H1•••••78"), ("AB12", "A••2"), ("X1", "X•")],
)
def test_mask_value(value: str, masked: str) -> None:
    assert mask_value(value) == masked
