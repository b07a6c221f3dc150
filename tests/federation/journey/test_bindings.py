"""``OidcGrantRevoker`` (consent → OIDC): a revoked consent's logout tokens, one per distinct
``sub``/``sid``, go out at once (Back-Channel Logout 1.0 §2.5) and behind the egress guard
(nothing to a loopback RP unless private networks are allowed). Runs on the OpenID
Provider's harness with a real receiver on 127.0.0.1."""

from __future__ import annotations

import httpx
import redis.asyncio as aioredis

from federation.crypto.jose import decode_jwt
from federation.journey.bindings import OidcGrantRevoker
from federation.oidc.provider import OidcProvider
from federation.oidc.seam import revoke_grants_for
from tests.federation.oidc.flow import full_flow
from tests.federation.oidc.harness import PERSON, app, clock, http, provider, signing_keys
from tests.federation.oidc.receiver import (
    Receiver,
    allow_private_networks,
    receiver,
    with_backchannel,
)

__all__ = ["app", "clock", "http", "provider", "receiver", "signing_keys"]


async def _two_sessions_at_rp_sm2(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> set[str]:
    sids = set()
    for _ in range(2):  # two browsers: two sessions, two token families
        http.cookies.clear()
        sids.add((await full_flow(http, redis, provider, "rp-sm2"))["claims"]["sid"])
    assert len(sids) == 2
    return sids


async def test_each_session_is_told_and_all_at_once(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider, receiver: Receiver
) -> None:
    with_backchannel(provider, "rp-sm2", receiver.url)
    sids = await _two_sessions_at_rp_sm2(http, redis, provider)
    receiver.together = 2  # 200 only when both tokens are in flight together
    await OidcGrantRevoker(provider, redis).revoke_for(PERSON, "rp-sm2", reason="test")
    assert receiver.statuses == [200, 200]
    jwks = (await http.get("/jwks/sm2")).json()  # sm2_jwks_uri
    told = {decode_jwt(t, jwks, algorithms=["SM2SM3"])[1]["sid"] for t in receiver.tokens}
    assert told == sids


async def test_no_token_to_a_loopback_rp_unless_allowed(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider, receiver: Receiver
) -> None:
    with_backchannel(provider, "rp-sm2", receiver.url)
    await _two_sessions_at_rp_sm2(http, redis, provider)
    allow_private_networks(provider, False)
    await OidcGrantRevoker(provider, redis).revoke_for(PERSON, "rp-sm2", reason="test")
    assert receiver.hosts == []  # not even a connection
    assert await revoke_grants_for(redis, PERSON, "rp-sm2") == []  # revoked all the same
