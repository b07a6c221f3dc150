"""Logout ends what the session gave (issue 24; OIDC Core §11, Back-Channel Logout §2.7):
after the person signs out at the bridge, the RP's access token answers 401 at /userinfo
and its refresh token is ``invalid_grant`` — unless the person consented to
``offline_access`` (the consent page says which), when both still work. A session-bound
refresh token also dies with a session that merely expired. The self-service session
(``/consents``) ends with the bridge session too, and the signed-out page clears its cookie."""

from __future__ import annotations

import httpx
import pytest
import redis.asyncio as aioredis

from federation.pages.catalogue import catalogues
from federation.storage.keys import Keys
from tests.federation.journey.harness import (
    Bridge,
    Person,
    authorize_url,
    bridge,
    consent,
    exchange,
    finish,
    rp_client,
    secret_of,
    verify_id_token,
)
from tests.federation.selfservice.helpers import consent_at, consent_ids, open_self_service

__all__ = ["bridge"]

CATALOGUES = catalogues()
HTML = {"Accept": "text/html"}


async def _tokens(bridge: Bridge, person: Person, scope: str, says: str) -> dict:
    client = rp_client(bridge, "rp-sm2", scope=scope)
    url, _, _, verifier = await authorize_url(bridge, client)
    page = await person.sign_in(url)
    assert CATALOGUES["zh-HK"].text(says) in page.text  # what the consent page tells
    return await exchange(
        bridge, client, await finish(person, await consent(person, page)), verifier
    )


def _refresh(bridge: Bridge, token: dict) -> httpx.Response:
    return httpx.post(
        bridge.url + "/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=("rp-sm2", secret_of("rp-sm2")),
    )


@pytest.mark.parametrize("offline", [False, True])
async def test_logout_revokes_tokens_unless_offline_access(
    bridge: Bridge, redis: aioredis.Redis, offline: bool
) -> None:
    scope = "openid profile" + (" offline_access" if offline else "")
    says = "consent.offline_access" if offline else "consent.session_bound"
    person = Person(bridge, "cheung-kai-ming")
    try:
        token = await _tokens(bridge, person, scope, says)
        sid = verify_id_token(bridge, token["id_token"], "rp-sm2")["sid"]
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        assert httpx.get(bridge.url + "/userinfo", headers=bearer).status_code == 200
        out = await person.http.get(
            bridge.url + "/logout", params={"id_token_hint": token["id_token"]}, headers=HTML
        )
        assert out.status_code == 200
    finally:
        await person.aclose()
    assert not await redis.exists(Keys.session(sid))
    info = httpx.get(bridge.url + "/userinfo", headers=bearer)
    refreshed = _refresh(bridge, token)
    if offline:
        assert info.status_code == 200
        assert refreshed.status_code == 200 and refreshed.json()["refresh_token"]
    else:
        assert info.status_code == 401
        assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


async def test_a_session_bound_refresh_token_ends_with_an_expired_session(
    bridge: Bridge, redis: aioredis.Redis
) -> None:
    person = Person(bridge, "chow-mei-ling")
    try:
        token = await _tokens(bridge, person, "openid profile", "consent.session_bound")
    finally:
        await person.aclose()
    sid = verify_id_token(bridge, token["id_token"], "rp-sm2")["sid"]
    rotated = _refresh(bridge, token)  # the session lives: refresh works
    assert rotated.status_code == 200
    await redis.delete(Keys.session(sid))  # as IDBRIDGE_SESSION_TTL would
    refreshed = _refresh(bridge, rotated.json())
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


async def test_consents_after_logout_ask_to_sign_in(bridge: Bridge) -> None:
    person = Person(bridge, "wong-siu-ming")
    try:
        token = await consent_at(bridge, person)
        listed = await open_self_service(bridge, person)
        assert consent_ids(listed.text)  # signed in to /consents through the bridge session
        kept = person.http.cookies["idb_self"]
        out = await person.http.get(
            bridge.url + "/logout", params={"id_token_hint": token["id_token"]}, headers=HTML
        )
        assert out.status_code == 200
        cleared = [c for c in out.headers.get_list("set-cookie") if c.startswith("idb_self=")]
        assert cleared and "Max-Age=0" in cleared[0]  # the signed-out page clears it
        person.http.cookies.set("idb_self", kept, domain="127.0.0.1")  # a browser that kept it
        page = await person.go(bridge.url + "/consents")
    finally:
        await person.aclose()
    assert page.status_code == 200 and "/consents/login" in page.text
    assert not consent_ids(page.text)
