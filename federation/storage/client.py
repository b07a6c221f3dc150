"""Redis client factory: one async connection pool per process."""

from __future__ import annotations

import redis.asyncio as aioredis


def connect(url: str, *, max_connections: int = 64) -> aioredis.Redis:
    """An asyncio Redis client for ``url`` that returns ``str`` values.

    Redis, Sentinel and Cluster all work through their URL schemes in production
    (``redis://``, ``rediss://``, ``unix://``); tests and the demo use the embedded server.
    """
    return aioredis.Redis.from_url(
        url,
        decode_responses=True,
        max_connections=max_connections,
        health_check_interval=30,
        socket_keepalive=True,
    )
