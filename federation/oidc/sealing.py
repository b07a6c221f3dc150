"""Personal data at rest (DESIGN §8): the consented claims that a code or token carries are
sealed with SM4-GCM under a key derived from that code or token itself
(``HMAC-SM3(secret, "idbridge/oidc/seal")``), with the record's Redis key as AAD.

Redis stores only the SM3 digest of each secret, so a copy of Redis alone opens none of
the claims: only the holder of the code or token (the RP) can make the bridge unseal them,
and a sealed value moved to another record does not open. No server key to manage.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from federation.crypto.sm3 import hmac_sm3
from federation.crypto.sm4 import DecryptionError, decrypt, encrypt

_LABEL = b"idbridge/oidc/seal"


def _key(secret: str) -> bytes:
    return hmac_sm3(secret.encode("utf-8"), _LABEL)[:16]


def seal(value: Any, secret: str, record_key: str) -> str:
    """base64url(nonce ‖ ciphertext ‖ tag) of the JSON of ``value``."""
    plaintext = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    sealed = encrypt(_key(secret), plaintext, aad=record_key.encode())
    return base64.urlsafe_b64encode(sealed).decode("ascii")


def unseal(text: str, secret: str, record_key: str) -> Any:
    """Inverse of :func:`seal`; ``ValueError`` if altered, moved, or the wrong secret."""
    try:
        sealed = base64.urlsafe_b64decode(text.encode("ascii"))
        return json.loads(decrypt(_key(secret), sealed, aad=record_key.encode()))
    except (DecryptionError, ValueError) as exc:
        raise ValueError("sealed value does not open") from exc
