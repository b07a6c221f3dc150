"""The bridge on Redis Sentinel (issue 11): a primary, 2 replicas and 3 sentinels from
Debian's ``redis-server`` and ``redis-sentinel`` on loopback.

- the journey, token endpoint, self-service, operator API, consent-store conformance and
  OIDC store suites run unchanged on Sentinel with ``WAIT 1`` (a child pytest with
  ``IDBRIDGE_TEST_TOPOLOGY=sentinel``), and no command is refused by Redis;
- a write is never acknowledged while its replicas do not confirm it (``WAIT``): single
  commands, Lua scripts, pipelines and MULTI/EXEC alike;
- 200 first-time consents in flight while the primary is SIGKILLed: every consent
  acknowledged to its person is in the store after the failover, the audit chain
  verifies, and no request got a 500 (503s are counted).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from redis import Redis as SyncRedis

from consent.signing import JwksVerifier
from federation.storage.client import ReplicasUnavailable, connect
from federation.storage.keys import Keys
from federation.storage.topology import SentinelSet, find_redis_sentinel
from tests.consent.conftest import run_cli
from tests.federation.journey.harness import Person, authorize_url, consent, rp_client
from tests.federation.storage.sentinel_stack import sentinel_stack

ROOT = Path(__file__).resolve().parents[3]
SUITES = [
    "tests/flows/test_journey_login.py",
    "tests/flows/test_oidc_flows.py",
    "tests/flows/test_selfservice.py",
    "tests/consent/operator/test_api_roles.py",
    "tests/consent/test_redis_store.py",
    "tests/federation/oidc/test_store.py",
]
CONSENTS = 200
IN_FLIGHT = 40
"""Consents posted at once (below the bridge's Redis pool of 64 connections)."""
KILL_AFTER = 30


def test_redis_sentinel_is_installed() -> None:
    """``scripts/system-deps.sh test`` installs Debian's redis-sentinel."""
    assert find_redis_sentinel()[0].endswith("redis-sentinel")


def test_suites_run_unchanged_on_sentinel(tmp_path: Path) -> None:
    stats = tmp_path / "stats.json"
    env = {
        **os.environ,
        "IDBRIDGE_TEST_TOPOLOGY": "sentinel",
        "IDBRIDGE_REDIS_WAIT_REPLICAS": "1",
        "IDBRIDGE_TEST_REDIS_ERRORSTATS": str(stats),
    }
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *SUITES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert re.search(r"\d+ passed", run.stdout)
    report = json.loads(stats.read_text())
    refused = report["refused"]
    # the only refusals: a script's first EVALSHA (NOSCRIPT), which redis-py answers by loading
    noscript = report.get("errorstat_NOSCRIPT", {}).get("count", 0)
    assert set(refused) <= {"cmdstat_evalsha"}, refused
    assert refused.get("cmdstat_evalsha", {}).get("failed_calls", 0) == noscript
    assert refused.get("cmdstat_evalsha", {}).get("rejected_calls", 0) == 0
    assert "errorstat_CROSSSLOT" not in report and "errorstat_READONLY" not in report
    assert report["wait_calls"] > 100  # the durable writes were WAITed for


async def test_no_write_is_acknowledged_without_its_replica() -> None:
    with SentinelSet(replicas=1, sentinels=3, durable=False, down_after_ms=5000) as topology:
        client = connect(topology.url(), wait_replicas=1, wait_timeout_ms=1500)
        script = client.register_script("return redis.call('SET', KEYS[1], ARGV[1])")
        try:
            assert await client.set("k", "1")  # replica up: acknowledged
            replica = topology.replicas[0].pid
            assert replica is not None
            os.kill(replica, signal.SIGSTOP)
            try:
                with pytest.raises(ReplicasUnavailable):
                    await client.set("k", "2")
                with pytest.raises(ReplicasUnavailable):
                    await script(keys=["k"], args=["3"])
                for transaction in (True, False):
                    pipe = client.pipeline(transaction=transaction)
                    pipe.set("k", "4").incr("n")
                    with pytest.raises(ReplicasUnavailable):
                        await pipe.execute()
                assert await client.get("k") == "4"  # reads need no replica
            finally:
                os.kill(replica, signal.SIGCONT)
            assert await client.set("k", "5")
        finally:
            await client.aclose()


async def _to_consent_page(stack, persona: str) -> tuple[Person, httpx.Response]:
    """Set-up, before the fault: the person signs in up to the consent page (again if the
    loaded machine made the simulator time out: that is not what is tested)."""
    for _ in range(3):
        client = rp_client(stack.bridge, "rp-sm2")
        url, _, _, _ = await authorize_url(stack.bridge, client)
        person = Person(stack.bridge, persona)
        page = await person.sign_in(url)
        if page.status_code == 200 and str(page.url).endswith("/journey/consent"):
            return person, page
        await person.aclose()
    raise AssertionError(f"{persona} never reached the consent page: {page.status_code}")


async def _receipt_id(person: Person) -> str:
    """The consent id of an acknowledged consent, from its signed receipt (retried while
    the store fails over)."""
    deadline = time.monotonic() + 30
    while True:
        answer = await person.http.get(person.bridge.url + "/journey/receipt")
        if answer.status_code == 200:
            claims = JwksVerifier(person.bridge.jwks).verify_jws(answer.json()["jws"])
            return str(claims["consentReceiptID"])
        assert answer.status_code == 503 and time.monotonic() < deadline, answer.status_code
        await asyncio.sleep(0.5)


async def test_failover_loses_no_acknowledged_consent(tmp_path: Path) -> None:
    started = time.monotonic()
    with sentinel_stack(tmp_path, CONSENTS) as stack:
        ready: list[tuple[Person, httpx.Response]] = []
        for batch in range(0, CONSENTS, 10):
            ready += await asyncio.gather(
                *(_to_consent_page(stack, p) for p in stack.personas[batch : batch + 10])
            )
        old = stack.topology.primary_port()
        assert old is not None
        done = 0

        in_flight = asyncio.Semaphore(IN_FLIGHT)

        async def give(person: Person, page: httpx.Response) -> int:
            nonlocal done
            async with in_flight:
                try:
                    answer = await consent(person, page)
                except httpx.TransportError:
                    # A kept-alive connection the server closed as the client reused it
                    # (the failover stalls requests past uvicorn's keep-alive timeout):
                    # no answer, so nothing was acknowledged to this person.
                    return 0
            if answer.status_code == 200:
                done += 1
            return answer.status_code

        async def kill_when_under_way() -> None:
            while done < KILL_AFTER:
                await asyncio.sleep(0.005)
            stack.topology.kill_primary()

        killer = asyncio.create_task(kill_when_under_way())
        statuses = await asyncio.wait_for(
            asyncio.gather(*(give(person, page) for person, page in ready)), timeout=180
        )
        await killer
        new = stack.topology.wait_failover(old)
        counted = {code: statuses.count(code) for code in set(statuses)}
        assert set(counted) <= {0, 200, 503}, counted  # never a 500
        assert counted.get(0, 0) <= CONSENTS // 20, counted  # a lost connection is rare
        acknowledged = [
            person for (person, _), code in zip(ready, statuses, strict=True) if code == 200
        ]
        assert KILL_AFTER <= len(acknowledged) <= CONSENTS
        ids = [await _receipt_id(person) for person in acknowledged]
        with SyncRedis(port=new, decode_responses=True) as store:
            missing = [i for i in ids if store.hget(Keys.consent(i), "status") != "active"]
        assert missing == [], f"{len(missing)} acknowledged consents lost"
        jwks = tmp_path / "jwks.json"
        jwks.write_text(json.dumps(stack.bridge.jwks))
        verify = run_cli(
            "audit", "verify", "--redis-url", stack.bridge.redis_url, "--jwks", str(jwks)
        )
        assert verify.returncode == 0, verify.stderr
        for person, _ in ready:
            await person.aclose()
        print(
            f"\nfailover: {counted.get(200, 0)} acknowledged, {counted.get(503, 0)} refused (503),"
            f" {counted.get(0, 0)} connections lost"
        )
    assert time.monotonic() - started < 600
