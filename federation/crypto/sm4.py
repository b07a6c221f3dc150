"""SM4-GCM authenticated encryption (GB/T 32907 block cipher in GCM, as RFC 8998 §3.1).

Used for PII at rest: a fresh random 96-bit nonce per message, the record id as AAD, and
``InvalidTag`` turned into :class:`DecryptionError` on any tamper.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

KEY_SIZE = 16
NONCE_SIZE = 12
TAG_SIZE = 16


class DecryptionError(Exception):
    """The ciphertext, nonce, tag or AAD does not authenticate."""


def encrypt(key: bytes, plaintext: bytes, aad: bytes = b"", nonce: bytes | None = None) -> bytes:
    """Encrypt and return ``nonce || ciphertext || tag``.

    ``nonce`` is for test vectors only; production callers let it be random.
    """
    if len(key) != KEY_SIZE:
        raise ValueError("SM4 key must be 16 bytes")
    nonce = os.urandom(NONCE_SIZE) if nonce is None else nonce
    if len(nonce) != NONCE_SIZE:
        raise ValueError("SM4-GCM nonce must be 12 bytes")
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(aad)
    body = enc.update(plaintext) + enc.finalize()
    return nonce + body + enc.tag


def decrypt(key: bytes, sealed: bytes, aad: bytes = b"") -> bytes:
    """Reverse :func:`encrypt`; raise :class:`DecryptionError` if anything was altered."""
    if len(key) != KEY_SIZE:
        raise ValueError("SM4 key must be 16 bytes")
    if len(sealed) < NONCE_SIZE + TAG_SIZE:
        raise DecryptionError("sealed value too short")
    nonce, body, tag = sealed[:NONCE_SIZE], sealed[NONCE_SIZE:-TAG_SIZE], sealed[-TAG_SIZE:]
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    dec.authenticate_additional_data(aad)
    try:
        return dec.update(body) + dec.finalize()
    except InvalidTag as exc:
        raise DecryptionError("SM4-GCM tag mismatch") from exc
