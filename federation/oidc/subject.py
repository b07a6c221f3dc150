"""Subject identifiers (OIDC Core §8): public, or pairwise per sector.

A pairwise ``sub`` is ``base64url(HMAC-SM3(salt, sector_identifier "|" bridge_subject))``:
stable for one RP (sector), unlinkable across RPs, and never the HKID.
"""

from __future__ import annotations

import base64

from federation.crypto.sm3 import hmac_sm3
from federation.oidc.clients import Client


def subject_for(client: Client, bridge_subject: str, pairwise_salt: bytes) -> str:
    """The ``sub`` the RP sees for a person whose bridge subject is ``bridge_subject``."""
    if client.subject_type == "public":
        return bridge_subject
    if len(pairwise_salt) < 16:
        raise ValueError("pairwise salt must be at least 16 bytes")
    mac = hmac_sm3(pairwise_salt, f"{client.sector}|{bridge_subject}".encode())
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")
