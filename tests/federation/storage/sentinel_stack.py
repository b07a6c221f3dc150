"""A whole bridge on a Sentinel topology for the fault tests: a durable primary + 2
replicas + 3 sentinels (``federation.storage.topology.SentinelSet``), a separate
non-durable ephemeral Redis, the iAM Smart simulator with ``count`` generated personas
(so that every sign-in is a different person: first-time consents), and the bridge
(``create_app``) with ``IDBRIDGE_REDIS_WAIT_REPLICAS=1``, each on loopback."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from connectors.iamsmart.simulator.app import create_app as create_simulator
from connectors.iamsmart.simulator.config import DEFAULT_PERSONAS, SimulatorSettings
from federation.storage.runtime import RedisServer, free_port
from federation.storage.topology import SentinelSet
from tests.federation.journey.harness import (
    Bridge,
    RelyingParty,
    ServerThread,
    bridge_env,
    build_with_env,
    rp_app,
    write_sim_clients,
)


def write_personas(folder: Path, count: int) -> tuple[Path, list[str]]:
    """``count`` personas cloned from the first shipped one, ids ``load-000``…"""
    shipped = yaml.safe_load(DEFAULT_PERSONAS.read_text(encoding="utf-8"))
    template = shipped["personas"][0]
    ids = [f"load-{i:03d}" for i in range(count)]
    personas = [{**template, "id": pid, "label": pid} for pid in ids]
    path = folder / "personas.yaml"
    path.write_text(yaml.safe_dump({"personas": personas}, allow_unicode=True), encoding="utf-8")
    return path, ids


@dataclass
class SentinelStack:
    """What a fault test drives."""

    bridge: Bridge
    topology: SentinelSet
    ephemeral: RedisServer
    personas: list[str]


@contextlib.contextmanager
def sentinel_stack(folder: Path, count: int, **env: str) -> Iterator[SentinelStack]:
    """Start everything; ``env`` overrides bridge variables."""
    with (
        SentinelSet(durable=True, down_after_ms=1000) as topology,
        RedisServer(durable=False) as ephemeral,
    ):
        port, sim_port = free_port(), free_port()
        rp = RelyingParty()
        sim_url = f"http://127.0.0.1:{sim_port}"
        callback = f"http://127.0.0.1:{port}/upstream/iamsmart/callback"
        personas_file, ids = write_personas(folder, count)
        simulator = create_simulator(
            write_sim_clients(folder, [callback]),
            personas_file,
            settings=SimulatorSettings(),
            public_url=sim_url,
        )
        with ServerThread(rp_app(rp)) as rp_server:
            rp.url = rp_server.url
            values: dict[str, Any] = bridge_env(folder, topology.url(), port, sim_url, rp)
            values.update(
                {
                    "IDBRIDGE_REDIS_WAIT_REPLICAS": "1",
                    "IDBRIDGE_REDIS_WAIT_TIMEOUT_MS": "1000",
                    "IDBRIDGE_EPHEMERAL_REDIS_URL": ephemeral.url,
                    "IDBRIDGE_RATE_LIMIT_ENABLED": "false",
                    **env,
                }
            )
            app, settings = build_with_env(values)
            with (
                ServerThread(simulator, sim_port, lifespan=True),
                ServerThread(app, port, lifespan=True) as srv,
            ):
                jwks = httpx.get(f"{srv.url}/jwks").json()
                jwks["keys"] += httpx.get(f"{srv.url}/jwks/sm2").json()["keys"]
                bridge = Bridge(srv.url, sim_url, settings, rp, topology.url(), values, jwks)
                yield SentinelStack(bridge, topology, ephemeral, ids)
