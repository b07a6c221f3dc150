"""HMAC-SHA256 request signing of iAM Smart POST requests (domain-facts §1.4).

``message = clientID + signatureMethod + timestamp + nonce + body`` (the body exactly as
sent, ``""`` when empty); ``signature = URLEncode(Base64(HMAC-SHA256(clientSecret, message)))``.
Headers: ``clientID``, ``signatureMethod`` (``HmacSHA256``), ``timestamp`` (ms epoch, never
lower than the previous request's), ``nonce`` (unique, ≤ 36 characters), ``signature``.
Used by the connector to sign and by the simulator to verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
import uuid
from urllib.parse import quote

SIGNATURE_METHOD = "HmacSHA256"
HEADER_NAMES: tuple[str, ...] = ("clientID", "signatureMethod", "timestamp", "nonce", "signature")


def signature(client_id: str, secret: str, timestamp: str, nonce: str, body: str) -> str:
    """The URL-encoded Base64 HMAC-SHA256 signature of one request."""
    message = f"{client_id}{SIGNATURE_METHOD}{timestamp}{nonce}{body}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return quote(base64.b64encode(digest).decode("ascii"), safe="")


def signature_matches(
    client_id: str, secret: str, timestamp: str, nonce: str, body: str, given: str
) -> bool:
    """Constant-time check of a received ``signature`` header."""
    expected = signature(client_id, secret, timestamp, nonce, body)
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


class MonotonicClock:
    """Millisecond timestamps that never go backwards within this process.

    The service rejects a timestamp lower than the previous request's (CorpID-SPEC §2.4.1);
    several worker processes can still interleave, so the client re-signs and resends a
    few times on that error (``connectors.iamsmart.client``).
    """

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        with self._lock:
            self._last = max(self._last, int(time.time() * 1000))
            return self._last


PROCESS_CLOCK = MonotonicClock()
"""The one clock of this process: every client stamps with it."""


def new_nonce() -> str:
    """A fresh nonce: 32 hex characters."""
    return uuid.uuid4().hex


def signed_headers(
    client_id: str, secret: str, body: str, *, clock: MonotonicClock
) -> dict[str, str]:
    """The five signing headers (plus the JSON content type) for one request."""
    timestamp = str(clock.now_ms())
    nonce = new_nonce()
    return {
        "clientID": client_id,
        "signatureMethod": SIGNATURE_METHOD,
        "timestamp": timestamp,
        "nonce": nonce,
        "signature": signature(client_id, secret, timestamp, nonce, body),
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
