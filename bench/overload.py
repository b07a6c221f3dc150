"""Overload: where one worker saturates, and what a flood costs a bystander (issue 20).

Usage: .venv/bin/python bench/overload.py [--levels 64,256,512,1024,1536] [--seconds S]
       [--max-in-flight N]

Starts its own redis-server and one ``idbridge serve`` worker on loopback (clients from the
test harness), then:

1. unloaded: a bystander client (``rp-es256``) makes sequential valid ``POST /introspect``
   requests; their p99 is the baseline;
2. for each level C: C concurrent connections send ``POST /token`` with wrong Basic
   credentials (``rp-sm2``; its rate limit raised so that every one is authenticated and
   refused 401, the worker's real work) for S seconds, while the bystander keeps going.

Prints per level: flood requests/s, the flood's statuses, the bystander's p99 and its
ratio to the unloaded p99 measured in the same run, and the bystander's 503s. The
saturation point is the admission cap (IDBRIDGE_MAX_REQUESTS_IN_FLIGHT): below it no
request is refused; the level where 503s first appear is printed. The load generator
shares the machine's cores with the worker, so absolute figures are pessimistic; the
ratios are the point. Loopback only, bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from bench.loadgen import Client, cpu_seconds, percentile
from federation.storage.runtime import RedisServer, free_port
from tests.federation.journey.harness import RelyingParty, bridge_env, secret_of

REPO = Path(__file__).resolve().parents[1]


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


GOOD = {
    "Authorization": basic("rp-es256", secret_of("rp-es256")),
    "Content-Type": "application/x-www-form-urlencoded",
}
BAD = {
    "Authorization": basic("rp-sm2", "wrong-secret"),
    "Content-Type": "application/x-www-form-urlencoded",
}


async def bystander(url: str, until: float, latencies: list[float], statuses: Counter) -> None:
    client = Client()
    try:
        while time.monotonic() < until:
            started = time.perf_counter()
            response = await client.request(
                "POST", url + "/introspect", headers=GOOD, body=b"token=t"
            )
            latencies.append(time.perf_counter() - started)
            statuses[response.status] += 1
            await asyncio.sleep(0.005)
    finally:
        client.close()


async def flooder(url: str, until: float, statuses: Counter) -> None:
    client = Client()
    body = b"grant_type=authorization_code&code=x&redirect_uri=http%3A%2F%2Fa%2F"
    try:
        while time.monotonic() < until:
            try:
                response = await client.request("POST", url + "/token", headers=BAD, body=body)
                statuses[response.status] += 1
            except (ConnectionError, asyncio.IncompleteReadError, OSError):
                statuses["conn-error"] += 1
                await asyncio.sleep(0.05)
    finally:
        client.close()


async def run(url: str, levels: list[int], seconds: float, pid: int) -> None:
    base: list[float] = []
    base_status: Counter = Counter()
    await bystander(url, time.monotonic() + seconds, base, base_status)
    p99_0 = percentile(base, 99)
    print(
        f"unloaded: {len(base)} bystander requests, p99 {p99_0 * 1000:.1f} ms {dict(base_status)}"
    )
    print("level  flood req/s  flood statuses                       bystander p99  ratio  by-503")
    first_503 = None
    for level in levels:
        until = time.monotonic() + seconds
        flood: Counter = Counter()
        seen: list[float] = []
        seen_status: Counter = Counter()
        cpu0 = cpu_seconds(pid)
        started = time.monotonic()
        await asyncio.gather(
            bystander(url, until, seen, seen_status),
            *(flooder(url, until, flood) for _ in range(level)),
        )
        elapsed = time.monotonic() - started
        cpu = cpu_seconds(pid) - cpu0
        p99 = percentile(seen, 99)
        total = sum(v for k, v in flood.items() if isinstance(k, int))
        if first_503 is None and (flood[503] or seen_status[503]):
            first_503 = level
        print(
            f"{level:5}  {total / elapsed:11.0f}  {dict(flood)!s:35}  "
            f"{p99 * 1000:10.1f} ms  {p99 / p99_0:5.1f}  {seen_status[503]:6}"
            f"   (worker CPU {cpu / elapsed:.0%})"
        )
        await asyncio.sleep(1)
    print(
        f"first 503s at {first_503} concurrent connections" if first_503 else "no 503 at any level"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--levels", default="64,256,512,1024,1536")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--max-in-flight", type=int, default=1024)
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    redis = RedisServer().start()
    folder = Path(tempfile.mkdtemp(prefix="idbridge-overload-"))
    port = free_port()
    rp = RelyingParty(url="http://127.0.0.1:9")
    env = {**os.environ, **bridge_env(folder, redis.url, port, "http://127.0.0.1:9", rp)}
    env |= {
        "IDBRIDGE_RATE_LIMIT_PER_CLIENT": "100000000",
        "IDBRIDGE_MAX_REQUESTS_IN_FLIGHT": str(args.max_in_flight),
        "IDBRIDGE_LOG_LEVEL": "WARNING",
    }
    code = "from federation.cli import main; main()"
    argv = [sys.executable, "-c", code, "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the worker did not start")
            time.sleep(0.1)
        print(f"one worker, admission cap {args.max_in_flight}, {args.seconds:.0f} s per level")
        asyncio.run(run(url, levels, args.seconds, proc.pid))
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        redis.stop()


if __name__ == "__main__":
    main()
