"""The Redis topologies ``bench/login.py --topology`` runs the bridge on, started on
loopback from real ``redis-server``/``redis-sentinel`` processes
(``federation.storage.topology``):

- ``single`` — the demo stack's own durable Redis (AOF, ``appendfsync always``);
- ``sentinel`` — a durable primary + 2 replicas + 3 sentinels, durable writes acknowledged
  after ``WAIT 1`` (``IDBRIDGE_REDIS_WAIT_REPLICAS=1``);
- ``cluster`` — not runnable yet: the keys carry no hash tags (docs/operations.md,
  "Redis Cluster"), so it is reported as skipped rather than measured.

``--ephemeral-redis`` adds, for each topology, a run with a second, non-durable Redis for
journeys, counters and caches (``IDBRIDGE_EPHEMERAL_REDIS_URL``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from federation.storage.runtime import RedisServer
from federation.storage.topology import SentinelSet


class TopologyUnavailable(RuntimeError):
    """This topology cannot run the bridge yet."""


@dataclass
class Topology:
    """What a run needs: the bridge's extra environment, the durable URL (``None``: the
    demo stack's own Redis) and the Redis pids whose CPU is counted."""

    name: str
    env: dict[str, str] = field(default_factory=dict)
    url: str | None = None
    pids: list[int] = field(default_factory=list)


@contextlib.contextmanager
def topology(name: str, ephemeral: bool) -> Iterator[Topology]:
    """Start ``name`` (and the ephemeral Redis when asked); stop them afterwards."""
    with contextlib.ExitStack() as stack:
        result = Topology(name)
        if name == "sentinel":
            replicated = stack.enter_context(SentinelSet(durable=True, down_after_ms=5000))
            result.url = replicated.url()
            result.env = {"IDBRIDGE_REDIS_URL": result.url, "IDBRIDGE_REDIS_WAIT_REPLICAS": "1"}
            result.pids = [s.pid for s in replicated.servers if s.pid]
        elif name == "cluster":
            raise TopologyUnavailable("Redis Cluster needs hash-tagged keys (not done yet)")
        elif name != "single":
            raise ValueError(f"unknown topology {name!r}")
        if ephemeral:
            server = stack.enter_context(RedisServer(durable=False))
            result.env["IDBRIDGE_EPHEMERAL_REDIS_URL"] = server.url
            result.pids.append(server.pid or 0)
        yield result
