"""Verify the transparency log against its external signed tree heads (issue 15).

Checks, in order, and names the first problem found:

1. The tree-head file: every head's SM2SM3 signature, ``n`` = 1, 2, … with no gap
   (``deleted checkpoint``), ``prev`` = SM3 of the head before, the shard count, no
   shard shrinking and no two roots for one size (``fork``), and the cadence: between two
   heads at most ``2 × every`` entries and ``2 × seconds`` (signing runs after the
   append, so concurrent workers may overshoot; twice the setting is the tolerance).
2. Each shard, leaf by leaf: fields well-formed, ``seq`` consecutive (``deleted``,
   ``reordered``, ``inserted``), ``prev`` the leaf before, ``hash`` the leaf hash of the
   entry (``edited``); the root at every signed size must equal the signed root
   (``rehashed``: the entry lies between the last matching head and this one); a shard
   shorter than its signed size has had its tail cut.
3. The tail: entries after the latest head within the cadence, and the shard heads in
   Redis equal to the trees walked.

Imports ``consent.merkle``, ``consent.translog``, ``consent.tree_heads``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import redis.asyncio as aioredis

from consent.audit import MalformedEntry
from consent.merkle import frontier_append, frontier_root
from consent.signing import JwsVerifier, SignatureError
from consent.translog import GENESIS, entry_leaf_hash, parse_log_entry
from consent.tree_heads import STH_TYP, sth_digest
from federation.storage.keys import Keys


@dataclass(frozen=True, slots=True)
class LogProblem:
    """What is wrong, and where: ``kind`` is one of ``edited``, ``deleted``, ``reordered``,
    ``inserted``, ``rehashed``, ``tail cut``, ``deleted checkpoint``, ``fork``,
    ``cadence``, ``bad signature``, ``malformed``, ``head``."""

    kind: str
    shard: int | None
    index: int | None
    detail: str

    def describe(self) -> str:
        """One line naming the entry (shard, 0-based leaf index)."""
        where = "" if self.shard is None else f"shard {self.shard}"
        if self.index is not None:
            where += f" leaf {self.index}"
        return f"{self.kind}: {where + ': ' if where else ''}{self.detail}"


@dataclass(slots=True)
class LogReport:
    """What :func:`verify_log` found."""

    ok: bool = True
    entries: int = 0
    heads: int = 0
    last_head_n: int | None = None
    last_head_ts: int | None = None
    shard_sizes: list[int] = field(default_factory=list)
    problem: LogProblem | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = asdict(self)
        out["problem"] = self.problem.describe() if self.problem else None
        return out


class _Fail(Exception):
    def __init__(self, problem: LogProblem) -> None:
        self.problem = problem


def check_heads(
    records: list[dict[str, Any]], verifier: JwsVerifier, *, every: int, seconds: float
) -> list[dict[str, Any]]:
    """The heads' payloads, in order, after step 1 of the module docstring."""
    payloads: list[dict[str, Any]] = []
    seen: dict[tuple[int, int], str] = {}
    prev, total = GENESIS, 0
    for record in records:
        if "torn" in record:
            raise _Fail(LogProblem("malformed", None, None, f"line {record['torn']} is torn"))
        if "sth" not in record:
            continue
        try:
            head = verifier.verify_jws(str(record["sth"]), typ=STH_TYP)
        except SignatureError as exc:
            raise _Fail(LogProblem("bad signature", None, None, f"a tree head: {exc}")) from exc
        n = int(head.get("n", 0))
        expected = len(payloads) + 1
        if n != expected:
            kind = "deleted checkpoint" if n > expected else "fork"
            raise _Fail(LogProblem(kind, None, None, f"head n={n} follows n={expected - 1}"))
        if head.get("prev") != prev:
            raise _Fail(LogProblem("deleted checkpoint", None, None, f"head n={n}: prev differs"))
        shards = head["shards"]
        if payloads:
            before = payloads[-1]
            if len(shards) != len(before["shards"]):
                raise _Fail(LogProblem("fork", None, None, f"head n={n}: shard count changed"))
            grown = sum(s["size"] for s in shards) - total
            gap = (int(head["ts"]) - int(before["ts"])) / 1000
            if grown > 2 * every or (grown and gap > 2 * seconds + 1):
                raise _Fail(
                    LogProblem("cadence", None, None, f"head n={n}: {grown} entries, {gap:.0f} s")
                )
        for shard, s in enumerate(shards):
            size, root = int(s["size"]), str(s["root"])
            if payloads and size < int(payloads[-1]["shards"][shard]["size"]):
                raise _Fail(LogProblem("fork", shard, size, f"head n={n} shrinks the tree"))
            if seen.setdefault((shard, size), root) != root:
                raise _Fail(LogProblem("fork", shard, size, f"two roots for size {size}"))
        prev, total = sth_digest(str(record["sth"])), sum(s["size"] for s in shards)
        payloads.append(head)
    return payloads


