"""Issue 20's burst, on loopback against one real uvicorn worker (``create_app``) with its
own redis-server: 500 concurrent ``POST /token`` with wrong Basic credentials while a
bystander client introspects; then the same with Redis paused (SIGSTOP) for 2 s.

- the flood: only 401 and 429 (its client_id is over its limit of 150), never a 5xx —
  the blocking Redis pool queues the burst instead of refusing it, and 500 in flight is
  below the worker's admission cap;
- the bystander: every answer 200;
- Redis paused: clean 503 ``temporarily_unavailable`` with ``Retry-After`` (the token
  endpoint fails closed, a command times out after IDBRIDGE_REDIS_COMMAND_TIMEOUT), and
  after SIGCONT everything is served again, the flood's counter intact;
- no ERROR line in the worker's log during the flood.

Bounded: about 1,000 requests and 30 s."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from federation.storage.runtime import RedisServer, free_port
from tests.federation.journey.harness import RelyingParty, bridge_env, secret_of

REPO = Path(__file__).resolve().parents[2]
FLOOD = 500
LIMIT = 150


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[tuple[str, RedisServer, Path]]:
    redis = RedisServer().start()
    port = free_port()
    rp = RelyingParty(url="http://127.0.0.1:9")
    env = {**os.environ, **bridge_env(tmp_path, redis.url, port, "http://127.0.0.1:9", rp)}
    env |= {
        "IDBRIDGE_RATE_LIMIT_PER_CLIENT": str(LIMIT),
        "IDBRIDGE_RATE_LIMIT_WINDOW": "60",
        "IDBRIDGE_LOG_LEVEL": "INFO",
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        argv = [sys.executable, "-m", "uvicorn", "--factory", "federation.app:create_app"]
        argv += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
        proc = subprocess.Popen(
            [*argv, "--backlog", "2048"],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield url, redis, log
    finally:
        if redis.pid is not None:
            os.kill(redis.pid, signal.SIGCONT)
        proc.terminate()
        proc.wait(timeout=15)
        redis.stop()


def errors_in(log: Path, start: int) -> list[str]:
    lines = log.read_bytes()[start:].decode(errors="replace").splitlines()
    found = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            if "ERROR" in line or "Traceback" in line:
                found.append(line)
            continue
        if entry.get("level") in ("error", "critical"):
            found.append(line)
    return found


async def _window_edge() -> None:
    into = time.time() % 60
    if into > 35:
        await asyncio.sleep(60 - into + 0.05)


async def test_a_flood_gets_401_and_429_and_the_bystander_is_served(
    worker: tuple[str, RedisServer, Path],
) -> None:
    url, redis, log = worker
    await _window_edge()
    bad = {"Authorization": basic("rp-sm2", "wrong-secret")}
    good = {"Authorization": basic("rp-es256", secret_of("rp-es256"))}
    limits = httpx.Limits(max_connections=FLOOD + 10, max_keepalive_connections=FLOOD + 10)
    timeout = httpx.Timeout(30)
    start = log.stat().st_size
    async with (
        httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as flood,
        httpx.AsyncClient(base_url=url, timeout=timeout) as bystander,
    ):

        async def one_bad() -> int:
            form = {"grant_type": "authorization_code", "code": "x", "redirect_uri": "http://a/"}
            return (await flood.post("/token", data=form, headers=bad)).status_code

        seen: list[int] = []
        done = asyncio.Event()

        async def bystand() -> None:
            while not done.is_set() and len(seen) < 100:
                response = await bystander.post("/introspect", data={"token": "t"}, headers=good)
                seen.append(response.status_code)
                await asyncio.sleep(0.01)

        watcher = asyncio.create_task(bystand())
        statuses = Counter(await asyncio.gather(*(one_bad() for _ in range(FLOOD))))
        done.set()
        await watcher
        assert set(statuses) <= {401, 429}, statuses
        assert statuses[429] >= FLOOD - LIMIT - 10, statuses  # counted, not let through
        assert statuses[401] >= 1, statuses
        assert seen and set(seen) == {200}, Counter(seen)
        assert not errors_in(log, start)

        # Redis paused for 2 s: clean 503s, then everything served again
        assert redis.pid is not None
        os.kill(redis.pid, signal.SIGSTOP)
        paused_at = time.monotonic()
        try:
            during = await asyncio.gather(
                bystander.post("/introspect", data={"token": "t"}, headers=good),
                *(flood.post("/token", data={"grant_type": "x"}, headers=bad) for _ in range(20)),
            )
        finally:
            await asyncio.sleep(max(0.0, 2.0 - (time.monotonic() - paused_at)))
            os.kill(redis.pid, signal.SIGCONT)
        codes = Counter(r.status_code for r in during)
        assert set(codes) <= {503}, codes
        for response in during:
            assert response.json()["error"] == "temporarily_unavailable"
            assert response.headers.get("retry-after"), response.headers
        await asyncio.sleep(0.2)
        after = await bystander.post("/introspect", data={"token": "t"}, headers=good)
        assert after.status_code == 200, after.text
        again = await flood.post("/token", data={"grant_type": "x"}, headers=bad)
        assert again.status_code == 429, again.text  # the window's count survived the pause
        assert (await bystander.get("/readyz")).status_code == 200
