"""Verify the audit chain end to end and export it (``idbridge audit verify|export``).

Walks ``Keys.AUDIT_STREAM`` in order and checks, for every entry: all fields present and
well-formed; ``seq`` is one more than the entry before; ``prev`` is that entry's hash;
``hash`` is the SM3 of the entry's own fields. Each ``audit.checkpoint`` entry's JWS must
verify against the published keys and seal the hash of the entry it names. Finally the
head (``Keys.AUDIT_HEAD``) must point at the last entry, so a truncated tail is caught.
The report names the first bad entry by sequence number and stream id.

Imports ``consent.audit`` and ``consent.signing``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from typing import IO, Any

import redis.asyncio as aioredis

from consent.audit import (
    CHECKPOINT_TYP,
    GENESIS,
    Action,
    MalformedEntry,
    entry_hash,
    parse_entry,
)
from consent.signing import JwsVerifier, SignatureError
from federation.storage.keys import Keys

_REMEMBERED_HASHES = 200_000


@dataclass(frozen=True, slots=True)
class Problem:
    """The first thing found wrong."""

    seq: int | None
    stream_id: str | None
    reason: str

    def describe(self) -> str:
        """One line naming the entry."""
        where = f"entry seq={self.seq}" if self.seq is not None else "entry"
        if self.stream_id:
            where += f" (stream id {self.stream_id})"
        return f"{where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ChainReport:
    """What :func:`verify_chain` found."""

    ok: bool
    entries: int
    checkpoints: int
    last_seq: int
    last_hash: str
    last_checkpoint_seq: int | None
    signatures_checked: bool
    problem: Problem | None
    log: dict[str, Any] | None = None
    """The transparency log's status (``consent.translog_verify.log_status``), if any."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = asdict(self)
        out["problem"] = self.problem.describe() if self.problem else None
        return out


async def iter_entries(
    redis: aioredis.Redis, batch: int = 1000
) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """Every raw stream entry, oldest first, read in batches."""
    start = "-"
    while True:
        rows = await redis.xrange(Keys.AUDIT_STREAM, start, "+", count=batch)
        for stream_id, fields in rows:
            yield stream_id, fields
        if len(rows) < batch:
            return
        start = "(" + rows[-1][0]


class _Walker:
    """Checks entries one by one; remembers recent hashes for checkpoint checks."""

    def __init__(self, verifier: JwsVerifier | None) -> None:
        self.verifier = verifier
        self.seq = 0
        self.hash = GENESIS
        self.entries = 0
        self.checkpoints = 0
        self.last_checkpoint: int | None = None
        self.hashes: dict[int, str] = {}

    def check(self, stream_id: str, fields: dict[str, str]) -> Problem | None:
        try:
            entry = parse_entry(stream_id, fields)
        except MalformedEntry as exc:
            return Problem(self.seq + 1, stream_id, f"malformed: {exc}")
        seq = entry["seq"]
        if seq != self.seq + 1:
            reason = f"expected seq {self.seq + 1}, found {seq}" + (
                " (entries missing)" if seq > self.seq + 1 else " (out of order or inserted)"
            )
            return Problem(self.seq + 1 if seq > self.seq + 1 else seq, stream_id, reason)
        if entry["prev"] != self.hash:
            return Problem(seq, stream_id, "prev does not match the hash of the entry before")
        if entry_hash(entry) != entry["hash"]:
            return Problem(seq, stream_id, "hash does not match the entry's contents (altered)")
        if entry["action"] == Action.CHECKPOINT:
            problem = self._check_checkpoint(entry)
            if problem:
                return problem
        self.seq, self.hash = seq, entry["hash"]
        self.entries += 1
        self.hashes[seq] = entry["hash"]
        self.hashes.pop(seq - _REMEMBERED_HASHES, None)
        return None

    def _check_checkpoint(self, entry: dict[str, Any]) -> Problem | None:
        seq, stream_id = entry["seq"], entry["id"]
        self.checkpoints += 1
        if self.verifier is None:
            return None
        try:
            jws = str(entry["objects"].get("jws", ""))
            claims = self.verifier.verify_jws(jws, typ=CHECKPOINT_TYP)
        except SignatureError as exc:
            return Problem(seq, stream_id, f"checkpoint signature does not verify ({exc})")
        sealed_seq, sealed_hash = claims.get("seq"), claims.get("hash")
        if str(sealed_seq) != entry["objects"].get("seq") or sealed_hash != entry["objects"].get(
            "hash"
        ):
            return Problem(seq, stream_id, "checkpoint fields differ from its signed payload")
        known = self.hashes.get(sealed_seq) if isinstance(sealed_seq, int) else None
        if known != sealed_hash:
            return Problem(seq, stream_id, f"checkpoint seals a hash entry {sealed_seq} lacks")
        self.last_checkpoint = sealed_seq
        return None


async def verify_chain(redis: aioredis.Redis, verifier: JwsVerifier | None) -> ChainReport:
    """Check the whole chain (see the module docstring). ``verifier`` ``None`` skips the
    checkpoint signatures (the report says so)."""
    walker = _Walker(verifier)
    problem: Problem | None = None
    async for stream_id, fields in iter_entries(redis):
        problem = walker.check(stream_id, fields)
        if problem:
            break
    if problem is None:
        head = await redis.hgetall(Keys.AUDIT_HEAD)
        seq_text, head_hash = str(head.get("seq", "0")), head.get("hash", GENESIS)
        if not (seq_text.isascii() and seq_text.isdigit()):
            problem = Problem(walker.seq + 1, head.get("id"), "the head's seq is not a number")
            seq_text = str(walker.seq)
        head_seq = int(seq_text)
        if problem is None and (head_seq != walker.seq or head_hash != walker.hash):
            problem = Problem(
                walker.seq + 1 if head_seq > walker.seq else head_seq,
                head.get("id"),
                f"head says seq {head_seq} but the chain ends at seq {walker.seq} "
                "(entries missing at the end, or the head was altered)",
            )
    return ChainReport(
        ok=problem is None,
        entries=walker.entries,
        checkpoints=walker.checkpoints,
        last_seq=walker.seq,
        last_hash=walker.hash,
        last_checkpoint_seq=walker.last_checkpoint,
        signatures_checked=verifier is not None,
        problem=problem,
    )


async def export_chain(redis: aioredis.Redis, out: IO[str]) -> int:
    """Write every entry as one JSON line (raw field values, for archival); return count."""
    count = 0
    async for stream_id, fields in iter_entries(redis):
        out.write(json.dumps({"id": stream_id, **fields}, ensure_ascii=False, sort_keys=True))
        out.write("\n")
        count += 1
    return count
