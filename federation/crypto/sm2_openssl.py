"""SM2 signatures (GB/T 32918.2) through the system libcrypto (OpenSSL ≥ 3.0).

The production signer. OpenSSL draws the nonce k from its own DRBG and does the scalar
multiplications; Python only hashes and encodes.

Two ways to reach OpenSSL, giving identical signatures:

* ``digest`` (default) — the documented one (man SM2(7)): an ``EVP_PKEY_CTX`` with the
  distinguishing ID set by ``EVP_PKEY_CTX_set1_id`` and ``EVP_DigestSign``/``EVP_DigestVerify``
  with SM3. One initialised template context is copied per operation (``EVP_MD_CTX_copy_ex``).
* ``prehashed`` (within noise of ``digest``, see docs/crypto.md) — Z is computed once per key
  and ID here (:func:`.sm2_curve.compute_z`), e = SM3(Z ‖ M) per message, and OpenSSL signs
  or verifies e with ``EVP_PKEY_sign``/``EVP_PKEY_verify`` on pooled contexts.

Keys are validated on import (coordinates < p, on the curve, not infinity; d ∈ [1, n-2]).
:meth:`SM2PublicKey.verify` returns False and never raises for any malformed input. Every
OpenSSL object is freed (keys by a finalizer, contexts after use); contexts are never shared
between threads at the same time, so all methods are thread-safe.
"""

from __future__ import annotations

import base64
import ctypes
from ctypes import byref, c_size_t, c_void_p
from typing import Literal

from . import _libcrypto as L
from ._sm2_native import (
    MAX_DER_SIG,
    SM2_ALGID,
    SPKI_PREFIX,
    Handle,
    pem_of,
    pkey_from_der,
    pkey_from_pem,
    public_point,
    spki_point_without_openssl,
)
from .encoding import (
    EncodingError,
    der_decode_signature,
    der_encode_signature,
    der_to_raw,
    raw_decode_signature,
)
from .sm2_curve import (
    DEFAULT_ID,
    N,
    compute_z,
    int_to_bytes32,
    point_from_bytes,
    point_to_bytes,
    validate_private_scalar,
    validate_public_point,
)
from .sm2_reference import ReferencePublicKey
from .sm3 import sm3

SignatureEncoding = Literal["der", "raw"]
Path = Literal["prehashed", "digest"]


