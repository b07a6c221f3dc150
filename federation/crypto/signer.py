"""The :class:`Signer` protocol: what JWS creation needs from a key (DESIGN §4).

Software keys (:class:`.keyset.ManagedKey`) implement it today; an HSM-backed signer only
has to provide the same four members.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Signer(Protocol):
    """Something that can produce JWS signatures for one key."""

    @property
    def alg(self) -> str:
        """The JWS ``alg`` this key signs with (``SM2SM3``, ``ES256``, ``RS256``)."""
        ...

    @property
    def kid(self) -> str:
        """The key id written into the JWS header."""
        ...

    @property
    def public_jwk(self) -> dict[str, Any]:
        """The public JWK (with ``kid``, ``alg``, ``use``) verifiers need."""
        ...

    def sign(self, signing_input: bytes) -> bytes:
        """The JWS signature over ``signing_input`` in JWS form (raw r‖s for EC/SM2)."""
        ...
