"""Shared fixtures: a real ``redis-server`` per test session (never a fake), and a clean
database per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis

from federation.storage.client import connect
from federation.storage.runtime import RedisServer


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One real redis-server for the whole session (non-durable: speed over fsync)."""
    with RedisServer(durable=False) as server:
        yield server


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    """An async client on an empty database."""
    client = connect(redis_server.url)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()
