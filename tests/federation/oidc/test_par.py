"""Pushed authorization requests (RFC 9126): push, single use, expiry, per-client
requirement, and JSON errors at the PAR endpoint."""

from __future__ import annotations

import httpx
import redis.asyncio as aioredis

from federation.oidc.provider import OidcProvider
from tests.federation.oidc.flow import basic
from tests.federation.oidc.harness import REDIRECTS, authorize_params, log_in, query_of


async def _push(http: httpx.AsyncClient, client_id: str = "rp-par", **extra: str) -> httpx.Response:
    params = authorize_params(client_id, **extra)
    return await http.post("/par", data=params, headers=basic(client_id))


async def test_pushed_request_is_used_once(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    pushed = await _push(http, state="from-par")
    assert pushed.status_code == 201, pushed.text
    body = pushed.json()
    assert body["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
    assert body["expires_in"] == 60
    query = {"client_id": "rp-par", "request_uri": body["request_uri"]}
    parked = await http.get("/authorize", params=query)
    assert parked.status_code == 200, parked.text
    redirect, _ = await log_in(redis, provider, parked.json()["journey"])
    assert redirect.startswith(REDIRECTS["rp-par"]) and query_of(redirect)["state"] == "from-par"
    again = await http.get("/authorize", params=query)
    assert again.status_code == 400 and again.json()["error"] == "invalid_request_uri"
    assert "location" not in again.headers


async def test_client_requiring_par_cannot_use_plain_authorize(http: httpx.AsyncClient) -> None:
    response = await http.get("/authorize", params=authorize_params("rp-par"))
    assert response.status_code == 302
    assert query_of(response.headers["location"])["error"] == "invalid_request"


async def test_request_uri_of_another_client_is_refused(http: httpx.AsyncClient) -> None:
    pushed = (await _push(http)).json()
    response = await http.get(
        "/authorize", params={"client_id": "rp-es256", "request_uri": pushed["request_uri"]}
    )
    assert response.status_code == 400 and "location" not in response.headers


async def test_expired_request_uri_is_refused(
    http: httpx.AsyncClient, redis: aioredis.Redis
) -> None:
    pushed = (await _push(http)).json()
    handle = pushed["request_uri"].rsplit(":", 1)[1]
    from federation.storage.keys import Keys

    ttl = await redis.ttl(Keys.par(handle))
    assert 0 < ttl <= 60
    await redis.expire(Keys.par(handle), 0)  # what 60 s of waiting would do
    response = await http.get(
        "/authorize", params={"client_id": "rp-par", "request_uri": pushed["request_uri"]}
    )
    assert response.status_code == 400


async def test_par_errors_are_json(http: httpx.AsyncClient) -> None:
    bad_pkce = await _push(http, code_challenge_method="plain")
    assert bad_pkce.status_code == 400 and bad_pkce.json()["error"] == "invalid_request"
    with_request = await _push(http, request="e30.e30.")
    assert with_request.json()["error"] == "invalid_request_object"  # {} names no alg
    unauthenticated = await http.post("/par", data=authorize_params("rp-par"))
    assert unauthenticated.status_code == 401
    other = await http.post("/par", data=authorize_params("rp-par"), headers=basic("rp-es256"))
    assert other.status_code == 401 and other.json()["error"] == "invalid_client"


async def test_request_uri_inside_a_pushed_request_is_invalid_request(
    http: httpx.AsyncClient,
) -> None:
    pushed = await _push(http)
    assert pushed.status_code == 201
    nested = await _push(http, request_uri=pushed.json()["request_uri"])
    assert nested.status_code == 400 and nested.json()["error"] == "invalid_request"
    other = await _push(http, request_uri="https://rp3.example.cn/request.jwt")
    assert other.status_code == 400 and other.json()["error"] == "invalid_request"
