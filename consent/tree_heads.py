"""Signed tree heads (RFC 9162 §4.10 in SM2SM3) kept outside Redis, and sent to witnesses.

A tree head is a compact JWS (``typ`` ``sth+jwt``) over ``{"v": 1, "n", "ts" (ms),
"prev", "shards": [{"size", "root"}, …]}``: ``n`` counts heads from 1 and ``prev`` is
the SM3 of the previous head's JWS (64 zeros for the first), so a deleted head breaks the
sequence. One is signed every ``every`` entries or ``seconds`` seconds, whichever comes
first, under a short Redis lock so two workers never sign the same ``n``. Each head is
appended as a JSON line ``{"sth": jws}`` to ``path`` and fsynced before it is announced;
each witness's co-signature is appended as ``{"cosignature": jws, "witness": url}``.
Imports ``consent.merkle``, ``consent.translog``, ``consent.signing``, ``federation``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from consent.merkle import consistency_proof
from consent.signing import JwsSigner
from consent.translog import GENESIS, TransparencyLog
from federation.crypto.sm3 import sm3
from federation.outbound import HttpClient, HttpFailure
from federation.storage.keys import Keys

log = logging.getLogger("idbridge.consent.tree_heads")

STH_TYP = "sth+jwt"
COSIG_TYP = "cosig+jwt"


def sth_digest(jws: str) -> str:
    """SM3 (hex) of a head's compact JWS: what ``prev`` and co-signatures name."""
    return sm3(jws.encode()).hex()


def append_line(path: Path, record: dict[str, Any]) -> None:
    """Append one JSON line to ``path`` and fsync it (file and, when created, directory)."""
    created = not path.exists()
    line = (json.dumps(record, sort_keys=True) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def read_lines(path: Path) -> list[dict[str, Any]]:
    """Every record of a tree-head file (a torn last line is reported as ``{"torn": …}``)."""
    out: list[dict[str, Any]] = []
    if not path.exists():
        return out
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError:
            record = {"torn": number}
        out.append(record if isinstance(record, dict) else {"torn": number})
    return out


def last_sth_in_file(path: Path) -> str | None:
    """The last head's JWS in ``path`` (read from the end), or ``None``."""
    if not path.exists():
        return None
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        end = handle.tell()
        handle.seek(max(0, end - 65536))
        tail = handle.read().decode("utf-8", "replace").splitlines()
    for raw in reversed(tail):
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("sth"), str):
            return str(record["sth"])
    return None


class TreeHeads:
    """Produces signed tree heads for a :class:`TransparencyLog` on its cadence."""

    def __init__(
        self,
        log_: TransparencyLog,
        signer: JwsSigner,
        path: Path,
        *,
        every: int = 100,
        seconds: float = 300.0,
        witnesses: Sequence[str] = (),
        timeout: float = 5.0,
    ) -> None:
        self.log = log_
        self.signer = signer
        self.path = path
        self.every = every
        self.seconds = seconds
        self.witnesses = tuple(w.rstrip("/") for w in witnesses)
        self.timeout = timeout
        self._tasks: set[asyncio.Task[None]] = set()
        log_.after_append = self.note
        log_.tree_heads = self

    async def note(self, count: int) -> None:
        """Count ``count`` appended entries; sign a head when one is due."""
        async with self.log.redis.pipeline(transaction=False) as pipe:
            pipe.incrby(Keys.AUDIT_STH_COUNT, count)
            pipe.hmget(Keys.AUDIT_STH, ["count", "ts"])
            total, (at_count, at_ts) = await pipe.execute()
        if int(total) - int(at_count or 0) < self.every and (
            time.time() * 1000 - int(at_ts or 0) < self.seconds * 1000
        ):
            return
        try:
            await self.sign()
        except OSError as exc:  # the entry is written; a missing head shows as a cadence gap
            log.error("could not file a signed tree head in %s: %s", self.path, exc)

    async def sign(self) -> str | None:
        """Sign a head over every shard now (``None`` if another worker holds the lock)."""
        redis = self.log.redis
        token = secrets.token_hex(8)
        if not await redis.set(Keys.AUDIT_STH_LOCK, token, nx=True, px=10_000):
            return None
        try:
            count = int(await redis.get(Keys.AUDIT_STH_COUNT) or 0)
            n_text, prev = await redis.hmget(Keys.AUDIT_STH, ["n", "hash"])
            n = int(n_text or 0)
            filed = await asyncio.to_thread(last_sth_in_file, self.path)
            if filed is not None:  # a crash after the file write, before Redis's
                filed_n = int(_payload(filed).get("n", 0))
                if filed_n >= n:
                    n, prev = filed_n, sth_digest(filed)
            heads = await self.log.heads()
            payload = {
                "v": 1,
                "n": n + 1,
                "ts": int(time.time() * 1000),
                "prev": prev or GENESIS,
                "shards": [{"size": h.size, "root": h.root} for h in heads],
            }
            jws = self.signer.sign_jws(payload, typ=STH_TYP)
            await asyncio.to_thread(append_line, self.path, {"sth": jws})
            await redis.hset(
                Keys.AUDIT_STH,
                mapping={
                    "n": payload["n"],
                    "hash": sth_digest(jws),
                    "jws": jws,
                    "ts": payload["ts"],
                    "count": count,
                },
            )
        finally:
            if await redis.get(Keys.AUDIT_STH_LOCK) == token:
                await redis.delete(Keys.AUDIT_STH_LOCK)
        for url in self.witnesses:
            task = asyncio.create_task(self._send_logged(url, jws, payload))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return jws

    async def drain(self) -> None:
        """Wait for witness submissions in flight (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _send_logged(self, url: str, jws: str, payload: dict[str, Any]) -> None:
        try:
            await self.send(url, jws, payload)
        except (HttpFailure, WitnessRefused, ValueError) as exc:
            log.warning("witness %s did not co-sign head n=%s: %s", url, payload["n"], exc)

    async def send(self, url: str, jws: str, payload: dict[str, Any]) -> str:
        """Offer a head to one witness with consistency proofs from the head it last saw;
        store and file its co-signature. Raises :class:`WitnessRefused`."""
        client = HttpClient(
            connect_timeout=self.timeout, read_timeout=self.timeout, allow_http=True
        )
        try:
            seen = (await client.get(f"{url}/v1/head", {"Accept": "application/json"})).json()
            seen_sizes = [s["size"] for s in seen.get("shards") or []]
            proofs = []
            for shard, head in enumerate(payload["shards"]):
                old = seen_sizes[shard] if shard < len(seen_sizes) else 0
                if old > head["size"]:
                    proofs.append([])
                    continue
                leaves = await self.log.leaves(shard, head["size"])
                proofs.append([p.hex() for p in consistency_proof(leaves, old, head["size"])])
            request = json.dumps({"sth": jws, "proofs": proofs}).encode()
            reply = await client.post(
                f"{url}/v1/cosign", request, {"Content-Type": "application/json"}
            )
        finally:
            await client.aclose()
        body = reply.json()
        if reply.status_code != 200:
            raise WitnessRefused(str(body.get("error_description") or body))
        cosig = str(body["cosignature"])
        await asyncio.to_thread(append_line, self.path, {"cosignature": cosig, "witness": url})
        await self.log.redis.hset(
            Keys.audit_cosignature(url),
            mapping={"n": payload["n"], "jws": cosig, "ts": int(time.time() * 1000)},
        )
        return cosig


def _payload(jws: str) -> dict[str, Any]:
    import base64

    body = jws.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


class WitnessRefused(RuntimeError):
    """A witness would not co-sign a head (inconsistent with what it saw, or bad)."""
