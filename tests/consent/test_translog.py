"""The consent transparency log on a real Redis: every tampering is named against the
external tree heads (issue 15)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from consent.audit import AuditChain, Event
from consent.merkle import frontier_append, frontier_root
from consent.signing import JwksVerifier, KeySetSigner
from consent.translog import TransparencyLog, entry_leaf_hash, parse_log_entry
from consent.translog_verify import LogReport, verify_log
from consent.tree_heads import TreeHeads, read_lines
from federation.crypto.keyset import KeySet
from federation.storage.client import connect
from federation.storage.keys import Keys

SHARDS = 4
EVERY = 10


class Bridge:
    """One worker: a log on ``redis`` whose heads go to ``path``."""

    def __init__(self, redis: aioredis.Redis, keyset: KeySet, path: Path, **kw: Any) -> None:
        self.redis = redis
        self.keyset = keyset
        self.path = path
        self.log = TransparencyLog(redis, shards=SHARDS)
        self.heads = TreeHeads(
            self.log, KeySetSigner(keyset), path, every=EVERY, seconds=3600, **kw
        )
        self.chain = AuditChain(redis, log=self.log)

    async def consent(self, subject: str, n: int = 1) -> list[str]:
        refs = []
        for i in range(n):
            appended = await self.chain.append(
                Event("subject", "consent.granted", {"consent_id": f"c-{subject}-{i}"}),
                writes=[],
                shard_key=subject,
            )
            refs.append(appended.stream_id)
        return refs

    async def verify(self) -> LogReport:
        return await verify_log(
            self.redis,
            read_lines(self.path),
            JwksVerifier(self.keyset.public_jwks()),
            shards=SHARDS,
            every=EVERY,
            seconds=3600,
        )


@pytest.fixture
async def bridge(redis: aioredis.Redis, keyset: KeySet, tmp_path: Path) -> Bridge:
    b = Bridge(redis, keyset, tmp_path / "heads.jsonl")
    for person in range(12):
        await b.consent(f"person-{person}", 4)
    await b.heads.sign()
    return b


async def shard_rows(redis: aioredis.Redis, shard: int) -> list[dict[str, str]]:
    return [dict(f) for _, f in await redis.xrange(Keys.audit_log(shard))]


async def rewrite(
    redis: aioredis.Redis, shard: int, rows: list[dict[str, str]], *, rehash: bool
) -> None:
    """Replace a shard's stream by ``rows``; with ``rehash``, recompute every seq, prev,
    hash, the leaf list and the head, as an administrator covering tracks would."""
    await redis.delete(Keys.audit_log(shard))
    frontier: list[bytes] = []
    prev = "0" * 64
    leaves = []
    for i, row in enumerate(rows):
        if rehash:
            entry = parse_log_entry("0-0", row)
            entry["seq"], entry["prev"] = i + 1, prev
            row = {**row, "seq": str(i + 1), "prev": prev, "hash": entry_leaf_hash(entry)}
            prev = row["hash"]
            frontier = frontier_append(frontier, i, bytes.fromhex(row["hash"]))
            leaves.append(row["hash"])
        await redis.xadd(Keys.audit_log(shard), row, id=f"1-{i + 1}")
    if rehash:
        await redis.delete(Keys.audit_log_leaves(shard))
        if leaves:
            await redis.rpush(Keys.audit_log_leaves(shard), *leaves)
        await redis.hset(
            Keys.audit_log_head(shard),
            mapping={
                "size": len(rows),
                "root": frontier_root(frontier).hex(),
                "frontier": " ".join(f.hex() for f in frontier),
                "hash": prev,
            },
        )


async def busiest(redis: aioredis.Redis) -> int:
    sizes = [len(await shard_rows(redis, s)) for s in range(SHARDS)]
    return sizes.index(max(sizes))


async def test_an_untouched_log_verifies(bridge: Bridge) -> None:
    report = await bridge.verify()
    assert report.ok, report.problem
    assert report.entries == 48 and sum(report.shard_sizes) == 48
    assert report.heads >= 48 // EVERY
    assert all(size > 0 for size in report.shard_sizes)  # subjects spread over shards


async def test_edit_is_named(bridge: Bridge) -> None:
    shard = await busiest(bridge.redis)
    rows = await shard_rows(bridge.redis, shard)
    rows[3]["actor"] = "someone-else"
    await rewrite(bridge.redis, shard, rows, rehash=False)
    report = await bridge.verify()
    assert report.problem is not None
    assert (report.problem.kind, report.problem.shard, report.problem.index) == (
        "edited",
        shard,
        3,
    )


async def test_delete_reorder_insert_are_named(bridge: Bridge) -> None:
    shard = await busiest(bridge.redis)
    original = await shard_rows(bridge.redis, shard)
    cases = {
        "deleted": original[:3] + original[4:],
        "reordered": [*original[:3], original[4], original[3], *original[5:]],
    }
    for kind, rows in cases.items():
        await rewrite(bridge.redis, shard, rows, rehash=False)
        problem = (await bridge.verify()).problem
        assert problem is not None and problem.kind == kind and problem.index == 3, problem
    forged = {**original[2], "nonce": "00" * 8}
    await rewrite(bridge.redis, shard, [*original[:3], forged, *original[3:]], rehash=False)
    problem = (await bridge.verify()).problem
    assert problem is not None and problem.shard == shard and problem.index == 3, problem


async def test_a_cut_tail_with_a_consistent_head_is_named(bridge: Bridge) -> None:
    shard = await busiest(bridge.redis)
    rows = await shard_rows(bridge.redis, shard)
    await rewrite(bridge.redis, shard, rows[:-2], rehash=True)
    problem = (await bridge.verify()).problem
    assert problem is not None and problem.kind == "tail cut", problem
    assert (problem.shard, problem.index) == (shard, len(rows) - 2)


async def test_dropping_heads_and_rehashing_is_caught_by_the_file(bridge: Bridge) -> None:
    shard = await busiest(bridge.redis)
    rows = await shard_rows(bridge.redis, shard)
    rows[1]["objects"] = json.dumps({"consent_id": "forged"})
    await rewrite(bridge.redis, shard, rows, rehash=True)
    await bridge.redis.delete(Keys.AUDIT_STH, Keys.AUDIT_STH_COUNT)
    problem = (await bridge.verify()).problem
    assert problem is not None and problem.kind == "rehashed", problem
    assert problem.shard == shard and problem.index is not None and problem.index <= 1


async def test_a_deleted_head_in_the_file_is_named(bridge: Bridge) -> None:
    lines = bridge.path.read_text().splitlines()
    assert len(lines) >= 3
    bridge.path.write_text("\n".join(lines[:1] + lines[2:]) + "\n")
    problem = (await bridge.verify()).problem
    assert problem is not None and problem.kind == "deleted checkpoint", problem
    bridge.path.write_text("\n".join(lines[:-1]) + "\n")  # the last head, Redis remembers it
    problem = (await bridge.verify()).problem
    assert problem is not None and problem.kind == "deleted checkpoint", problem


async def test_cadence_is_enforced(bridge: Bridge) -> None:
    bridge.log.after_append = None  # a bridge that stopped signing heads
    await bridge.consent("late", 2 * EVERY + 1)
    problem = (await bridge.verify()).problem
    assert problem is not None and problem.kind == "cadence", problem


async def test_a_fork_between_two_workers_is_named(
    bridge: Bridge, redis_server: Any, keyset: KeySet
) -> None:
    """A second worker on a copy of the data (another database) signs into the same file."""
    other = connect(redis_server.url.rstrip("/") + "/1")
    try:
        await other.flushdb()
        for key in await bridge.redis.keys("idb:{audit*"):
            await other.restore(key, 0, await bridge.redis.dump(key), replace=True)
        a, b = Bridge(bridge.redis, keyset, bridge.path), Bridge(other, keyset, bridge.path)
        await a.consent("alice", 1)
        await b.consent("alice", 1)
        await a.heads.sign()
        await b.heads.sign()
        problem = (await a.verify()).problem
        assert problem is not None and problem.kind == "fork", problem
    finally:
        await other.flushdb()
        await other.aclose()


async def test_a_crash_between_the_file_and_redis_does_not_fork(bridge: Bridge) -> None:
    """The head reached the file but not Redis: the next head follows the file's."""
    await bridge.redis.hset(Keys.AUDIT_STH, "n", 1)
    await bridge.consent("after-crash", 3)
    assert await bridge.heads.sign() is not None
    report = await bridge.verify()
    assert report.ok, report.problem


async def test_an_unwritable_heads_file_does_not_fail_the_consent(
    redis: aioredis.Redis, keyset: KeySet, tmp_path: Path
) -> None:
    b = Bridge(redis, keyset, tmp_path / "missing-dir" / "heads.jsonl")
    refs = await b.consent("someone", 3)  # written; the heads are missing
    assert len(refs) == 3 and all([await b.log.entry(r) for r in refs])
    b.path.parent.mkdir()
    await b.consent("someone", 2 * EVERY + 1)
    report = await b.verify()
    assert report.ok, report.problem
