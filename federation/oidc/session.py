"""The bridge session (``Keys.session``): who is logged in at the bridge, since when, and
at which RPs, so that ``prompt=none``, ``max_age``, ``id_token_hint`` and logout work.

The journey creates it after a successful upstream login and keeps its id in the
``SESSION_COOKIE`` cookie (Secure, HttpOnly, SameSite=Lax). Record shape (a Redis hash):

=================  ==========================================================
``subject``        the person's bridge subject (pseudonymous)
``auth_time``      epoch seconds of the upstream authentication
``acr``            assurance of that authentication (may be empty)
``amr``            space-separated methods (may be empty)
``rp:<client_id>`` the RP-facing ``sub`` at each client a code was issued to
=================  ==========================================================

:func:`federation.oidc.authorize.issue_authorization_code` adds the ``rp:`` fields.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from federation.storage.keys import Keys

SESSION_COOKIE = "idb_session"
"""Name of the cookie that holds the session id."""


@dataclass(frozen=True, slots=True)
class Session:
    """A bridge session as read from Redis."""

    session_id: str
    subject: str
    auth_time: int
    acr: str = ""
    amr: tuple[str, ...] = ()
    rp_subjects: dict[str, str] = field(default_factory=dict)
    """client_id → RP-facing ``sub``."""


def new_session_id() -> str:
    """A fresh session id: 256 random bits."""
    return secrets.token_urlsafe(32)


async def create_session(
    redis: aioredis.Redis,
    subject: str,
    auth_time: int,
    ttl: int,
    *,
    acr: str = "",
    amr: tuple[str, ...] = (),
    session_id: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> str:
    """Open a session and return its id (256 random bits, or ``session_id`` from
    :func:`new_session_id`); ``extra`` fields (e.g. the journey's sealed identity) are
    written in the same round trip."""
    session_id = session_id or new_session_id()
    key = Keys.session(session_id)
    pipe = redis.pipeline(transaction=True)
    pipe.hset(
        key,
        mapping={
            **(extra or {}),
            "subject": subject,
            "auth_time": str(auth_time),
            "acr": acr,
            "amr": " ".join(amr),
        },
    )
    pipe.expire(key, ttl)
    await pipe.execute()
    return session_id


async def get_session(redis: aioredis.Redis, session_id: str | None) -> Session | None:
    """The session with id ``session_id``, or ``None`` (unknown, expired or malformed id)."""
    if not session_id or len(session_id) > 128:
        return None
    record = await redis.hgetall(Keys.session(session_id))
    if not record or "subject" not in record:
        return None
    return Session(
        session_id=session_id,
        subject=record["subject"],
        auth_time=int(record.get("auth_time") or 0),
        acr=record.get("acr", ""),
        amr=tuple((record.get("amr") or "").split()),
        rp_subjects={k[3:]: v for k, v in record.items() if k.startswith("rp:")},
    )


async def end_session(redis: aioredis.Redis, session_id: str) -> Session | None:
    """Delete a session and return what it was (for back-channel logout)."""
    session = await get_session(redis, session_id)
    if session is not None:
        await redis.delete(Keys.session(session_id))
    return session
