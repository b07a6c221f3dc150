"""Crash tests through the real journey (issue 6 "Must show"; DESIGN §6): the bridge runs as
a real ``uvicorn --workers 2`` process behind one durable Redis (AOF, fsync always); people
sign in and consent concurrently while a worker — or Redis itself — is SIGKILLed at random
moments (uvicorn's supervisor starts a new worker; Redis is restarted on its data). Every
consent acknowledged to the browser (the done page was shown) is in Redis afterwards with
its audit event, and ``idbridge audit verify`` passes on the whole chain.

A journey whose request meets a dead worker or a dead Redis fails, as it would for a
person, who starts again: the browser here starts a new journey.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from connectors.iamsmart.simulator.app import create_app as create_simulator
from connectors.iamsmart.simulator.config import SimulatorSettings
from federation.storage.keys import Keys
from federation.storage.runtime import RedisServer, free_port
from tests.federation.journey.harness import (
    DESKTOP,
    RelyingParty,
    ServerThread,
    authorize_url,
    bridge_env,
    form_fields,
    rp_client,
    write_sim_clients,
)

REPO = Path(__file__).resolve().parents[2]
JOURNEYS = 48
MIN_KILLS = 6
BROWSERS = 6
DEADLINE_SECONDS = 55
PERSONAS = ("chan-tai-man", "cheung-kai-ming", "tsang-chi-chuen")


class Stack:
    """Durable Redis, the simulator (thread) and ``uvicorn --workers 2`` (process)."""

    def __init__(self, folder: Path) -> None:
        (folder / "redis").mkdir()
        self.redis = RedisServer(durable=True, data_dir=folder / "redis").start()
        self.port, sim_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.sim_url = f"http://127.0.0.1:{sim_port}"
        simulator = create_simulator(
            write_sim_clients(folder, [self.url + "/upstream/iamsmart/callback"]),
            settings=SimulatorSettings(conformance=True),  # the published API (issue 23)
            public_url=self.sim_url,
        )
        self.sim = ServerThread(simulator, sim_port, lifespan=True).__enter__()
        rp = RelyingParty(url="http://127.0.0.1:9")
        env = bridge_env(folder, self.redis.url, self.port, self.sim_url, rp)
        self.env = {**os.environ, **env}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "federation.app:create_app",
             "--host", "127.0.0.1", "--port", str(self.port), "--workers", "2",
             "--no-access-log", "--log-level", "critical"],
            env=self.env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.wait_ready()

    def wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while len(self.workers()) < 2 or not self._ready():
            assert time.monotonic() < deadline, "the bridge did not start"
            time.sleep(0.1)

    def _ready(self) -> bool:
        try:
            return httpx.get(self.url + "/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def workers(self) -> list[int]:
        """PIDs of uvicorn's worker processes (children running ``spawn_main``)."""
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        pids = [int(p) for p in path.read_text().split()] if path.exists() else []
        alive = []
        for pid in pids:
            try:
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    alive.append(pid)
            except OSError:
                continue
        return alive

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.sim.__exit__(None, None, None)
        self.redis.stop()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = Stack(tmp_path)
    try:
        yield running
    finally:
        running.close()


async def one_journey(stack: Stack, browser: httpx.AsyncClient, persona: str) -> str | None:
    """Authorize → iAM Smart → consent (``prompt=consent``: a new record every time) → the
    done page. Returns the consent id acknowledged to the browser, or ``None`` if a step
    failed (then nothing was acknowledged)."""

    class Issuer:
        url = stack.url

    client = rp_client(Issuer, "rp-sm2", scope="openid profile")  # type: ignore[arg-type]
    url, _, _, _ = await authorize_url(Issuer, client, prompt="consent")  # type: ignore[arg-type]

    async def go(target: str, data: dict | None = None) -> httpx.Response:
        response = await browser.request("POST" if data else "GET", target, data=data)
        while response.is_redirect:
            target = str(response.url.join(response.headers["location"]))
            if target.startswith("http://127.0.0.1:9/"):
                return response
            response = await browser.get(target)
        return response

    page = await go(url)
    login = re.search(r'action="(/sim/app/login/[^"]+)"', page.text)
    if login is not None:
        form = {"persona": persona, "action": "approve", "csrf": form_fields(page.text)["csrf"]}
        page = await go(stack.sim_url + login.group(1).replace("&amp;", "&"), form)
    while page.status_code == 200 and "/sim/app/requests/" in str(page.url):
        fields = re.findall(r'name="field" value="([A-Za-z]+)" checked', page.text)
        form = {"action": "approve", "field": fields, "csrf": form_fields(page.text)["csrf"]}
        page = await go(str(page.url), form)
        if "/sim/app/requests/" in str(page.url) and 'role="status"' in page.text:
            # conformance mode: approved "on the phone"; back to the waiting browser
            page = await go(stack.url + "/journey/continue")
    if page.status_code != 200 or "cross_boundary" not in page.text:
        return None
    data = {
        "csrf_token": form_fields(page.text)["csrf_token"],
        "decision": "agree",
        "cross_boundary": "yes",
        "release": re.findall(r'name="release" value="([^"]+)"', page.text),
    }
    done = await go(stack.url + "/journey/consent", data)
    if done.status_code != 200 or "/journey/finish" not in done.text:
        return None
    # acknowledged: the done page is shown. Find which record it was (bookkeeping only;
    # the journey record lives in Redis, so retry until a live worker answers).
    for _ in range(100):
        try:
            receipt = await browser.get(stack.url + "/journey/receipt")
            if receipt.status_code == 200:
                return str(receipt.json()["receipt"]["consentReceiptID"])
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("an acknowledged consent's receipt never came back")


