"""The audit chain (DESIGN §5, §6): an append-only, SM3-linked Redis stream.

Every entry carries ``seq`` (1, 2, …), ``ts`` (epoch ms), ``nonce`` (random, so two
identical events never share a hash), ``actor``, ``action``, ``objects`` (ids only, never
PII, as canonical JSON), ``prev`` (the hash of the entry before, 64 zeros for the first)
and ``hash`` = SM3 over the canonical JSON of the other seven fields (eIDAS
``HashAndCounterGenerator``; anchors §3.5 item 10).

Appending is compare-and-set: Python hashes the entry against the head it read
(``Keys.AUDIT_HEAD``), and one Lua script checks that the head is unchanged, checks the
caller's guards, applies the caller's writes (a consent record and its indexes, say) and
XADDs the entry, all atomically. If another worker appended first, the script answers
``conflict`` with the new head and we re-hash and retry, so concurrent workers never fork
the chain and a record never exists without its event. Every ``checkpoint_every``
entries or ``checkpoint_seconds`` seconds an ``audit.checkpoint`` entry is appended whose
``objects.jws`` is an SM2SM3 JWS over ``{"seq", "hash", "ts"}`` of the entry it seals.

Verification lives in ``consent.audit_verify``. Imports ``federation.storage`` and
``federation.crypto`` only.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis

from consent.records import canonical_json
from consent.signing import JwsSigner
from federation import metrics
from federation.crypto.sm3 import sm3
from federation.storage.keys import Keys

if TYPE_CHECKING:
    from consent.translog import TransparencyLog

log = logging.getLogger("idbridge.consent.audit")

GENESIS = "0" * 64
ENTRY_FIELDS: tuple[str, ...] = ("seq", "ts", "nonce", "actor", "action", "objects", "prev")


CHECKPOINT_TYP = "audit+jwt"
"""``typ`` of a checkpoint's JWS."""


class Action(StrEnum):
    """Every kind of audit entry."""

    CONSENT_GRANTED = "consent.granted"
    CONSENT_DENIED = "consent.denied"
    CONSENT_REVOKED = "consent.revoked"
    CONSENT_EXPIRED = "consent.expired"
    CONSENT_RECONSENTED = "consent.reconsented"
    GRANTS_REVOKE_FAILED = "consent.grant_revocation_failed"
    CLIENT_OFFBOARDED = "client.offboarded"
    OPERATOR_LOGIN = "operator.login"
    OPERATOR_LOGIN_FAILED = "operator.login_failed"
    OPERATOR_LOGOUT = "operator.logout"
    OPERATOR_VIEWED = "operator.viewed"
    OPERATOR_SEARCHED = "operator.searched"
    OPERATOR_EXPORTED = "operator.exported"
    OPERATOR_REVOKED = "operator.revoked"
    OPERATOR_AUDIT_STATUS = "operator.audit_status"
    OPERATOR_DENIED = "operator.denied"
    OPERATOR_ACCOUNT = "operator.account_changed"
    OPERATOR_AUDIT_READ = "operator.audit_read"
    OFFBOARDING_REQUESTED = "operator.offboarding_requested"
    OFFBOARDING_APPROVED = "operator.offboarding_approved"
    OFFBOARDING_REJECTED = "operator.offboarding_rejected"
    CLIENT_ONBOARDING = "client.onboarding_issued"
    CLIENT_VIEWED = "client.viewed"
    CHECKPOINT = "audit.checkpoint"


class GuardFailed(Exception):
    """A precondition of an atomic write did not hold (nothing was written)."""

    def __init__(self, index: int) -> None:
        super().__init__(f"guard {index} failed")
        self.index = index


def _count(event: Event) -> None:
    """``idbridge_consent_events_total`` for a consent event that was appended."""
    if event.action.startswith("consent."):
        metrics.CONSENT_EVENTS.labels(event.action.removeprefix("consent.")).inc()


class AuditUnavailable(RuntimeError):
    """The chain could not be appended to (contention did not settle)."""


@dataclass(frozen=True, slots=True)
class Write:
    """One Redis write applied atomically with an audit entry: ``command key *args``."""

    command: str
    key: str
    args: tuple[str | int | float, ...] = ()


@dataclass(frozen=True, slots=True)
class Guard:
    """Hash field ``key[field]`` (or, with ``field`` ``None``, the string at ``key``) must
    equal ``expected`` (``None``: must be absent)."""

    key: str
    field: str | None
    expected: str | None


@dataclass(frozen=True, slots=True)
class Appended:
    """Where an entry landed."""

    stream_id: str
    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class Event:
    """What happened: who did what to which objects (ids only)."""

    actor: str
    action: str
    objects: dict[str, str] = field(default_factory=dict)


