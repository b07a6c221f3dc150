"""Operator accounts in Redis (``Keys.operator``): argon2id password hashes (argon2-cffi
defaults, RFC 9106), a TOTP second factor (RFC 6238, pyotp) whose secret is sealed with
SM4-GCM (AAD = ``operator:<username>``), a role, and an enabled flag. Each used TOTP time
step is remembered so a code cannot be replayed. A session generation (``sessions``) is
bumped when the account is disabled or its TOTP reset; sessions carry the generation they
were issued under, so those sessions stay dead even after the account is enabled again.

Hashing and verifying take tens of milliseconds of CPU each (that is the point of
argon2id), so both run in a worker thread (``anyio.to_thread``; argon2-cffi releases the
GIL) rather than on the event loop, where they would stall every other request.
"""

from __future__ import annotations

import base64
import hmac
import re
import time

import anyio.to_thread
import pyotp
import redis.asyncio as aioredis
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import BaseModel

from consent.operator.roles import Role
from federation.crypto import sm4
from federation.storage.keys import Keys

USERNAME = re.compile(r"^[a-z][a-z0-9._-]{2,31}$")
MIN_PASSWORD = 12
TOTP_ISSUER = "idbridge operator"

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not-a-real-password-just-equal-timing")


def _verify(stored: str, password: str) -> bool:
    """Whether ``password`` matches the argon2 hash ``stored`` (blocking; use a thread)."""
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


class AccountError(ValueError):
    """A bad username, password, role, or an account that does (not) exist."""


class Operator(BaseModel):
    """An operator as the rest of the code sees it (no secrets)."""

    username: str
    role: Role
    enabled: bool
    created_at: int
    generation: int = 0
    """Session generation: a session issued under an older one is dead."""


class OperatorAccounts:
    """Create, change and authenticate operator accounts."""

    def __init__(self, redis: aioredis.Redis, seal_key: bytes) -> None:
        self.redis = redis
        self._seal_key = seal_key

    def _seal(self, username: str, secret: str) -> str:
        sealed = sm4.encrypt(self._seal_key, secret.encode(), aad=f"operator:{username}".encode())
        return base64.b64encode(sealed).decode()

    def _unseal(self, username: str, sealed: str) -> str:
        raw = base64.b64decode(sealed)
        return sm4.decrypt(self._seal_key, raw, aad=f"operator:{username}".encode()).decode()

    @staticmethod
    def _check(username: str, password: str | None = None) -> None:
        if not USERNAME.match(username):
            raise AccountError("username: 3–32 of a-z 0-9 . _ -, starting with a letter")
        if password is not None and len(password) < MIN_PASSWORD:
            raise AccountError(f"password: at least {MIN_PASSWORD} characters")

    async def add(self, username: str, password: str, role: Role) -> str:
        """Create an account; return the TOTP provisioning URI (show it once)."""
        self._check(username, password)
        secret = pyotp.random_base32()
        password_hash = await anyio.to_thread.run_sync(_hasher.hash, password)
        fields = {
            "username": username,
            "role": Role(role).value,
            "password": password_hash,
            "totp": self._seal(username, secret),
            "enabled": "1",
            "created_at": str(int(time.time())),
        }
        if not await self.redis.hsetnx(Keys.operator(username), "username", username):
            raise AccountError(f"operator {username!r} exists")
        await self.redis.hset(Keys.operator(username), mapping=fields)
        await self.redis.sadd(Keys.OPERATORS, username)
        return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)

    async def get(self, username: str) -> Operator | None:
        """The account, or ``None``."""
        fields = (
            await self.redis.hgetall(Keys.operator(username)) if USERNAME.match(username) else {}
        )
        if not fields.get("password"):
            return None
        return Operator(
            username=username,
            role=Role(fields["role"]),
            enabled=fields.get("enabled") == "1",
            created_at=int(fields.get("created_at", 0)),
            generation=int(fields.get("sessions", 0)),
        )

    async def list(self) -> list[Operator]:
        """Every account, by username."""
        names = sorted(await self.redis.smembers(Keys.OPERATORS))
        found = [await self.get(n) for n in names]
        return [o for o in found if o is not None]

    async def set_enabled(self, username: str, enabled: bool) -> None:
        """Enable or disable; a disabled operator's sessions stop working at once, and
        stay dead when the account is enabled again (the generation is bumped)."""
        if await self.get(username) is None:
            raise AccountError(f"no operator {username!r}")
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(Keys.operator(username), "enabled", "1" if enabled else "0")
        if not enabled:
            pipe.hincrby(Keys.operator(username), "sessions", 1)
        await pipe.execute()

    async def reset_totp(self, username: str) -> str:
        """A new TOTP secret; return its provisioning URI (show it once). The operator's
        live sessions end (a reset usually means a lost or compromised device)."""
        if await self.get(username) is None:
            raise AccountError(f"no operator {username!r}")
        secret = pyotp.random_base32()
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(
            Keys.operator(username),
            mapping={"totp": self._seal(username, secret), "totp_step": "0"},
        )
        pipe.hincrby(Keys.operator(username), "sessions", 1)
        await pipe.execute()
        return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)

    async def authenticate(
        self, username: str, password: str, code: str, now: float | None = None
    ) -> Operator | None:
        """The operator if the password and a fresh TOTP code match and the account is
        enabled; else ``None`` (the caller does not learn which check failed)."""
        fields = (
            await self.redis.hgetall(Keys.operator(username)) if USERNAME.match(username) else {}
        )
        stored = fields.get("password") or _DUMMY_HASH
        password_ok = await anyio.to_thread.run_sync(_verify, stored, password)
        if not fields.get("password") or not password_ok or fields.get("enabled") != "1":
            return None
        step = self._totp_step(self._unseal(username, fields["totp"]), code, now or time.time())
        if step is None or step <= int(fields.get("totp_step", "0")):
            return None
        # claim the step atomically so two logins with one code cannot both pass
        claimed = await self.redis.eval(
            "local s = tonumber(redis.call('HGET', KEYS[1], 'totp_step') or '0') "
            "if tonumber(ARGV[1]) > s then redis.call('HSET', KEYS[1], 'totp_step', ARGV[1]) "
            "return 1 end return 0",
            1,
            Keys.operator(username),
            str(step),
        )
        if not claimed:
            return None
        return await self.get(username)

    @staticmethod
    def _totp_step(secret: str, code: str, now: float) -> int | None:
        if not re.fullmatch(r"\d{6}", code or ""):
            return None
        totp = pyotp.TOTP(secret)
        for offset in (0, -1, 1):
            at = now + offset * totp.interval
            if hmac.compare_digest(totp.at(at), code):
                return int(at) // totp.interval
        return None
