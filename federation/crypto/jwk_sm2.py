"""SM2 JSON Web Keys for joserfc: ``{"kty": "EC", "crv": "SM2", "x", "y"[, "d"]}``.

There is no IANA registration for SM2 in JOSE; this follows the shape used by fib-jws,
fibjs and draft-dang-webauthn-sm2-00 (see docs/crypto.md). :class:`SM2Key` subclasses
joserfc's :class:`~joserfc.jwk.ECKey` so that joserfc's JWS code (``guess_key``,
``KeySet``) accepts it; its raw value is an :class:`.sm2_openssl.SM2PrivateKey` or
:class:`.sm2_openssl.SM2PublicKey`.

Import rules (RFC 7518 §6.2.1 applied to SM2): ``crv`` must be ``"SM2"``; ``x`` and ``y``
exactly 32 bytes of base64url and a valid curve point (not infinity); ``d`` exactly 32
bytes, in [1, n-2], and its public point must equal (x, y).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal, Self

from joserfc.errors import InvalidExchangeKeyError, InvalidKeyCurveError, InvalidKeyTypeError
from joserfc.jwk import ECKey
from joserfc.util import urlsafe_b64decode

from ._joserfc_compat import NativeKeyBinding
from .sm2_curve import COORD_SIZE, InvalidPublicKey, validate_public_point
from .sm2_openssl import SM2PrivateKey, SM2PublicKey

CURVE_NAME = "SM2"


class InvalidSM2JWK(ValueError):
    """A JWK that claims to be SM2 but is not a valid SM2 key."""


def _b64(value: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes(COORD_SIZE, "big")).rstrip(b"=").decode()


def _fixed_int(obj: dict[str, Any], name: str) -> int:
    raw = obj.get(name)
    if not isinstance(raw, str):
        raise InvalidSM2JWK(f"SM2 JWK '{name}' must be a base64url string")
    try:
        data = urlsafe_b64decode(raw.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise InvalidSM2JWK(f"SM2 JWK '{name}' is not base64url") from exc
    if len(data) != COORD_SIZE:
        raise InvalidSM2JWK(f"SM2 JWK '{name}' must be exactly {COORD_SIZE} bytes")
    return int.from_bytes(data, "big")


def check_sm2_dict(obj: dict[str, Any]) -> None:
    """Raise unless ``obj`` names the SM2 curve (``InvalidKeyCurveError``)."""
    if obj.get("kty") not in (None, "EC"):
        raise InvalidKeyTypeError("SM2 JWK must have kty 'EC'")
    if obj.get("crv") != CURVE_NAME:
        raise InvalidKeyCurveError(f"SM2 JWK must have crv '{CURVE_NAME}'")


class SM2Binding(NativeKeyBinding):
    """Converts between SM2 JWK dicts / PEM bytes and the OpenSSL-backed key objects."""

    @classmethod
    def convert_raw_key_to_dict(cls, raw_key: Any, private: bool) -> dict[str, Any]:
        public = raw_key.public_key if isinstance(raw_key, SM2PrivateKey) else raw_key
        data = {"crv": CURVE_NAME, "x": _b64(public.x), "y": _b64(public.y)}
        if private:
            data["d"] = _b64(raw_key.private_value)
        return data

    @classmethod
    def import_from_dict(cls, value: dict[str, Any]) -> SM2PrivateKey | SM2PublicKey:
        check_sm2_dict(value)
        x, y = _fixed_int(value, "x"), _fixed_int(value, "y")
        try:
            validate_public_point(x, y)
        except InvalidPublicKey as exc:
            raise InvalidSM2JWK(str(exc)) from exc
        if "d" not in value:
            return SM2PublicKey.from_coordinates(x, y)
        try:
            private = SM2PrivateKey.from_private_value(_fixed_int(value, "d"))
        except InvalidSM2JWK:
            raise
        except ValueError as exc:
            raise InvalidSM2JWK(str(exc)) from exc
        if (private.public_key.x, private.public_key.y) != (x, y):
            raise InvalidSM2JWK("SM2 JWK 'd' does not match 'x'/'y'")
        return private

    @classmethod
    def import_from_bytes(
        cls, value: bytes, password: str | bytes | None = None
    ) -> SM2PrivateKey | SM2PublicKey:
        if password is not None:
            raise InvalidSM2JWK("encrypted SM2 PEM keys are not supported")
        if b"PRIVATE KEY" in value:
            return SM2PrivateKey.from_pem(value)
        return SM2PublicKey.from_pem(value)

    @staticmethod
    def as_bytes(
        key: Any,
        encoding: Literal["PEM", "DER"] | None = None,
        private: bool = False,
        password: str | None = None,
    ) -> bytes:
        if encoding not in (None, "PEM") or password is not None:
            raise ValueError("SM2 keys export as unencrypted PEM only")
        if private:
            if key.private_key is None:
                raise ValueError("This key is not a private key.")
            return key.private_key.to_pem()
        return key.public_key.to_pem()


class SM2Key(ECKey):
    """An SM2 JWK usable wherever joserfc expects a key (``kty`` ``EC``, ``crv`` ``SM2``)."""

    binding = SM2Binding  # type: ignore[assignment]

    @classmethod
    def validate_dict_key(cls, data: Any) -> None:
        super().validate_dict_key(data)
        check_sm2_dict(data)

    @property
    def is_private(self) -> bool:
        return isinstance(self.raw_value, SM2PrivateKey)

    @property
    def public_key(self) -> SM2PublicKey:  # type: ignore[override]
        raw = self.raw_value
        return raw.public_key if isinstance(raw, SM2PrivateKey) else raw

    @property
    def private_key(self) -> SM2PrivateKey | None:  # type: ignore[override]
        raw = self.raw_value
        return raw if isinstance(raw, SM2PrivateKey) else None

    @property
    def curve_name(self) -> str:
        return CURVE_NAME

    @property
    def curve_key_size(self) -> int:
        return 256

    def exchange_derive_key(self, key: Any) -> bytes:
        raise InvalidExchangeKeyError()

    @classmethod
    def import_key(  # type: ignore[override]
        cls,
        value: Any,
        parameters: dict[str, Any] | None = None,
        password: str | bytes | None = None,
    ) -> Self:
        """From an SM2 JWK dict, a PEM (str/bytes), or an SM2 key object."""
        if isinstance(value, SM2PrivateKey | SM2PublicKey):
            return cls(value, value, parameters)
        if isinstance(value, dict):
            cls.validate_dict_key(value)
            return cls(cls.binding.import_from_dict(value), value, parameters)
        data = value.encode() if isinstance(value, str) else bytes(value)
        return cls(cls.binding.import_from_bytes(data, password), data, parameters)

    @classmethod
    def generate_key(  # type: ignore[override]
        cls,
        crv: str | None = CURVE_NAME,
        parameters: dict[str, Any] | None = None,
        private: bool = True,
        auto_kid: bool = False,
    ) -> Self:
        """A fresh SM2 key from OpenSSL."""
        if crv not in (None, CURVE_NAME):
            raise InvalidKeyCurveError(f"Invalid crv value: '{crv}'")
        raw = SM2PrivateKey.generate()
        key = (
            cls(raw, raw, parameters)
            if private
            else cls(raw.public_key, raw.public_key, parameters)
        )
        if auto_kid:
            key.ensure_kid()
        return key

    @classmethod
    def derive_key(cls, *args: Any, **kwargs: Any) -> Self:  # type: ignore[override]
        raise NotImplementedError("SM2 keys are not derived from secrets here")
