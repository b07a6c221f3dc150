"""Redis client factory: one async connection pool per process."""

from __future__ import annotations

import redis.asyncio as aioredis


def connect(
    url: str, *, max_connections: int = 64, wait: float = 2.0, command_timeout: float | None = None
) -> aioredis.Redis:
    """An asyncio Redis client for ``url`` that returns ``str`` values.

    Redis, Sentinel and Cluster all work through their URL schemes in production
    (``redis://``, ``rediss://``, ``unix://``); tests and the demo use the embedded server.

    The pool blocks: when all ``max_connections`` are busy a command waits up to ``wait``
    seconds for one (then ``redis.exceptions.ConnectionError``, answered 503), instead of
    failing at once as the default pool does — a burst queues rather than turning into
    503s for everyone on the worker (docs/operations.md, Limits and overload).
    ``command_timeout``: seconds one command (and a connect) may take before it is a
    ``TimeoutError`` (a paused or partitioned Redis answers 503, it does not hang requests).
    """
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        decode_responses=True,
        max_connections=max_connections,
        timeout=wait,
        socket_timeout=command_timeout,
        socket_connect_timeout=command_timeout,
        health_check_interval=30,
        socket_keepalive=True,
    )
    return aioredis.Redis.from_pool(pool)
