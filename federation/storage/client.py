"""Redis client factory: one async client (one connection pool) per process and topology.

The topology is chosen by the URL's scheme (DESIGN §6):

- ``redis://``, ``rediss://`` (TLS), ``unix://`` — one Redis server;
- ``redis+sentinel://[user:password@]host:port,host:port,…/service[/db]`` — Redis Sentinel
  (``rediss+sentinel://``: TLS to the sentinels and to Redis); the sentinels' own password is
  ``sentinel_password`` (``IDBRIDGE_REDIS_SENTINEL_PASSWORD``), Redis's the URL's;
- ``redis+cluster://[user:password@]host:port,host:port,…`` — Redis Cluster
  (``redis.asyncio.cluster.RedisCluster``; ``rediss+cluster://`` for TLS).

``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile`` and ``ssl_cert_reqs`` may be given as
URL query parameters for the TLS schemes.

**Acknowledged means replicated.** With ``wait_replicas`` > 0 every write command, Lua
script and pipeline is followed, on the same connection, by ``WAIT wait_replicas
wait_timeout_ms`` (the Redis manual, *WAIT*: it counts the replicas that acknowledged the
writes *of that connection*, so it must be the connection that wrote). Fewer replicas in
time raise :class:`ReplicasUnavailable` (a :class:`redis.exceptions.RedisError`, so the app
answers 503 ``temporarily_unavailable``): the caller never reports success for a write that
a failover could lose. The ephemeral client (journeys, counters, caches) is built with
``wait_replicas=0``.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.sentinel import Sentinel
from redis.exceptions import RedisError

from federation import metrics
from federation.settings import Settings

SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")

_READ_ONLY_NAMES = """PING ECHO GET MGET STRLEN GETRANGE EXISTS TTL PTTL TYPE SCAN KEYS
    DBSIZE TIME INFO ROLE HGET HMGET HGETALL HEXISTS HLEN HKEYS HVALS HSCAN HSTRLEN
    ZRANGE ZRANGEBYSCORE ZREVRANGE ZREVRANGEBYSCORE ZRANGEBYLEX ZSCORE ZMSCORE ZCARD ZCOUNT
    ZRANK ZREVRANK ZSCAN LRANGE LLEN LINDEX SMEMBERS SISMEMBER SMISMEMBER SCARD SSCAN
    XRANGE XREVRANGE XLEN XINFO EVALSHA_RO EVAL_RO FCALL_RO WAIT WAITAOF MULTI EXEC DISCARD
    WATCH UNWATCH SELECT AUTH HELLO CLIENT CONFIG SCRIPT COMMAND MEMORY OBJECT SENTINEL
    CLUSTER READONLY READWRITE ASKING QUIT RESET"""
_READ_ONLY = frozenset(_READ_ONLY_NAMES.split())
"""Commands after which no WAIT is needed; anything else (unknown included) is a write."""


class ReplicasUnavailable(RedisError):
    """Fewer replicas than configured acknowledged a write in time: not acknowledged."""


def is_write(command_name: object) -> bool:
    """Whether ``command_name`` (``"SET"``, ``"SCRIPT LOAD"``, …) may change data."""
    name = str(command_name).split(" ", 1)[0].upper()
    return name not in _READ_ONLY


async def _wait_on(conn: Any, replicas: int, timeout_ms: int) -> None:
    """``WAIT`` on the connection that wrote; raise unless ``replicas`` acknowledged."""
    await conn.send_command("WAIT", replicas, timeout_ms)
    acked = int(await conn.read_response())
    if acked < replicas:
        raise ReplicasUnavailable(f"only {acked} of {replicas} replicas acknowledged in time")


@contextmanager
def _measured(store: str, command: str) -> Iterator[None]:
    """``idbridge_redis_command_seconds`` / ``idbridge_redis_errors`` for one round trip."""
    start = time.perf_counter()
    try:
        yield
    except Exception as exc:
        metrics.REDIS_ERRORS.labels(store, type(exc).__name__).inc()
        raise
    finally:
        metrics.REDIS_COMMAND.labels(store, command).observe(time.perf_counter() - start)


class DurablePipeline(Pipeline):
    """A pipeline (or MULTI/EXEC) followed by WAIT on its connection when it wrote."""

    wait_replicas: int = 0
    wait_timeout_ms: int = 500
    store: str = "durable"

    async def _execute_transaction(  # type: ignore[override]
        self, connection: Any, commands: Any, raise_on_error: Any
    ) -> Any:
        with _measured(self.store, "MULTI"):
            result = await super()._execute_transaction(connection, commands, raise_on_error)
            await self._wait_if_wrote(connection, commands)
        return result

    async def _execute_pipeline(  # type: ignore[override]
        self, connection: Any, commands: Any, raise_on_error: bool
    ) -> Any:
        with _measured(self.store, "PIPELINE"):
            result = await super()._execute_pipeline(connection, commands, raise_on_error)
            await self._wait_if_wrote(connection, commands)
        return result

    async def _wait_if_wrote(self, connection: Any, commands: Any) -> None:
        if self.wait_replicas > 0 and any(is_write(args[0]) for args, _ in commands):
            await _wait_on(connection, self.wait_replicas, self.wait_timeout_ms)


class DurableRedis(aioredis.Redis):
    """:class:`redis.asyncio.Redis` whose writes are acknowledged only after ``WAIT``."""

    wait_replicas: int = 0
    wait_timeout_ms: int = 500
    store: str = "durable"
    """The ``store`` label of its metrics (``durable`` or ``ephemeral``)."""

    async def _send_command_parse_response(
        self, conn: Any, command_name: Any, *args: Any, **options: Any
    ) -> Any:
        name = str(command_name).split(" ", 1)[0].upper()
        with _measured(self.store, name):
            result = await super()._send_command_parse_response(
                conn, command_name, *args, **options
            )
            if self.wait_replicas > 0 and is_write(command_name):
                await _wait_on(conn, self.wait_replicas, self.wait_timeout_ms)
        return result

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        pipe = DurablePipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )
        pipe.wait_replicas = self.wait_replicas
        pipe.wait_timeout_ms = self.wait_timeout_ms
        pipe.store = self.store
        return pipe


def _client_kwargs(max_connections: int, command_timeout: float | None) -> dict[str, Any]:
    """Connection options every topology shares (redis-py's own retry policy is kept).

    ``command_timeout``: seconds one command (and a connect) may take before it is a
    ``TimeoutError`` (a paused or partitioned Redis answers 503, it does not hang requests).
    """
    return {
        "decode_responses": True,
        "max_connections": max_connections,
        "health_check_interval": 30,
        "socket_keepalive": True,
        "socket_timeout": command_timeout,
        "socket_connect_timeout": command_timeout,
    }


def _tls_kwargs(query: dict[str, list[str]]) -> dict[str, Any]:
    out: dict[str, Any] = {"ssl": True}
    for name in ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile"):
        if name in query:
            out[name] = query[name][-1]
    reqs = query.get("ssl_cert_reqs", ["required"])[-1]
    out["ssl_cert_reqs"] = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL}.get(
        reqs, ssl.CERT_REQUIRED
    )
    return out


def _hosts(netloc: str) -> list[tuple[str, int]]:
    hosts = []
    for item in netloc.rsplit("@", 1)[-1].split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"Redis address {item!r} is not host:port")
        hosts.append((host.strip("[]"), int(port)))
    return hosts


def _credentials(netloc: str) -> dict[str, Any]:
    if "@" not in netloc:
        return {}
    userinfo = netloc.rsplit("@", 1)[0]
    user, _, password = userinfo.partition(":")
    out: dict[str, Any] = {}
    if user:
        out["username"] = unquote(user)
    if password:
        out["password"] = unquote(password)
    return out


def _sentinel(
    url: str, kwargs: dict[str, Any], sentinel_password: str | None, wait: tuple[int, int]
) -> DurableRedis:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    path = [p for p in parts.path.split("/") if p]
    if not path:
        raise ValueError("a redis+sentinel:// URL names the service: …/service[/db]")
    service, db = path[0], int(path[1]) if len(path) > 1 else 0
    tls = _tls_kwargs(query) if parts.scheme.startswith("rediss") else {}
    sentinel_kwargs: dict[str, Any] = {
        "socket_timeout": 1.0,
        "socket_connect_timeout": 1.0,
        **tls,
        **({"password": sentinel_password} if sentinel_password else {}),
    }
    manager = Sentinel(
        _hosts(parts.netloc),
        sentinel_kwargs=sentinel_kwargs,
        db=db,
        **_credentials(parts.netloc),
        **tls,
        **kwargs,
    )
    client = manager.master_for(service, redis_class=DurableRedis)
    client.wait_replicas, client.wait_timeout_ms = wait
    return client


def _cluster(url: str, kwargs: dict[str, Any]) -> RedisCluster:
    parts = urlsplit(url)
    tls = _tls_kwargs(parse_qs(parts.query)) if parts.scheme.startswith("rediss") else {}
    options = {k: v for k, v in kwargs.items() if k != "max_connections"}
    return RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in _hosts(parts.netloc)],
        max_connections=kwargs["max_connections"],
        **_credentials(parts.netloc),
        **tls,
        **options,
    )


def connect(
    url: str,
    *,
    max_connections: int = 64,
    wait: float = 2.0,
    command_timeout: float | None = None,
    wait_replicas: int = 0,
    wait_timeout_ms: int = 500,
    sentinel_password: str | None = None,
) -> Any:
    """An asyncio Redis client for ``url`` (any topology above) that returns ``str``.

    On a single Redis the pool blocks: when all ``max_connections`` are busy a command
    waits up to ``wait`` seconds for one (then ``redis.exceptions.ConnectionError``,
    answered 503), instead of failing at once as the default pool does — a burst queues
    rather than turning into 503s for everyone on the worker (docs/operations.md, Limits
    and overload). ``command_timeout``: see :func:`_client_kwargs`.
    ``wait_replicas``/``wait_timeout_ms``: see the module docstring (not on Cluster, whose
    replicas are asynchronous per shard: the Cluster client does not ``WAIT``).
    """
    kwargs = _client_kwargs(max_connections, command_timeout)
    scheme = urlsplit(url).scheme
    if scheme in SENTINEL_SCHEMES:
        return _sentinel(url, kwargs, sentinel_password, (wait_replicas, wait_timeout_ms))
    if scheme in CLUSTER_SCHEMES:
        return _cluster(url, kwargs)
    pool = aioredis.BlockingConnectionPool.from_url(url, timeout=wait, **kwargs)
    client = DurableRedis.from_pool(pool)
    client.wait_replicas, client.wait_timeout_ms = wait_replicas, wait_timeout_ms
    return client


def topology_of(url: str) -> str:
    """``single``, ``sentinel`` or ``cluster`` for a Redis URL."""
    scheme = urlsplit(url).scheme
    if scheme in SENTINEL_SCHEMES:
        return "sentinel"
    if scheme in CLUSTER_SCHEMES:
        return "cluster"
    return "single"


def durable_client(settings: Settings) -> Any:
    """The durable Redis of ``settings`` (``IDBRIDGE_REDIS_URL``), with its WAIT policy."""
    if not settings.redis_url:
        raise RuntimeError("IDBRIDGE_REDIS_URL is not set (or use --embedded-redis)")
    password = settings.redis_sentinel_password
    return connect(
        settings.redis_url,
        **_pool_options(settings),
        wait_replicas=settings.redis_wait_replicas,
        wait_timeout_ms=settings.redis_wait_timeout_ms,
        sentinel_password=password.get_secret_value() if password else None,
    )


def _pool_options(settings: Settings) -> dict[str, Any]:
    """Pool size, bounded wait and command timeout of ``settings`` (Limits and overload)."""
    return {
        "max_connections": settings.pool_size(),
        "wait": settings.redis_pool_timeout,
        "command_timeout": settings.redis_command_timeout,
    }


def ephemeral_client(settings: Settings, durable: Any) -> Any:
    """The Redis for journeys, counters and caches: ``IDBRIDGE_EPHEMERAL_REDIS_URL``, else
    the durable Redis — the same client when it does not WAIT, else a second one that
    does not (those keys need no replica's acknowledgement)."""
    password = settings.redis_sentinel_password
    secret = password.get_secret_value() if password else None
    if settings.ephemeral_redis_url:
        client = connect(
            settings.ephemeral_redis_url, **_pool_options(settings), sentinel_password=secret
        )
    elif settings.redis_wait_replicas == 0 or settings.redis_url is None:
        return durable
    else:
        client = connect(settings.redis_url, **_pool_options(settings), sentinel_password=secret)
    if isinstance(client, DurableRedis):
        client.store = "ephemeral"
    return client
