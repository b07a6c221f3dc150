"""The CEK cache (domain-facts §1.5: keep the CEK until it expires; fetch it again after a
CEK error) and the only door for a result callback's content (issue 16).

With Redis (``Keys.upstream_cache``) every worker shares one CEK, so the service sees one
``getKey`` per expiry instead of one per worker. Redis holds only the *wrapped* CEK
(``secretKey``, RSA-encrypted to our KEK), never the AES key itself; each process unwraps it
once and keeps the plain key in memory. Without Redis the cache is per process.

**Issued keys.** A CEK counts as iAM Smart's only when it came from a ``getKey`` answer
(this process's, or another worker's through the shared entry, which only a ``getKey``
writes). A result callback's ``secretKey`` is RSA-wrapped to our *public* encipherment key,
which anyone may hold, so it authenticates nobody: :meth:`CekCache.open_result` opens
content only with an issued key that is still valid, and when the callback brings a key it
does not know, calls ``getKey`` once (at most once per
``result_rekey_interval_seconds`` per process, so forged posts cannot drive the gateway)
and compares. A key iAM Smart did not give us is refused, never trusted.
"""

from __future__ import annotations

import asyncio
import hmac
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
_HISTORY = 4
"""How many earlier, still valid CEKs are kept (shared) beside the current one."""


class CekSource(Protocol):
    """What can fetch a CEK: the API client's ``getKey``."""

    async def fetch_cek(self) -> tuple[str, int]: ...


class ResultKeyRefused(UpstreamProtocolError):
    """A result callback whose content does not open with a CEK iAM Smart issued to us."""


class CekCache:
    """Current CEK for one registration, and the CEKs ``getKey`` issued that are still
    valid (the only keys a result callback may be encrypted with)."""

    def __init__(self, config: IAMSmartConfig, redis: aioredis.Redis | None = None) -> None:
        self._config = config
        self._redis = redis
        self._key = Keys.upstream_cache(config.id, f"cek:{config.client_id}")
        self._wrapped: str | None = None
        self._expires_ms = 0
        self._earlier: list[tuple[str, int]] = []  # (wrapped, expires_ms), issued earlier
        self._plain: dict[str, bytes] = {}
        self._lock = asyncio.Lock()
        self._last_check_ms = 0

    def unwrap(self, secret_key: str) -> bytes:
        """The AES key inside a ``secretKey`` (memoised per value: an RSA private-key
        operation is ~1 ms; the last :data:`_MEMO` values are kept). Unwrapping says
        nothing about who made the key: see :meth:`open_result`."""
        cek = self._plain.get(secret_key)
        if cek is None:
            cek = self._unwrap_once(secret_key)
            if len(self._plain) >= _MEMO + _HISTORY:
                del self._plain[next(iter(self._plain))]
            self._plain[secret_key] = cek
        return cek

    def _unwrap_once(self, secret_key: str) -> bytes:
        try:
            return crypto.unwrap_cek(self._config.private_key, secret_key, self._config.rsa_padding)
        except crypto.CryptoError as exc:
            raise UpstreamProtocolError("cannot unwrap the CEK with our key") from exc

    def issued(self) -> list[bytes]:
        """The plain CEKs ``getKey`` gave us that have not expired, newest first."""
        now = _now_ms()
        entries = [(self._wrapped, self._expires_ms), *reversed(self._earlier)]
        return [self.unwrap(k) for k, e in entries if k and e > now]

    async def open_result(self, secret_key: str | None, frame: str, source: CekSource) -> bytes:
        """Decrypt a result callback's ``content`` with a CEK iAM Smart issued to us.

        The callback's own ``secretKey`` is only a hint of which key it used: it must
        unwrap to an issued, still valid CEK. A key (or a content) that no issued key
        opens makes one ``getKey`` call (rate-limited) and is compared again with its
        answer; still unknown → :class:`ResultKeyRefused`."""
        await self._load_shared()
        claimed: bytes | None = None
        if secret_key:
            try:
                claimed = self._unwrap_once(secret_key)  # not memoised: not an issued key
            except UpstreamProtocolError as exc:
                raise ResultKeyRefused("result callback secretKey is not for us") from exc
        opened = self._open_with_issued(claimed, frame)
        if opened is None and self._may_check():
            async with self._lock:
                wrapped, expires_ms = await source.fetch_cek()
                await self._store(wrapped, expires_ms)
            opened = self._open_with_issued(claimed, frame)
        if opened is None:
            raise ResultKeyRefused("result callback key was not issued by iAM Smart")
        return opened

    def _open_with_issued(self, claimed: bytes | None, frame: str) -> bytes | None:
        for cek in self.issued():
            if claimed is not None and not hmac.compare_digest(cek, claimed):
                continue
            try:
                return crypto.decrypt(cek, frame)
            except crypto.CryptoError as exc:
                if claimed is not None:  # the issued key it names does not open it
                    raise ResultKeyRefused("result content fails authentication") from exc
        return None

    def _may_check(self) -> bool:
        """At most one verifying ``getKey`` per interval and process."""
        now = _now_ms()
        if now - self._last_check_ms < self._config.result_rekey_interval_seconds * 1000:
            return False
        self._last_check_ms = now
        return True

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
        """Forget the cached CEK everywhere (after the service refused it: it is no longer
        valid, so results under it are not accepted either)."""
        self._wrapped, self._expires_ms, self._earlier = None, 0, []
        if self._redis is not None:
            await self._redis.delete(self._key)

    async def _load_shared(self) -> None:
        if self._redis is None:
            return
        raw = await self._redis.get(self._key)
        if raw:
            entry = json.loads(raw)
            self._wrapped, self._expires_ms = str(entry["k"]), int(entry["e"])
            self._earlier = [(str(k), int(e)) for k, e in entry.get("h", [])]

    async def _store(self, secret_key: str, expires_ms: int) -> None:
        cek = self.unwrap(secret_key)  # fail now if it is not for us
        now = _now_ms()
        keep = [(k, e) for k, e in [*self._earlier, (self._wrapped, self._expires_ms)] if k]
        self._earlier = [
            (k, e) for k, e in keep if e > now and self.unwrap(k) != cek and k != secret_key
        ][-_HISTORY:]
        self._wrapped, self._expires_ms = secret_key, expires_ms
        ttl_ms = (
            max(
                [expires_ms - self._config.cek_refresh_margin_seconds * 1000]
                + [e for _, e in self._earlier]
            )
            - now
        )
        if self._redis is not None and ttl_ms > 0:
            entry = {"k": secret_key, "e": expires_ms, "h": self._earlier}
            await self._redis.set(self._key, json.dumps(entry), px=ttl_ms)


def _now_ms() -> int:
    return int(time.time() * 1000)
