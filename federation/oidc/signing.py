"""The narrow JOSE seam of the provider: sign tokens, publish the JWKS, verify JWTs against
our own keys (``id_token_hint``) or a client's (``private_key_jwt``), and half hashes.

Built on :mod:`federation.crypto.jose` and :mod:`federation.crypto.keyset` (SM2SM3 through
OpenSSL, ES256, RS256). Every decode passes an explicit allow-list of algorithms (DESIGN
§4), so ``alg: none`` and algorithm confusion (e.g. ``HS256`` keyed with a public key) fail
before any key is used. ``SM2SM3`` hashes with SM3, so its ``at_hash`` is the left half of
an SM3 digest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from federation import untrusted
from federation.crypto.jose import InvalidJWS, decode_jwt, encode_jwt
from federation.crypto.jose import half_hash as _half_hash
from federation.crypto.keyset import KeySet, ManagedKey, NoSigningKey
from federation.oidc.files import write_once

ALGORITHMS = ("SM2SM3", "ES256", "RS256")
"""ID token algorithms the provider signs with, in order of preference."""


class TokenError(Exception):
    """A JWT did not verify (bad signature, disallowed alg, malformed) or cannot be signed."""


class TokenSigner(Protocol):
    """What the provider needs from a key set. An HSM-backed signer implements this too."""

    def algorithms(self) -> tuple[str, ...]:
        """Algorithms this signer holds a current key for."""
        ...

    def sign(self, claims: Mapping[str, Any], alg: str, typ: str = "JWT") -> str:
        """A compact JWS of ``claims`` with the current key for ``alg`` and its ``kid``."""
        ...

    def public_jwks(self) -> dict[str, Any]:
        """The JWKS document (current, next and retired-in-grace keys, public parts)."""
        ...

    def verify(self, token: str, algorithms: Iterable[str]) -> dict[str, Any]:
        """Claims of ``token`` signed by one of our keys with an allowed alg."""
        ...


IANA_CURVES = {
    "EC": frozenset({"P-256", "P-384", "P-521", "secp256k1"}),
    "OKP": frozenset({"Ed25519", "Ed448", "X25519", "X448"}),
}
"""Curves registered in IANA's "JSON Web Key Elliptic Curve" registry (RFC 7518 §7.6,
RFC 8037 §5, RFC 8812 §4.2), by ``kty``. ``SM2`` is not registered."""


def is_registered_key(jwk: Mapping[str, Any]) -> bool:
    """True if every stock JOSE library can read ``jwk``: an ``RSA`` key, or an ``EC``/``OKP``
    key on a curve in :data:`IANA_CURVES` (RFC 7517 §4.1, RFC 7518 §6)."""
    kty = jwk.get("kty")
    if kty == "RSA":
        return True
    return jwk.get("crv") in IANA_CURVES.get(str(kty), frozenset())


def split_jwks(jwks: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the ``jwks_uri`` document, the ``sm2_jwks_uri`` document): the registered keys, and
    the rest (the ``crv: SM2`` keys). Stock libraries that refuse a whole set for one key
    they do not know (joserfc, pyoidc) read the first; SM2 relying parties the second."""
    keys = list(jwks.get("keys", []))
    return (
        {"keys": [k for k in keys if is_registered_key(k)]},
        {"keys": [k for k in keys if not is_registered_key(k)]},
    )


def half_hash(value: str, alg: str) -> str:
    """OIDC Core §3.1.3.6 ``at_hash``/``c_hash`` for ``alg`` (SM3 for SM2SM3)."""
    return _half_hash(value, alg)


def verify_with_jwks(
    token: str, jwks: Mapping[str, Any], algorithms: Iterable[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of ``token`` verified with a client's JWKS and an alg allow-list."""
    try:
        untrusted.read_compact_jws(token)
        return decode_jwt(token, dict(jwks), algorithms=list(algorithms))
    except (InvalidJWS, ValueError) as exc:
        raise TokenError(str(exc)[:80]) from exc


class KeySetSigner:
    """:class:`TokenSigner` over a :class:`federation.crypto.keyset.KeySet`."""

    def __init__(self, keyset: KeySet) -> None:
        self.keyset = keyset

    def algorithms(self) -> tuple[str, ...]:
        have = set(self.keyset.algorithms())
        return tuple(alg for alg in ALGORITHMS if alg in have)

    def sign(self, claims: Mapping[str, Any], alg: str, typ: str = "JWT") -> str:
        try:
            key = self.keyset.signing_key(alg)
        except NoSigningKey as exc:
            raise TokenError(f"no signing key for {alg}") from exc
        return encode_jwt(dict(claims), key, header={"typ": typ})

    def public_jwks(self) -> dict[str, Any]:
        return self.keyset.public_jwks()

    def verify(self, token: str, algorithms: Iterable[str]) -> dict[str, Any]:
        try:
            untrusted.read_compact_jws(token)
            _, claims = decode_jwt(token, self.keyset, algorithms=list(algorithms))
        except (InvalidJWS, ValueError) as exc:
            raise TokenError(str(exc)[:80]) from exc
        return claims


def load_or_create_keyset(pem_files: Iterable[Path], data_dir: Path) -> KeySet:
    """The configured PEM keys (first per alg is current); any of SM2SM3, ES256, RS256
    still missing is generated once into ``<data_dir>/oidc-keys/<alg>.pem`` and shared by
    every worker on the host."""
    keyset = KeySet.from_pem_files(list(pem_files))
    have = set(keyset.algorithms())
    for alg in ALGORITHMS:
        if alg in have:
            continue
        path = data_dir / "oidc-keys" / f"{alg}.pem"
        write_once(path, ManagedKey.generate(alg).to_pem())
        keyset.add(ManagedKey.from_pem(path.read_bytes()))
    return keyset
