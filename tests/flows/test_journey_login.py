"""Whole journeys over real HTTP: authlib's OAuth2 client as the RP, the iAM Smart
simulator upstream, the bridge from ``create_app``, one real Redis (DESIGN §3)."""

from __future__ import annotations

import json

import httpx
import pytest
import redis.asyncio as aioredis

from consent.signing import JwksVerifier
from federation.storage.keys import Keys
from tests.federation.journey.harness import (
    Bridge,
    Person,
    audit_actions,
    authorize_url,
    bridge,
    consent,
    exchange,
    finish,
    rp_client,
    verify_id_token,
)

__all__ = ["bridge"]


@pytest.mark.parametrize("client_id", ["rp-sm2", "rp-es256", "rp-rs256"])
async def test_first_time_consent_then_tokens(
    bridge: Bridge, redis: aioredis.Redis, client_id: str
) -> None:
    client = rp_client(bridge, client_id)
    url, state, nonce, verifier = await authorize_url(bridge, client)
    person = Person(bridge, "chan-tai-man")
    try:
        page = await person.sign_in(url)
        assert page.status_code == 200 and str(page.url).endswith("/journey/consent")
        assert "CHAN, Tai Man" in page.text or "CHAN Tai Man" in page.text
        assert (
            'name="cross_boundary"' in page.text
            and "checked" not in page.text.split('name="cross_boundary"')[1].split(">")[0]
        )
        done = await consent(person, page)
        receipt = await person.http.get(bridge.url + "/journey/receipt")
        assert receipt.status_code == 200
        assert "attachment" in receipt.headers["content-disposition"]
        signed = JwksVerifier(bridge.jwks).verify_jws(receipt.json()["jws"])
        assert signed["consentReceiptID"].startswith("cns_")
        answer = await finish(person, done)
    finally:
        await person.aclose()
    assert answer["state"] == state and answer["iss"] == bridge.url and "code" in answer
    assert await redis.keys(Keys.journey("*")) == []  # journey PII deleted with the code
    token = await exchange(bridge, client, answer, verifier)
    claims = verify_id_token(bridge, token["id_token"], client_id)
    assert claims["nonce"] == nonce and claims["acr"] in ("iamsmart", "iamsmart_plus")
    assert claims["sid"] and claims["auth_time"] <= claims["iat"]
    info = httpx.get(
        bridge.url + "/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}
    ).json()
    assert info["sub"] == claims["sub"] and info["email"] == "taiman.chan@example.hk"
    assert "hkid" not in info  # not asked for, not released
    actions = audit_actions(await redis.xrange(Keys.AUDIT_STREAM))
    assert "consent.granted" in actions
    stored = await redis.hgetall(Keys.consent(signed["consentReceiptID"]))
    assert stored["status"] == "active" and "chan.taiman" not in json.dumps(stored)
