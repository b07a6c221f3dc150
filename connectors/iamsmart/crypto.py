"""Content encryption of the iAM Smart API (domain-facts §1.5).

* The CEK is an AES-256 key; the service sends it as
  ``secretKey = Base64(RSA(KEK public key, CEK))`` where the KEK is the public key of the
  relying party's encipherment certificate. Padding: PKCS#1 v1.5 (what the public Java
  clients use, ``Cipher.getInstance("RSA")``) by default; OAEP is configurable.
* Payloads: ``Base64(int32_be(12) || iv(12) || ciphertext || tag(16))``, AES/GCM/NoPadding.

Used by both the connector and the simulator.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

RsaPadding = Literal["pkcs1v15", "oaep-sha1", "oaep-sha256"]
IV_LENGTH = 12
TAG_LENGTH = 16
CEK_LENGTH = 32


class CryptoError(ValueError):
    """A frame, key or ciphertext that cannot be used (never says why in detail)."""


def _padding(kind: RsaPadding) -> padding.AsymmetricPadding:
    if kind == "pkcs1v15":
        return padding.PKCS1v15()
    algorithm = hashes.SHA1() if kind == "oaep-sha1" else hashes.SHA256()  # noqa: S303
    return padding.OAEP(mgf=padding.MGF1(algorithm), algorithm=algorithm, label=None)


def load_private_key(pem: bytes, password: bytes | None = None) -> rsa.RSAPrivateKey:
    """An RSA private key from PEM (PKCS#1 or PKCS#8)."""
    key = serialization.load_pem_private_key(pem, password=password)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CryptoError("the encipherment key must be RSA")
    return key


def load_public_key(pem: bytes) -> rsa.RSAPublicKey:
    """An RSA public key from a PEM public key or X.509 certificate."""
    if b"BEGIN CERTIFICATE" in pem:
        key = x509.load_pem_x509_certificate(pem).public_key()
    else:
        key = serialization.load_pem_public_key(pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise CryptoError("the encipherment key must be RSA")
    return key


def wrap_cek(public_key: rsa.RSAPublicKey, cek: bytes, kind: RsaPadding = "pkcs1v15") -> str:
    """``secretKey``: Base64 of the CEK encrypted with the KEK public key."""
    return base64.b64encode(public_key.encrypt(cek, _padding(kind))).decode("ascii")


def unwrap_cek(
    private_key: rsa.RSAPrivateKey, secret_key: str, kind: RsaPadding = "pkcs1v15"
) -> bytes:
    """The CEK from ``secretKey``. Accepts a raw 32-byte key or its Base64 text, and a
    ciphertext with one leading zero byte (257 bytes for a 2048-bit key)."""
    try:
        raw = base64.b64decode(secret_key, validate=True)
        size = (private_key.key_size + 7) // 8
        if len(raw) == size + 1 and raw[0] == 0:
            # a Java BigInteger.toByteArray() sign byte: 257 bytes for a 2048-bit key (a
            # public client drops it; issue 23 item 8)
            raw = raw[1:]
        cek = private_key.decrypt(raw, _padding(kind))
    except (ValueError, binascii.Error) as exc:
        raise CryptoError("secretKey cannot be decrypted with our encipherment key") from exc
    if len(cek) == CEK_LENGTH:
        return cek
    try:
        decoded = base64.b64decode(cek, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise CryptoError("the CEK is not an AES-256 key") from exc
    if len(decoded) != CEK_LENGTH:
        raise CryptoError("the CEK is not an AES-256 key")
    return decoded


def new_cek() -> bytes:
    """A fresh AES-256 content encryption key."""
    return os.urandom(CEK_LENGTH)


def encrypt(cek: bytes, plaintext: bytes) -> str:
    """``Base64(int32_be(12) || iv || ciphertext||tag)`` under ``cek``."""
    iv = os.urandom(IV_LENGTH)
    sealed = AESGCM(cek).encrypt(iv, plaintext, None)
    return base64.b64encode(struct.pack(">i", IV_LENGTH) + iv + sealed).decode("ascii")


def decrypt(cek: bytes, frame: str) -> bytes:
    """Open a frame made by :func:`encrypt`; :class:`CryptoError` if anything is off."""
    try:
        raw = base64.b64decode(frame, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise CryptoError("the encrypted content is not Base64") from exc
    if len(raw) < 4 + IV_LENGTH + TAG_LENGTH:
        raise CryptoError("the encrypted content is too short")
    (iv_length,) = struct.unpack(">i", raw[:4])
    if iv_length != IV_LENGTH:
        raise CryptoError("the encrypted content has a wrong IV length")
    iv = raw[4 : 4 + IV_LENGTH]
    try:
        return AESGCM(cek).decrypt(iv, raw[4 + IV_LENGTH :], None)
    except InvalidTag as exc:
        raise CryptoError("the encrypted content fails authentication") from exc
