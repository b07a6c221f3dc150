"""Verifying an SM2SM3 compact JWS (ID token, consent receipt, audit checkpoint) with two
independent Python SM2 libraries, as docs/integrators.md shows them: PyPI ``gmssl``
(pure Python; verification only — it must never sign, its nonce comes from ``random``)
and ``gmssl-pyx`` (GmSSL 3 in C). The key comes from the bridge's SM2 JWK Set
(discovery: ``sm2_jwks_uri``), chosen by the JWS ``kid``.

SM2SM3 (DESIGN §4): SM2 over SM3 with Z of the default ID ``1234567812345678``; the
signature is raw r‖s (64 bytes), the signed bytes are the JWS signing input."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

SM2_N = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)
"""The order of the SM2 curve's base point (GB/T 32918.5)."""


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jws_parts(jws: str, jwks: dict[str, Any]) -> tuple[bytes, bytes, bytes]:
    """(signing input, r‖s, x‖y of the published key named by ``kid``)."""
    header_b64, payload_b64, signature_b64 = jws.split(".")
    header = json.loads(b64url(header_b64))
    if header.get("alg") != "SM2SM3":
        raise ValueError("not an SM2SM3 JWS")
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"] and k["crv"] == "SM2")
    signature = b64url(signature_b64)
    if len(signature) != 64:
        raise ValueError("an SM2SM3 signature is 64 bytes (r‖s)")
    public = b64url(key["x"]) + b64url(key["y"])
    return f"{header_b64}.{payload_b64}".encode("ascii"), signature, public


def _in_range(signature: bytes) -> bool:
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    return 1 <= r < SM2_N and 1 <= s < SM2_N


def verify_with_gmssl(jws: str, jwks: dict[str, Any]) -> bool:
    """PyPI ``gmssl`` 3.2: verification only. It checks neither the length nor the range of
    r and s and mis-parses some keys, so both are handled here first."""
    from gmssl import sm2

    signing_input, signature, public = jws_parts(jws, jwks)
    if not _in_range(signature):
        return False
    verifier = sm2.CryptSM2(private_key=None, public_key="")
    verifier.public_key = public.hex()  # set after construction: its lstrip("04") bug
    return verifier.verify_with_sm3(signature.hex(), signing_input) is True


def verify_with_gmssl_pyx(jws: str, jwks: dict[str, Any]) -> bool:
    """``gmssl-pyx`` (GmSSL 3): wants the 64-byte public key and a DER signature."""
    from gmssl_pyx import SM2_DEFAULT_SIGNER_ID, sm2_verify

    signing_input, signature, public = jws_parts(jws, jwks)
    if not _in_range(signature):
        return False
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    return bool(sm2_verify(public, signing_input, der, signer_id=SM2_DEFAULT_SIGNER_ID))
