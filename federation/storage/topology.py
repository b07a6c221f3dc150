"""Replicated Redis topologies on loopback, built from real ``redis-server`` processes
(:class:`federation.storage.runtime.RedisServer`): what the topology tests, the benchmark
and a local staging run use.

- :class:`SentinelSet` — a primary, N replicas and M ``redis-sentinel`` processes watching
  them (``redis+sentinel://`` URL);
- :class:`ClusterSet` — N primaries (each with optional replicas) joined into one Redis
  Cluster with ``redis-cli --cluster create`` (``redis+cluster://`` URL).

Every process binds 127.0.0.1 on a free port, lives in its own temp directory and dies
with its parent. Imports the standard library, ``redis`` and ``runtime`` only.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import redis

from federation.storage.runtime import (
    RedisRuntimeError,
    RedisServer,
    _die_with_parent,
    find_redis_server,
    free_port,
)

SERVICE = "idbridge"


def find_redis_sentinel() -> list[str]:
    """The argv prefix that starts a sentinel: Debian's ``redis-sentinel``, else
    ``redis-server --sentinel`` (the same binary in sentinel mode)."""
    found = shutil.which("redis-sentinel")
    return [found] if found else [str(find_redis_server()), "--sentinel"]


class SentinelProcess:
    """One ``redis-sentinel`` on loopback monitoring ``SERVICE``."""

    def __init__(self, primary_port: int, quorum: int, root: Path, down_after_ms: int) -> None:
        self.port = free_port()
        self.dir = root / f"sentinel-{self.port}"
        self.dir.mkdir(parents=True)
        self.conf = self.dir / "sentinel.conf"
        self.conf.write_text(
            "\n".join(
                [
                    f"port {self.port}",
                    "bind 127.0.0.1",
                    "daemonize no",
                    f"dir {self.dir}",
                    f"logfile {self.dir / 'sentinel.log'}",
                    f"sentinel monitor {SERVICE} 127.0.0.1 {primary_port} {quorum}",
                    f"sentinel down-after-milliseconds {SERVICE} {down_after_ms}",
                    f"sentinel failover-timeout {SERVICE} 6000",
                    f"sentinel parallel-syncs {SERVICE} 2",
                    "",
                ]
            )
        )
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Spawn the sentinel (readiness is checked by :class:`SentinelSet`)."""
        self._proc = subprocess.Popen(  # noqa: S603 - our own binary, fixed argv
            [*find_redis_sentinel(), str(self.conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )

    def stop(self) -> None:
        """Terminate the sentinel and wait for it."""
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)


class SentinelSet:
    """Primary + ``replicas`` replicas (durable: AOF ``appendfsync always``) + ``sentinels``
    sentinels with quorum ``sentinels // 2 + 1`` that call the primary down after
    ``down_after_ms`` without an answer. :meth:`kill_primary` SIGKILLs the primary
    and :meth:`wait_failover` returns the new primary's port."""

    def __init__(
        self,
        *,
        replicas: int = 2,
        sentinels: int = 3,
        durable: bool = True,
        down_after_ms: int = 1000,
    ) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="idbridge-sentinel-"))
        self.primary = RedisServer(durable=durable, data_dir=self.root / "primary")
        self.replicas = [
            RedisServer(
                durable=durable,
                data_dir=self.root / f"replica-{i}",
                extra_args=("--replicaof", "127.0.0.1", str(self.primary.port)),
            )
            for i in range(replicas)
        ]
        quorum = sentinels // 2 + 1
        self.sentinels = [
            SentinelProcess(self.primary.port, quorum, self.root, down_after_ms)
            for _ in range(sentinels)
        ]

    @property
    def servers(self) -> list[RedisServer]:
        """The data nodes, primary first (as started; roles change on failover)."""
        return [self.primary, *self.replicas]

    def url(self, db: int = 0) -> str:
        """``redis+sentinel://`` URL naming every sentinel."""
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}/{db}"

    def start(self, timeout: float = 30.0) -> SentinelSet:
        """Start every process; return when replicas are in sync and the sentinels have
        found each other and the replicas (a failover needs both)."""
        for server in self.servers:
            server.start()
        for sentinel in self.sentinels:
            sentinel.start()
        deadline = time.monotonic() + timeout
        want_others, want_replicas = len(self.sentinels) - 1, len(self.replicas)
        while time.monotonic() < deadline:
            if all(self._sentinel_ready(s, want_others, want_replicas) for s in self.sentinels):
                return self
            time.sleep(0.2)
        self.stop()
        raise RedisRuntimeError("the sentinels did not discover each other and the replicas")

    @staticmethod
    def _sentinel_ready(sentinel: SentinelProcess, others: int, replicas: int) -> bool:
        try:
            with redis.Redis(port=sentinel.port, socket_timeout=1, decode_responses=True) as c:
                info = c.sentinel_master(SERVICE)
                linked = [
                    r
                    for r in c.sentinel_slaves(SERVICE)
                    if not r.get("is_sdown") and r.get("master-link-status") == "ok"
                ]
        except (redis.RedisError, OSError, KeyError):
            return False
        return int(info.get("num-other-sentinels", 0)) >= others and len(linked) >= replicas

    def primary_port(self) -> int | None:
        """The port the sentinels currently name as primary."""
        for sentinel in self.sentinels:
            try:
                with redis.Redis(port=sentinel.port, socket_timeout=1) as c:
                    _, port = c.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
                    return int(port)
            except (redis.RedisError, OSError, TypeError, ValueError):
                continue
        return None

    def kill_primary(self) -> RedisServer:
        """SIGKILL the current primary (no shutdown, no final fsync); return it."""
        port = self.primary_port()
        victim = next(s for s in self.servers if s.port == port)
        victim.kill()
        return victim

    def wait_failover(self, old_port: int, timeout: float = 30.0) -> int:
        """Wait until the sentinels name a new primary that accepts writes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            port = self.primary_port()
            if port and port != old_port:
                try:
                    with redis.Redis(port=port, socket_timeout=1) as c:
                        if c.execute_command("ROLE")[0] in (b"master", "master"):
                            return port
                except (redis.RedisError, OSError):
                    pass
            time.sleep(0.2)
        raise RedisRuntimeError(f"no failover within {timeout}s")

    def stop(self) -> None:
        """Stop every process and remove the temp directory."""
        for sentinel in self.sentinels:
            sentinel.stop()
        for server in self.servers:
            server.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> SentinelSet:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


__all__ = ["SERVICE", "SentinelProcess", "SentinelSet", "find_redis_sentinel"]