async def kill_at_random(
    stack: Stack, target: str, stop: asyncio.Event, rng: random.Random, kills: list[int]
) -> None:
    """SIGKILL a worker (uvicorn starts another) or Redis (restarted on its AOF)."""
    while not stop.is_set():
        await asyncio.sleep(rng.uniform(0.2, 0.8))
        if stop.is_set():
            break
        if target == "worker":
            workers = stack.workers()
            if len(workers) < 2:
                continue  # let the supervisor bring the other one back first
            os.kill(rng.choice(workers), 9)
        else:
            stack.redis.kill()
            await asyncio.sleep(rng.uniform(0.0, 0.2))
            await asyncio.to_thread(stack.redis.start)
        kills[0] += 1


@pytest.mark.slow
@pytest.mark.timeout(150)
@pytest.mark.parametrize("target", ["worker", "redis"])
async def test_acknowledged_consents_survive_sigkill(stack: Stack, target: str) -> None:
    rng = random.Random(f"crash-{target}")
    acknowledged: list[str] = []
    attempts = [0]
    stop = asyncio.Event()
    started = time.monotonic()
    kills = [0]

    def more() -> bool:
        if time.monotonic() - started > DEADLINE_SECONDS:
            return False
        return len(acknowledged) < JOURNEYS or kills[0] < MIN_KILLS

    async def browser_loop(index: int) -> None:
        persona = PERSONAS[index % len(PERSONAS)]
        while more():
            attempts[0] += 1
            async with httpx.AsyncClient(headers={"User-Agent": DESKTOP}, timeout=10) as browser:
                try:
                    consent_id = await one_journey(stack, browser, persona)
                except (httpx.HTTPError, KeyError):
                    consent_id = None
            if consent_id:
                acknowledged.append(consent_id)

    killer = asyncio.create_task(kill_at_random(stack, target, stop, rng, kills))
    await asyncio.gather(*(browser_loop(i) for i in range(BROWSERS)))
    stop.set()
    await killer
    assert kills[0] >= MIN_KILLS, f"only {kills[0]} kills"
    assert len(acknowledged) >= JOURNEYS // 2, f"{len(acknowledged)} of {attempts[0]}"
    assert len(set(acknowledged)) == len(acknowledged)
    print(
        f"\n{target}: {kills[0]} SIGKILLs, {attempts[0]} journeys started, "
        f"{len(acknowledged)} consents acknowledged in {time.monotonic() - started:.1f} s"
    )
    await asyncio.to_thread(stack.wait_ready)
    redis = aioredis.from_url(stack.redis.url, decode_responses=True)
    try:
        created = {
            json.loads(fields["objects"]).get("consent_id")
            for _, fields in await redis.xrange(Keys.AUDIT_STREAM)
            if fields.get("action") in ("consent.granted", "consent.reconsented")
        }
        for consent_id in acknowledged:
            record = await redis.hgetall(Keys.consent(consent_id))
            assert record.get("id") == consent_id, f"acknowledged {consent_id} was lost"
            assert consent_id in created, f"{consent_id} has no creation event"
    finally:
        await redis.aclose()
    jwks = stack.env["IDBRIDGE_DATA_DIR"] + "/published-jwks.json"
    Path(jwks).write_text(json.dumps(httpx.get(stack.url + "/jwks/sm2").json()))
    verified = subprocess.run(
        [str(REPO / ".venv/bin/idbridge"), "audit", "verify", "--redis-url", stack.redis.url,
         "--jwks", jwks],
        capture_output=True, text=True, timeout=60, env=stack.env,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "audit chain OK" in verified.stdout
