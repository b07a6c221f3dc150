"""Move the single audit chain into the transparency log (issue 15), losing nothing.

The old stream (``Keys.AUDIT_STREAM``) is first verified end to end; then every entry,
checkpoints included, oldest first, becomes a leaf of its shard, routed as a live event
would be (its ``consent_id``, else its actor). The leaf's objects keep the entry's own and
add ``legacy_seq``, ``legacy_hash``, ``legacy_ts`` and ``legacy_id``, so the global order
is the order of ``legacy_seq`` and each leaf names the chain entry it copies (a verifier
can check ``legacy_hash`` against the untouched old chain, which still verifies). Run it
with the bridge stopped; it resumes after the last entry already copied. Imports
``consent.audit``, ``consent.audit_verify``, ``consent.translog``.
"""

from __future__ import annotations

import json

import redis.asyncio as aioredis

from consent.audit import Event, parse_entry
from consent.audit_verify import iter_entries, verify_chain
from consent.signing import JwsVerifier
from consent.translog import TransparencyLog
from federation.storage.keys import Keys


class MigrationRefused(RuntimeError):
    """The old chain does not verify; nothing was copied."""


async def migrated_up_to(log: TransparencyLog) -> int:
    """The highest ``legacy_seq`` already in the log (0: none)."""
    best = 0
    for shard in range(log.shards):
        end = "+"
        while True:
            rows = await log.redis.xrevrange(Keys.audit_log(shard), end, "-", count=200)
            found = [json.loads(f["objects"]).get("legacy_seq") for _, f in rows]
            seqs = [int(s) for s in found if s is not None]
            if seqs or len(rows) < 200:
                best = max([best, *seqs])
                break
            end = "(" + rows[-1][0]
    return best


async def migrate_chain(
    redis: aioredis.Redis, log: TransparencyLog, verifier: JwsVerifier | None
) -> int:
    """Copy every chain entry after the last one copied into ``log``; return how many."""
    report = await verify_chain(redis, verifier)
    if not report.ok:
        assert report.problem is not None
        raise MigrationRefused(f"the old chain does not verify: {report.problem.describe()}")
    done, copied = await migrated_up_to(log), 0
    async for stream_id, fields in iter_entries(redis):
        entry = parse_entry(stream_id, fields)
        if entry["seq"] <= done:
            continue
        objects = {
            **{k: str(v) for k, v in entry["objects"].items()},
            "legacy_seq": str(entry["seq"]),
            "legacy_hash": entry["hash"],
            "legacy_ts": str(entry["ts"]),
            "legacy_id": stream_id,
        }
        await log.append(Event(entry["actor"], entry["action"], objects))
        copied += 1
    return copied