class SM2PublicKey:
    """A validated SM2 public key. Build with :meth:`from_pem`, :meth:`from_der` or
    :meth:`from_coordinates`."""

    def __init__(self, handle: Handle | None, x: int, y: int) -> None:
        self._handle = handle  # None: no libcrypto, verify with the pure-Python reference
        self.x = x
        self.y = y
        self._z_default = compute_z(x, y, DEFAULT_ID)
        self._reference: ReferencePublicKey | None = None

    # --- construction ------------------------------------------------------------------
    @classmethod
    def from_coordinates(cls, x: int, y: int) -> SM2PublicKey:
        """From affine coordinates; raises ``InvalidPublicKey`` if (x, y) is not valid."""
        validate_public_point(x, y)
        if L.lib is None:
            return cls(None, x, y)
        der = SPKI_PREFIX + point_to_bytes(x, y)
        return cls(Handle(pkey_from_der(der, private=False)), x, y)

    @classmethod
    def from_point(cls, point: bytes) -> SM2PublicKey:
        """From the uncompressed ``04 ‖ x ‖ y`` encoding."""
        return cls.from_coordinates(*point_from_bytes(point))

    @classmethod
    def from_pem(cls, pem: bytes | str) -> SM2PublicKey:
        """From an SPKI ``PUBLIC KEY`` PEM (what ``openssl pkey -pubout`` writes)."""
        data = pem.encode() if isinstance(pem, str) else pem
        if L.lib is None:
            return cls.from_point(spki_point_without_openssl(data))
        handle = Handle(pkey_from_pem(data, private=False))
        return cls(handle, *public_point(handle.pkey))

    # --- export ------------------------------------------------------------------------
    def to_pem(self) -> bytes:
        """SPKI ``PUBLIC KEY`` PEM, readable by ``openssl pkey -pubin``."""
        if self._handle is None:
            body = base64.encodebytes(SPKI_PREFIX + self.point()).replace(b"\n", b"")
            lines = [body[i : i + 64] for i in range(0, len(body), 64)]
            return (
                b"-----BEGIN PUBLIC KEY-----\n"
                + b"\n".join(lines)
                + b"\n-----END PUBLIC KEY-----\n"
            )
        return pem_of(self._handle.pkey, private=False)

    def point(self) -> bytes:
        """``04 ‖ x ‖ y``."""
        return point_to_bytes(self.x, self.y)

    def z(self, uid: bytes = DEFAULT_ID) -> bytes:
        """The signer identity hash Z for this key and distinguishing ID."""
        return self._z_default if uid == DEFAULT_ID else compute_z(self.x, self.y, uid)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SM2PublicKey) and (self.x, self.y) == (other.x, other.y)

    def __hash__(self) -> int:
        return hash((self.x, self.y))

    # --- verification ------------------------------------------------------------------
    def verify(
        self,
        message: bytes,
        signature: bytes,
        *,
        encoding: SignatureEncoding = "der",
        uid: bytes = DEFAULT_ID,
        path: Path = "digest",
    ) -> bool:
        """True only for a valid SM2 signature of ``message``; False (never an exception)
        for anything else: bad encoding, r or s outside [1, n-1], wrong ID, wrong key."""
        try:
            if encoding == "raw":
                r, s = raw_decode_signature(signature)
            else:
                r, s = der_decode_signature(signature)
            if not (1 <= r < N and 1 <= s < N) or (r + s) % N == 0:
                return False
            if not isinstance(message, bytes | bytearray) or not isinstance(uid, bytes):
                return False
            if self._handle is None:
                return self._fallback().verify_digest(
                    int.from_bytes(sm3(self.z(uid) + bytes(message)), "big"), r, s
                )
            der = der_encode_signature(r, s)
            if path == "digest":
                return self._verify_digest(bytes(message), der, uid)
            digest = sm3(self.z(uid) + bytes(message))
            return self._verify_prehashed(digest, der)
        except (EncodingError, ValueError, TypeError, L.OpenSSLError):
            L.drain_errors()
            return False

    def _fallback(self) -> ReferencePublicKey:
        if self._reference is None:
            self._reference = ReferencePublicKey(self.x, self.y, cache=True)
        return self._reference

    def _verify_prehashed(self, digest: bytes, der: bytes) -> bool:
        handle = self._handle
        ctx = handle.acquire(handle.verify_pool, "EVP_PKEY_verify_init")
        ok = L.lib.EVP_PKEY_verify(ctx, der, len(der), digest, len(digest))
        if ok != 1:
            L.drain_errors()
        handle.release(handle.verify_pool, ctx, ok == 1)
        return ok == 1

    def _verify_digest(self, message: bytes, der: bytes, uid: bytes) -> bool:
        lib = L.lib
        mctx = self._handle.digest_ctx(uid, verify=True)
        try:
            ok = lib.EVP_DigestVerify(mctx, der, len(der), message, len(message))
        finally:
            lib.EVP_MD_CTX_free(mctx)
        if ok != 1:
            L.drain_errors()
        return ok == 1


