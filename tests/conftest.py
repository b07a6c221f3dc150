"""Shared fixtures: a real ``redis-server`` per test session (never a fake), and a clean
database per test.

``IDBRIDGE_TEST_TOPOLOGY=sentinel`` runs the same tests, unchanged, on a primary, two
replicas and three sentinels (``federation.storage.topology``); ``redis_server.url`` is then
the ``redis+sentinel://`` URL. With ``IDBRIDGE_TEST_REDIS_ERRORSTATS=FILE`` the session
writes the primary's ``INFO errorstats`` to FILE at its end (the topology tests check that
no command was refused: no CROSSSLOT, READONLY or other error reply).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis import Redis as SyncRedis

from federation.storage.client import connect
from federation.storage.runtime import RedisServer
from federation.storage.topology import SentinelSet

TOPOLOGY = os.environ.get("IDBRIDGE_TEST_TOPOLOGY", "single")


class _Topology:
    """What the tests read of ``redis_server`` (``url``), for a replicated topology."""

    def __init__(self, url: str, primary: Any) -> None:
        self.url = url
        self.primary = primary


def _write_errorstats(port: int) -> None:
    target = os.environ.get("IDBRIDGE_TEST_REDIS_ERRORSTATS")
    if target:
        with SyncRedis(port=port, decode_responses=True) as client:
            stats = client.info("commandstats")
            refused = {
                k: v for k, v in stats.items() if v.get("failed_calls") or v.get("rejected_calls")
            }
            waits = stats.get("cmdstat_wait", {}).get("calls", 0)
            report = {"refused": refused, "wait_calls": waits, **client.info("errorstats")}
            Path(target).write_text(json.dumps(report))


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One real redis-server (or Sentinel set) for the whole session (non-durable)."""
    if TOPOLOGY == "sentinel":
        with SentinelSet(durable=False, down_after_ms=5000) as topology:
            yield _Topology(topology.url(), topology)  # type: ignore[misc]
            _write_errorstats(topology.primary_port() or topology.primary.port)
        return
    with RedisServer(durable=False) as server:
        yield server
        _write_errorstats(server.port)


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    """An async client on an empty database."""
    client = connect(redis_server.url)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()
