"""Keys the journey needs, from settings or generated once into ``IDBRIDGE_DATA_DIR``
(dev and demo), so that every worker on a host agrees without configuration."""

from __future__ import annotations

import secrets as _random
from pathlib import Path

from federation.crypto.sm3 import hmac_sm3
from federation.oidc.files import write_once
from federation.settings import Settings

_CSRF_LABEL = b"idbridge/journey/csrf/v1"


def pii_key(settings: Settings) -> bytes:
    """The SM4 key for PII at rest: ``IDBRIDGE_PII_KEY`` or ``<data_dir>/pii.key``."""
    configured = settings.pii_key.get_secret_value() if settings.pii_key else ""
    if configured:
        key = bytes.fromhex(configured)
    else:
        path = Path(settings.data_dir) / "pii.key"
        write_once(path, _random.token_hex(16).encode("ascii"))
        key = bytes.fromhex(path.read_text().strip())
    if len(key) != 16:
        raise ValueError("IDBRIDGE_PII_KEY must be 32 hex characters (an SM4 key)")
    return key


def csrf_secret(settings: Settings, pairwise_salt: bytes) -> bytes:
    """The CSRF key: ``IDBRIDGE_CSRF_SECRET`` or derived from the pairwise salt."""
    configured = settings.csrf_secret.get_secret_value() if settings.csrf_secret else ""
    base = configured.encode("utf-8") if configured else pairwise_salt
    return hmac_sm3(base, _CSRF_LABEL)