def _check_witnessed(witness: str, jws: str, filed: list[str], verifier: JwsVerifier) -> None:
    try:
        n = int(verifier.verify_jws(jws, typ=STH_TYP)["n"])
    except (SignatureError, KeyError, TypeError, ValueError) as exc:
        raise _Fail(LogProblem("bad signature", None, None, f"{witness}'s head: {exc}")) from exc
    if n > len(filed):
        raise _Fail(
            LogProblem(
                "deleted checkpoint",
                None,
                None,
                f"{witness} co-signed head n={n}, the file ends at n={len(filed)}",
            )
        )
    if filed[n - 1] != jws:
        raise _Fail(LogProblem("fork", None, None, f"{witness} co-signed another head n={n}"))


async def _walk_shard(
    redis: aioredis.Redis, shard: int, signed: dict[int, tuple[int, str]]
) -> tuple[int, str]:
    """Check one shard leaf by leaf against the signed (n, root) at each size."""
    frontier: list[bytes] = []
    size, prev, good_up_to = 0, GENESIS, 0
    start = "-"
    while True:
        rows = await redis.xrange(Keys.audit_log(shard), start, "+", count=1000)
        for stream_id, fields in rows:
            try:
                entry = parse_log_entry(stream_id, fields)
            except MalformedEntry as exc:
                raise _Fail(LogProblem("malformed", shard, size, str(exc))) from exc
            seq = entry["seq"]
            if seq != size + 1 or entry["shard"] != shard:
                kind = "reordered or inserted"
                if seq > size + 1:
                    later = (f.get("seq") for _, f in rows)
                    kind = "reordered" if str(size + 1) in later else "deleted"
                raise _Fail(LogProblem(kind, shard, size, f"expected seq {size + 1}, found {seq}"))
            if entry["prev"] != prev:
                raise _Fail(LogProblem("edited", shard, size, "prev is not the leaf before"))
            if entry_leaf_hash(entry) != entry["hash"]:
                raise _Fail(LogProblem("edited", shard, size, "hash differs from the contents"))
            frontier = frontier_append(frontier, size, bytes.fromhex(entry["hash"]))
            size, prev = size + 1, entry["hash"]
            if size in signed:
                n, root = signed[size]
                if frontier_root(frontier).hex() != root:
                    raise _Fail(
                        LogProblem(
                            "rehashed",
                            shard,
                            good_up_to,
                            f"the tree of {size} differs from head n={n}: an entry in "
                            f"leaves {good_up_to}..{size - 1} was changed and rehashed",
                        )
                    )
                good_up_to = size
        if len(rows) < 1000:
            break
        start = "(" + rows[-1][0]
    biggest = max(signed, default=0)
    if size < biggest:
        raise _Fail(
            LogProblem(
                "tail cut",
                shard,
                size,
                f"the shard ends at {size} leaves but head n={signed[biggest][0]} "
                f"signed {biggest}: leaves {size}..{biggest - 1} are missing",
            )
        )
    return size, frontier_root(frontier).hex()