def entry_hash(entry: dict[str, Any]) -> str:
    """SM3 (hex) of the canonical JSON of an entry's hashed fields."""
    body = {name: entry[name] for name in ENTRY_FIELDS}
    return sm3(canonical_json(body)).hex()


_APPEND_LUA = """
local head = redis.call('HMGET', KEYS[2], 'seq', 'hash', 'id')
local seq = tonumber(head[1] or '0')
local hash = head[2] or ARGV[7]
if seq ~= tonumber(ARGV[1]) or hash ~= ARGV[2] then
  return {'conflict', tostring(seq), hash, head[3] or ''}
end
local guards = cjson.decode(ARGV[5])
for i, g in ipairs(guards) do
  local v
  if g[2] == cjson.null then v = redis.call('GET', KEYS[g[1]])
  else v = redis.call('HGET', KEYS[g[1]], g[2]) end
  if g[3] == cjson.null then
    if v then return {'guard', tostring(i)} end
  elseif v ~= g[3] then
    return {'guard', tostring(i)}
  end
end
for _, w in ipairs(cjson.decode(ARGV[4])) do
  local args = {w[1], KEYS[w[2]]}
  for j = 3, #w do args[#args + 1] = w[j] end
  redis.call(unpack(args))
end
local id = redis.call('XADD', KEYS[1], '*', unpack(cjson.decode(ARGV[3])))
redis.call('HSET', KEYS[2], 'seq', tostring(seq + 1), 'hash', ARGV[6], 'id', id)
for _, k in ipairs(cjson.decode(ARGV[8])) do
  redis.call('RPUSH', KEYS[k], id)
end
return {'ok', id}
"""


