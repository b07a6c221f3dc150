"""Signing key sets with ``kid``s and rotation (DESIGN §4 "Keys").

A :class:`KeySet` holds :class:`ManagedKey` s for ``SM2SM3``, ``ES256`` and ``RS256``. Each
key is in one rotation state:

* ``next`` — published in the JWKS so relying parties cache it, not yet used to sign;
* ``current`` — the one key per algorithm that signs;
* ``retired`` — no longer signs, still published (and verifies) for ``grace_period``
  seconds after retirement, then dropped by :meth:`KeySet.prune`.

``kid`` is the RFC 7638 JWK thumbprint (SHA-256, by joserfc) of the public key.
Keys come from PKCS#8 PEM files or an environment variable holding PEM blocks; the
algorithm is detected from the key. :class:`ManagedKey` implements the
:class:`.signer.Signer` protocol, so an HSM signer can stand in for it.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from joserfc import jws
from joserfc.jwk import ECKey, Key, RSAKey

from .jose import ALG_SM2SM3, JWKSet
from .jwk_sm2 import SM2Key
from .signer import Signer

__all__ = ["DEFAULT_GRACE_SECONDS", "KeySet", "KeyState", "ManagedKey", "NoSigningKey", "Signer"]

DEFAULT_GRACE_SECONDS = 7 * 24 * 3600
RSA_BITS = 2048
_PEM_BLOCK = re.compile(
    rb"-----BEGIN [A-Z ]*PRIVATE KEY-----.+?-----END [A-Z ]*PRIVATE KEY-----", re.S
)


class KeyState(StrEnum):
    """Rotation state of a signing key."""

    NEXT = "next"
    CURRENT = "current"
    RETIRED = "retired"


class NoSigningKey(LookupError):
    """The key set has no current key for the requested algorithm."""


def _detect(pem: bytes) -> tuple[str, Key]:
    """(alg, private joserfc key) for a PEM private key: SM2 → SM2SM3, P-256 → ES256,
    RSA ≥ 2048 bits → RS256."""
    try:
        native = load_pem_private_key(pem, password=None)
    except UnsupportedAlgorithm:  # cryptography has no SM2 curve
        return ALG_SM2SM3, SM2Key.import_key(pem)
    except ValueError:
        if b"1.2.156.10197.1.301" in pem or b"SM2" in pem:
            raise
        try:
            return ALG_SM2SM3, SM2Key.import_key(pem)
        except ValueError:
            raise ValueError("not a PKCS#8 SM2, P-256 or RSA private key") from None
    if isinstance(native, ec.EllipticCurvePrivateKey) and isinstance(native.curve, ec.SECP256R1):
        return "ES256", ECKey.import_key(native)
    if isinstance(native, rsa.RSAPrivateKey) and native.key_size >= RSA_BITS:
        return "RS256", RSAKey.import_key(native)
    raise ValueError("unsupported key: use SM2, EC P-256 or RSA >= 2048 bits")


def generate_private_key(alg: str) -> Key:
    """A fresh private joserfc key for ``alg``."""
    if alg == ALG_SM2SM3:
        return SM2Key.generate_key()
    if alg == "ES256":
        return ECKey.generate_key("P-256")
    if alg == "RS256":
        return RSAKey.generate_key(RSA_BITS)
    raise ValueError(f"unsupported signing alg {alg!r}")


@dataclass(eq=False)
class ManagedKey:
    """One private signing key with its ``alg``, ``kid`` and rotation state (a Signer)."""

    key: Key
    alg: str
    state: KeyState = KeyState.CURRENT
    retired_at: float | None = None
    kid: str = field(default="")

    def __post_init__(self) -> None:
        if not self.key.is_private:
            raise ValueError("a ManagedKey needs a private key")
        self._jws_alg = jws.JWSRegistry.algorithms[self.alg]
        self._jws_alg.check_key(self.key)
        if not self.kid:
            self.kid = self.key.thumbprint()

    @classmethod
    def from_pem(cls, pem: bytes | str, state: KeyState = KeyState.CURRENT) -> ManagedKey:
        """From an unencrypted PKCS#8 PEM; the algorithm is detected from the key."""
        alg, key = _detect(pem.encode() if isinstance(pem, str) else pem)
        return cls(key, alg, state)

    @classmethod
    def generate(cls, alg: str, state: KeyState = KeyState.CURRENT) -> ManagedKey:
        """A fresh key (SM2 from OpenSSL, EC/RSA from ``cryptography``)."""
        return cls(generate_private_key(alg), alg, state)

    def sign(self, signing_input: bytes) -> bytes:
        """JWS signature over ``signing_input`` (raw r‖s for SM2SM3/ES256)."""
        return self._jws_alg.sign(signing_input, self.key)

    @property
    def public_jwk(self) -> dict[str, Any]:
        """Public JWK with ``kid``, ``alg`` and ``use: sig``."""
        return dict(self.key.as_dict(private=False, kid=self.kid, alg=self.alg, use="sig"))

    def verification_key(self) -> Key:
        """The public half as a joserfc key (``kid``/``alg``/``use`` set)."""
        if isinstance(self.key, SM2Key):
            return SM2Key.import_key(self.public_jwk)
        return type(self.key).import_key(self.public_jwk)

    def to_pem(self) -> bytes:
        """Unencrypted PKCS#8 PEM of the private key."""
        return self.key.as_pem(private=True)