class SM2PrivateKey:
    """An SM2 private key held by OpenSSL. Build with :meth:`generate`, :meth:`from_pem`
    or :meth:`from_private_value`."""

    def __init__(self, handle: Handle) -> None:
        self._handle = handle
        x, y = public_point(handle.pkey)
        public = Handle(pkey_from_der(SPKI_PREFIX + point_to_bytes(x, y), private=False))
        self.public_key = SM2PublicKey(public, x, y)
        validate_private_scalar(self.private_value)

    @classmethod
    def generate(cls) -> SM2PrivateKey:
        """A fresh key from OpenSSL's DRBG (``EVP_PKEY_keygen`` with ``"SM2"``)."""
        lib = L.require()
        ctx = lib.EVP_PKEY_CTX_new_from_name(None, b"SM2", None)
        if not ctx:
            raise L.fail("EVP_PKEY_CTX_new_from_name(SM2)")
        pkey = c_void_p()
        try:
            if lib.EVP_PKEY_keygen_init(ctx) != 1 or lib.EVP_PKEY_generate(ctx, byref(pkey)) != 1:
                raise L.fail("SM2 key generation")
        finally:
            lib.EVP_PKEY_CTX_free(ctx)
        return cls(Handle(pkey.value))

    @classmethod
    def from_pem(cls, pem: bytes | str) -> SM2PrivateKey:
        """From an unencrypted PKCS#8 ``PRIVATE KEY`` (or SEC1 ``EC PRIVATE KEY``) PEM."""
        data = pem.encode() if isinstance(pem, str) else pem
        return cls(Handle(pkey_from_pem(data, private=True)))

    @classmethod
    def from_private_value(cls, d: int) -> SM2PrivateKey:
        """From the scalar d (OpenSSL derives the public point)."""
        validate_private_scalar(d)
        ec_private = b"\x30\x25\x02\x01\x01\x04\x20" + int_to_bytes32(d)
        body = b"\x02\x01\x00" + SM2_ALGID + b"\x04" + bytes([len(ec_private)]) + ec_private
        der = b"\x30" + bytes([len(body)]) + body
        return cls(Handle(pkey_from_der(der, private=True)))

    @property
    def private_value(self) -> int:
        """The scalar d. Handle with care: this is the secret."""
        lib = L.require()
        bn = c_void_p()
        if lib.EVP_PKEY_get_bn_param(self._handle.pkey, b"priv", byref(bn)) != 1:
            raise L.fail("reading SM2 private key")
        try:
            buf = ctypes.create_string_buffer(32)
            if lib.BN_bn2binpad(bn, buf, 32) != 32:
                raise L.fail("BN_bn2binpad")
            return int.from_bytes(buf.raw, "big")
        finally:
            lib.BN_clear_free(bn)

    def to_pem(self) -> bytes:
        """Unencrypted PKCS#8 ``PRIVATE KEY`` PEM, readable by ``openssl pkey``."""
        return pem_of(self._handle.pkey, private=True)

    def sign(
        self,
        message: bytes,
        *,
        encoding: SignatureEncoding = "der",
        uid: bytes = DEFAULT_ID,
        path: Path = "digest",
    ) -> bytes:
        """Sign SM3(Z ‖ message); DER by default, or 64-byte ``r ‖ s`` with ``encoding="raw"``."""
        if path == "digest":
            der = self._sign_digest(bytes(message), uid)
        else:
            der = self._sign_prehashed(sm3(self.public_key.z(uid) + bytes(message)))
        return der_to_raw(der) if encoding == "raw" else der

    def _sign_prehashed(self, digest: bytes) -> bytes:
        handle = self._handle
        ctx = handle.acquire(handle.sign_pool, "EVP_PKEY_sign_init")
        buf = ctypes.create_string_buffer(MAX_DER_SIG)
        size = c_size_t(MAX_DER_SIG)
        ok = L.lib.EVP_PKEY_sign(ctx, buf, byref(size), digest, len(digest))
        handle.release(handle.sign_pool, ctx, ok == 1)
        if ok != 1:
            raise L.fail("EVP_PKEY_sign")
        return buf.raw[: size.value]

    def _sign_digest(self, message: bytes, uid: bytes) -> bytes:
        lib = L.lib
        mctx = self._handle.digest_ctx(uid, verify=False)
        buf = ctypes.create_string_buffer(MAX_DER_SIG)
        size = c_size_t(MAX_DER_SIG)
        try:
            if lib.EVP_DigestSign(mctx, buf, byref(size), message, len(message)) != 1:
                raise L.fail("EVP_DigestSign")
        finally:
            lib.EVP_MD_CTX_free(mctx)
        return buf.raw[: size.value]
