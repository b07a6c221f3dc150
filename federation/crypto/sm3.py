"""SM3 (GB/T 32905-2016) and HMAC-SM3 (RFC 2104 over SM3), from ``cryptography``."""

from __future__ import annotations

import hmac as _hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as _chmac

DIGEST_SIZE = 32


def sm3(data: bytes) -> bytes:
    """Return the 32-byte SM3 digest of ``data``."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    """Return HMAC-SM3(key, data), 32 bytes."""
    mac = _chmac.HMAC(key, hashes.SM3())
    mac.update(data)
    return mac.finalize()


def hmac_sm3_verify(key: bytes, data: bytes, expected: bytes) -> bool:
    """Constant-time check that ``expected`` is HMAC-SM3(key, data)."""
    return _hmac.compare_digest(hmac_sm3(key, data), expected)