class KeySet:
    """Signing keys by ``kid`` with rotation and a public JWKS."""

    def __init__(
        self,
        keys: Iterable[ManagedKey] = (),
        *,
        grace_period: float = DEFAULT_GRACE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.grace_period = grace_period
        self._clock = clock
        self._keys: dict[str, ManagedKey] = {}
        for key in keys:
            self.add(key)

    # --- construction ------------------------------------------------------------------
    @classmethod
    def generate(cls, algs: Sequence[str] = (ALG_SM2SM3, "ES256", "RS256"), **kw: Any) -> KeySet:
        """One fresh current key per algorithm (tests, demo)."""
        return cls((ManagedKey.generate(alg) for alg in algs), **kw)

    @classmethod
    def from_pems(cls, pems: Iterable[bytes], **kw: Any) -> KeySet:
        """From PEM private keys; per algorithm the first is ``current``, later ones ``next``."""
        keyset = cls(**kw)
        for pem in pems:
            key = ManagedKey.from_pem(pem, KeyState.NEXT)
            if not any(k.alg == key.alg and k.state == KeyState.CURRENT for k in keyset):
                key.state = KeyState.CURRENT
            keyset.add(key)
        return keyset

    @classmethod
    def from_pem_files(cls, paths: Iterable[str | os.PathLike[str]], **kw: Any) -> KeySet:
        """From PKCS#8 PEM files (see :meth:`from_pems` for the states)."""
        return cls.from_pems((Path(p).read_bytes() for p in paths), **kw)

    @classmethod
    def from_env(cls, var: str = "IDBRIDGE_SIGNING_KEYS_PEM", **kw: Any) -> KeySet:
        """From an environment variable holding one or more PEM private-key blocks."""
        blocks = _PEM_BLOCK.findall(os.environ.get(var, "").encode())
        if not blocks:
            raise ValueError(f"{var} holds no PEM private key")
        return cls.from_pems(blocks, **kw)

    def save_pem(self, directory: str | os.PathLike[str]) -> list[Path]:
        """Write each key as ``<alg>-<kid>.pem`` (PKCS#8, mode 0600); return the paths."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for key in self:
            path = out / f"{key.alg}-{key.kid}.pem"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(key.to_pem())
            paths.append(path)
        return paths

    # --- membership and rotation -------------------------------------------------------
    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(list(self._keys.values()))

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, kid: str) -> ManagedKey | None:
        """The key with this ``kid``, if present."""
        return self._keys.get(kid)

    def add(self, key: ManagedKey) -> ManagedKey:
        """Add a key. Adding a ``current`` key retires the previous current one of its alg."""
        if key.state == KeyState.CURRENT:
            for old in self:
                if old.alg == key.alg and old.state == KeyState.CURRENT and old.kid != key.kid:
                    self.retire(old.kid)
        if key.state == KeyState.RETIRED and key.retired_at is None:
            key.retired_at = self._clock()
        self._keys[key.kid] = key
        return key

    def retire(self, kid: str) -> None:
        """Stop signing with ``kid``; it stays published for the grace period."""
        key = self._keys[kid]
        key.state, key.retired_at = KeyState.RETIRED, self._clock()

    def rotate(self, alg: str) -> ManagedKey:
        """Promote the ``next`` key of ``alg`` (generating one if none) to ``current``,
        retire the old current key, and stage a fresh ``next``. Returns the new current."""
        staged = [k for k in self if k.alg == alg and k.state == KeyState.NEXT]
        new = staged[0] if staged else ManagedKey.generate(alg, KeyState.NEXT)
        new.state = KeyState.CURRENT
        self.add(new)
        self.add(ManagedKey.generate(alg, KeyState.NEXT))
        return new

    def prune(self) -> list[str]:
        """Drop retired keys whose grace period is over; return their kids."""
        gone = [k.kid for k in self if k.state == KeyState.RETIRED and not self._in_grace(k)]
        for kid in gone:
            del self._keys[kid]
        return gone

    def _in_grace(self, key: ManagedKey) -> bool:
        if key.state != KeyState.RETIRED:
            return True
        return key.retired_at is not None and self._clock() - key.retired_at < self.grace_period

    # --- use ---------------------------------------------------------------------------
    def signing_key(self, alg: str) -> ManagedKey:
        """The current key for ``alg``; :class:`NoSigningKey` if there is none."""
        for key in self:
            if key.alg == alg and key.state == KeyState.CURRENT:
                return key
        raise NoSigningKey(f"no current signing key for {alg}")

    def algorithms(self) -> list[str]:
        """Algorithms with a current key (for ``id_token_signing_alg_values_supported``)."""
        return sorted({k.alg for k in self if k.state == KeyState.CURRENT})

    def published(self) -> list[ManagedKey]:
        """Keys in the JWKS: current, next, and retired within the grace period."""
        return [k for k in self if self._in_grace(k)]

    def public_jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The public JWK Set (RFC 7517 §5) of :meth:`published` keys."""
        return {"keys": [k.public_jwk for k in self.published()]}

    def verification_key_set(self) -> JWKSet:
        """A joserfc key set of the published public keys, for :func:`.jose.decode_jwt`."""
        return JWKSet([k.verification_key() for k in self.published()])
