"""Subject identifiers the bridge gives relying parties (OIDC Core §8).

- **pairwise** (§8.1): ``base64url(HMAC-SM3(salt, sector ‖ 0x1F ‖ upstream ‖ 0x1F ‖ subject))``.
  The same person gets the same ``sub`` at every client of one sector identifier (the host
  of the redirect URIs, or of the ``sector_identifier_uri``), and unlinkable ``sub`` values
  across sectors. HMAC with a secret salt (``IDBRIDGE_PAIRWISE_SALT``) instead of OIDC's
  example hash, so that a party who knows the upstream subject cannot recompute it.
- **public**: the same construction with the fixed sector ``"public"``; the same ``sub`` at
  every client. The upstream subject (iAM Smart ``openID``) itself is never released.

The 0x1F separator cannot occur in the inputs' meaningful text, so concatenations cannot
collide. 32-byte MAC → 43 base64url characters.
"""

from __future__ import annotations

import base64

from federation.crypto.sm3 import hmac_sm3

MIN_SALT_BYTES = 16
_SEP = b"\x1f"


def _derive(salt: bytes, sector: str, upstream: str, subject: str) -> str:
    if len(salt) < MIN_SALT_BYTES:
        raise ValueError(f"the pairwise salt must be at least {MIN_SALT_BYTES} bytes")
    message = _SEP.join(part.encode("utf-8") for part in (sector, upstream, subject))
    return base64.urlsafe_b64encode(hmac_sm3(salt, message)).rstrip(b"=").decode("ascii")


def pairwise_subject(salt: bytes, sector_identifier: str, upstream: str, subject: str) -> str:
    """The pairwise ``sub`` for this sector (OIDC Core §8.1)."""
    if not sector_identifier:
        raise ValueError("a pairwise subject needs a sector identifier")
    return _derive(salt, f"sector:{sector_identifier}", upstream, subject)


def public_subject(salt: bytes, upstream: str, subject: str) -> str:
    """The public ``sub``: one value for every client."""
    return _derive(salt, "public", upstream, subject)