class AuditChain:
    """Appends events (and the writes they describe) to the chain; seals checkpoints."""

    def __init__(
        self,
        redis: aioredis.Redis,
        signer: JwsSigner | None = None,
        *,
        checkpoint_every: int = 100,
        checkpoint_seconds: float = 300.0,
        max_attempts: int = 200,
        log: TransparencyLog | None = None,
    ) -> None:
        self.redis = redis
        self.log = log
        self.signer = signer
        self.checkpoint_every = checkpoint_every
        self.checkpoint_seconds = checkpoint_seconds
        self.max_attempts = max_attempts
        self._script = redis.register_script(_APPEND_LUA)

    async def head(self) -> dict[str, str]:
        """The head: ``seq``, ``hash``, ``id``, last checkpoint ``cp_seq``/``cp_ts``."""
        return dict(await self.redis.hgetall(Keys.AUDIT_HEAD))

    async def append(
        self,
        event: Event,
        *,
        writes: tuple[Write, ...] | list[Write] = (),
        guards: tuple[Guard, ...] | list[Guard] = (),
        index_keys: tuple[str, ...] | list[str] = (),
        shard_key: str | None = None,
    ) -> Appended:
        """Atomically check ``guards``, apply ``writes``, append ``event`` and RPUSH its
        stream id onto each of ``index_keys``. Returns once Redis has acknowledged (and,
        on a client built with ``wait_replicas``, that many replicas have: the client
        sends ``WAIT`` on the connection that ran the script,
        ``federation.storage.client``). Raises :class:`GuardFailed`.
        With a transparency ``log`` the event becomes a leaf of the shard of
        ``shard_key`` (the subject; ``consent.translog``) instead of a chain entry."""
        if self.log is not None:
            logged = await self.log.append(
                event, writes=writes, guards=guards, index_keys=index_keys, shard_key=shard_key
            )
            _count(event)
            return logged
        appended = await self._append_once(event, writes, guards, index_keys)
        _count(event)
        await self._maybe_checkpoint(appended)
        return appended

    async def _append_once(
        self,
        event: Event,
        writes: tuple[Write, ...] | list[Write],
        guards: tuple[Guard, ...] | list[Guard],
        index_keys: tuple[str, ...] | list[str],
    ) -> Appended:
        keys: list[str] = [Keys.AUDIT_STREAM, Keys.AUDIT_HEAD]

        def slot(key: str) -> int:
            if key not in keys:
                keys.append(key)
            return keys.index(key) + 1

        wire_writes = [[w.command, slot(w.key), *(str(a) for a in w.args)] for w in writes]
        wire_guards = [[slot(g.key), g.field, g.expected] for g in guards]
        wire_index = [slot(k) for k in index_keys]
        head = await self.redis.hmget(Keys.AUDIT_HEAD, ["seq", "hash"])
        seq, prev = int(head[0] or 0), head[1] or GENESIS
        for attempt in range(self.max_attempts):
            entry: dict[str, Any] = {
                "seq": seq + 1,
                "ts": int(time.time() * 1000),
                "nonce": secrets.token_hex(8),
                "actor": event.actor,
                "action": event.action,
                "objects": dict(event.objects),
                "prev": prev,
            }
            digest = entry_hash(entry)
            flat = _stream_fields(entry, digest)
            result = await self._script(
                keys=keys,
                args=[
                    str(seq),
                    prev,
                    canonical_json(flat).decode(),
                    canonical_json(wire_writes).decode(),
                    canonical_json(wire_guards).decode(),
                    digest,
                    GENESIS,
                    canonical_json(wire_index).decode(),
                ],
            )
            status = result[0]
            if status == "ok":
                return Appended(stream_id=result[1], seq=seq + 1, hash=digest)
            if status == "guard":
                raise GuardFailed(int(result[1]) - 1)
            if int(result[1]) == seq + 1 and result[2] == digest:
                # our own entry: the client library retried after a lost reply
                return Appended(stream_id=result[3], seq=seq + 1, hash=digest)
            seq, prev = int(result[1]), result[2]
            if attempt > 3:
                await asyncio.sleep(0.001 * min(attempt, 20))
        raise AuditUnavailable("audit chain contention did not settle")

    async def _maybe_checkpoint(self, appended: Appended) -> None:
        if self.signer is None:
            return
        head = await self.redis.hmget(Keys.AUDIT_HEAD, ["cp_seq", "cp_ts"])
        cp_seq, cp_ts = int(head[0] or 0), float(head[1] or 0)
        now = time.time()
        due = appended.seq - cp_seq >= self.checkpoint_every
        if not due and now - cp_ts < self.checkpoint_seconds:
            return
        await self.checkpoint(appended.seq, appended.hash)

    async def checkpoint(self, seq: int | None = None, digest: str | None = None) -> Appended:
        """Append a signed checkpoint over entry ``seq`` (default: the current head)."""
        if self.signer is None:
            raise AuditUnavailable("no signer configured for checkpoints")
        if seq is None or digest is None:
            head = await self.redis.hmget(Keys.AUDIT_HEAD, ["seq", "hash"])
            seq, digest = int(head[0] or 0), head[1] or GENESIS
        now = time.time()
        jws = self.signer.sign_jws({"seq": seq, "hash": digest, "ts": int(now)}, typ=CHECKPOINT_TYP)
        event = Event("system", Action.CHECKPOINT, {"seq": str(seq), "hash": digest, "jws": jws})
        writes = [Write("HSET", Keys.AUDIT_HEAD, ("cp_seq", seq, "cp_ts", now))]
        return await self._append_once(event, writes, (), ())

    async def events_for(self, index_key: str, limit: int = 500) -> list[dict[str, Any]]:
        """The entries whose stream ids were pushed onto ``index_key``, oldest first."""
        if self.log is not None:
            return await self.log.events_for(index_key, limit)
        ids = await self.redis.lrange(index_key, 0, limit - 1)
        out: list[dict[str, Any]] = []
        for stream_id in ids:
            rows = await self.redis.xrange(Keys.AUDIT_STREAM, stream_id, stream_id)
            if rows:
                out.append(parse_entry(rows[0][0], rows[0][1]))
        return out


def _stream_fields(entry: dict[str, Any], digest: str) -> list[str]:
    return [
        "seq", str(entry["seq"]),
        "ts", str(entry["ts"]),
        "nonce", entry["nonce"],
        "actor", entry["actor"],
        "action", entry["action"],
        "objects", canonical_json(entry["objects"]).decode(),
        "prev", entry["prev"],
        "hash", digest,
    ]  # fmt: skip


class MalformedEntry(ValueError):
    """A stream entry lacks a field or has one that does not parse."""


def parse_entry(stream_id: str, fields: dict[str, str]) -> dict[str, Any]:
    """A stream entry as a dict with typed ``seq``/``ts`` and decoded ``objects``."""
    import json

    try:
        entry = {
            "id": stream_id,
            "seq": int(fields["seq"]),
            "ts": int(fields["ts"]),
            "nonce": fields["nonce"],
            "actor": fields["actor"],
            "action": fields["action"],
            "objects": json.loads(fields["objects"]),
            "prev": fields["prev"],
            "hash": fields["hash"],
        }
    except (KeyError, ValueError, TypeError, RecursionError) as exc:
        raise MalformedEntry(f"entry {stream_id}: {type(exc).__name__} {exc}") from exc
    if not isinstance(entry["objects"], dict):
        raise MalformedEntry(f"entry {stream_id}: objects is not a JSON object")
    return entry
