"""The bridge session (``Keys.session``): who is logged in at the bridge, since when, and
at which RPs, so that ``prompt=none``, ``max_age``, ``id_token_hint`` and logout work.

Two values name a session, and only one of them is public:

- the **cookie secret** (256 random bits, :func:`new_session_secret`) lives only in the
  ``SESSION_COOKIE`` cookie (Secure behind https, HttpOnly, SameSite=Lax);
- the **session id** (``sid``) is derived from it one way (:func:`session_id_for`: SHA-256
  over a label and the secret, base64url). It keys the Redis hash (``Keys.session(sid)``)
  and is what ID tokens and logout tokens carry in their ``sid`` claim (Front-Channel
  Logout 1.0 §3, Back-Channel Logout 1.0 §2.4), what the journey record and the grant
  keep, and what the SSO identity's AAD is bound to.

A relying party holding an ID token therefore knows the ``sid`` but cannot turn it into the
cookie: presenting a ``sid`` as the cookie names another (non-existent) session. Every read
of the cookie goes through :func:`session_from_cookie`.

Record shape (a Redis hash):

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

import base64
import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from federation import cookies
from federation.storage.keys import Keys

SESSION_COOKIE = cookies.SESSION
"""Name of the cookie that holds the session's cookie secret (never the ``sid``); sent as
``__Host-idb_session`` behind https (:mod:`federation.cookies`)."""

_SID_LABEL = b"idbridge session id v1\x00"
_COOKIE_SHAPE = re.compile(r"[A-Za-z0-9_-]{32,128}")


@dataclass(frozen=True, slots=True)
class Session:
    """A bridge session as read from Redis."""

    session_id: str
    """The public ``sid`` (derived from the cookie secret; never the cookie itself)."""
    subject: str
    auth_time: int
    acr: str = ""
    amr: tuple[str, ...] = ()
    rp_subjects: dict[str, str] = field(default_factory=dict)
    """client_id → RP-facing ``sub``."""


def new_session_secret() -> str:
    """A fresh cookie secret: 256 random bits, base64url (43 characters)."""
    return secrets.token_urlsafe(32)


def session_id_for(secret: str) -> str:
    """The public session id (``sid``) of a cookie secret: base64url(SHA-256(label ‖
    secret)), one way, so that knowing a ``sid`` gives no cookie."""
    digest = hashlib.sha256(_SID_LABEL + secret.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


async def create_session(
    redis: aioredis.Redis,
    subject: str,
    auth_time: int,
    ttl: int,
    *,
    acr: str = "",
    amr: tuple[str, ...] = (),
    secret: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> str:
    """Open the session of cookie secret ``secret`` (default: a fresh one nobody learns)
    and return its public ``sid``; ``extra`` fields (e.g. the journey's sealed identity)
    are written in the same round trip."""
    session_id = session_id_for(secret or new_session_secret())
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


async def session_from_cookie(redis: aioredis.Redis, cookie: str | None) -> Session | None:
    """The session whose cookie secret is ``cookie`` (the ``SESSION_COOKIE`` value), or
    ``None`` (no cookie, malformed, unknown or expired). The only way to read the cookie."""
    if not cookie or not _COOKIE_SHAPE.fullmatch(cookie):
        return None
    return await get_session(redis, session_id_for(cookie))


async def get_session(redis: aioredis.Redis, session_id: str | None) -> Session | None:
    """The session with public id ``session_id``, or ``None`` (unknown, expired or
    malformed id). Never call it with a cookie value: use :func:`session_from_cookie`."""
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
    """Delete the session with public id ``session_id`` and return what it was (for
    back-channel logout); ``None`` if it was already gone (deleted by someone else)."""
    session = await get_session(redis, session_id)
    if session is not None and not await redis.delete(Keys.session(session_id)):
        return None  # a concurrent logout ended it first: it notifies the RPs
    return session
