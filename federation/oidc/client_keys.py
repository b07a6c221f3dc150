"""A client's public keys and JWTs signed with them: ``private_key_jwt`` assertions
(OIDC Core §9, RFC 7523) and request objects (RFC 9101, OIDC Core §6).

- Key sets (OIDC Registration §2 ``jwks`` / ``jwks_uri``) are whole JWK Sets (RFC 7517 §5):
  signing and encryption keys, several types. :func:`check_public_jwks` refuses private
  parts and a set with no key that could verify an allowed algorithm.
- :func:`select_keys` picks the candidates for a JWS header: by ``kid`` when given, by the
  ``kty``/``crv`` the header's ``alg`` needs, by the key's ``alg`` when it names one and by
  ``use`` (``sig`` or absent).
- :func:`verify_client_jwt` verifies with an allow-list (:data:`CLIENT_JWS_ALGS`:
  SM2SM3, ES256, RS256, PS256 — never ``none`` and never HMAC, so a public key can never
  be used as an HMAC secret) narrowed to the client's registered algorithm when it named
  one (OIDC Registration §2: an omitted ``token_endpoint_auth_signing_alg`` means any
  algorithm both sides support).
- :func:`client_key_set` gives the client's keys: the registered ``jwks``, or the document
  at ``jwks_uri`` (:mod:`federation.oidc.jwks_cache`), re-fetched once on an unknown
  ``kid`` (key rotation).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from federation import untrusted
from federation.crypto.jose import InvalidJWS, decode_jwt

CLIENT_JWS_ALGS = ("SM2SM3", "ES256", "RS256", "PS256")
"""Algorithms a client may sign its JWTs with (assertions, request objects)."""

KEY_TYPES: dict[str, tuple[str, str | None]] = {
    "SM2SM3": ("EC", "SM2"),
    "ES256": ("EC", "P-256"),
    "RS256": ("RSA", None),
    "PS256": ("RSA", None),
}
"""``alg`` → the (``kty``, ``crv``) of a key that can verify it (RFC 7518 §3)."""

_PRIVATE = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


class ClientJWTError(Exception):
    """A client's JWT did not verify; ``unknown_kid`` when no key matched its ``kid``."""

    def __init__(self, reason: str, *, unknown_kid: bool = False) -> None:
        super().__init__(reason)
        self.unknown_kid = unknown_kid


def check_public_jwks(jwks: Any, algorithms: Sequence[str] = CLIENT_JWS_ALGS) -> None:
    """Raise ``ValueError`` unless ``jwks`` is a JWK Set of public keys with at least one
    key able to verify one of ``algorithms`` (other keys, e.g. ``use: enc``, may be there)."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise ValueError("jwks must be a JWK Set with keys")
    for key in jwks["keys"]:
        if not isinstance(key, dict) or not isinstance(key.get("kty"), str):
            raise ValueError("every JWK needs a kty")
        if _PRIVATE & set(key) or key["kty"] == "oct":
            raise ValueError("jwks must hold public keys only")
    if not any(select_keys(jwks, {"alg": alg}) for alg in algorithms):
        raise ValueError("jwks has no signing key for " + ", ".join(algorithms))


def select_keys(jwks: Mapping[str, Any], header: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The keys of ``jwks`` that may verify a JWS with ``header`` (see the module doc)."""
    alg = header.get("alg")
    if alg not in KEY_TYPES:
        return []
    kty, crv = KEY_TYPES[str(alg)]
    kid = header.get("kid")
    out = []
    for key in jwks.get("keys") or []:
        if not isinstance(key, dict) or key.get("kty") != kty:
            continue
        if crv is not None and key.get("crv") != crv:
            continue
        if key.get("alg", alg) != alg or key.get("use", "sig") != "sig":
            continue
        ops = key.get("key_ops")
        if isinstance(ops, list) and "verify" not in ops:
            continue
        if kid is not None and key.get("kid") != kid:
            continue
        out.append(key)
    return out


def unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header of a compact JWS/JWT before verification (to pick a key)."""
    try:
        part = token.split(".")[0]
        header = untrusted.loads_b64url(part)
    except (ValueError, TypeError, RecursionError) as exc:
        raise ClientJWTError("malformed JWS header") from exc
    if not isinstance(header, dict):
        raise ClientJWTError("malformed JWS header")
    return header


def allowed_algorithms(registered: str | None) -> tuple[str, ...]:
    """The client's registered algorithm alone, or any of :data:`CLIENT_JWS_ALGS`."""
    if registered is None:
        return CLIENT_JWS_ALGS
    return (registered,) if registered in CLIENT_JWS_ALGS else ()


def verify_client_jwt(
    token: str, jwks: Mapping[str, Any], algorithms: Iterable[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of ``token`` verified with a key of ``jwks`` and an allowed alg.

    Raises :class:`ClientJWTError` (``unknown_kid`` set when the header names a ``kid``
    that the set does not hold, so that the caller may re-fetch a ``jwks_uri`` once)."""
    allowed = [alg for alg in algorithms if alg in CLIENT_JWS_ALGS]
    if token.count(".") != 2:
        raise ClientJWTError("not a compact JWS")
    header = unverified_header(token)
    if header.get("alg") not in allowed:
        raise ClientJWTError("alg is not allowed")
    if header.get("crit") is not None:
        raise ClientJWTError("crit is not supported")  # RFC 7515 §4.1.11
    candidates = select_keys(jwks, header)
    if not candidates:
        kid = header.get("kid")
        known = kid is not None and any(
            isinstance(k, dict) and k.get("kid") == kid for k in jwks.get("keys") or []
        )
        raise ClientJWTError("no key for this JWS", unknown_kid=kid is not None and not known)
    try:
        return decode_jwt(token, {"keys": candidates}, algorithms=[str(header["alg"])])
    except (InvalidJWS, ValueError) as exc:
        raise ClientJWTError("signature does not verify") from exc
