"""RFC 7592 client configuration endpoint through the whole bridge (OIDF
OP-Registration-Read and the Dynamic OP plan's management modules): read, update (a
changed notice asks the person again), delete (an audited offboarding: consents end,
tokens revoked, back-channel logout), and the access rules."""

from __future__ import annotations

from typing import Any

import httpx
import redis.asyncio as aioredis

from federation.storage.keys import Keys
from tests.federation.journey.harness import Person, audit_actions, authorize_url
from tests.flows.conformance_bridge import OpenBridge, open_bridge
from tests.flows.test_conformance_journey import PLAIN, client_for, log_in

__all__ = ["open_bridge"]


def bearer(registered: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {registered['registration_access_token']}"}


async def test_registration_response_names_the_configuration_endpoint(
    open_bridge: OpenBridge,
) -> None:
    registered = open_bridge.register()
    uri = registered["registration_client_uri"]
    assert uri == f"{open_bridge.url}/register/{registered['client_id']}"
    assert len(registered["registration_access_token"]) >= 43  # 256 bits
    read = httpx.get(uri, headers=bearer(registered))
    assert read.status_code == 200 and read.headers["cache-control"] == "no-store"
    body = read.json()
    assert body["client_id"] == registered["client_id"]
    assert body["redirect_uris"] == registered["redirect_uris"]
    assert "client_secret" not in body and "registration_access_token" not in body
    assert "registration_token_digest" not in body and "client_secret_digest" not in body


async def test_the_endpoint_needs_the_clients_own_token(open_bridge: OpenBridge) -> None:
    one, other = open_bridge.register(), open_bridge.register()
    uri = one["registration_client_uri"]
    for headers in ({}, bearer(other), {"Authorization": "Bearer nope"}, {"Authorization": "x"}):
        response = httpx.get(uri, headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error"] == "invalid_token"
    static = httpx.get(open_bridge.url + "/register/rp-sm2", headers=bearer(one))
    assert static.status_code == 401  # static clients are not managed here
    unknown = httpx.get(open_bridge.url + "/register/dyn-nobody", headers=bearer(one))
    assert unknown.status_code == 401


async def test_update_rules(open_bridge: OpenBridge) -> None:
    registered = open_bridge.register()
    uri, headers = registered["registration_client_uri"], bearer(registered)
    current = httpx.get(uri, headers=headers).json()
    current.pop("registration_client_uri")
    no_id = {k: v for k, v in current.items() if k != "client_id"}
    assert httpx.put(uri, json=no_id, headers=headers).status_code == 400
    with_token = {**current, "registration_access_token": "x"}
    assert httpx.put(uri, json=with_token, headers=headers).status_code == 400
    wrong_secret = {**current, "client_secret": "not-it"}
    assert httpx.put(uri, json=wrong_secret, headers=headers).status_code == 400
    bad = {**current, "redirect_uris": ["ftp://x"]}
    refused = httpx.put(uri, json=bad, headers=headers)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_redirect_uri"
    same_secret = {**current, "client_secret": registered["client_secret"], "contacts": ["a@b.cn"]}
    updated = httpx.put(uri, json=same_secret, headers=headers)
    assert updated.status_code == 200, updated.text
    assert updated.json()["contacts"] == ["a@b.cn"] and "client_secret" not in updated.json()


async def test_an_updated_notice_asks_the_person_again(open_bridge: OpenBridge) -> None:
    registered = open_bridge.register()
    client = client_for(registered)
    await log_in(open_bridge, client, PLAIN)  # consents (remembered)

    async def shows_consent() -> bool:
        url, *_ = await authorize_url(open_bridge.bridge, client)
        person = Person(open_bridge.bridge, PLAIN)
        try:
            page = await person.sign_in(url)
            return "/journey/consent" in str(page.url)
        finally:
            await person.aclose()

    assert not await shows_consent()  # remembered: straight back
    uri, headers = registered["registration_client_uri"], bearer(registered)
    current = httpx.get(uri, headers=headers).json()
    current.pop("registration_client_uri")
    # RFC 7591 §2.2 members, as the read gave them
    current.update(
        {"purposes": "A new purpose", "purposes#en": "A new purpose"},
        **{"purposes#zh-HK": "新用途", "purposes#zh-CN": "新用途"},
    )
    assert httpx.put(uri, json=current, headers=headers).status_code == 200
    assert await shows_consent()  # a new notice version: asked again


async def test_delete_is_an_audited_offboarding(
    open_bridge: OpenBridge, redis: aioredis.Redis
) -> None:
    rp = open_bridge.bridge.rp
    registered = open_bridge.register(backchannel_logout_uri=rp.url + "/backchannel")
    client = client_for(registered)
    token, _ = await log_in(open_bridge, client, PLAIN)
    before = len(rp.logout_tokens)
    uri, headers = registered["registration_client_uri"], bearer(registered)
    deleted = httpx.delete(uri, headers=headers)
    assert deleted.status_code == 204
    assert len(rp.logout_tokens) == before + 1  # the RP was told
    info = httpx.get(
        open_bridge.url + "/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert info.status_code == 401  # its tokens are revoked
    assert httpx.get(uri, headers=headers).status_code == 401  # the registration is gone
    assert await redis.get(Keys.client(registered["client_id"])) is None
    entries = await redis.xrange(Keys.AUDIT_STREAM)
    actions = audit_actions(entries)
    assert "client.offboarded" in actions
    revoked = [
        fields
        for _, fields in entries
        if fields.get("action") == "consent.revoked"
        and registered["client_id"] in fields.get("objects", "")
    ]
    assert revoked, "the consent ended with an audit entry"
    url, *_ = await authorize_url(open_bridge.bridge, client)
    page = httpx.get(url, headers={"Accept": "text/html"})
    assert page.status_code == 400  # an unknown client now
