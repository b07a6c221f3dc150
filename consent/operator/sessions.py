"""Operator bearer sessions and the login rate limit, in Redis.

A session token is 256 random bits, given to the operator once; Redis keeps only its SM3
digest (``Keys.operator_session``) with the username and the account's session
generation, for ``SESSION_SECONDS``. Every request re-reads the account, so disabling an
operator or changing their role takes effect at once, and a session from before a disable
or a TOTP reset (an older generation) never comes back when the account is enabled again.
Logins are limited per username and per client address in fixed windows
(``Keys.rate_limit``); :meth:`OperatorSessions.login_attempt` says whether this attempt is
the one that first crossed a limit in its window, so that the refusal is audited once per
window rather than once per attempt (a flood of attempts must not flood the durable chain).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from enum import Enum

import redis.asyncio as aioredis

from consent.operator.accounts import Operator, OperatorAccounts
from federation.crypto.sm3 import sm3
from federation.storage.keys import Keys

SESSION_SECONDS = 900
LOGIN_WINDOW_SECONDS = 300
LOGIN_LIMIT_PER_USER = 10
LOGIN_LIMIT_PER_ADDRESS = 30


@dataclass(frozen=True, slots=True)
class Session:
    """A live session: who, and when it ends."""

    operator: Operator
    token_hash: str
    expires_at: int


class LoginThrottle(Enum):
    """What the login rate limit says about one attempt."""

    ALLOWED = "allowed"
    FIRST_REFUSAL = "first_refusal"
    """Refused, and this attempt is the one that crossed a limit in this window."""
    REFUSED = "refused"
    """Refused again in a window already refused."""


def _digest(token: str) -> str:
    return sm3(token.encode()).hex()


class OperatorSessions:
    """Issue, resolve and end operator sessions; throttle logins."""

    def __init__(
        self,
        redis: aioredis.Redis,
        accounts: OperatorAccounts,
        *,
        session_seconds: int = SESSION_SECONDS,
        limit_per_user: int = LOGIN_LIMIT_PER_USER,
        limit_per_address: int = LOGIN_LIMIT_PER_ADDRESS,
    ) -> None:
        self.redis = redis
        self.accounts = accounts
        self.session_seconds = session_seconds
        self.limit_per_user = limit_per_user
        self.limit_per_address = limit_per_address

    async def login_attempt(self, username: str, address: str) -> LoginThrottle:
        """Count this attempt against the per-username and per-address limits."""
        window = int(time.time()) // LOGIN_WINDOW_SECONDS
        user_key = Keys.rate_limit("operator-login-user", sm3(username.encode()).hex(), window)
        addr_key = Keys.rate_limit("operator-login-addr", address, window)
        pipe = self.redis.pipeline(transaction=True)
        pipe.incr(user_key).expire(user_key, LOGIN_WINDOW_SECONDS)
        pipe.incr(addr_key).expire(addr_key, LOGIN_WINDOW_SECONDS)
        user_count, _, addr_count, _ = await pipe.execute()
        if user_count <= self.limit_per_user and addr_count <= self.limit_per_address:
            return LoginThrottle.ALLOWED
        if user_count == self.limit_per_user + 1 or addr_count == self.limit_per_address + 1:
            return LoginThrottle.FIRST_REFUSAL
        return LoginThrottle.REFUSED

    async def issue(self, operator: Operator) -> tuple[str, int]:
        """A new bearer token for ``operator`` and its lifetime in seconds."""
        token = secrets.token_urlsafe(32)
        key = Keys.operator_session(_digest(token))
        await self.redis.hset(
            key,
            mapping={
                "username": operator.username,
                "generation": str(operator.generation),
                "issued_at": str(int(time.time())),
            },
        )
        await self.redis.expire(key, self.session_seconds)
        return token, self.session_seconds

    async def resolve(self, token: str) -> Session | None:
        """The session for ``token`` if it is live, its operator still enabled and the
        account's session generation unchanged since it was issued."""
        if not token or len(token) > 128:
            return None
        digest = _digest(token)
        key = Keys.operator_session(digest)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hmget(key, ["username", "generation"]).ttl(key)
        (username, generation), ttl = await pipe.execute()
        if not username or ttl is None or ttl <= 0:
            return None
        operator = await self.accounts.get(username)
        if operator is None or not operator.enabled:
            return None
        if generation != str(operator.generation):
            return None
        return Session(operator, digest, int(time.time()) + int(ttl))

    async def end(self, session: Session) -> None:
        """Log out."""
        await self.redis.delete(Keys.operator_session(session.token_hash))
