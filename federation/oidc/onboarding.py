"""Initial access tokens per onboarding (RFC 7591 §3, §1.2 "initial access token"; issue 24:
one shared token allowed unlimited, permanent registrations).

An operator issues one token per relying party being onboarded
(``idbridge clients onboard --label … --quota N --days D``): 256 random bits, printed once,
stored only as its SM3 digest (``Keys.initial_access_token``) with a label, a registration
quota and an expiry. Each successful registration uses one of the quota
(:func:`reserve_registration`: reserved atomically before, given back when the registration
fails); beyond it, or after the expiry, the token is refused (401 ``invalid_token``).
``IDBRIDGE_INITIAL_ACCESS_TOKEN`` keeps working as one such token, without expiry and with
the quota ``IDBRIDGE_INITIAL_ACCESS_TOKEN_QUOTA``.

``/register`` is also limited per address and hour (``IDBRIDGE_REGISTRATION_PER_HOUR``,
:func:`registration_rate_limit`), well below the pages' limits. Every registered client is
indexed with its onboarding and time (``Keys.DYNAMIC_CLIENTS``) for ``idbridge clients``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import redis.asyncio as aioredis
from fastapi import Request

from federation.oidc.errors import OAuthError, bearer_error
from federation.oidc.provider import OidcProvider
from federation.oidc.store import digest
from federation.ratelimit import RateLimited, RateLimiter, client_bucket
from federation.settings import Settings
from federation.storage.keys import Keys

ENV_TOKEN_ID = "env"  # noqa: S105 (an id, not a secret)
"""Onboarding id of ``IDBRIDGE_INITIAL_ACCESS_TOKEN``."""
REGISTRATION_WINDOW = 3600
EXPIRED_KEPT = 7 * 86400
"""How long an expired token's record stays (refused as expired, listed) before it goes."""

_RESERVE = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[2] == '' then return {0, 'unknown'} end
  redis.call('HSET', KEYS[1], 'id', ARGV[3], 'label', 'IDBRIDGE_INITIAL_ACCESS_TOKEN',
             'used', 0, 'expires_at', 0, 'created_at', ARGV[1])
end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'quota', ARGV[2]) end
local exp = tonumber(redis.call('HGET', KEYS[1], 'expires_at') or '0')
if exp > 0 and exp <= tonumber(ARGV[1]) then return {0, 'expired'} end
local used = tonumber(redis.call('HGET', KEYS[1], 'used') or '0')
local quota = tonumber(redis.call('HGET', KEYS[1], 'quota') or '0')
if used >= quota then return {0, 'quota'} end
redis.call('HINCRBY', KEYS[1], 'used', 1)
return {1, redis.call('HGET', KEYS[1], 'id')}
"""
"""Use one registration of a token's quota, if it is known, unexpired and not used up."""

