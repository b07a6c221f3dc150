"""Rate limits per client address on the journey's and the self-service area's routes
(the whole bridge from ``create_app``): 429 with Retry-After, the ``rate_limited`` page for
people and JSON for the server-to-server callback and the polling endpoint."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI

from federation.storage.runtime import RedisServer, free_port
from tests.federation.journey.harness import RelyingParty, bridge_env, build_with_env

LIMIT = 2
HTML = {"Accept": "text/html"}


@pytest.fixture(autouse=True)
async def _clear_of_a_window_edge() -> None:
    """The limits count in fixed 60-second windows: a test that fills one must not
    straddle two. Starts at least 15 s before the next edge (waits at most 15 s)."""
    into = time.time() % 60
    if into > 45:
        await asyncio.sleep(60 - into + 0.05)


@pytest.fixture
async def bridge_app(
    redis_server: RedisServer, redis: aioredis.Redis, tmp_path: Path
) -> AsyncIterator[FastAPI]:
    rp = RelyingParty(url=f"http://127.0.0.1:{free_port()}")
    sim_url = f"http://127.0.0.1:{free_port()}"
    env = bridge_env(tmp_path, redis_server.url, free_port(), sim_url, rp)
    env |= {"IDBRIDGE_RATE_LIMIT_PER_IP": str(LIMIT), "IDBRIDGE_RATE_LIMIT_WINDOW": "60"}
    app, _ = build_with_env(env)
    async with app.router.lifespan_context(app):
        yield app


def _client(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")


ROUTES: list[tuple[str, str, dict[str, str], str | None]] = [
    ("POST", "/journey/consent", {"decision": "agree"}, None),
    ("GET", "/upstream/iamsmart/callback?code=c&state=s", {}, None),
    ("POST", "/upstream/iamsmart/callback", {"content": "x"}, "rate_limited"),
    ("GET", "/journey/status", {}, "slow_down"),
    ("GET", "/consents", {}, None),
    ("GET", "/consents/cns_x/withdraw", {}, None),
    ("GET", "/logout", {}, None),
]


@pytest.mark.parametrize(("method", "path", "data", "error"), ROUTES)
async def test_each_route_is_limited_per_address(
    bridge_app: FastAPI, method: str, path: str, data: dict[str, str], error: str | None
) -> None:
    async with _client(bridge_app, "192.0.2.1") as http, _client(bridge_app, "192.0.2.2") as other:
        send: Callable[[httpx.AsyncClient], object] = lambda c: c.request(  # noqa: E731
            method, path, data=data or None, headers=HTML
        )
        for _ in range(LIMIT):
            assert (await send(http)).status_code != 429  # type: ignore[attr-defined]
        refused = await send(http)  # type: ignore[misc]
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        if error is None:
            assert refused.headers["content-type"].startswith("text/html")
            assert "嘗試次數過多" in refused.text  # error.rate_limited.title (zh-HK)
        else:
            assert refused.json()["error"] == error
        assert (await send(other)).status_code != 429  # type: ignore[attr-defined]
