"""Crash test (DESIGN §6): consents granted while the durable Redis is SIGKILLed and
restarted at random moments. Every save that returned is there afterwards, with its
audit event, and the chain (with its signed checkpoints) verifies. Also: deploy/redis.conf
and the embedded launcher's durable mode persist the same way."""

from __future__ import annotations

import asyncio
import random
import subprocess
import time
from pathlib import Path

import pytest
import redis
from redis.exceptions import RedisError

from consent.audit import AuditChain
from consent.audit_verify import verify_chain
from consent.redis_store import RedisConsentStore
from consent.signing import JwksVerifier, KeySetSigner
from federation.crypto.keyset import KeySet
from federation.storage.client import connect
from federation.storage.runtime import RedisServer, free_port
from tests.consent.factories import PII_KEY, grant

CONSENTS = 200
REPO = Path(__file__).resolve().parents[2]


async def _save_until_acknowledged(store: RedisConsentStore, record, sealed) -> int:
    """Retry a save (idempotent by id) until Redis acknowledges it; return failures seen."""
    failures = 0
    while True:
        try:
            await store.save(record, sealed)
            return failures
        except (RedisError, OSError):
            failures += 1
            await asyncio.sleep(0.02)


async def _killer(server: RedisServer, done: list, kill_at: list[int], rng: random.Random) -> int:
    """SIGKILL Redis when the count of acknowledged saves passes each of ``kill_at`` (plus
    a random few ms, so the kill lands amid in-flight writes), then restart it."""
    kills = 0
    for threshold in kill_at:
        while len(done) < threshold:
            await asyncio.sleep(0.001)
        await asyncio.sleep(rng.uniform(0.0, 0.004))
        server.kill()
        kills += 1
        await asyncio.sleep(rng.uniform(0.0, 0.03))
        await asyncio.to_thread(server.start)
    return kills


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_acknowledged_consents_survive_sigkill_of_redis(tmp_path: Path) -> None:
    rng = random.Random(20240601)
    keyset = KeySet.generate(["SM2SM3"])
    (tmp_path / "redis").mkdir()
    server = RedisServer(durable=True, data_dir=tmp_path / "redis").start()
    client = connect(server.url)
    try:
        chain = AuditChain(client, KeySetSigner(keyset), checkpoint_every=10)
        store = RedisConsentStore(client, chain, pii_key=PII_KEY)
        kill_at = sorted(rng.sample(range(5, CONSENTS - 5), 12))
        acknowledged: list = []
        failures: list[int] = []

        async def worker(first: int) -> None:
            for i in range(first, CONSENTS, 4):
                captured = grant(f"sub-{i % 50:03d}", f"client-{i % 7}")
                sealed = {"hrp_number": f"H{i:08d}"} if i % 5 == 0 else None
                failures.append(await _save_until_acknowledged(store, captured.record, sealed))
                acknowledged.append((captured.record, sealed))

        started = time.monotonic()
        killer = asyncio.create_task(_killer(server, acknowledged, kill_at, rng))
        await asyncio.gather(*(worker(n) for n in range(4)))
        kills = await killer
        elapsed = time.monotonic() - started

        # one more crash after the last acknowledgement, then read everything back
        server.kill()
        server.start()
        await client.aclose()
        client = connect(server.url)
        store = RedisConsentStore(client, AuditChain(client), pii_key=PII_KEY)
        lifecycle_fields = {"status", "revoked_at", "revoked_by", "revoke_reason"}
        for record, sealed in acknowledged:
            stored = await store.get(record.id)  # raises ConsentNotFound if lost
            assert stored.model_dump(exclude=lifecycle_fields) == record.model_dump(
                exclude=lifecycle_fields
            )
            created = [
                e
                for e in await store.events(record.id)
                if e["action"] in ("consent.granted", "consent.reconsented")
                and e["objects"]["consent_id"] == record.id
            ]
            assert len(created) == 1, created
            if sealed:
                assert await store.get_sealed_values(record.id) == sealed
        report = await verify_chain(client, JwksVerifier(keyset.public_jwks()))
        assert report.ok, report.problem
        assert report.checkpoints >= CONSENTS // 10
        assert kills == 12
        assert sum(failures) > 0, "no save was ever interrupted: the test proved nothing"
        print(
            f"\n{CONSENTS} consents, {kills} SIGKILLs, {sum(failures)} failed saves, {elapsed:.1f}s"
        )
    finally:
        await client.aclose()
        server.stop()


def test_shipped_config_and_launcher_persist_alike(tmp_path: Path) -> None:
    """Start redis-server with deploy/redis.conf (only port and dir overridden) and compare
    its persistence settings with the launcher's durable mode."""
    conf = tmp_path / "redis.conf"
    shipped_text = (REPO / "deploy" / "redis.conf").read_text()
    conf.write_text(shipped_text.replace("dir /var/lib/idbridge-redis", f"dir {tmp_path}"))
    keys = ["appendonly", "appendfsync", "no-appendfsync-on-rewrite", "aof-load-truncated",
            "save", "maxmemory-policy"]  # fmt: skip
    launcher = RedisServer(durable=True)
    data = tmp_path / "shipped"
    data.mkdir()
    port = free_port()
    proc = subprocess.Popen(
        [str(launcher.binary), str(conf), "--port", str(port), "--dir", str(data)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        with launcher:
            shipped = _config(port, keys)
            embedded = _config(launcher.port, keys)
        assert shipped["appendonly"] == "yes" and shipped["appendfsync"] == "always"
        assert shipped["maxmemory-policy"] == "noeviction"
        assert shipped == embedded
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _config(port: int, keys: list[str]) -> dict[str, str]:
    deadline = time.monotonic() + 10
    while True:
        try:
            client = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
            out = {k: client.config_get(k)[k] for k in keys}
            client.close()
            return out
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
