"""The consent transparency log (issue 15; RFC 9162 in SM3/SM2): sharded Merkle trees.

Events are leaves of ``shards`` independent trees, one per shard of subjects
(``shard_for``). A shard is a stream of entries (``Keys.audit_log``), a head
(``Keys.audit_log_head``: size, root, frontier) and the list of leaf hashes
(``Keys.audit_log_leaves``), all under the hash tag ``{audit:<shard>}``. An entry carries
``shard``, ``seq`` (1-based), ``ts``, ``nonce``, ``actor``, ``action``, ``objects`` and
``prev`` (the shard's previous leaf hash); its leaf hash is ``SM3(0x00 || canonical JSON
of those fields)`` (``consent.merkle``), stored as ``hash``.

Appending is compare-and-set **per shard**: Python reads the shard's head, computes the
leaf, new frontier and root, and one Lua script checks that the size is unchanged, checks
the caller's guards, applies the caller's writes, XADDs the entry and moves the head
(:meth:`TransparencyLog.write_once`, the one function that touches Redis for a write).
Signed tree heads (``consent.tree_heads``) seal every shard's (size, root) outside Redis.
Imports ``consent.merkle``, ``consent.records``, ``federation.storage``.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis

from consent.merkle import EMPTY_ROOT, frontier_append, frontier_root, leaf_hash
from consent.records import canonical_json
from federation.crypto.sm3 import sm3
from federation.storage.keys import Keys

if TYPE_CHECKING:
    from consent.audit import Appended, Event, Guard, Write

GENESIS = "0" * 64
LEAF_FIELDS: tuple[str, ...] = (
    "shard", "seq", "ts", "nonce", "actor", "action", "objects", "prev",
)  # fmt: skip


def shard_for(routing_key: str, shards: int) -> int:
    """The shard of a subject (or other routing key): SM3 prefix modulo ``shards``."""
    return int.from_bytes(sm3(routing_key.encode())[:4], "big") % shards


def leaf_bytes(entry: dict[str, Any]) -> bytes:
    """The leaf *entry* of RFC 9162 §2.1.1: canonical JSON of the hashed fields."""
    return canonical_json({name: entry[name] for name in LEAF_FIELDS})


def entry_leaf_hash(entry: dict[str, Any]) -> str:
    """``SM3(0x00 || leaf entry)`` as hex."""
    return leaf_hash(leaf_bytes(entry)).hex()


def parse_frontier(text: str) -> list[bytes]:
    """A head's ``frontier`` field (hex hashes joined by spaces)."""
    return [bytes.fromhex(part) for part in text.split()] if text else []


def parse_log_entry(stream_id: str, fields: dict[str, str]) -> dict[str, Any]:
    """A shard stream entry with typed fields: ``consent.audit.parse_entry`` plus its
    ``shard`` (raises ``consent.audit.MalformedEntry``)."""
    from consent.audit import MalformedEntry, parse_entry

    entry = parse_entry(stream_id, fields)
    try:
        return {**entry, "shard": int(fields["shard"])}
    except (KeyError, ValueError) as exc:
        raise MalformedEntry(f"entry {stream_id}: {type(exc).__name__} {exc}") from exc


_APPEND_LUA = """
local size = tonumber(redis.call('HGET', KEYS[2], 'size') or '0')
if size ~= tonumber(ARGV[1]) then
  return {'conflict', tostring(size)}
end
for i, g in ipairs(cjson.decode(ARGV[4])) do
  local v
  if g[2] == cjson.null then v = redis.call('GET', KEYS[g[1]])
  else v = redis.call('HGET', KEYS[g[1]], g[2]) end
  if g[3] == cjson.null then
    if v then return {'guard', tostring(i)} end
  elseif v ~= g[3] then
    return {'guard', tostring(i)}
  end
end
for _, w in ipairs(cjson.decode(ARGV[3])) do
  local args = {w[1], KEYS[w[2]]}
  for j = 3, #w do args[#args + 1] = w[j] end
  redis.call(unpack(args))
end
local id = redis.call('XADD', KEYS[1], '*', unpack(cjson.decode(ARGV[2])))
redis.call('RPUSH', KEYS[3], ARGV[5])
redis.call('HSET', KEYS[2], 'size', tostring(size + 1), 'root', ARGV[6],
  'frontier', ARGV[7], 'hash', ARGV[5], 'id', id)
local ref = ARGV[9] .. '/' .. id
for _, k in ipairs(cjson.decode(ARGV[8])) do
  redis.call('RPUSH', KEYS[k], ref)
end
return {'ok', id}
"""


@dataclass(frozen=True, slots=True)
class ShardHead:
    """One shard's tree: ``size`` leaves under ``root``."""

    shard: int
    size: int
    root: str


