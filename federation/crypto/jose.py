"""JOSE with SM2: the ``SM2SM3`` JWS algorithm, JWT encode/decode, JWKS import, half hashes.

* ``SM2SM3`` (DESIGN §4): SM2 signature (GB/T 32918.2) over the JWS Signing Input with SM3
  and Z from the default ID ``1234567812345678``; the JWS Signature is the raw 64-byte
  ``r ‖ s`` (as ES256, RFC 7518 §3.4), never DER. It is registered with joserfc's
  :class:`~joserfc.jws.JWSRegistry` when this module is imported (idempotent), but it is not
  "recommended", so joserfc only accepts it when ``algorithms=[...]`` names it.
* :func:`encode_jwt` / :func:`decode_jwt`: compact JWS JWTs (RFC 7519 §7) through any
  :class:`.signer.Signer`; decoding always takes an explicit allow-list and never accepts
  ``none``. Every failure is one :class:`InvalidJWS` with a short reason.
* :func:`import_jwk` / :func:`import_jwks`: JWKs and JWK Sets (RFC 7517 §5) that may mix SM2
  with EC P-256 and RSA keys. joserfc's own ``KeySet.import_key_set`` does not know SM2, so
  use these (or :class:`JWKSet`, a joserfc ``KeySet`` whose registry does).
* :func:`half_hash`: ``at_hash`` / ``c_hash`` (OIDC Core §3.1.3.6, §3.3.2.11): the left half of
  the hash that goes with ``alg`` — SM3 for ``SM2SM3``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from joserfc import jws
from joserfc.errors import InvalidKeyCurveError, InvalidKeyTypeError, JoseError
from joserfc.jwk import JWKRegistry, Key, KeySet

from ._joserfc_compat import JWSAlgModel
from .encoding import RAW_SIZE
from .jwk_sm2 import CURVE_NAME, InvalidSM2JWK, SM2Key
from .signer import Signer
from .sm3 import sm3

ALG_SM2SM3 = "SM2SM3"

#: Algorithms :func:`decode_jwt` may ever be asked to accept (never ``none``).
SUPPORTED_ALGS = frozenset(
    {ALG_SM2SM3, "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
     "EdDSA", "HS256", "HS384", "HS512"}
)  # fmt: skip


class InvalidJWS(Exception):
    """A token that does not decode and verify; ``str(exc)`` is a short reason."""


class SM2SM3Algorithm(JWSAlgModel):
    """JWS ``alg`` ``SM2SM3``: SM2 over SM3(Z ‖ JWS Signing Input), raw 64-byte r‖s."""

    name = ALG_SM2SM3
    description = "SM2 signature with SM3 (GB/T 32918.2), ID 1234567812345678, raw r||s"
    recommended = False
    key_type = "EC"
    algorithm_security = 256

    def check_key(self, key: Any) -> None:
        super().check_key(key)
        if not isinstance(key, SM2Key):
            raise InvalidKeyCurveError(f"Algorithm '{self.name}' requires an SM2 key")

    def sign(self, msg: bytes, key: SM2Key) -> bytes:
        return key.get_op_key("sign").sign(msg, encoding="raw")

    def verify(self, msg: bytes, sig: bytes, key: SM2Key) -> bool:
        if len(sig) != RAW_SIZE:
            return False
        return key.get_op_key("verify").verify(msg, sig, encoding="raw")


def register() -> None:
    """Register ``SM2SM3`` with joserfc (safe to call any number of times)."""
    if not isinstance(jws.JWSRegistry.algorithms.get(ALG_SM2SM3), SM2SM3Algorithm):
        jws.JWSRegistry.register(SM2SM3Algorithm())
    KeySet.algorithm_keys[ALG_SM2SM3] = ["EC"]


register()


# --- JWK import --------------------------------------------------------------------------
class _SM2AwareRegistry(JWKRegistry):
    """joserfc's JWK registry, plus ``{"kty": "EC", "crv": "SM2"}`` → :class:`SM2Key`."""

    @classmethod
    def import_key(cls, data: Any, key_type: str | None = None, parameters: Any = None) -> Key:
        if isinstance(data, dict) and data.get("kty") == "EC" and data.get("crv") == CURVE_NAME:
            return SM2Key.import_key(data, parameters)
        return super().import_key(data, key_type, parameters)


class JWKSet(KeySet):
    """A joserfc ``KeySet`` that imports SM2 JWKs too (use it with any joserfc API)."""

    registry_cls = _SM2AwareRegistry


def import_jwk(data: dict[str, Any]) -> Key:
    """One JWK (SM2, EC, RSA, OKP or oct) as a joserfc key; ``ValueError`` if invalid."""
    try:
        return _SM2AwareRegistry.import_key(data)
    except (JoseError, InvalidSM2JWK, ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"invalid JWK: {exc}") from exc