_REFUND = """
if tonumber(redis.call('HGET', KEYS[1], 'used') or '0') > 0 then
  return redis.call('HINCRBY', KEYS[1], 'used', -1)
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Onboarding:
    """An initial access token as an operator sees it (never its value)."""

    id: str
    label: str
    quota: int
    used: int
    expires_at: int
    """Epoch seconds; 0: never (``IDBRIDGE_INITIAL_ACCESS_TOKEN``)."""


async def issue_initial_access_token(
    redis: aioredis.Redis, *, label: str, quota: int, ttl: int, now: int
) -> tuple[str, Onboarding]:
    """A new token for one onboarding; returns (its value, printed once; the record)."""
    if quota < 1 or ttl < 60:
        raise ValueError("quota must be ≥ 1 and the lifetime ≥ 60 s")
    token, token_id = secrets.token_urlsafe(32), "iat_" + secrets.token_urlsafe(9)
    key = Keys.initial_access_token(digest(token))
    onboarding = Onboarding(token_id, label[:200], quota, 0, now + ttl)
    pipe = redis.pipeline(transaction=True)
    pipe.hset(
        key,
        mapping={
            "id": token_id,
            "label": onboarding.label,
            "quota": quota,
            "used": 0,
            "expires_at": onboarding.expires_at,
            "created_at": now,
        },
    )
    pipe.expireat(key, onboarding.expires_at + EXPIRED_KEPT)  # refused as "expired" a while
    pipe.hset(Keys.ONBOARDINGS, token_id, digest(token))
    await pipe.execute()
    return token, onboarding


async def list_onboardings(redis: aioredis.Redis) -> list[Onboarding]:
    """The onboardings an operator issued that still exist (expired ones are gone)."""
    found = []
    for token_id, token_hash in sorted((await redis.hgetall(Keys.ONBOARDINGS)).items()):
        record = await redis.hgetall(Keys.initial_access_token(token_hash))
        if not record:
            await redis.hdel(Keys.ONBOARDINGS, token_id)
            continue
        found.append(
            Onboarding(
                token_id,
                record.get("label", ""),
                int(record.get("quota") or 0),
                int(record.get("used") or 0),
                int(record.get("expires_at") or 0),
            )
        )
    return found


def _presented(authorization: str | None) -> str:
    scheme, _, presented = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip() or len(presented) > 512:
        raise bearer_error("invalid_token", "a valid initial access token is required", 401)
    return presented.strip()


@asynccontextmanager
async def reserve_registration(
    provider: OidcProvider, redis: aioredis.Redis, authorization: str | None, quota: int
) -> AsyncIterator[str]:
    """RFC 7591 §3: the request must carry a valid initial access token with registrations
    left. Yields the onboarding id; the registration is given back if the body raises."""
    presented = _presented(authorization)
    env = provider.initial_access_token
    is_env = env is not None and secrets.compare_digest(presented.encode(), env.encode())
    key = Keys.initial_access_token(digest(presented))
    script = redis.register_script(_RESERVE)
    ok, detail = await script(
        keys=[key], args=[provider.clock(), str(quota) if is_env else "", ENV_TOKEN_ID]
    )
    if not int(ok):
        if detail == "unknown" and env is None and not await redis.exists(Keys.ONBOARDINGS):
            raise OAuthError("access_denied", "dynamic registration is disabled", 403)
        reason = {
            "expired": "the initial access token has expired",
            "quota": "the initial access token's registration quota is used up",
        }.get(str(detail), "a valid initial access token is required")
        raise bearer_error("invalid_token", reason, 401)
    try:
        yield str(detail)
    except BaseException:
        await redis.register_script(_REFUND)(keys=[key])
        raise


async def record_registration(
    redis: aioredis.Redis, client_id: str, onboarding: str, now: int
) -> None:
    """Index a newly registered client with its onboarding (``idbridge clients list``)."""
    meta = json.dumps({"registered_at": now, "onboarding": onboarding})
    await redis.hset(Keys.DYNAMIC_CLIENTS, client_id, meta)


async def registration_rate_limit(request: Request) -> None:
    """A route dependency for ``/register``: at most ``IDBRIDGE_REGISTRATION_PER_HOUR``
    requests per address (IPv6: per /64) and hour; 429 ``rate_limited`` beyond."""
    settings: Settings | None = getattr(request.app.state, "settings", None)
    redis = getattr(request.app.state, "redis", None)
    if settings is None or redis is None or not settings.rate_limit_enabled:
        return
    limiter = RateLimiter(redis, window=REGISTRATION_WINDOW)
    decision = await limiter.hit(
        "register-hourly", client_bucket(request, settings), settings.registration_per_hour
    )
    if not decision.allowed:
        raise RateLimited(decision.retry_after, error="rate_limited")


__all__ = [
    "ENV_TOKEN_ID",
    "Onboarding",
    "issue_initial_access_token",
    "list_onboardings",
    "record_registration",
    "registration_rate_limit",
    "reserve_registration",
]
