"""Codes, tokens and token families in Redis (DESIGN §6, §8, §10).

Every secret (code, access token, refresh token) is stored only under the hex SM3 digest of
its value. Every step is one round trip: atomic steps are Lua scripts, so that two workers
racing on one code or one refresh token cannot both win.

- A **code** is a hash (``Keys.auth_code``) with its request and grant. Consuming it leaves
  a small ``used`` marker (family id) alive for the family's lifetime, so a replay — at any
  time — revokes everything issued from it (RFC 6749 §4.1.2, DESIGN §8).
- A **family** (``Keys.token_family``) is the set of token keys issued from one code,
  including every rotated refresh token. Revoking it deletes them all and leaves a
  ``!revoked`` tombstone so that a redemption racing the revocation issues nothing.
- A **refresh token** is marked ``used`` when rotated; presenting a used one is reuse and
  revokes the family (OAuth 2.0 Security BCP §4.14.2).
- ``Keys.grants_for(person, client)`` lists the families a person holds at an RP, for
  revocation by the consent layer.

Keys not named in ``KEYS`` are touched by the family scripts; with Redis Cluster give the
family and its tokens one hash tag (not needed for a single Redis or Sentinel).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from federation.crypto.sm3 import sm3
from federation.storage.keys import Keys

TOMBSTONE = "!revoked"
TOMBSTONE_TTL = 300

_CONSUME_CODE = """
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return false end
local family = redis.call('HGET', KEYS[1], 'family')
if redis.call('HEXISTS', KEYS[1], 'used') == 1 then return {'used', family} end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'used', '1', 'family', family)
redis.call('EXPIRE', KEYS[1], ARGV[1])
return {'ok', unpack(h)}
"""

_USE_REFRESH = """
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return false end
if redis.call('HEXISTS', KEYS[1], 'used') == 1 then
  return {'used', redis.call('HGET', KEYS[1], 'family')}
end
if #ARGV > 1 and redis.call('HGET', KEYS[1], 'client_id') == ARGV[1] then
  local granted = {}
  for s in string.gmatch(redis.call('HGET', KEYS[1], 'scope') or '', '%S+') do
    granted[s] = true
  end
  for i = 2, #ARGV do
    if not granted[ARGV[i]] then return {'invalid_scope'} end
  end
end
redis.call('HSET', KEYS[1], 'used', '1')
return {'ok', unpack(h)}
"""

_STORE_TOKENS = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 0 end
local n = 0
for i = 2, #KEYS do
  local fields = cjson.decode(ARGV[2 * i - 1])
  local flat = {}
  for k, v in pairs(fields) do flat[#flat + 1] = k; flat[#flat + 1] = v end
  redis.call('HSET', KEYS[i], unpack(flat))
  redis.call('EXPIRE', KEYS[i], ARGV[2 * i])
  redis.call('SADD', KEYS[1], KEYS[i])
  n = n + 1
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return n
"""

_REVOKE_FAMILY = """
local members = redis.call('SMEMBERS', KEYS[1])
local sub, sid = '', ''
local n = 0
for _, k in ipairs(members) do
  if k ~= ARGV[1] then
    if sub == '' then
      local v = redis.call('HMGET', k, 'sub', 'sid')
      sub = v[1] or ''
      sid = v[2] or ''
    end
    n = n + redis.call('DEL', k)
  end
end
redis.call('DEL', KEYS[1])
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {n, sub, sid}
"""


def digest(secret: str) -> str:
    """Hex SM3 digest under which a code or token is stored."""
    return sm3(secret.encode("utf-8")).hex()


def new_secret() -> str:
    """A fresh code or token value: 256 random bits, base64url."""
    return secrets.token_urlsafe(32)


def _pairs(flat: list[Any]) -> dict[str, str]:
    return {str(flat[i]): str(flat[i + 1]) for i in range(0, len(flat), 2)}


@dataclass(frozen=True, slots=True)
class Consumed:
    """Result of consuming a code or a refresh token."""

    status: str
    """``ok``, ``used`` (replay/reuse), ``unknown`` or (refresh only) ``invalid_scope``."""
    family: str = ""
    fields: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Revoked:
    """What revoking a family removed: how many tokens, and the sub/sid they were for."""

    tokens: int
    subject: str
    sid: str


