"""Self-service state in Redis: a sign-in under way (``state``, ``nonce``, PKCE verifier,
bound to a browser cookie, single use) and the signed-in session (the bridge subject and
the ID token, for the sign-out's ``id_token_hint``), keyed by the SM3 digest of the cookie
value so that Redis alone lets nobody act as the person.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass

import redis.asyncio as aioredis

from federation import cookies
from federation.crypto.sm3 import sm3
from federation.storage.keys import Keys

LOGIN_COOKIE = cookies.SELF_LOGIN
SESSION_COOKIE = cookies.SELF_SESSION
LOGIN_TTL_SECONDS = 1200
SESSION_TTL_SECONDS = 900
"""A signed-in self-service session lasts 15 minutes (sliding is not offered), and ends
with the bridge session it was opened from (logout or expiry)."""


@dataclass(frozen=True, slots=True)
class PendingLogin:
    """What ``/consents/login`` sent to ``/authorize``."""

    state: str
    nonce: str
    verifier: str
    locale: str

    @property
    def challenge(self) -> str:
        """The PKCE S256 ``code_challenge`` (RFC 7636 §4.2)."""
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class SelfServiceSession:
    """A signed-in person."""

    token: str
    """The cookie value (also what CSRF tokens are bound to)."""
    subject: str
    """The bridge subject: the ``subject`` of the person's consent records."""
    id_token: str
    sid: str


def _digest(value: str) -> str:
    return sm3(value.encode("utf-8")).hex()


async def start_login(redis: aioredis.Redis, locale: str) -> tuple[str, PendingLogin]:
    """A new pending sign-in; returns (cookie value, what to send to ``/authorize``)."""
    login_id = secrets.token_urlsafe(32)
    pending = PendingLogin(
        state=secrets.token_urlsafe(24),
        nonce=secrets.token_urlsafe(24),
        verifier=secrets.token_urlsafe(48),
        locale=locale,
    )
    key = Keys.selfservice_login(_digest(login_id))
    await redis.hset(
        key,
        mapping={
            "state": pending.state,
            "nonce": pending.nonce,
            "verifier": pending.verifier,
            "locale": locale,
        },
    )
    await redis.expire(key, LOGIN_TTL_SECONDS)
    return login_id, pending


async def take_login(redis: aioredis.Redis, login_id: str | None) -> PendingLogin | None:
    """The pending sign-in of this browser, removed (single use); ``None`` if unknown."""
    if not login_id or len(login_id) > 128:
        return None
    key = Keys.selfservice_login(_digest(login_id))
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hgetall(key)
        pipe.delete(key)
        fields, _ = await pipe.execute()
    if not fields:
        return None
    return PendingLogin(fields["state"], fields["nonce"], fields["verifier"], fields["locale"])


async def open_session(
    redis: aioredis.Redis, subject: str, id_token: str, sid: str
) -> SelfServiceSession:
    """A new signed-in session; its ``token`` goes in the cookie. It is tied to the bridge
    session ``sid`` (:func:`load_session` finds nothing once that has ended) and lasts at
    most :data:`SESSION_TTL_SECONDS`, never longer than the bridge session."""
    token = secrets.token_urlsafe(32)
    key = Keys.selfservice_session(_digest(token))
    ttl = SESSION_TTL_SECONDS
    if sid and (left := await redis.ttl(Keys.session(sid))) > 0:
        ttl = min(ttl, left)
    await redis.hset(key, mapping={"subject": subject, "id_token": id_token, "sid": sid})
    await redis.expire(key, ttl)
    return SelfServiceSession(token, subject, id_token, sid)


async def load_session(redis: aioredis.Redis, token: str | None) -> SelfServiceSession | None:
    """The signed-in session of this cookie, or ``None``."""
    if not token or len(token) > 128:
        return None
    key = Keys.selfservice_session(_digest(token))
    fields = await redis.hgetall(key)
    if not fields.get("subject"):
        return None
    sid = fields.get("sid", "")
    if sid and not await redis.exists(Keys.session(sid)):
        await redis.delete(key)  # the bridge session ended (logout, expiry): so does this
        return None
    return SelfServiceSession(
        token, fields["subject"], fields.get("id_token", ""), fields.get("sid", "")
    )


async def end_session(redis: aioredis.Redis, token: str) -> None:
    """Sign out of the self-service area."""
    await redis.delete(Keys.selfservice_session(_digest(token)))
