"""Stateless CSRF tokens for every form (DESIGN §8 "CSRF tokens on every form").

A token is ``v1.<expiry>.<mac>`` where ``mac`` = HMAC-SM3(server secret, "idbridge-csrf-v1"
‖ bound_to ‖ expiry), base64url without padding. It is bound to one journey (``bound_to``,
the journey id from the HttpOnly cookie), so a token lifted from one journey is worthless in
another, and it expires. Nothing is stored: any worker holding the secret can check it.
This is the "HMAC-based token" pattern of the OWASP CSRF Prevention Cheat Sheet, with the
session (here the journey) binding it recommends.

Imports ``federation.crypto.sm3`` and ``federation.settings`` only.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import secrets
import time

from federation.crypto.sm3 import hmac_sm3
from federation.settings import Settings

log = logging.getLogger("idbridge.pages.csrf")

DEFAULT_TTL_SECONDS = 30 * 60
_VERSION = "v1"
_LABEL = b"idbridge-csrf-v1"
_MAX_TOKEN = 128


def _mac(secret: bytes, bound_to: str, expiry: int) -> str:
    message = b"\x00".join((_LABEL, bound_to.encode("utf-8"), str(expiry).encode()))
    return base64.urlsafe_b64encode(hmac_sm3(secret, message)).rstrip(b"=").decode()


def issue_csrf(
    bound_to: str,
    *,
    secret: bytes,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    now: int | None = None,
) -> str:
    """A token for forms of the journey ``bound_to``, valid for ``ttl_seconds``."""
    if not bound_to:
        raise ValueError("a CSRF token must be bound to a journey id")
    expiry = int(time.time() if now is None else now) + ttl_seconds
    return f"{_VERSION}.{expiry}.{_mac(secret, bound_to, expiry)}"


def check_csrf(
    token: str | None, bound_to: str | None, *, secret: bytes, now: int | None = None
) -> bool:
    """Whether ``token`` was issued for ``bound_to`` with ``secret`` and has not expired.

    Constant-time in the MAC comparison; any malformed input is simply ``False``.
    """
    if not token or not bound_to or len(token) > _MAX_TOKEN:
        return False
    version, _, rest = token.partition(".")
    expiry_text, _, mac = rest.partition(".")
    if version != _VERSION or not expiry_text.isascii() or not expiry_text.isdigit():
        return False
    expiry = int(expiry_text)
    try:
        expected = _mac(secret, bound_to, expiry)
    except (ValueError, binascii.Error):
        return False
    if not hmac.compare_digest(expected.encode(), mac.encode("utf-8", "replace")):
        return False
    return expiry > int(time.time() if now is None else now)


def csrf_secret_from_settings(settings: Settings) -> bytes:
    """The CSRF key: ``IDBRIDGE_CSRF_SECRET`` when settings have it; else derived (HMAC-SM3
    with a distinct label) from the pairwise salt or the PII key, so that every worker
    sharing the configuration agrees; else a random per-process key (one worker only)."""
    for name in ("csrf_secret", "pairwise_salt", "pii_key"):
        value = getattr(settings, name, None)
        if value is None:
            continue
        raw = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
        if raw:
            return hmac_sm3(raw.encode("utf-8"), b"idbridge csrf key v1")
    log.warning("no CSRF secret configured: using a per-process key (single worker only)")
    return secrets.token_bytes(32)
