"""Every failure ends in a clear trilingual page (and, where the RP can be told, the right
OAuth error): upstream refusal, an expired or foreign journey, a bad client or redirect URI,
and the app's HTML-aware fallback — never a stack trace."""

from __future__ import annotations

import re

import httpx
import pytest
import redis.asyncio as aioredis

from federation.storage.keys import Keys
from tests.federation.journey.harness import (
    RP_REDIRECT,
    Bridge,
    Person,
    authorize_url,
    bridge,
    rp_client,
)

__all__ = ["bridge"]

HTML = {"Accept": "text/html"}


def back_link(html: str) -> dict[str, str]:
    """The "go back to the service" link: the RP's authorization error response."""
    match = re.search(r'href="(http://127\.0\.0\.1:9/cb\?[^"]+)"', html)
    assert match is not None, html[:400]
    return dict(httpx.QueryParams(match.group(1).replace("&amp;", "&").split("?", 1)[1]))


@pytest.mark.parametrize(
    ("action", "error"), [("deny", "access_denied"), ("cancel", "access_denied")]
)
async def test_upstream_refusal_is_a_page_and_access_denied(
    bridge: Bridge, action: str, error: str
) -> None:
    url, state, _, _ = await authorize_url(bridge, rp_client(bridge, "rp-sm2"))
    person = Person(bridge, "ng-wing-chi")
    try:
        page = await person.sign_in(url, action=action)
        assert page.status_code in (400, 403) and "<html" in page.text
        assert "/journey/retry" in page.text  # the person may try again
        answer = back_link(page.text)
        assert answer["error"] == error and answer["state"] == state
        assert answer["iss"] == bridge.url
        retried = await person.http.get(bridge.url + "/journey/retry")
        assert retried.status_code == 303 and bridge.sim_url in retried.headers["location"]
    finally:
        await person.aclose()


async def test_expired_journey(bridge: Bridge, redis: aioredis.Redis) -> None:
    url, *_ = await authorize_url(bridge, rp_client(bridge, "rp-sm2"))
    person = Person(bridge)
    try:
        await person.sign_in(url)
        for key in await redis.keys(Keys.journey("*")):
            await redis.delete(key)  # the TTL ran out
        for path in ("/journey/consent", "/journey/finish", "/journey/continue"):
            page = await person.http.get(bridge.url + path)
            assert page.status_code == 400 and '<html lang="zh-Hant-HK"' in page.text
        stale = await person.http.get(
            bridge.url + "/upstream/iamsmart/callback", params={"code": "x", "state": "y"}
        )
        assert stale.status_code == 400 and "<html" in stale.text
    finally:
        await person.aclose()
    stranger = httpx.get(bridge.url + "/journey/consent?lang=en")
    assert stranger.status_code == 400 and "expired" in stranger.text.lower()


async def test_callback_from_another_browser_is_refused(bridge: Bridge) -> None:
    url, *_ = await authorize_url(bridge, rp_client(bridge, "rp-sm2"))
    person = Person(bridge)
    try:
        first = await person.http.get(url)
        login_url = first.headers["location"]
    finally:
        await person.aclose()
    state = dict(httpx.QueryParams(login_url.split("?", 1)[1]))["state"]
    other = httpx.get(
        bridge.url + "/upstream/iamsmart/callback", params={"code": "c", "state": state}
    )
    assert other.status_code == 400 and "<html" in other.text


@pytest.mark.parametrize(
    ("params", "kind"),
    [
        ({"client_id": "nobody"}, "invalid_client"),
        ({"redirect_uri": "https://evil.example/cb"}, "redirect"),
    ],
)
async def test_bad_client_or_redirect_uri_is_a_page_never_a_redirect(
    bridge: Bridge, params: dict[str, str], kind: str
) -> None:
    url, *_ = await authorize_url(bridge, rp_client(bridge, "rp-sm2"))
    query = dict(httpx.QueryParams(url.split("?", 1)[1]))
    query.update(params)
    page = httpx.get(bridge.url + "/authorize", params=query, headers={"Accept-Language": "en"})
    assert page.status_code == 400 and "location" not in page.headers
    assert "<html" in page.text and 'href="https://evil.example' not in page.text


async def test_errors_are_pages_for_people_and_json_for_apis(bridge: Bridge) -> None:
    page = httpx.get(bridge.url + "/no/such/page", headers=HTML)
    assert page.status_code == 404 and "<html" in page.text and "Traceback" not in page.text
    api = httpx.get(bridge.url + "/no/such/page")
    assert api.status_code == 404 and api.json()["error"] == "not_found"
    bad = httpx.get(bridge.url + "/authorize", params={"client_id": "rp-sm2"}, headers=HTML)
    assert bad.status_code == 400 and "<html" in bad.text
    garbage = httpx.post(bridge.url + "/upstream/iamsmart/callback", content=b"\x00not json")
    assert garbage.status_code == 400 and garbage.json()["error"] == "invalid_request"
    assert RP_REDIRECT not in bad.text


async def test_a_refused_authorization_request_speaks_its_ui_locales(bridge: Bridge) -> None:
    """OIDC Core §3.1.2.1 ``ui_locales``: the page that refuses the request is in the
    language the RP asked for, over the browser's own."""
    url, *_ = await authorize_url(bridge, rp_client(bridge, "rp-sm2"))
    query = dict(httpx.QueryParams(url.split("?", 1)[1]))
    query.update({"client_id": "nobody", "ui_locales": "zh-CN"})
    page = httpx.get(bridge.url + "/authorize", params=query, headers={"Accept-Language": "en"})
    assert page.status_code == 400 and '<html lang="zh-Hans-CN"' in page.text
