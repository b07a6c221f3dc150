"""The narrow JOSE seam of the provider: sign tokens, publish the JWKS, verify JWTs against
our own keys (``id_token_hint``) or a client's (``private_key_jwt``), and half hashes.

Every decode passes an explicit allow-list of algorithms (DESIGN §4), so ``alg: none`` and
algorithm confusion (e.g. ``HS256`` keyed with a public key) fail before any key is used.
``SM2SM3`` hashes with SM3, so its ``at_hash`` is the left half of an SM3 digest.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey

from federation.crypto.sm3 import sm3
from federation.oidc.files import write_once

ALGORITHMS = ("SM2SM3", "ES256", "RS256")
"""ID token algorithms the provider signs with, in order of preference."""


class TokenError(Exception):
    """A JWT did not verify (bad signature, disallowed alg, malformed)."""


class TokenSigner(Protocol):
    """What the provider needs from a key set. An HSM-backed signer implements this too."""

    def algorithms(self) -> tuple[str, ...]:
        """Algorithms this signer holds a current key for."""
        ...

    def sign(self, claims: Mapping[str, Any], alg: str, typ: str = "JWT") -> str:
        """A compact JWS of ``claims`` with the current key for ``alg`` and its ``kid``."""
        ...

    def public_jwks(self) -> dict[str, Any]:
        """The JWKS document (current and next keys, public parts only)."""
        ...

    def verify(self, token: str, algorithms: Iterable[str]) -> dict[str, Any]:
        """Claims of ``token`` signed by one of our keys with an allowed alg."""
        ...


def half_hash(value: str, alg: str) -> str:
    """OIDC Core §3.1.3.6 ``at_hash``/``c_hash``: base64url of the left half of the digest
    of ``value`` under the hash of ``alg`` (SM3 for SM2SM3, SHA-256 for ES256/RS256)."""
    data = value.encode("ascii")
    digest = sm3(data) if alg == "SM2SM3" else hashlib.sha256(data).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


def verify_with_jwks(
    token: str, jwks: Mapping[str, Any], algorithms: Iterable[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of ``token`` verified with a client's JWKS and an alg allow-list."""
    allowed = list(algorithms)
    try:
        keys = import_key_set(jwks)
        decoded = jwt.decode(token, keys, algorithms=allowed)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise TokenError(type(exc).__name__) from exc
    return dict(decoded.header), dict(decoded.claims)


def import_key_set(jwks: Mapping[str, Any]) -> KeySet:
    """A joserfc ``KeySet`` from a JWKS dict (SM2 keys once ``federation.crypto`` has them)."""
    return KeySet.import_key_set(dict(jwks))  # type: ignore[arg-type]


class JoserfcSigner:
    """:class:`TokenSigner` over joserfc keys: one current key per algorithm."""

    def __init__(self, keys: Mapping[str, Any]) -> None:
        self._keys = dict(keys)
        for key in self._keys.values():
            key.ensure_kid()
        self._keyset = KeySet(list(self._keys.values()))

    def algorithms(self) -> tuple[str, ...]:
        return tuple(alg for alg in ALGORITHMS if alg in self._keys)

    def sign(self, claims: Mapping[str, Any], alg: str, typ: str = "JWT") -> str:
        key = self._keys.get(alg)
        if key is None:
            raise TokenError(f"no signing key for {alg}")
        header = {"alg": alg, "kid": key.kid, "typ": typ}
        return jwt.encode(header, dict(claims), key, algorithms=[alg])

    def public_jwks(self) -> dict[str, Any]:
        return {"keys": [key.as_dict(private=False) for key in self._keys.values()]}

    def verify(self, token: str, algorithms: Iterable[str]) -> dict[str, Any]:
        try:
            return dict(jwt.decode(token, self._keyset, algorithms=list(algorithms)).claims)
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise TokenError(type(exc).__name__) from exc


def _generate(alg: str) -> Any:
    params = {"alg": alg, "use": "sig"}
    if alg == "ES256":
        return ECKey.generate_key("P-256", parameters=params, private=True)
    if alg == "RS256":
        return RSAKey.generate_key(2048, parameters=params, private=True)
    raise TokenError(f"cannot generate a key for {alg}")


def _import_pem(pem: bytes) -> tuple[str, Any] | None:
    for alg, cls in (("ES256", ECKey), ("RS256", RSAKey)):
        try:
            key = cls.import_key(pem, parameters={"alg": alg, "use": "sig"})
        except (ValueError, TypeError, JoseError):
            continue
        if alg == "ES256" and key.as_dict().get("crv") != "P-256":
            continue
        return alg, key
    return None


def load_or_create_keys(pem_files: Iterable[Path], data_dir: Path) -> dict[str, Any]:
    """The current key per standard algorithm: from the configured PEM files first, else a
    key generated once into ``<data_dir>/oidc-keys/<alg>.pem`` (shared by every worker)."""
    keys: dict[str, Any] = {}
    for path in pem_files:
        found = _import_pem(path.read_bytes())
        if found and found[0] not in keys:
            keys[found[0]] = found[1]
    for alg in ("ES256", "RS256"):
        if alg in keys:
            continue
        path = data_dir / "oidc-keys" / f"{alg}.pem"
        if not path.exists():
            write_once(path, _generate(alg).as_pem(private=True))
        found = _import_pem(path.read_bytes())
        if found:
            keys[alg] = found[1]
    return keys
