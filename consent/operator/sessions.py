"""Operator bearer sessions and the login rate limit, in Redis.

A session token is 256 random bits, given to the operator once; Redis keeps only its SM3
digest (``Keys.operator_session``) with the username and the account's session
generation, for ``SESSION_SECONDS``. Every request re-reads the account, so disabling an
operator or changing their role takes effect at once, and a session from before a disable
or a TOTP reset (an older generation) never comes back when the account is enabled again.
Login limits (fixed windows of ``LOGIN_WINDOW_SECONDS``, ``Keys.rate_limit``) are built so
that nobody can lock an operator out (security review, issue 16 item 4):

- per client address: ``LOGIN_LIMIT_PER_ADDRESS`` attempts, then ``429 slow_down``;
- per username **and** address: ``LOGIN_LIMIT_PER_USER_ADDRESS`` attempts, then 429 — a
  refusal scoped to the pair, so that bad passwords typed elsewhere never refuse the real
  operator's correct password and code;
- per username over all addresses: no refusal, a growing delay. Once an account has had
  more than ``LOGIN_FREE_FAILURES_PER_USER`` failed logins in the window, every further
  attempt on it waits ``LOGIN_DELAY_BASE_SECONDS`` × 2^(failures − free), at most
  ``LOGIN_DELAY_MAX_SECONDS``, before the password is checked (an ``asyncio`` sleep: the
  worker serves others meanwhile). The real operator is at worst slowed by that much.

:meth:`OperatorSessions.login_attempt` also says whether this attempt is the one that first
crossed a limit in its window, so that the refusal is audited once per window rather than
once per attempt (a flood of attempts must not flood the durable chain).
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
LOGIN_LIMIT_PER_USER_ADDRESS = 10
LOGIN_LIMIT_PER_ADDRESS = 30
LOGIN_FREE_FAILURES_PER_USER = 10
LOGIN_DELAY_BASE_SECONDS = 0.5
LOGIN_DELAY_MAX_SECONDS = 8.0


@dataclass(frozen=True, slots=True)
class Session:
    """A live session: who, and when it ends."""

    operator: Operator
    token_hash: str
    expires_at: int
    issued_at: int = 0
    """When the session began (the console's absolute timeout counts from here)."""


class LoginThrottle(Enum):
    """What the login rate limit says about one attempt."""

    ALLOWED = "allowed"
    FIRST_REFUSAL = "first_refusal"
    """Refused, and this attempt is the one that crossed a limit in this window."""
    REFUSED = "refused"
    """Refused again in a window already refused."""


@dataclass(frozen=True, slots=True)
class LoginGate:
    """What the login limits say about one attempt: refused or not, and how long to wait
    before checking the credentials."""

    throttle: LoginThrottle
    delay: float = 0.0


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
        limit_per_user_address: int = LOGIN_LIMIT_PER_USER_ADDRESS,
        limit_per_address: int = LOGIN_LIMIT_PER_ADDRESS,
        free_failures_per_user: int = LOGIN_FREE_FAILURES_PER_USER,
        delay_base: float = LOGIN_DELAY_BASE_SECONDS,
        delay_max: float = LOGIN_DELAY_MAX_SECONDS,
    ) -> None:
        self.redis = redis
        self.accounts = accounts
        self.session_seconds = session_seconds
        self.limit_per_user_address = limit_per_user_address
        self.limit_per_address = limit_per_address
        self.free_failures_per_user = free_failures_per_user
        self.delay_base = delay_base
        self.delay_max = delay_max

    @staticmethod
    def _keys(username: str, address: str) -> tuple[str, str, str]:
        window = int(time.time()) // LOGIN_WINDOW_SECONDS
        user = sm3(username.encode()).hex()
        return (
            Keys.rate_limit("operator-login-user-addr", f"{user}:{address}", window),
            Keys.rate_limit("operator-login-addr", address, window),
            Keys.rate_limit("operator-login-user-failed", user, window),
        )

    async def login_attempt(self, username: str, address: str) -> LoginGate:
        """Count this attempt against the per-address and per-username-and-address limits,
        and say how long it must wait for the username's failures (one round trip)."""
        pair_key, addr_key, failed_key = self._keys(username, address)
        pipe = self.redis.pipeline(transaction=True)
        pipe.incr(pair_key).expire(pair_key, LOGIN_WINDOW_SECONDS)
        pipe.incr(addr_key).expire(addr_key, LOGIN_WINDOW_SECONDS)
        pipe.get(failed_key)
        pair_count, _, addr_count, _, failed = await pipe.execute()
        if pair_count > self.limit_per_user_address or addr_count > self.limit_per_address:
            first = (
                pair_count == self.limit_per_user_address + 1
                or addr_count == self.limit_per_address + 1
            )
            return LoginGate(LoginThrottle.FIRST_REFUSAL if first else LoginThrottle.REFUSED)
        return LoginGate(LoginThrottle.ALLOWED, self.delay_for(int(failed or 0)))

    def delay_for(self, failures: int) -> float:
        """Seconds to wait after ``failures`` failed logins on one username in a window."""
        excess = failures - self.free_failures_per_user
        if excess < 0:
            return 0.0
        return min(self.delay_max, self.delay_base * 2 ** min(excess, 32))

    async def login_failed(self, username: str, address: str) -> None:
        """Count a failed login against the username (for the growing delay)."""
        _, _, failed_key = self._keys(username, address)
        pipe = self.redis.pipeline(transaction=True)
        pipe.incr(failed_key).expire(failed_key, LOGIN_WINDOW_SECONDS)
        await pipe.execute()

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
        pipe.hmget(key, ["username", "generation", "issued_at"]).ttl(key)
        (username, generation, issued_at), ttl = await pipe.execute()
        if not username or ttl is None or ttl <= 0:
            return None
        operator = await self.accounts.get(username)
        if operator is None or not operator.enabled:
            return None
        if generation != str(operator.generation):
            return None
        issued = int(issued_at) if issued_at and str(issued_at).isdigit() else 0
        return Session(operator, digest, int(time.time()) + int(ttl), issued)

    async def touch(self, session: Session, idle_seconds: int) -> None:
        """Keep a live session for another ``idle_seconds`` (the console's idle timeout:
        each request restarts it)."""
        await self.redis.expire(Keys.operator_session(session.token_hash), idle_seconds, xx=True)

    async def end(self, session: Session) -> None:
        """Log out."""
        await self.redis.delete(Keys.operator_session(session.token_hash))
