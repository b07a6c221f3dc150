"""The consent notice over real HTTP (issue 18; docs/consent-notice.md): the operator and its
access-request route on the page and equal to the receipt's; the client's rights procedure
and retention as registered, once; the sensitive-information notice and its own tick for
the Home Return Permit number (enforced by the server, recorded in the receipt); coded
values as words; ``lang`` on values; ticks kept and the title marked after an error;
Post/Redirect/Get after Agree, and Back/reload after a finished journey."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import httpx
import yaml

from tests.federation.journey.harness import (
    OPERATOR_FILE,
    Bridge,
    Person,
    authorize_url,
    bridge,
    consent,
    finish,
    rp_client,
)

__all__ = ["bridge"]

GD_CLAIMS = '{"userinfo": {"idcardnumber": {"essential": true}, "idcardtype": null}}'
OPERATOR = yaml.safe_load(Path(OPERATOR_FILE).read_text("utf-8"))


def _payload(jws: str) -> dict:
    body = jws.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


async def _gd_page(bridge: Bridge, lang: str = "zh-HK") -> tuple[Person, str]:
    client = rp_client(bridge, "rp-gd", scope="openid profile")
    # prompt=consent: the page even when an earlier test left a remembered consent
    url, *_ = await authorize_url(
        bridge, client, claims=GD_CLAIMS, ui_locales=lang, prompt="consent"
    )
    person = Person(bridge, "chan-tai-man")
    page = await person.sign_in(url)
    assert page.status_code == 200, page.text[:300]
    return person, page.text


async def test_operator_rights_retention_and_sensitive_notice_on_the_page(bridge: Bridge) -> None:
    for lang, script in (("zh-HK", "zh-Hant"), ("zh-CN", "zh-Hans"), ("en", "en")):
        person, html = await _gd_page(bridge, lang)
        try:
            assert OPERATOR["name"][lang] in html and OPERATOR["address"][lang] in html
            assert OPERATOR["privacy_officer"] in html
            assert OPERATOR["access_requests"][lang] in html
            # the client's registered texts, once each
            assert html.count('data-notice="retention"') == 1
            assert html.count('data-notice="rights"') == 1
            assert html.count('data-notice="purpose"') == 1
            # the permit number is sensitive: the art. 30 notice and its own unticked box
            assert 'id="sensitive-heading"' in html
            box = re.search(r'<input type="checkbox" id="sensitive_consent"[^>]*>', html)
            assert box and "checked" not in box.group(0)
            # no bare field ids on the page (the receipt names them, as <code translate="no">)
            assert (
                "telephonenumber" not in html.split('id="what-heading"')[1].split("</section>")[0]
            )
            # the Chinese name is simplified (hk2s): its own lang on every page
            assert re.search(r'<span class="value" lang="zh-Hans">陈大文</span>', html), lang
            assert script in html
        finally:
            await person.aclose()


async def test_rights_and_retention_are_the_clients_not_a_generic_sentence(bridge: Bridge) -> None:
    person, html = await _gd_page(bridge, "en")
    try:
        assert "Email the personal information officer" in html
        assert "Kept for two years" in html
        assert "+86 20 0000 0000" in html and "1 Example Road, Guangzhou" in html
        assert "as long as it needs them" not in html  # the old generic retention text
    finally:
        await person.aclose()


async def test_sensitive_tick_is_required_and_ticks_are_kept(bridge: Bridge) -> None:
    person, html = await _gd_page(bridge, "zh-CN")
    try:
        page = type("P", (), {"text": html})()
        wrong = await consent(
            person, page, supplied={"home_return_permit": "H12345678"}, sensitive=False
        )
        assert wrong.status_code == 400
        text = wrong.text
        assert "<title>错误：" in text
        assert 'href="#sensitive_consent"' in text and "autofocus" in text
        cross = re.search(r'<input type="checkbox" id="cross_boundary"[^>]*>', text)
        assert cross and "checked" in cross.group(0)  # the cross-boundary tick is kept
        assert 'value="H12345678"' in text
        done = await consent(person, wrong, supplied={"home_return_permit": "H12345678"})
        assert done.status_code == 200 and str(done.url).endswith("/journey/done")
        reference = re.search(r"cns_[A-Za-z0-9_-]{16,64}", done.text)
        assert reference, done.text[:500]
        receipt = await person.http.get(bridge.url + "/journey/receipt")
        body = receipt.json()
        claims = _payload(body["jws"])
        assert claims == body["receipt"]
        assert claims["consentReceiptID"] == reference.group(0)
        assert claims["pipl"]["sensitivePI"] == ["idcardnumber"]
        assert claims["pipl"]["separateSensitiveConsent"] is True
        assert "idcardnumber" in claims["spiCat"]
        controller = claims["piiControllers"][0]
        assert controller["piiController"] == OPERATOR["name"]["zh-CN"]
        assert controller["email"] == OPERATOR["privacy_officer"]
        assert controller["address"] == OPERATOR["address"]["zh-CN"]
        recipient = claims["piiControllers"][1]
        assert recipient["phone"] == "+86 20 0000 0000"
        assert recipient["address"] == "广州市示范路1号"
    finally:
        await person.aclose()


async def test_coded_values_shown_as_words(bridge: Bridge) -> None:
    person, html = await _gd_page(bridge, "en")
    try:
        # once the permit number is known (here: a re-render), its type 516 is shown in words
        again = await consent(
            person,
            type("P", (), {"text": html})(),
            supplied={"home_return_permit": "H12345678"},
            cross_boundary=False,
        )
        assert again.status_code == 400
        assert re.search(
            r'<span class="value" lang="en">Mainland Travel Permit for Hong Kong and Macao '
            r"Residents</span>",
            again.text,
        )
        assert "Sent as the code 516" in again.text
        assert "<title>Error: " in again.text
    finally:
        await person.aclose()


async def test_back_and_reload_after_agree(bridge: Bridge) -> None:
    person, html = await _gd_page(bridge, "en")
    try:
        done = await consent(
            person, type("P", (), {"text": html})(), supplied={"home_return_permit": "H12345678"}
        )
        assert str(done.url).endswith("/journey/done")
        reload = await person.go(bridge.url + "/journey/done")
        assert reload.status_code == 200 and "cns_" in reload.text
        back = await person.go(bridge.url + "/journey/consent")  # Back to the form
        assert str(back.url).endswith("/journey/done")
        await finish(person, reload)
        after = await person.go(bridge.url + "/journey/consent")
        assert "You have already finished" in after.text, after.text[:400]
        assert "expired" not in after.text.lower()
        assert "Continue to" in after.text and "/consents" in after.text
        assert "cns_" in after.text
    finally:
        await person.aclose()


async def test_residents_area_current_history_reasons_and_readable_receipt(
    bridge: Bridge,
) -> None:
    from tests.federation.selfservice.helpers import consent_at, open_self_service

    person = Person(bridge, "ho-kwan")
    try:
        await consent_at(bridge, person, "rp-es256")
        # a second consent at the same service replaces the first
        client = rp_client(bridge, "rp-es256")
        url, *_ = await authorize_url(bridge, client, prompt="consent")
        page = await person.approve_requests(await person.go(url))  # the session is reused
        await finish(person, await consent(person, page))
        listing = await open_self_service(bridge, person)
        en = (await person.go(bridge.url + "/consents?lang=en")).text
        assert listing.status_code == 200
        assert en.index("Currently shared") < en.index("History")
        current, history = en.split("History", 1)
        assert current.count('class="consent-entry"') == 1
        assert 'data-end-reason="replaced"' in history
        assert "Remembered until" in current and "Remembered until" not in history
        assert re.search(
            r"<h4 [^>]*>Guangdong test service rp-es256: consent given on [^<]+\(Active\)</h4>", en
        )
        (receipt_url,) = set(re.findall(r'href="(/consents/cns_[^"]+/receipt\.html)"', current))
        readable = await person.go(bridge.url + receipt_url + "?lang=en")
        assert readable.status_code == 200
        assert "signature on this receipt was checked and is valid" in readable.text
        # the receipt is in the language the consent was given in (zh-HK here)
        assert OPERATOR["name"]["zh-HK"] in readable.text
        assert "Kept for two years" in readable.text  # the art. 39 texts: every language
        assert "@media print" in (await person.go(bridge.url + "/static/idbridge.css")).text
    finally:
        await person.aclose()


async def test_error_pages_have_a_way_out(bridge: Bridge) -> None:
    async with httpx.AsyncClient(base_url=bridge.url, headers={"Accept": "text/html"}) as http:
        pages = {
            "expired": await http.get("/journey/consent?lang=en"),
            "unknown client": await http.get(
                "/authorize?client_id=nobody&response_type=code&lang=en"
            ),
            "missing parameter": await http.get("/authorize?lang=en"),
            "not found": await http.get("/no-such-page?lang=en"),
            "method": await http.post("/journey/finish?lang=en", data={"a": "b"}),
        }
        for name, page in pages.items():
            assert page.status_code >= 400, name
            assert "data-way-out" in page.text, name
            assert 'href="/consents"' in page.text, name  # no service known: manage consents
            assert "support@idbridge.test" in page.text, name  # the configured support
        assert pages["method"].status_code == 405
        assert "cannot be used that way" in pages["method"].text