def import_jwks(data: dict[str, Any]) -> JWKSet:
    """A JWK Set. Keys of an unknown ``kty`` are skipped (RFC 7517 §5); an invalid key of a
    known type is an error (``ValueError``)."""
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValueError("a JWK Set is an object with a 'keys' array")
    keys: list[Key] = []
    for item in data["keys"]:
        try:
            keys.append(_SM2AwareRegistry.import_key(item))
        except InvalidKeyTypeError:
            continue
        except (JoseError, InvalidSM2JWK, ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"invalid JWK in set: {exc}") from exc
    if not keys:
        raise ValueError("the JWK Set holds no usable key")
    return JWKSet(keys)


# --- JWT ----------------------------------------------------------------------------------
def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _json(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def encode_jwt(claims: dict[str, Any], key: Signer, *, header: dict[str, Any] | None = None) -> str:
    """Compact JWS of ``claims`` signed by ``key``; the header gets ``alg`` and ``kid`` from
    the key (``typ`` defaults to ``JWT``)."""
    protected = {"typ": "JWT", **(header or {}), "alg": key.alg, "kid": key.kid}
    signing_input = _b64(_json(protected)) + b"." + _b64(_json(claims))
    signature = key.sign(signing_input)
    if key.alg in (ALG_SM2SM3, "ES256") and len(signature) != RAW_SIZE:
        raise ValueError(f"{key.alg} signer returned {len(signature)} bytes, not raw r||s")
    return (signing_input + b"." + _b64(signature)).decode("ascii")


def _as_key_list(keys: Any) -> list[Key]:
    if hasattr(keys, "verification_key_set"):  # federation.crypto.keyset.KeySet
        keys = keys.verification_key_set()
    if isinstance(keys, KeySet):
        return list(keys.keys)
    if isinstance(keys, dict):
        return list(import_jwks(keys).keys) if "keys" in keys else [import_jwk(keys)]
    if isinstance(keys, Iterable) and not isinstance(keys, str | bytes):
        return [k for item in keys for k in _as_key_list(item)]
    return [keys]


def _allowed(algorithms: Sequence[str]) -> list[str]:
    allowed = [a for a in algorithms if a in SUPPORTED_ALGS]
    if not allowed or len(allowed) != len(list(algorithms)):
        raise ValueError(f"algorithms must be a non-empty subset of {sorted(SUPPORTED_ALGS)}")
    return allowed


def decode_jwt(
    token: str | bytes, keys: Any, *, algorithms: Sequence[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a compact JWS JWT and return ``(header, claims)``.

    ``keys``: a :class:`.keyset.KeySet`, a joserfc key or ``KeySet``, a JWK or JWKS dict.
    ``algorithms`` is required and may not contain ``none``. Claims (``exp``, ``aud``, …)
    are *not* checked here; that is the caller's protocol logic. Raises :class:`InvalidJWS`.
    """
    allowed = _allowed(algorithms)
    raw = token.encode("ascii", "replace") if isinstance(token, str) else bytes(token)
    if raw.count(b".") != 2:
        raise InvalidJWS("not a compact JWS")
    try:
        header = json.loads(base64.urlsafe_b64decode(raw.split(b".")[0] + b"=="))
    except (ValueError, TypeError, RecursionError) as exc:  # RecursionError: "[[[[…"
        raise InvalidJWS("malformed JWS header") from exc
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
        raise InvalidJWS("JWS header has no alg")
    if header["alg"] not in allowed:
        raise InvalidJWS(f"alg {header['alg'][:20]!r} is not allowed")
    try:
        candidates = _as_key_list(keys)
    except ValueError as exc:
        raise InvalidJWS(str(exc)) from exc
    kid = header.get("kid")
    if kid is not None:
        candidates = [k for k in candidates if getattr(k, "kid", None) == kid]
        if not candidates:
            raise InvalidJWS("no key for this kid")
    for key in candidates:
        try:
            obj = jws.deserialize_compact(raw, key, algorithms=allowed)
        except JoseError:
            continue
        except (ValueError, TypeError, KeyError):
            continue
        try:
            claims = json.loads(obj.payload)
        except (ValueError, RecursionError) as exc:
            raise InvalidJWS("payload is not JSON") from exc
        if not isinstance(claims, dict):
            raise InvalidJWS("payload is not a JSON object")
        return dict(obj.protected), claims
    raise InvalidJWS("signature does not verify")


# --- OIDC half hashes ---------------------------------------------------------------------
def _digest_for(alg: str) -> Any:
    if alg == ALG_SM2SM3:
        return sm3
    if alg == "EdDSA":
        return lambda data: hashlib.sha512(data).digest()
    bits = alg[2:]
    if alg[:2] in ("HS", "RS", "ES", "PS") and bits in ("256", "384", "512"):
        return lambda data: hashlib.new(f"sha{bits}", data).digest()
    raise ValueError(f"no half-hash defined for alg {alg!r}")


def half_hash(value: str | bytes, alg: str) -> str:
    """``at_hash``/``c_hash``: base64url of the left half of hash(ASCII value) for ``alg``."""
    data = value.encode("ascii") if isinstance(value, str) else value
    digest = _digest_for(alg)(data)
    return _b64(digest[: len(digest) // 2]).decode("ascii")
