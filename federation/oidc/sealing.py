"""Personal data at rest (DESIGN §8): the consented claims that codes and tokens carry are
sealed with SM4-GCM, the AAD being the Redis key of the record, so a sealed value moved to
another record does not open."""

from __future__ import annotations

import base64
import json
from typing import Any

from federation.crypto.sm4 import DecryptionError, decrypt, encrypt


class Sealer:
    """Seals JSON-serialisable values under one SM4 key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 16:
            raise ValueError("SM4 key must be 16 bytes")
        self._key = key

    def seal(self, value: Any, record_key: str) -> str:
        """base64url(nonce ‖ ciphertext ‖ tag) of the JSON of ``value``."""
        plaintext = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        sealed = encrypt(self._key, plaintext, aad=record_key.encode())
        return base64.urlsafe_b64encode(sealed).decode("ascii")

    def unseal(self, text: str, record_key: str) -> Any:
        """Inverse of :meth:`seal`; ``ValueError`` if it was altered or moved."""
        try:
            sealed = base64.urlsafe_b64decode(text.encode("ascii"))
            return json.loads(decrypt(self._key, sealed, aad=record_key.encode()))
        except (DecryptionError, ValueError) as exc:
            raise ValueError("sealed value does not open") from exc
