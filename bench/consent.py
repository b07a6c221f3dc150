# ruff: noqa: E402 — the consent package is imported after sys.path is fixed (see below)
"""Consent writes per second: the single audit chain against the transparency log.

Usage: .venv/bin/python bench/consent.py [--events N] [--workers W] [--shards S ...]
       [--rounds R] [--durable]

Each "consent" is what ``RedisConsentStore.save`` does to the audit path: one atomic
script that writes a record hash and appends its event (signed checkpoints/tree heads
on their default cadence, 100 entries). W concurrent tasks share one connection pool
on one real redis-server (loopback). Prints consents/s, p50/p99 latency of one append,
and, for the log, how the entries spread over the shards. On one Redis, shards only
remove the one-head contention; spreading them over primaries needs a Redis Cluster
(issue 15 asks for 3 primaries ≥ 1.7× one; not measured here, see docs/consent.md).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

# this file is named like the ``consent`` package: run as a script, its folder must not
# shadow it
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from consent.audit import AuditChain, AuditUnavailable, Event, Write
from consent.signing import KeySetSigner
from consent.translog import TransparencyLog
from consent.tree_heads import TreeHeads
from federation.crypto.keyset import KeySet
from federation.storage.client import connect
from federation.storage.keys import Keys
from federation.storage.runtime import RedisServer


async def run(chain: AuditChain, events: int, workers: int) -> tuple[float, list[float]]:
    """Append ``events`` consents from ``workers`` tasks; (consents/s, latencies in ms)."""
    latencies: list[float] = []
    counter = iter(range(events))

    async def worker() -> None:
        for i in counter:
            started = time.perf_counter()
            await chain.append(
                Event("subject", "consent.granted", {"consent_id": f"c{i}"}),
                writes=[Write("HSET", Keys.consent(f"c{i}"), ("id", f"c{i}", "status", "active"))],
                shard_key=f"subject-{i % 1000}",
            )
            latencies.append((time.perf_counter() - started) * 1000)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return events / (time.perf_counter() - start), latencies


async def main(args: argparse.Namespace) -> None:
    keyset = KeySet.generate(["SM2SM3"])
    signer = KeySetSigner(keyset)
    with RedisServer(durable=args.durable) as server, tempfile.TemporaryDirectory() as tmp:
        redis = connect(server.url)
        setups: list[tuple[str, int]] = [("chain", 0), *(("log", s) for s in args.shards)]
        best: dict[tuple[str, int], tuple[float, list[float], str]] = {}
        for _ in range(args.rounds):  # interleaved rounds, best of each: the host is shared
            for name, shards in setups:
                await redis.flushdb()
                log = None
                if shards:
                    log = TransparencyLog(redis, shards=shards)
                    TreeHeads(log, signer, Path(tmp) / f"heads-{shards}.jsonl")
                chain = AuditChain(redis, signer, log=log)
                try:
                    rate, lat = await run(chain, args.events, args.workers)
                except AuditUnavailable as exc:
                    print(f"{name:5} shards={shards:<3} failed: {exc}", flush=True)
                    continue
                spread = ""
                if log is not None:
                    sizes = [h.size for h in await log.heads()]
                    spread = f"  spread min/max {min(sizes)}/{max(sizes)}"
                if rate > best.get((name, shards), (0.0, [], ""))[0]:
                    best[(name, shards)] = (rate, sorted(lat), spread)
        for (name, shards), (rate, lat, spread) in best.items():
            print(
                f"{name:5} shards={shards:<3} {rate:8.0f} consents/s  "
                f"p50 {statistics.median(lat):6.2f} ms  p99 {lat[int(len(lat) * 0.99)]:6.2f} ms"
                + spread,
                flush=True,
            )
        await redis.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--shards", type=int, nargs="*", default=[1, 8])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--durable", action="store_true", help="AOF fsync always.")
    asyncio.run(main(parser.parse_args()))
