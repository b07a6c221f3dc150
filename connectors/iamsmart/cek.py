"""The CEK cache (domain-facts §1.5: keep the CEK until it expires; fetch it again after a
CEK error).

With Redis (``Keys.upstream_cache``) every worker shares one CEK, so the service sees one
``getKey`` per expiry instead of one per worker. Redis holds only the *wrapped* CEK
(``secretKey``, RSA-encrypted to our KEK), never the AES key itself; each process unwraps it
once and keeps the plain key in memory. Without Redis the cache is per process.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Protocol

import redis.asyncio as aioredis

from connectors.base import UpstreamProtocolError
from connectors.iamsmart import crypto
from connectors.iamsmart.config import IAMSmartConfig
from federation.storage.keys import Keys

_MEMO = 4
"""How many unwrapped CEKs a process keeps (current, a new one during a rotation, …)."""


class CekSource(Protocol):
    """What can fetch a CEK: the API client's ``getKey``."""

    async def fetch_cek(self) -> tuple[str, int]: ...


class CekCache:
    """Current CEK for one registration."""

    def __init__(self, config: IAMSmartConfig, redis: aioredis.Redis | None = None) -> None:
        self._config = config
        self._redis = redis
        self._key = Keys.upstream_cache(config.id, f"cek:{config.client_id}")
        self._wrapped: str | None = None
        self._expires_ms = 0
        self._plain: dict[str, bytes] = {}
        self._lock = asyncio.Lock()

    def unwrap(self, secret_key: str) -> bytes:
        """The AES key inside a ``secretKey`` (memoised per value: an RSA private-key
        operation is ~1 ms; the last :data:`_MEMO` values are kept)."""
        cek = self._plain.get(secret_key)
        if cek is None:
            try:
                cek = crypto.unwrap_cek(
                    self._config.private_key, secret_key, self._config.rsa_padding
                )
            except crypto.CryptoError as exc:
                raise UpstreamProtocolError("cannot unwrap the CEK with our key") from exc
            if len(self._plain) >= _MEMO:
                del self._plain[next(iter(self._plain))]
            self._plain[secret_key] = cek
        return cek

    def open_result(self, secret_key: str | None, frame: str) -> bytes | None:
        """Decrypt a result callback's ``content``: first with the CEKs already in hand
        (AES-GCM authenticates, so a wrong key fails, never misreads), then by unwrapping
        its ``secretKey`` — the service wraps the same CEK anew for every callback, and
        this saves the RSA operation. ``None`` when nothing in hand opens it and there is
        no ``secretKey``."""
        for cek in reversed(self._plain.values()):
            try:
                return crypto.decrypt(cek, frame)
            except crypto.CryptoError:
                continue
        if not secret_key:
            return None
        return crypto.decrypt(self.unwrap(secret_key), frame)

    async def get(self, source: CekSource) -> bytes:
        """A CEK valid for at least the refresh margin, fetching one if needed."""
        margin_ms = self._config.cek_refresh_margin_seconds * 1000
        if self._wrapped and self._expires_ms - margin_ms > _now_ms():
            return self.unwrap(self._wrapped)
        async with self._lock:
            if not (self._wrapped and self._expires_ms - margin_ms > _now_ms()):
                await self._load_shared()
            if not (self._wrapped and self._expires_ms - margin_ms > _now_ms()):
                secret_key, expires_ms = await source.fetch_cek()
                await self._store(secret_key, expires_ms)
            assert self._wrapped is not None
            return self.unwrap(self._wrapped)

    async def invalidate(self) -> None:
        """Forget the cached CEK everywhere (after the service refused it)."""
        self._wrapped, self._expires_ms = None, 0
        if self._redis is not None:
            await self._redis.delete(self._key)

    async def _load_shared(self) -> None:
        if self._redis is None:
            return
        raw = await self._redis.get(self._key)
        if raw:
            entry = json.loads(raw)
            self._wrapped, self._expires_ms = str(entry["k"]), int(entry["e"])

    async def _store(self, secret_key: str, expires_ms: int) -> None:
        self.unwrap(secret_key)  # fail now if it is not for us
        self._wrapped, self._expires_ms = secret_key, expires_ms
        ttl_ms = expires_ms - self._config.cek_refresh_margin_seconds * 1000 - _now_ms()
        if self._redis is not None and ttl_ms > 0:
            await self._redis.set(
                self._key, json.dumps({"k": secret_key, "e": expires_ms}), px=ttl_ms
            )


def _now_ms() -> int:
    return int(time.time() * 1000)
