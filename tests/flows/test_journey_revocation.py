"""Withdrawing a consent through the consent layer (by the person, or by an operator with a
reason) ends what the RP holds: introspection says inactive, /userinfo answers 401, the
refresh token is refused, and the RP's back-channel logout endpoint receives a logout
token — through the same ``OidcGrantRevoker`` the app factory wires."""

from __future__ import annotations

import httpx
import pytest
import redis.asyncio as aioredis

from consent.services import build_consent_services
from federation.crypto.jose import decode_jwt
from federation.journey.bindings import OidcGrantRevoker
from federation.oidc.config import OidcConfig
from federation.oidc.provider import OidcProvider
from federation.storage.keys import Keys
from tests.federation.journey.harness import (
    PII_KEY,
    Bridge,
    Person,
    audit_actions,
    authorize_url,
    bridge,
    consent,
    exchange,
    finish,
    rp_client,
    secret_of,
    verify_id_token,
)

__all__ = ["bridge"]
EVENT = "http://schemas.openid.net/event/backchannel-logout"


@pytest.mark.parametrize("by", ["person", "operator"])
async def test_revocation_ends_the_grant(bridge: Bridge, redis: aioredis.Redis, by: str) -> None:
    client = rp_client(bridge, "rp-sm2", scope="openid profile offline_access")
    url, _, _, verifier = await authorize_url(bridge, client)
    person = Person(bridge, "cheung-kai-ming")
    try:
        answer = await finish(person, await consent(person, await person.sign_in(url)))
    finally:
        await person.aclose()
    token = await exchange(bridge, client, answer, verifier)
    sub = verify_id_token(bridge, token["id_token"], "rp-sm2")["sub"]
    auth = ("rp-sm2", secret_of("rp-sm2"))
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert httpx.get(bridge.url + "/userinfo", headers=bearer).status_code == 200
    (key,) = await redis.keys(Keys.consent("*"))
    record = await redis.hgetall(key)
    provider = OidcProvider.from_settings(
        bridge.settings,
        OidcConfig(
            clients_file=bridge.env["IDBRIDGE_CLIENTS_FILE"],
            client_secret_key=bridge.env["IDBRIDGE_CLIENT_SECRET_KEY"],
            backchannel_allow_private_networks=True,  # the RP listens on 127.0.0.1
        ),
    )
    services = build_consent_services(
        redis,
        pii_key=bytes.fromhex(PII_KEY),
        revoker=OidcGrantRevoker(provider, redis),
        issuer=bridge.url,
    )
    before = len(bridge.rp.logout_tokens)
    if by == "person":
        await services.lifecycle.revoke_by_person(record["subject"], record["id"])
    else:
        await services.lifecycle.revoke_by_operator(record["id"], operator="ops1", reason="test")
    introspected = httpx.post(
        bridge.url + "/introspect", data={"token": token["access_token"]}, auth=auth
    ).json()
    assert introspected == {"active": False}
    assert httpx.get(bridge.url + "/userinfo", headers=bearer).status_code == 401
    refreshed = httpx.post(
        bridge.url + "/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=auth,
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    assert len(bridge.rp.logout_tokens) == before + 1
    header, claims = decode_jwt(bridge.rp.logout_tokens[-1], bridge.jwks, algorithms=["SM2SM3"])
    assert header["typ"] == "logout+jwt" and claims["sub"] == sub and EVENT in claims["events"]
    assert "nonce" not in claims and claims["aud"] == "rp-sm2"
    assert "consent.revoked" in audit_actions(await redis.xrange(Keys.AUDIT_STREAM))