class TransparencyLog:
    """Appends events (and the writes they describe) as leaves of their shard's tree."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        shards: int = 8,
        max_attempts: int = 200,
        after_append: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        if shards < 1:
            raise ValueError("the log needs at least one shard")
        self.redis = redis
        self.shards = shards
        self.max_attempts = max_attempts
        self.after_append = after_append
        self.tree_heads: Any = None
        """The ``consent.tree_heads.TreeHeads`` signing this log's heads, once attached."""
        self._script = redis.register_script(_APPEND_LUA)

    def route(self, event: Event, shard_key: str | None) -> int:
        """The shard for an event: ``shard_key`` (the subject), else its consent id or actor."""
        key = shard_key or event.objects.get("consent_id") or event.actor
        return shard_for(key, self.shards)

    async def heads(self) -> list[ShardHead]:
        """Every shard's current (size, root), read shard by shard."""
        out = []
        for shard in range(self.shards):
            size, root = await self.redis.hmget(Keys.audit_log_head(shard), ["size", "root"])
            out.append(ShardHead(shard, int(size or 0), root or EMPTY_ROOT.hex()))
        return out

    async def append(
        self,
        event: Event,
        *,
        writes: Sequence[Write] = (),
        guards: Sequence[Guard] = (),
        index_keys: Sequence[str] = (),
        shard_key: str | None = None,
    ) -> Appended:
        """Atomically check ``guards``, apply ``writes``, append ``event`` as a leaf of its
        shard and RPUSH ``"<shard>/<stream id>"`` onto each of ``index_keys``. The
        returned ``stream_id`` is that reference; ``seq`` is the 1-based leaf number."""
        shard = self.route(event, shard_key)
        appended = await self.write_once(shard, event, writes, guards, index_keys)
        if self.after_append is not None:
            await self.after_append(1)
        return appended

    async def write_once(
        self,
        shard: int,
        event: Event,
        writes: Sequence[Write],
        guards: Sequence[Guard],
        index_keys: Sequence[str],
    ) -> Appended:
        """The single Redis write of an append (wrap it to add WAIT): CAS on the shard."""
        from consent.audit import Appended, AuditUnavailable, GuardFailed

        head_key = Keys.audit_log_head(shard)
        keys: list[str] = [Keys.audit_log(shard), head_key, Keys.audit_log_leaves(shard)]

        def slot(key: str) -> int:
            if key not in keys:
                keys.append(key)
            return keys.index(key) + 1

        wire_writes = canonical_json(
            [[w.command, slot(w.key), *(str(a) for a in w.args)] for w in writes]
        ).decode()
        wire_guards = canonical_json([[slot(g.key), g.field, g.expected] for g in guards])
        wire_index = canonical_json([slot(k) for k in index_keys]).decode()
        for attempt in range(self.max_attempts):
            size_t, frontier_t, last = await self.redis.hmget(
                head_key, ["size", "frontier", "hash"]
            )
            size, frontier = int(size_t or 0), parse_frontier(frontier_t or "")
            entry: dict[str, Any] = {
                "shard": shard,
                "seq": size + 1,
                "ts": int(time.time() * 1000),
                "nonce": secrets.token_hex(8),
                "actor": event.actor,
                "action": event.action,
                "objects": dict(event.objects),
                "prev": last or GENESIS,
            }
            leaf = leaf_hash(leaf_bytes(entry))
            new_frontier = frontier_append(frontier, size, leaf)
            result = await self._script(
                keys=keys,
                args=[
                    str(size),
                    canonical_json(_stream_fields(entry, leaf.hex())).decode(),
                    wire_writes,
                    wire_guards.decode(),
                    leaf.hex(),
                    frontier_root(new_frontier).hex(),
                    " ".join(node.hex() for node in new_frontier),
                    wire_index,
                    str(shard),
                ],
            )
            if result[0] == "ok":
                return Appended(stream_id=f"{shard}/{result[1]}", seq=size + 1, hash=leaf.hex())
            if result[0] == "guard":
                raise GuardFailed(int(result[1]) - 1)
            if attempt > 3:
                await asyncio.sleep(0.001 * min(attempt, 20))
        raise AuditUnavailable(f"log shard {shard}: contention did not settle")

    async def entry(self, ref: str) -> dict[str, Any] | None:
        """The entry a ``"<shard>/<stream id>"`` reference names, with its leaf ``index``."""
        shard_text, _, stream_id = ref.partition("/")
        if not stream_id:  # an entry of the single chain from before the log
            from consent.audit import parse_entry

            rows = await self.redis.xrange(Keys.AUDIT_STREAM, ref, ref)
            return parse_entry(rows[0][0], rows[0][1]) if rows else None
        if not shard_text.isdigit():
            return None
        rows = await self.redis.xrange(Keys.audit_log(int(shard_text)), stream_id, stream_id)
        if not rows:
            return None
        entry = parse_log_entry(rows[0][0], rows[0][1])
        entry["index"] = entry["seq"] - 1
        entry["ref"] = ref
        return entry

    async def events_for(self, index_key: str, limit: int = 500) -> list[dict[str, Any]]:
        """The entries whose references were pushed onto ``index_key``, oldest first."""
        out = []
        for ref in await self.redis.lrange(index_key, 0, limit - 1):
            found = await self.entry(ref)
            if found is not None:
                out.append(found)
        return out

    async def leaves(self, shard: int, size: int | None = None) -> list[bytes]:
        """The first ``size`` (default: all) leaf hashes of ``shard``."""
        end = -1 if size is None else size - 1
        if end == -1 and size == 0:
            return []
        rows = await self.redis.lrange(Keys.audit_log_leaves(shard), 0, end)
        return [bytes.fromhex(row) for row in rows]


def _stream_fields(entry: dict[str, Any], digest: str) -> list[str]:
    return [
        "shard", str(entry["shard"]),
        "seq", str(entry["seq"]),
        "ts", str(entry["ts"]),
        "nonce", entry["nonce"],
        "actor", entry["actor"],
        "action", entry["action"],
        "objects", canonical_json(entry["objects"]).decode(),
        "prev", entry["prev"],
        "hash", digest,
    ]  # fmt: skip
