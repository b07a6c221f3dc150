"""The single chain moves into the transparency log without losing or reordering an
event, and still verifies (issue 15)."""

from __future__ import annotations

import json
from pathlib import Path

import redis.asyncio as aioredis

from consent.audit import AuditChain
from consent.audit_verify import iter_entries, verify_chain
from consent.migrate_log import migrate_chain
from consent.redis_store import RedisConsentStore
from consent.signing import JwksVerifier, KeySetSigner
from consent.translog import TransparencyLog
from consent.translog_verify import verify_log
from consent.tree_heads import TreeHeads, read_lines
from federation.crypto.keyset import KeySet
from federation.storage.keys import Keys
from tests.consent.conftest import run_cli
from tests.consent.factories import PII_KEY, grant


async def test_migration_keeps_every_event_in_order(
    redis: aioredis.Redis, redis_server, keyset: KeySet, tmp_path: Path
) -> None:
    verifier = JwksVerifier(keyset.public_jwks())
    old = AuditChain(redis, KeySetSigner(keyset), checkpoint_every=5)
    store = RedisConsentStore(redis, old, pii_key=PII_KEY)
    records = [grant(f"sub-{i}").record for i in range(10)]
    for record in records:
        await store.save(record)
    await store.revoke_by_id(records[3].id, by="subject", reason="changed my mind")
    chain = [(sid, dict(f)) async for sid, f in iter_entries(redis)]
    assert (await verify_chain(redis, verifier)).ok and len(chain) > 12

    log = TransparencyLog(redis, shards=4)
    heads = TreeHeads(log, KeySetSigner(keyset), tmp_path / "h.jsonl", every=1000)
    assert await migrate_chain(redis, log, verifier) == len(chain)
    await heads.sign()

    copied: dict[int, dict] = {}
    for shard in range(4):
        seqs = []
        for _, fields in await redis.xrange(Keys.audit_log(shard)):
            objects = json.loads(fields["objects"])
            seqs.append(int(objects["legacy_seq"]))
            copied[seqs[-1]] = {**fields, "objects": objects}
        assert seqs == sorted(seqs)  # order kept within each shard
    assert sorted(copied) == list(range(1, len(chain) + 1))  # nothing lost or duplicated
    for stream_id, fields in chain:
        leaf = copied[int(fields["seq"])]
        assert leaf["objects"]["legacy_hash"] == fields["hash"]
        assert leaf["objects"]["legacy_id"] == stream_id
        assert (leaf["actor"], leaf["action"]) == (fields["actor"], fields["action"])

    assert (await verify_chain(redis, verifier)).ok  # the old chain still verifies
    report = await verify_log(
        redis, read_lines(heads.path), verifier, shards=4, every=1000, seconds=3600
    )
    assert report.ok and report.entries == len(chain), report.problem
    # the records' histories still read through a chain that now writes to the log
    new = RedisConsentStore(redis, AuditChain(redis, log=log), pii_key=PII_KEY)
    history = [e["action"] for e in await new.events(records[3].id)]
    assert history == ["consent.granted", "consent.revoked"]
    assert await migrate_chain(redis, log, verifier) == 0  # resumable, never twice

    keys = keyset.save_pem(tmp_path / "keys")
    args = ["--redis-url", redis_server.url, "--shards", "4", "--heads", str(heads.path)]
    done = run_cli("audit", "migrate", *args, *(f"--key={k}" for k in keys))
    assert done.returncode == 0 and "copied 0 chain entries" in done.stdout, done.stderr
    done = run_cli("audit", "verify-log", *args, *(f"--key={k}" for k in keys))
    assert done.returncode == 0 and "transparency log OK" in done.stdout, done.stderr
    # `idbridge audit verify` checks the log too once it is configured, and names a cut
    env = {"IDBRIDGE_AUDIT_LOG_SHARDS": "4", "IDBRIDGE_AUDIT_HEADS_FILE": str(heads.path)}
    key_args = [f"--key={k}" for k in keys]
    done = run_cli("audit", "verify", "--redis-url", redis_server.url, *key_args, env=env)
    assert done.returncode == 0 and "transparency log OK" in done.stdout, done.stderr
    shard = report.shard_sizes.index(max(report.shard_sizes))
    last = (await redis.xrevrange(Keys.audit_log(shard), count=1))[0][0]
    await redis.xdel(Keys.audit_log(shard), last)
    done = run_cli("audit", "verify", "--redis-url", redis_server.url, *key_args, env=env)
    assert done.returncode == 1 and "transparency log BROKEN: tail cut" in done.stderr
    assert "audit chain OK" in done.stdout  # the old chain is untouched
