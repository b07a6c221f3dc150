"""Who receives the data, as the consent page says it through the real journey (issue 16
item 3): the registered host of the redirect URIs, and for a client that registered itself
(RFC 7591) that it did so and that the operator has not checked it; a static client the
operator marked ``verified`` is shown as checked."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from authlib.integrations.httpx_client import AsyncOAuth2Client

from tests.federation.journey.harness import (
    INITIAL_ACCESS_TOKEN,
    RP_REDIRECT,
    Bridge,
    Person,
    authorize_url,
    bridge,
    consent,
    exchange,
    finish,
    rp_client,
)

__all__ = ["bridge"]

REGISTRATION = {
    "client_name": "自助登記服務",
    "client_name#zh-CN": "自助登记服务",
    "client_name#en": "Self-service registration test",
    "redirect_uris": [RP_REDIRECT],
    "scope": "openid profile",
    "purposes": {"zh-HK": "辦理業務", "zh-CN": "办理业务", "en": "Your application"},
    "processing_method": {"zh-HK": "電子處理", "zh-CN": "电子处理", "en": "Electronic"},
    "retention": {"zh-HK": "保存兩年", "zh-CN": "保存两年", "en": "Kept for two years"},
    "rights_procedure": {"zh-HK": "電郵", "zh-CN": "电邮", "en": "Email us"},
    "contacts": ["dpo@rp.example.cn"],
}
SELF_REGISTERED = {
    "en": "Self-registered: not checked by the operator",
    "zh-HK": "自行登記：未經營運者核實",
    "zh-CN": "自行登记：未经运营者核实",
}


async def _register(bridge: Bridge) -> AsyncOAuth2Client:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            bridge.url + "/register",
            json=REGISTRATION,
            headers={"Authorization": f"Bearer {INITIAL_ACCESS_TOKEN}"},
        )
    assert response.status_code == 201, response.text
    body = response.json()
    return AsyncOAuth2Client(
        body["client_id"],
        client_secret=body["client_secret"],
        redirect_uri=RP_REDIRECT,
        scope="openid profile",
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )


def _who(html: str) -> str:
    """The consent page's "who is asking" section."""
    section = re.search(r'<section aria-labelledby="who-heading".*?</section>', html, re.S)
    assert section is not None, html[:500]
    return section.group(0)


@pytest.mark.parametrize("locale", ["zh-HK", "zh-CN", "en"])
async def test_a_self_registered_client_shows_its_host_and_that_nobody_checked_it(
    bridge: Bridge, redis: aioredis.Redis, locale: str
) -> None:
    assert redis  # a clean database: each run registers the same name afresh
    client = await _register(bridge)
    url, _, _, verifier = await authorize_url(bridge, client, ui_locales=locale)
    person = Person(bridge)
    try:
        page = await person.sign_in(url)
        assert page.status_code == 200 and 'name="cross_boundary"' in page.text, page.text[:500]
        who = _who(page.text)
        assert '<code class="rp-host">127.0.0.1</code>' in who
        assert SELF_REGISTERED[locale] in who
        assert "127.0.0.1" in who.split('id="rp-unvetted"', 1)[1]  # "… trust 127.0.0.1"
        answer = await finish(person, await consent(person, page))  # still usable
        token: dict[str, Any] = await exchange(bridge, client, answer, verifier)
        assert token["id_token"]
    finally:
        await person.aclose()


async def test_a_static_client_shows_its_host_and_no_self_registration(bridge: Bridge) -> None:
    url, *_ = await authorize_url(bridge, rp_client(bridge, "rp-es256"), ui_locales="en")
    person = Person(bridge, "lee-ka-fung")
    try:
        who = _who((await person.sign_in(url)).text)
    finally:
        await person.aclose()
    assert '<code class="rp-host">127.0.0.1</code>' in who
    assert "Self-registered" not in who and "rp-unvetted" not in who
    assert "rp-verified" not in who  # not marked verified in its clients file
