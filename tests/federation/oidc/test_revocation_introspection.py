"""Token revocation (RFC 7009) and introspection (RFC 7662)."""

from __future__ import annotations

import httpx
import redis.asyncio as aioredis

from federation.oidc.provider import OidcProvider
from tests.federation.oidc.flow import basic, full_flow
from tests.federation.oidc.harness import ISSUER


async def _introspect(
    http: httpx.AsyncClient, token: str, client_id: str = "rp-es256"
) -> dict[str, object]:
    response = await http.post("/introspect", data={"token": token}, headers=basic(client_id))
    assert response.status_code == 200
    return response.json()


async def test_introspection_of_own_and_foreign_tokens(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    body = await full_flow(http, redis, provider, scope="openid email")
    active = await _introspect(http, body["access_token"])
    assert active["active"] is True and active["client_id"] == "rp-es256"
    assert active["scope"] == "openid email" and active["iss"] == ISSUER
    assert active["sub"] == body["claims"]["sub"] and active["exp"] > provider.clock()
    assert active["token_type"] == "Bearer"
    refresh = await _introspect(http, body["refresh_token"])
    assert refresh["active"] is True and "token_type" not in refresh  # RFC 6749 §7.1
    assert await _introspect(http, body["access_token"], "rp-sm2") == {"active": False}
    assert await _introspect(http, "no-such-token") == {"active": False}
    unauthenticated = await http.post("/introspect", data={"token": body["access_token"]})
    assert unauthenticated.status_code == 401


async def test_revoking_an_access_token(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    body = await full_flow(http, redis, provider)
    response = await http.post(
        "/revoke", data={"token": body["access_token"]}, headers=basic("rp-es256")
    )
    assert response.status_code == 200 and response.content == b""
    assert (await _introspect(http, body["access_token"]))["active"] is False
    assert (await _introspect(http, body["refresh_token"]))["active"] is True


async def test_revoking_a_refresh_token_revokes_the_family(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    body = await full_flow(http, redis, provider)
    response = await http.post(
        "/revoke",
        headers=basic("rp-es256"),
        data={"token": body["refresh_token"], "token_type_hint": "refresh_token"},
    )
    assert response.status_code == 200
    assert (await _introspect(http, body["access_token"]))["active"] is False
    assert (await _introspect(http, body["refresh_token"]))["active"] is False


async def test_another_client_cannot_revoke(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    body = await full_flow(http, redis, provider)
    response = await http.post(
        "/revoke", data={"token": body["access_token"]}, headers=basic("rp-sm2")
    )
    assert response.status_code == 200  # RFC 7009 §2.2: reveals nothing
    assert (await _introspect(http, body["access_token"]))["active"] is True
    missing = await http.post("/revoke", data={}, headers=basic("rp-es256"))
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


async def test_token_type_hint_only_orders_the_lookup(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    body = await full_flow(http, redis, provider)
    for token, kind in ((body["access_token"], "access"), (body["refresh_token"], "refresh")):
        for hint in ("access_token", "refresh_token", "bogus"):
            response = await http.post(
                "/introspect",
                data={"token": token, "token_type_hint": hint},
                headers=basic("rp-es256"),
            )
            answer = response.json()
            assert answer["active"] is True, (kind, hint)
            assert ("token_type" in answer) == (kind == "access"), (kind, hint)
