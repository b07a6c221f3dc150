"""Signing seam for receipts and audit checkpoints (DESIGN §4: "a signer interface so an
HSM can be added").

Consent code signs through the two small Protocols below; :class:`KeySetSigner` and
:class:`JwksVerifier` adapt them to ``federation.crypto`` (SM2SM3 compact JWS with a
``kid``). Imports ``federation.crypto`` only.
"""

from __future__ import annotations

import json
from typing import Any, Protocol, runtime_checkable

from federation.crypto.jose import decode_jwt, encode_jwt

SIGNING_ALG = "SM2SM3"


class SignatureError(ValueError):
    """A JWS did not verify (bad signature, unknown kid, disallowed alg, malformed)."""


@runtime_checkable
class JwsSigner(Protocol):
    """Signs a JSON payload as a compact JWS."""

    @property
    def kid(self) -> str:
        """Key id placed in the JWS header."""
        ...

    def sign_jws(self, payload: dict[str, Any], *, typ: str = "JWT") -> str:
        """Return ``header.payload.signature`` (compact serialization)."""
        ...


@runtime_checkable
class JwsVerifier(Protocol):
    """Verifies a compact JWS and returns its JSON payload."""

    def verify_jws(self, token: str, *, typ: str | None = None) -> dict[str, Any]:
        """Return the payload or raise :class:`SignatureError`; with ``typ``, the header's
        ``typ`` must be exactly that (RFC 8725 §3.11: one kind of token never passes for
        another, e.g. an ID token for a receipt)."""
        ...


class KeySetSigner:
    """A :class:`JwsSigner` over a ``federation.crypto.keyset.KeySet`` (current SM2 key)."""

    def __init__(self, keyset: Any, alg: str = SIGNING_ALG) -> None:
        self._keyset = keyset
        self._alg = alg
        self._key = keyset.signing_key(alg)

    @property
    def kid(self) -> str:
        return str(self._key.kid)

    def sign_jws(self, payload: dict[str, Any], *, typ: str = "JWT") -> str:
        return encode_jwt(payload, self._key, header={"typ": typ})


class JwksVerifier:
    """A :class:`JwsVerifier` over a published JWKS (``{"keys": [...]}``), SM2SM3 only."""

    def __init__(self, jwks: Any, algorithms: tuple[str, ...] = (SIGNING_ALG,)) -> None:
        """``jwks``: a JWKS dict or JSON text, or a ``federation.crypto.keyset.KeySet``."""
        self._jwks = json.loads(jwks) if isinstance(jwks, str) else jwks
        self._algorithms = list(algorithms)

    def verify_jws(self, token: str, *, typ: str | None = None) -> dict[str, Any]:
        try:
            header, claims = decode_jwt(token, self._jwks, algorithms=self._algorithms)
        except Exception as exc:  # any decode failure is a bad signature to our callers
            raise SignatureError(f"{type(exc).__name__}: {exc}") from exc
        if typ is not None and header.get("typ") != typ:
            raise SignatureError(f"typ is {header.get('typ')!r}, not {typ!r}")
        return dict(claims)
