"""Async client of the iAM Smart API (domain-facts §1.3-§1.6): signed POSTs, the response
envelope, the CEK, encrypted bodies, and retries only where a retry cannot do harm.

Retry rules: a request that never reached the server (connect error / connect timeout) is
retried for every call; a read timeout or 5xx only for ``getKey`` (it changes nothing);
``getToken`` is never re-sent once it may have arrived (the auth code is single-use).
After ``D20004`` (timestamp order, e.g. two workers interleaving) the request was refused
before any effect, so it is re-signed with a fresh timestamp and nonce and sent again, up to
:data:`TIMESTAMP_RETRIES` times after a jittered pause of a few milliseconds; after a CEK
error it is re-keyed, re-encrypted and sent again once. Timestamps come from one
process-wide :class:`~connectors.iamsmart.signing.MonotonicClock`, taken just before the
request is written, so one process never sends a lower timestamp after a higher one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connectors.base import UpstreamError, UpstreamProtocolError, UpstreamUnavailable
from connectors.iamsmart import crypto
from connectors.iamsmart.cek import CekCache
from connectors.iamsmart.config import IAMSmartConfig
from connectors.iamsmart.errors import DEFAULT_CODES_FILE, SUCCESS, load_codes
from connectors.iamsmart.signing import PROCESS_CLOCK, signed_headers
from federation import untrusted
from federation.outbound import (
    ConnectFailed,
    HttpClient,
    HttpResponse,
    Poster,
    ResponseFailed,
    TlsFailed,
)

log = logging.getLogger("idbridge.connectors.iamsmart")

GET_QR = "/api/v1/auth/getQR"
GET_TOKEN = "/api/v1/auth/getToken"  # noqa: S105 (a path)
GET_KEY = "/api/v1/security/getKey"
PROFILE_REQUEST = "/api/v1/account/auth/profile/initiateRequest"
EME_REQUEST = "/api/v1/account/auth/eme/initiateRequest"
TIMESTAMP_RETRIES = 4
"""How many times a request refused with D20004 is re-signed and sent again."""
TIMESTAMP_RETRY_PAUSE_SECONDS = 0.002
"""Mean pause before such a resend (jittered, growing with each try)."""


@dataclass(frozen=True, slots=True)
class TokenResult:
    """``getToken`` content (times in ms epoch / ms, as sent)."""

    access_token: str
    open_id: str
    user_type: str
    last_modified_date: str | None
    issue_at_ms: int
    expires_in_ms: int
    scope: str


class IAMSmartClient:
    """One client per registration; share it between requests (it holds the HTTP pool:
    :class:`federation.outbound.HttpClient`, or the poster given)."""

    def __init__(
        self,
        config: IAMSmartConfig,
        *,
        http: Poster | None = None,
        cek: CekCache,
    ) -> None:
        self.config = config
        self._http: Poster = http or HttpClient(
            connect_timeout=config.connect_timeout_seconds,
            read_timeout=config.read_timeout_seconds,
            ca_file=config.ca_file,
            allow_http=config.insecure_allow_http,
        )
        self._base = config.api_base_url.rstrip("/")
        self._cek = cek
        self._clock = PROCESS_CLOCK
        self.codes = load_codes(config.codes_file or DEFAULT_CODES_FILE)
        self._resend = self.codes.flagged("resend")
        self._rekey = self.codes.flagged("rekey")

    async def aclose(self) -> None:
        """Close the HTTP pool."""
        await self._http.aclose()

    # --- the calls ------------------------------------------------------------------
    async def get_token(self, code: str) -> TokenResult:
        """Exchange a login code (once, never retried after it may have arrived)."""
        body = {"code": code, "grantType": "authorization_code"}
        content = await self._call(
            GET_TOKEN, body, encrypted=self.config.encrypt_get_token_body, read_retry=False
        )
        access_token, open_id = content.get("accessToken"), content.get("openID")
        if not _short_text(access_token) or not _short_text(open_id):
            raise UpstreamProtocolError("getToken content has no accessToken or openID")
        try:
            return TokenResult(
                access_token=access_token,
                open_id=open_id,
                user_type=str(content.get("userType") or "default"),
                last_modified_date=(
                    None
                    if content.get("lastModifiedDate") is None
                    else str(content["lastModifiedDate"])
                ),
                issue_at_ms=int(content.get("issueAt") or 0),
                expires_in_ms=int(content.get("expiresIn") or 0),
                scope=str(content.get("scope") or ""),
            )
        except (TypeError, ValueError, OverflowError) as exc:  # int(1e400) is OverflowError
            raise UpstreamProtocolError("getToken content has bad times") from exc

    async def fetch_cek(self) -> tuple[str, int]:
        """``getKey``: the wrapped CEK (``secretKey``) and its expiry (ms epoch)."""
        content = await self._call(GET_KEY, None, encrypted=False, read_retry=True)
        secret_key = content.get("secretKey")
        if not isinstance(secret_key, str):
            raise UpstreamProtocolError("getKey content has no secretKey")
        return secret_key, _expiry_ms(content)

    async def initiate(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """A CEK-encrypted ``initiateRequest`` (profile or e-ME) → its decrypted content."""
        return await self._call(path, body, encrypted=True, read_retry=False)

    # --- plumbing -------------------------------------------------------------------
    async def _call(
        self, path: str, body: Mapping[str, Any] | None, *, encrypted: bool, read_retry: bool
    ) -> dict[str, Any]:
        """Sign, send, open the envelope; re-sign after a timestamp refusal (bounded) or
        re-key once after a CEK refusal (both were refused before any effect)."""
        timestamp_retries, rekeyed = 0, False
        while True:
            cek = await self._cek.get(self) if encrypted else None
            text = _serialise(body, cek)
            envelope = await self._send(path, text, read_retry=read_retry)
            code = str(envelope.get("code", ""))
            if code == SUCCESS:
                content = envelope.get("content")
                if cek is None and isinstance(content, str) and content:
                    cek = await self._cek.get(self)  # an encrypted answer to a plain call
                return _open_content(content, cek, path)
            if code in self._resend and timestamp_retries < TIMESTAMP_RETRIES:
                timestamp_retries += 1
                pause = TIMESTAMP_RETRY_PAUSE_SECONDS * timestamp_retries
                await asyncio.sleep(pause * (0.5 + random.random()))  # noqa: S311 (jitter)
                continue
            if encrypted and code in self._rekey and not rekeyed:
                rekeyed = True
                await self._cek.invalidate()
                continue
            raise self.codes.error_for(code, context=path.rsplit("/", 1)[-1])

    async def _send(self, path: str, text: str, *, read_retry: bool) -> dict[str, Any]:
        cfg = self.config
        delay = cfg.retry_backoff_seconds
        for attempt in range(1, cfg.retry_attempts + 1):
            headers = signed_headers(
                cfg.client_id, cfg.client_secret.get_secret_value(), text, clock=self._clock
            )
            try:
                response = await self._http.post(self._base + path, text.encode(), headers)
            except TlsFailed as exc:
                # a certificate or protocol mismatch does not heal on a retry
                failure: UpstreamError = UpstreamUnavailable("iAM Smart TLS handshake failed")
                failure.__cause__ = exc
                retry = False
            except ConnectFailed as exc:
                failure = UpstreamUnavailable("iAM Smart unreachable")
                failure.__cause__ = exc
                retry = True
            except ResponseFailed as exc:
                failure = UpstreamUnavailable("iAM Smart did not answer in time")
                failure.__cause__ = exc
                retry = read_retry
            else:
                if response.status_code == 429 or response.status_code >= 500:
                    failure = UpstreamUnavailable(f"iAM Smart HTTP {response.status_code}")
                    retry = read_retry or response.status_code == 429
                else:
                    return _envelope(response)
            log.warning(
                "iAM Smart call failed",
                extra={"fields": {"path": path, "attempt": attempt, "retry": retry}},
            )
            if not retry or attempt == cfg.retry_attempts:
                raise failure
            await asyncio.sleep(delay * (1 + random.random() / 2))  # noqa: S311 (jitter)
            delay *= 2
        raise AssertionError("unreachable")


def _serialise(body: Mapping[str, Any] | None, cek: bytes | None) -> str:
    if body is None:
        return ""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    if cek is None:
        return text
    # compact, as every public client sends it: a gateway that re-serialises the wrapper
    # before checking the HMAC then hashes the same bytes (issue 23 item 5)
    return json.dumps({"content": crypto.encrypt(cek, text.encode())}, separators=(",", ":"))


def _envelope(response: HttpResponse) -> dict[str, Any]:
    try:
        data = response.json()
    except (ValueError, RecursionError) as exc:  # RecursionError: deeply nested JSON
        raise UpstreamProtocolError(f"iAM Smart HTTP {response.status_code}: not JSON") from exc
    if not isinstance(data, dict) or "code" not in data:
        raise UpstreamProtocolError(f"iAM Smart HTTP {response.status_code}: no envelope")
    return data


def _open_content(content: Any, cek: bytes | None, path: str) -> dict[str, Any]:
    if isinstance(content, dict):
        return content
    if isinstance(content, str) and cek is not None:
        try:
            opened = untrusted.loads(crypto.decrypt(cek, content), max_bytes=untrusted.MAX_UPSTREAM)
        except (crypto.CryptoError, ValueError, RecursionError) as exc:
            raise UpstreamProtocolError(f"cannot open {path} content") from exc
        if isinstance(opened, dict):
            return opened
    raise UpstreamProtocolError(f"unexpected {path} content")


def _short_text(value: object) -> bool:
    """A non-empty string of at most 2048 characters (tokens and identifiers)."""
    return isinstance(value, str) and 0 < len(value) <= 2048


def _expiry_ms(content: Mapping[str, Any]) -> int:
    """CEK expiry (ms epoch). ``expiresIn`` is a duration in ms in the clients, but one spec
    example looks like an absolute time (§1.5): a value larger than ``issueAt`` is taken as
    absolute."""
    try:
        issue_at = int(content.get("issueAt") or 0)
        expires_in = int(content.get("expiresIn") or 0)
    except (TypeError, ValueError, OverflowError) as exc:
        raise UpstreamProtocolError("getKey content has bad times") from exc
    if issue_at and expires_in > issue_at:
        return expires_in
    return (issue_at or _now_ms()) + expires_in


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)
