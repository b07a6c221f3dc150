"""A rolling restart loses no login (issue 11): two ``idbridge serve`` processes behind a
small TCP load balancer share one Redis; while logins run without pause, each process in
turn gets SIGTERM (it drains: the listener closes, in-flight requests finish), exits 0 and
is started again. Every login that was started completes with an ID token.

The balancer does what haproxy does in deploy/compose.yaml and a Service in
deploy/k8s: round-robin per connection, a refused connection tried on the other backend,
and a process leaves the rotation just before its SIGTERM (the preStop pause: a
connection the kernel queued for a closing listener would be reset unanswered). The
people's browsers open one connection per request, as behind a real proxy a closed
keep-alive is retried by it."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from connectors.iamsmart.simulator.app import create_app as create_simulator
from connectors.iamsmart.simulator.config import SimulatorSettings
from federation.settings import Settings
from federation.storage.runtime import RedisServer, free_port
from tests.federation.journey.harness import (
    DESKTOP,
    Bridge,
    Person,
    RelyingParty,
    ServerThread,
    authorize_url,
    bridge_env,
    consent,
    exchange,
    finish,
    rp_app,
    rp_client,
    rp_response,
    write_sim_clients,
)

IDBRIDGE = Path(sys.executable).parent / "idbridge"
PERSONAS = ("chan-tai-man", "wong-siu-ming", "chow-mei-ling", "cheung-kai-ming")
CLIENTS = ("rp-sm2", "rp-es256")
LOAD = len(PERSONAS)
"""Logins running at once, each starting the next as soon as it ends: one person each (a
person's new consent supersedes one a concurrent login of theirs is about to use)."""


class Balancer:
    """Round-robin TCP proxy on loopback; a refused backend is skipped."""

    def __init__(self, port: int, backends: list[int]) -> None:
        self.port, self.backends = port, backends
        self.out: set[int] = set()
        """Backends taken out of rotation (a pod whose readiness failed in its preStop)."""
        self._next = itertools.cycle(range(len(backends)))
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Balancer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first = next(self._next)
        upstream = None
        for i in range(len(self.backends)):
            port = self.backends[(first + i) % len(self.backends)]
            if port in self.out:
                continue
            with contextlib.suppress(OSError):
                upstream = await asyncio.open_connection("127.0.0.1", port)
                break
        if upstream is None:
            writer.close()
            return
        up_reader, up_writer = upstream

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(OSError):
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


class BridgeProcess:
    """``idbridge serve`` in a child process."""

    def __init__(self, port: int, env: dict[str, str]) -> None:
        self.port, self.env = port, env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = [str(IDBRIDGE), "serve", "--port", str(self.port), "--workers", "1"]
        self.proc = subprocess.Popen(argv, env=self.env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "bridge exited at start"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise AssertionError("bridge not ready")

    def terminate(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


@pytest.fixture
async def two_bridges(
    redis_server: RedisServer, tmp_path: Path
) -> AsyncIterator[tuple[Bridge, list[BridgeProcess], Balancer]]:
    lb, port_a, port_b, sim_port = free_port(), free_port(), free_port(), free_port()
    rp = RelyingParty()
    sim_url = f"http://127.0.0.1:{sim_port}"
    callback = f"http://127.0.0.1:{lb}/upstream/iamsmart/callback"
    simulator = create_simulator(
        write_sim_clients(tmp_path, [callback]), settings=SimulatorSettings(), public_url=sim_url
    )
    with ServerThread(rp_app(rp)) as rp_server, ServerThread(simulator, sim_port, lifespan=True):
        rp.url = rp_server.url
        env = {**os.environ, **bridge_env(tmp_path, redis_server.url, lb, sim_url, rp)}
        env.update({"IDBRIDGE_RATE_LIMIT_ENABLED": "false", "IDBRIDGE_SHUTDOWN_GRACE": "20"})
        processes = [BridgeProcess(port_a, env), BridgeProcess(port_b, env)]
        for process in processes:  # one after the other: the first generates the keys
            process.start()
        settings = Settings(redis_url=redis_server.url, issuer=f"http://127.0.0.1:{lb}")
        async with Balancer(lb, [port_a, port_b]) as balancer:
            async with httpx.AsyncClient() as http:  # the balancer runs on this loop
                jwks = (await http.get(f"http://127.0.0.1:{lb}/jwks")).json()
                sm2 = (await http.get(f"http://127.0.0.1:{lb}/jwks/sm2")).json()
                jwks["keys"] += sm2["keys"]
            bridge = Bridge(f"http://127.0.0.1:{lb}", sim_url, settings, rp, "", env, jwks)
            try:
                yield bridge, processes, balancer
            finally:
                for process in processes:
                    with contextlib.suppress(Exception):
                        process.terminate()


async def _login(bridge: Bridge, user: int, number: int) -> str:
    client = rp_client(bridge, CLIENTS[number % 2])
    url, _, _, verifier = await authorize_url(bridge, client)
    person = Person(bridge, PERSONAS[user])
    await person.http.aclose()  # one connection per request, like a browser behind a proxy
    person.http = httpx.AsyncClient(
        headers={"User-Agent": DESKTOP},
        timeout=30,
        limits=httpx.Limits(max_keepalive_connections=0),
    )
    try:
        page = await person.sign_in(url)
        if page.is_redirect:  # a remembered consent
            answer = rp_response(page)
        else:
            answer = await finish(person, await consent(person, page))
    finally:
        await person.aclose()
    tokens = await exchange(bridge, client, answer, verifier)
    return str(tokens["id_token"])


async def test_a_rolling_restart_loses_no_login(
    two_bridges: tuple[Bridge, list[BridgeProcess], Balancer],
) -> None:
    bridge, processes, balancer = two_bridges
    done: list[str] = []
    failed: list[str] = []
    stop = asyncio.Event()
    counter = itertools.count()

    async def user(index: int) -> None:
        while not stop.is_set():
            try:
                done.append(await _login(bridge, index, next(counter)))
            except Exception as exc:  # every failure is reported, none hidden
                failed.append(f"{type(exc).__name__}: {exc}"[:300])

    users = [asyncio.create_task(user(i)) for i in range(LOAD)]
    started = time.monotonic()
    await asyncio.sleep(2)
    exits = []
    for process in processes:
        before = len(done)
        balancer.out.add(process.port)  # the preStop pause: no new connections
        await asyncio.sleep(0.5)  # connections already handed to it are now in flight
        exits.append(await asyncio.to_thread(process.terminate))
        await asyncio.to_thread(process.start)
        balancer.out.discard(process.port)
        await asyncio.sleep(1)
        assert len(done) > before, "no login completed around this restart"
    stop.set()
    await asyncio.wait_for(asyncio.gather(*users), timeout=120)
    assert failed == []
    # uvicorn drains, then re-raises the SIGTERM it caught: -15, within the grace period
    assert exits == [-signal.SIGTERM, -signal.SIGTERM]
    assert len(done) >= 8 and all(token.count(".") == 2 for token in done)
    assert time.monotonic() - started < 240
