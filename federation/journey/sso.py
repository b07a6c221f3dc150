"""Single sign-on within the bridge session: the person's identity, sealed (SM4-GCM, AAD =
``session:<digest of the public sid>``), kept in the session hash (``Keys.session``) for the
session's lifetime (``IDBRIDGE_SESSION_TTL``) so that ``prompt=none``, ``max_age`` and a
second relying party need no new iAM Smart login. Logout deletes the session and the
identity with it.

The cookie holds the session's secret, never its ``sid`` (:mod:`federation.oidc.session`):
:func:`open_session` returns both, the cookie gets the secret, everything else the ``sid``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from fastapi.responses import Response

from federation import cookies
from federation.identity import IdentityRecord
from federation.journey.record import Sealer
from federation.oidc.session import (
    SESSION_COOKIE,
    Session,
    create_session,
    new_session_secret,
    session_id_for,
)
from federation.storage.keys import Keys
from mappings.subjects import pairwise_subject

IDENTITY_FIELD = "j:identity"
AMR = ("iamsmart",)
"""Authentication method reference for an iAM Smart login (app approval on the phone)."""
_SET_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return -1
"""
"""HSET only on a session that still exists (one round trip)."""


def bridge_subject(identity: IdentityRecord, salt: bytes) -> str:
    """The person's pseudonymous subject inside the bridge (consent records, sessions):
    a keyed digest of the upstream subject, never released to relying parties."""
    return pairwise_subject(salt, "idbridge:bridge", identity.upstream, identity.subject)


@dataclass(frozen=True, slots=True)
class OpenedSession:
    """A new bridge session: ``cookie`` goes into ``SESSION_COOKIE`` only; ``sid`` (derived
    from it one way) goes everywhere else (journey record, grant, tokens)."""

    cookie: str = field(repr=False)  # the secret never prints
    sid: str


async def open_session(
    redis: aioredis.Redis, sealer: Sealer, identity: IdentityRecord, subject: str, ttl: int
) -> OpenedSession:
    """Create the bridge session for a fresh upstream login with the sealed identity (AAD
    bound to the public ``sid``)."""
    secret = new_session_secret()
    sid = session_id_for(secret)
    await create_session(
        redis,
        subject,
        identity.authenticated_at,
        ttl,
        acr=identity.assurance.value,
        amr=AMR,
        secret=secret,
        extra={IDENTITY_FIELD: sealer.seal(_aad(sid), identity.to_dict())},
    )
    return OpenedSession(cookie=secret, sid=sid)


async def keep_identity(
    redis: aioredis.Redis, sealer: Sealer, sid: str, identity: IdentityRecord
) -> None:
    """Seal ``identity`` (with the attributes fetched so far) into the session, if it
    still exists (HSET on a key that expired meanwhile would resurrect it without TTL)."""
    sealed = sealer.seal(_aad(sid), identity.to_dict())
    await redis.eval(_SET_IF_EXISTS, 1, Keys.session(sid), IDENTITY_FIELD, sealed)


async def identity_of(
    redis: aioredis.Redis, sealer: Sealer, session: Session
) -> IdentityRecord | None:
    """The identity kept with ``session``, or ``None``."""
    sealed = await redis.hget(Keys.session(session.session_id), IDENTITY_FIELD)
    if not sealed:
        return None
    try:
        return IdentityRecord.from_dict(sealer.open(_aad(session.session_id), sealed))
    except (ValueError, KeyError, TypeError):
        return None


def set_session_cookie(
    response: Response, session: OpenedSession, *, secure: bool, ttl: int
) -> None:
    """The session cookie with the session's secret (never the ``sid``): HttpOnly,
    SameSite=Lax; ``__Host-`` and Secure behind https (:mod:`federation.cookies`)."""
    cookies.set_cookie(response, SESSION_COOKIE, session.cookie, secure=secure, max_age=ttl)


def _aad(sid: str) -> str:
    return "session:" + hashlib.sha256(sid.encode()).hexdigest()
