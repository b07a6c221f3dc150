"""Rate limits (DESIGN §8): per client_id at the client-authenticated endpoints, per client
address at the pages and unauthenticated APIs; 429 with Retry-After and the right body,
another client or address unaffected, and a new window starts afresh."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI

from federation.oidc.provider import OidcProvider
from federation.oidc.router import install
from federation.ratelimit import RateLimiter, claimed_client_id, client_address
from federation.settings import Settings
from federation.storage.runtime import RedisServer
from tests.federation.oidc.harness import (
    ISSUER,
    base_app,
    clock,
    provider,
    signing_keys,
    stand_in_journey,
)

__all__ = ["clock", "provider", "signing_keys"]

LIMIT = 3
HTML = {"Accept": "text/html"}


@pytest.fixture(autouse=True)
async def _clear_of_a_window_edge() -> None:
    """The limits count in fixed 60-second windows: a test that fills one must not
    straddle two. Starts at least 10 s before the next edge (waits at most 10 s)."""
    into = time.time() % 60
    if into > 50:
        await asyncio.sleep(60 - into + 0.05)


def _settings(redis_server: RedisServer, **extra: object) -> Settings:
    values: dict[str, object] = {
        "redis_url": redis_server.url,
        "issuer": ISSUER,
        "rate_limit_per_ip": LIMIT,
        "rate_limit_per_client": LIMIT,
        "rate_limit_window": 60,
        **extra,
    }
    return Settings(**values)  # type: ignore[arg-type]


def _app(provider: OidcProvider, redis: aioredis.Redis, settings: Settings) -> FastAPI:
    application = base_app(settings)
    application.state.redis = redis
    install(application, provider, journey=stand_in_journey)
    return application


Client = Callable[[str], httpx.AsyncClient]


@pytest.fixture
async def client_from(
    provider: OidcProvider, redis: aioredis.Redis, redis_server: RedisServer
) -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    opened: list[httpx.AsyncClient] = []

    def make(address: str = "192.0.2.1", **extra: object) -> httpx.AsyncClient:
        app = _app(provider, redis, _settings(redis_server, **extra))
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        client = httpx.AsyncClient(transport=transport, base_url=ISSUER)
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.aclose()


def _basic(client_id: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:wrong-secret".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def _assert_api_429(response: httpx.Response, error: str) -> None:
    assert response.status_code == 429, response.text[:200]
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert response.json()["error"] == error


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/token", "rate_limited"),
        ("/introspect", "rate_limited"),
        ("/revoke", "rate_limited"),
        ("/par", "temporarily_unavailable"),
    ],
)
async def test_per_client_limit_at_client_authenticated_endpoints(
    client_from: Callable[..., httpx.AsyncClient], path: str, error: str
) -> None:
    http = client_from()
    data = {"grant_type": "authorization_code", "code": "x", "token": "t"}
    for _ in range(LIMIT):
        ok = await http.post(path, data=data, headers=_basic("rp-sm2"))
        assert ok.status_code in (400, 401), ok.text[:200]  # counted, then refused as usual
    _assert_api_429(await http.post(path, data=data, headers=_basic("rp-sm2")), error)
    # the same client named in the form body is the same client
    _assert_api_429(await http.post(path, data={**data, "client_id": "rp-sm2"}), error)
    other = await http.post(path, data=data, headers=_basic("rp-es256"))
    assert other.status_code in (400, 401)


async def test_per_address_limit_on_apis_and_pages(
    client_from: Callable[..., httpx.AsyncClient],
) -> None:
    http = client_from("192.0.2.1")
    for _ in range(LIMIT):
        assert (await http.get("/userinfo")).status_code == 401
    _assert_api_429(await http.get("/userinfo"), "rate_limited")
    for _ in range(LIMIT):
        assert (await http.post("/register", json={})).status_code in (400, 401, 403)
    _assert_api_429(await http.post("/register", json={}), "rate_limited")
    for _ in range(LIMIT):
        assert (await http.get("/authorize", headers=HTML)).status_code == 400
    page = await http.get("/authorize", headers=HTML)
    assert page.status_code == 429 and int(page.headers["retry-after"]) >= 1
    assert page.headers["content-type"].startswith("text/html")
    assert "嘗試次數過多" in page.text  # error.rate_limited.title, zh-HK by default
    # another address is not affected
    elsewhere = client_from("198.51.100.7")
    assert (await elsewhere.get("/userinfo")).status_code == 401
    assert (await elsewhere.get("/authorize", headers=HTML)).status_code == 400


async def test_forwarded_address_counts_only_behind_a_trusted_proxy(
    client_from: Callable[..., httpx.AsyncClient],
) -> None:
    proxied = client_from("127.0.0.1", trust_proxy_headers=True)
    for _ in range(LIMIT):
        await proxied.get("/userinfo", headers={"X-Forwarded-For": "203.0.113.5"})
    _assert_api_429(
        await proxied.get("/userinfo", headers={"X-Forwarded-For": "203.0.113.5"}),
        "rate_limited",
    )
    other = await proxied.get("/userinfo", headers={"X-Forwarded-For": "203.0.113.6"})
    assert other.status_code == 401
    untrusted = client_from("192.0.2.9")  # headers ignored: the peer address counts
    for hop in ("203.0.113.10", "203.0.113.11", "203.0.113.12"):
        await untrusted.get("/userinfo", headers={"X-Forwarded-For": hop})
    _assert_api_429(
        await untrusted.get("/userinfo", headers={"X-Forwarded-For": "203.0.113.13"}),
        "rate_limited",
    )


async def test_disabled_limits_never_refuse(client_from: Callable[..., httpx.AsyncClient]) -> None:
    http = client_from(rate_limit_enabled=False)
    for _ in range(LIMIT * 3):
        assert (await http.get("/userinfo")).status_code == 401


async def test_the_window_resets(redis: aioredis.Redis) -> None:
    now = [1000.0]
    limiter = RateLimiter(redis, window=10, clock=lambda: now[0])
    assert [(await limiter.hit("b", "k", 2)).allowed for _ in range(3)] == [True, True, False]
    refused = await limiter.hit("b", "k", 2)
    assert not refused.allowed and refused.retry_after == 10
    assert (await limiter.hit("b", "other", 2)).allowed
    now[0] = 1009.5
    assert (await limiter.hit("b", "k", 2)).retry_after == 1
    now[0] = 1010.0
    assert (await limiter.hit("b", "k", 2)).allowed  # a new window
    ttl = await redis.ttl("idb:rl:b:k:101")
    assert 0 < ttl <= 10


async def test_the_window_resets_over_http(
    client_from: Callable[..., httpx.AsyncClient],
) -> None:
    http = client_from(rate_limit_window=1)
    await asyncio.sleep(1 - time.time() % 1 + 0.01)  # start of a window
    for _ in range(LIMIT):
        await http.get("/userinfo")
    refused = await http.get("/userinfo")
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    await asyncio.sleep(1 - time.time() % 1 + 0.01)
    assert (await http.get("/userinfo")).status_code == 401


def test_claimed_client_id() -> None:
    assert claimed_client_id({}, _basic("rp%3Ax")["Authorization"]) == "rp:x"
    assert claimed_client_id({"client_id": "a"}, None) == "a"
    payload = base64.urlsafe_b64encode(b'{"iss":"rp-jwt"}').rstrip(b"=").decode()
    assert claimed_client_id({"client_assertion": f"e30.{payload}.sig"}, None) == "rp-jwt"
    assert claimed_client_id({"client_assertion": "x.!!!.y"}, None) is None
    assert claimed_client_id({}, "Basic %%%") is None


def test_client_address_trusts_the_last_hop_only_when_told() -> None:
    from starlette.requests import Request

    scope = {
        "type": "http",
        "headers": [(b"x-forwarded-for", b"10.9.9.9, 203.0.113.5")],
        "client": ("127.0.0.1", 1),
    }
    request = Request(scope)
    assert client_address(request, True) == "203.0.113.5"
    assert client_address(request, False) == "127.0.0.1"
