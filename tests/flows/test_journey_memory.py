"""Anonymous requests cannot fill Redis (issue 24): 10,000 anonymous ``/authorize``
requests with every parameter at its largest, from one IPv4 address and from 10,000
addresses of one IPv6 /64, through the whole bridge (``create_app``, a real Redis), leave
Redis's memory under the documented bound (``docs/sessions.md`` "Memory": at most
``IDBRIDGE_JOURNEYS_PER_ADDRESS`` journeys of at most ``MAX_PRELOGIN_RECORD`` bytes per
address). The per-address rate limit is lifted here, so that only the journey cap and the
storage budget hold."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI

from federation.journey.budget import MAX_PRELOGIN_RECORD
from federation.oidc.authorize import MAX_CLAIMS, MAX_NONCE, MAX_STATE
from federation.storage.keys import Keys
from federation.storage.runtime import RedisServer, free_port
from tests.federation.journey.harness import (
    RP_REDIRECT,
    RelyingParty,
    bridge_env,
    build_with_env,
    pkce,
)

REQUESTS = 10_000
CAP = 100
BATCH = 32
LARGEST = 2 * CAP
"""The first requests carry every parameter at its largest (they fill the cap with the
largest records); the rest are minimal (what is stored does not depend on them: the cap
counts journeys, whatever their size) so that the test stays well under a minute."""
PER_ADDRESS_BOUND = CAP * MAX_PRELOGIN_RECORD + 64 * 1024
"""Journeys, the address's count, the shared client copy (documented in docs/sessions.md)."""
CONNECTIONS_BOUND = 2 * 1024 * 1024
"""Redis's buffers for the bridge's pooled connections (≤ 64 per worker), not data."""


@pytest.fixture
async def bridge_app(
    redis_server: RedisServer, redis: aioredis.Redis, tmp_path: Path
) -> AsyncIterator[FastAPI]:
    rp = RelyingParty(url=f"http://127.0.0.1:{free_port()}")
    env = bridge_env(tmp_path, redis_server.url, free_port(), f"http://127.0.0.1:{free_port()}", rp)
    env |= {
        "IDBRIDGE_RATE_LIMIT_PER_IP": "10000000",  # only the journey cap and budget hold
        "IDBRIDGE_JOURNEYS_PER_ADDRESS": str(CAP),
        "IDBRIDGE_TRUST_PROXY_HEADERS": "true",
        "IDBRIDGE_LOG_LEVEL": "CRITICAL",
    }
    app, _ = build_with_env(env)
    async with app.router.lifespan_context(app):
        yield app


def _query(largest: bool) -> str:
    claims = {"userinfo": {f"claim_{i:03d}": {"essential": True} for i in range(150)}}
    text = json.dumps(claims, separators=(",", ":"))
    text = text[: MAX_CLAIMS - 40].rsplit(",", 1)[0] + "}}"
    assert MAX_CLAIMS - 200 < len(text) <= MAX_CLAIMS and json.loads(text)
    _, challenge = pkce()
    small = {
        "client_id": "rp-sm2",
        "redirect_uri": RP_REDIRECT,
        "response_type": "code",
        "scope": "openid",
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if not largest:
        return urlencode(small)
    return urlencode(
        {
            "client_id": "rp-sm2",
            "redirect_uri": RP_REDIRECT,
            "response_type": "code",
            "scope": "openid profile email phone",
            "state": "s" * MAX_STATE,
            "nonce": "n" * MAX_NONCE,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "claims": text,
            "login_hint": "h" * 2048,
            "acr_values": " ".join(["urn:x:" + "a" * 60] * 30),
        }
    )


async def _get(app: FastAPI, query: bytes, forwarded_for: str) -> int:
    """One ``GET /authorize`` straight through the ASGI interface (what httpx's
    ASGITransport does, without its client-side cost: the bridge's work is the same)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/authorize",
        "raw_path": b"/authorize",
        "query_string": query,
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"accept", b"text/html"),
            (b"x-forwarded-for", forwarded_for.encode()),
        ],
        "client": ("10.0.0.1", 40000),  # the proxy
        "server": ("127.0.0.1", 80),
    }
    status = 0

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _flood(app: FastAPI, addresses: list[str]) -> dict[int, int]:
    largest, smallest = _query(largest=True).encode(), _query(largest=False).encode()
    statuses: dict[int, int] = {}
    for start in range(0, len(addresses), BATCH):
        query = largest if start < LARGEST else smallest
        batch = addresses[start : start + BATCH]
        for status in await asyncio.gather(*(_get(app, query, a) for a in batch)):
            statuses[status] = statuses.get(status, 0) + 1
    return statuses


async def _used(redis: aioredis.Redis) -> tuple[int, int]:
    """(data, everything): Redis's ``used_memory_dataset`` and ``used_memory``."""
    info = await redis.info("memory")
    return int(info["used_memory_dataset"]), int(info["used_memory"])


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize(
    "addresses",
    [
        pytest.param(["192.0.2.7"] * REQUESTS, id="one-ipv4-address"),
        pytest.param([f"2001:db8:1:2::{i:x}" for i in range(1, REQUESTS + 1)], id="one-ipv6-64"),
    ],
)
async def test_ten_thousand_anonymous_authorize_stay_under_the_bound(
    bridge_app: FastAPI, redis: aioredis.Redis, addresses: list[str]
) -> None:
    before = await _used(redis)
    started = time.monotonic()
    statuses = await _flood(bridge_app, addresses)
    elapsed = time.monotonic() - started
    assert statuses.get(303) == CAP and statuses.get(429) == REQUESTS - CAP, statuses
    journeys = await redis.keys(Keys.journey("*"))
    assert len(journeys) == CAP
    for key in journeys[:10]:
        assert await redis.memory_usage(key) <= MAX_PRELOGIN_RECORD
        assert 0 < await redis.ttl(key) <= 300  # the pre-login lifetime
        stored = await redis.hgetall(key)
        assert "h" * 100 not in stored["authz"] and "urn:x:" not in stored["authz"]
    after = await _used(redis)
    data, grown = after[0] - before[0], after[1] - before[1]
    kib = f"data +{data >> 10} KiB, all +{grown >> 10} KiB"
    print(f"\n{len(addresses)} requests in {elapsed:.1f} s: {kib}")
    assert data < PER_ADDRESS_BOUND, data
    assert grown < PER_ADDRESS_BOUND + CONNECTIONS_BOUND, grown