async def verify_log(
    redis: aioredis.Redis,
    records: list[dict[str, Any]],
    verifier: JwsVerifier,
    *,
    shards: int,
    every: int = 100,
    seconds: float = 300.0,
    now_ms: int | None = None,
    witnessed: Sequence[tuple[str, str]] = (),
) -> LogReport:
    """Check the whole log against the tree-head file ``records`` (module docstring) and
    the heads witnesses last accepted (``witnessed``: ``(witness, sth JWS)`` pairs): a
    witnessed head the file lacks means heads were deleted, a different one a fork."""
    import time

    report = LogReport()
    try:
        payloads = check_heads(records, verifier, every=every, seconds=seconds)
        filed = [str(r["sth"]) for r in records if "sth" in r]
        for witness, jws in witnessed:
            _check_witnessed(witness, jws, filed, verifier)
        report.heads = len(payloads)
        if payloads:
            report.last_head_n, report.last_head_ts = payloads[-1]["n"], payloads[-1]["ts"]
            if len(payloads[-1]["shards"]) != shards:
                raise _Fail(LogProblem("fork", None, None, "the heads have another shard count"))
        redis_n = await redis.hget(Keys.AUDIT_STH, "n")
        if int(redis_n or 0) > len(payloads):
            raise _Fail(
                LogProblem(
                    "deleted checkpoint",
                    None,
                    None,
                    f"Redis records head n={redis_n}, the file ends at n={len(payloads)}",
                )
            )
        for shard in range(shards):
            signed = {
                int(p["shards"][shard]["size"]): (p["n"], p["shards"][shard]["root"])
                for p in payloads
            }
            size, root = await _walk_shard(redis, shard, signed)
            report.shard_sizes.append(size)
            report.entries += size
            head_size, head_root = await redis.hmget(Keys.audit_log_head(shard), ["size", "root"])
            if int(head_size or 0) != size or (size and head_root != root):
                raise _Fail(LogProblem("head", shard, size, "the shard head differs from its log"))
        if payloads:
            uncovered = report.entries - sum(s["size"] for s in payloads[-1]["shards"])
            age = ((now_ms or int(time.time() * 1000)) - int(payloads[-1]["ts"])) / 1000
            if uncovered > 2 * every or (uncovered and age > 2 * seconds + 1):
                raise _Fail(
                    LogProblem(
                        "cadence", None, None, f"{uncovered} entries unsigned for {age:.0f} s"
                    )
                )
        elif report.entries > 2 * every:
            raise _Fail(LogProblem("cadence", None, None, "entries but no signed tree head"))
    except _Fail as fail:
        report.ok, report.problem = False, fail.problem
    return report


async def log_status(log: Any, verifier: JwsVerifier) -> dict[str, Any]:
    """The log's state for the operator API: the verification result against the heads
    file, the last signed head and each witness's last co-signature."""
    from consent.tree_heads import read_lines

    heads = log.tree_heads
    if heads is None:
        return {"ok": False, "problem": "no tree heads are signed for this log"}
    report = await verify_log(
        log.redis,
        read_lines(heads.path),
        verifier,
        shards=log.shards,
        every=heads.every,
        seconds=heads.seconds,
    )
    last = await log.redis.hgetall(Keys.AUDIT_STH)
    witnesses = []
    for url in heads.witnesses:
        cosig = await log.redis.hgetall(Keys.audit_cosignature(url))
        witnesses.append(
            {"url": url, "n": int(cosig["n"]) if cosig else None, "ts": cosig.get("ts")}
        )
    return {
        **report.as_dict(),
        "last_head": {"n": int(last["n"]), "ts": int(last["ts"]), "sth": last["jws"]}
        if last
        else None,
        "witnesses": witnesses,
    }