class TokenStore:
    """Redis operations of the provider; scripts are registered once per client."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self._consume_code = redis.register_script(_CONSUME_CODE)
        self._use_refresh = redis.register_script(_USE_REFRESH)
        self._store_tokens = redis.register_script(_STORE_TOKENS)
        self._revoke_family = redis.register_script(_REVOKE_FAMILY)

    async def save_code(
        self,
        code: str,
        fields: dict[str, str],
        ttl: int,
        person: str,
        client_id: str,
        grants_ttl: int,
        session_id: str | None,
        rp_subject: str,
        discard: Sequence[str] = (),
        session_bound: bool = False,
    ) -> None:
        """Store a new code and index its family for the person at the client (and, when
        ``session_bound``, under the session, whose end revokes it), deleting the keys in
        ``discard`` (the journey that led here) — one trip."""
        pipe = self.redis.pipeline(transaction=False)
        if discard:
            pipe.delete(*discard)
        key = Keys.auth_code(digest(code))
        pipe.hset(key, mapping=fields)
        pipe.expire(key, ttl)
        index = Keys.grants_for(person, client_id)
        pipe.sadd(index, fields["family"])
        pipe.expire(index, grants_ttl)
        if session_id:
            pipe.hset(Keys.session(session_id), f"rp:{client_id}", rp_subject)
            if session_bound:
                pipe.sadd(Keys.session_tokens(session_id), fields["family"])
                pipe.expire(Keys.session_tokens(session_id), grants_ttl)
        await pipe.execute()

    async def consume_code(self, code: str, used_marker_ttl: int) -> Consumed:
        """Atomically take a code; a second take reports ``used`` with its family."""
        result = await self._consume_code(
            keys=[Keys.auth_code(digest(code))], args=[used_marker_ttl]
        )
        return _consumed(result)

    async def use_refresh(
        self, token: str, client_id: str = "", scopes: Sequence[str] = ()
    ) -> Consumed:
        """Atomically mark a refresh token rotated; a second use reports ``used``.

        With ``client_id`` and requested ``scopes``: if the token is that client's and a
        scope exceeds its grant, report ``invalid_scope`` and leave the token as it was
        (RFC 6749 §6: a refused request changes nothing). A token of another client is
        still consumed, for the caller to revoke its family."""
        args = [client_id, *scopes] if scopes else []
        result = await self._use_refresh(keys=[Keys.refresh_token(digest(token))], args=args)
        return _consumed(result)

    async def store_tokens(
        self, family: str, family_ttl: int, tokens: list[tuple[str, dict[str, str], int]]
    ) -> bool:
        """Write tokens ``(key, fields, ttl)`` into ``family``; ``False`` if it was revoked."""
        keys = [Keys.token_family(family)] + [key for key, _, _ in tokens]
        args: list[Any] = [TOMBSTONE, family_ttl]
        for _, fields, ttl in tokens:
            args += [json.dumps(fields), ttl]
        stored = await self._store_tokens(keys=keys, args=args)
        return int(stored) > 0

    async def revoke_family(self, family: str) -> Revoked:
        """Delete every token of ``family`` and leave a tombstone."""
        n, sub, sid = await self._revoke_family(
            keys=[Keys.token_family(family)], args=[TOMBSTONE, TOMBSTONE_TTL]
        )
        return Revoked(int(n), str(sub), str(sid))

    async def access_token(self, token: str) -> dict[str, str] | None:
        """The access token record, or ``None``."""
        record = await self.redis.hgetall(Keys.access_token(digest(token)))
        return record or None

    async def refresh_token(self, token: str) -> dict[str, str] | None:
        """The refresh token record (without consuming it), or ``None``."""
        record = await self.redis.hgetall(Keys.refresh_token(digest(token)))
        return record or None

    async def delete_access_token(self, token: str) -> None:
        """Revoke one access token."""
        await self.redis.delete(Keys.access_token(digest(token)))

    async def session_families(self, session_id: str) -> list[str]:
        """Family ids bound to a session, and forget the index."""
        index = Keys.session_tokens(session_id)
        pipe = self.redis.pipeline(transaction=True)
        pipe.smembers(index)
        pipe.delete(index)
        members, _ = await pipe.execute()
        return sorted(members)

    async def families_for(self, person: str, client_id: str) -> list[str]:
        """Family ids a person holds at a client, and forget the index."""
        index = Keys.grants_for(person, client_id)
        pipe = self.redis.pipeline(transaction=True)
        pipe.smembers(index)
        pipe.delete(index)
        members, _ = await pipe.execute()
        return sorted(members)


def _consumed(result: Any) -> Consumed:
    if not result:
        return Consumed("unknown")
    status = str(result[0])
    if status == "invalid_scope":
        return Consumed(status)
    if status == "used":
        return Consumed("used", family=str(result[1] or ""))
    fields = _pairs(list(result[1:]))
    return Consumed("ok", family=fields.get("family", ""), fields=fields)
