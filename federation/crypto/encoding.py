"""Signature encodings for 256-bit curves: strict DER and raw ``r ‖ s``.

* DER ``ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }`` (GB/T 32918.2 / SEC1 §C.5,
  X.690 §8.3 and §10.1). The decoder is strict: definite short-form lengths only (a
  256-bit signature is at most 72 bytes), no trailing bytes, INTEGERs minimal, positive and
  at most 256 bits.
* Raw ``r ‖ s``: each value big-endian and left-padded to 32 bytes, exactly 64 bytes, as
  JWS uses for ECDSA (RFC 7518 §3.4) and this project uses for ``SM2SM3``.

Range checks against the group order belong to the verifier, not to the encoding.
"""

from __future__ import annotations

SCALAR_SIZE = 32
RAW_SIZE = 2 * SCALAR_SIZE
_MAX_INT = (1 << (8 * SCALAR_SIZE)) - 1


class EncodingError(ValueError):
    """The bytes are not a well-formed signature encoding."""


def _der_integer(value: int) -> bytes:
    body = value.to_bytes((value.bit_length() + 8) // 8, "big")  # a leading 0 when bit 7 is set
    return b"\x02" + bytes([len(body)]) + body


def der_encode_signature(r: int, s: int) -> bytes:
    """DER-encode (r, s); both must be in [0, 2^256)."""
    for value in (r, s):
        if not 0 <= value <= _MAX_INT:
            raise EncodingError("signature value out of range for a 256-bit curve")
    body = _der_integer(r) + _der_integer(s)
    return b"\x30" + bytes([len(body)]) + body


def _read_integer(data: bytes, pos: int) -> tuple[int, int]:
    if pos + 2 > len(data) or data[pos] != 0x02:
        raise EncodingError("expected a DER INTEGER")
    length = data[pos + 1]
    if length == 0 or length > SCALAR_SIZE + 1:  # also rejects long-form lengths (>= 0x80)
        raise EncodingError("DER INTEGER has a bad length")
    body = data[pos + 2 : pos + 2 + length]
    if len(body) != length:
        raise EncodingError("DER INTEGER is truncated")
    if body[0] & 0x80:
        raise EncodingError("DER INTEGER is negative")
    if length > 1 and body[0] == 0 and not body[1] & 0x80:
        raise EncodingError("DER INTEGER is not minimally encoded")
    value = int.from_bytes(body, "big")
    if value > _MAX_INT:
        raise EncodingError("DER INTEGER is larger than 256 bits")
    return value, pos + 2 + length


def der_decode_signature(der: bytes) -> tuple[int, int]:
    """Strictly decode a DER ``SEQUENCE { r, s }``; raise :class:`EncodingError` otherwise."""
    if not isinstance(der, bytes | bytearray) or len(der) < 8:
        raise EncodingError("DER signature too short")
    if der[0] != 0x30:
        raise EncodingError("DER signature is not a SEQUENCE")
    length = der[1]
    if length >= 0x80:
        raise EncodingError("DER SEQUENCE length must be short-form")
    if length + 2 != len(der):
        raise EncodingError("DER signature has trailing or missing bytes")
    r, pos = _read_integer(der, 2)
    s, pos = _read_integer(der, pos)
    if pos != len(der):
        raise EncodingError("DER SEQUENCE has extra content")
    return r, s


def raw_encode_signature(r: int, s: int) -> bytes:
    """``r ‖ s``, 64 bytes."""
    if not (0 <= r <= _MAX_INT and 0 <= s <= _MAX_INT):
        raise EncodingError("signature value out of range for a 256-bit curve")
    return r.to_bytes(SCALAR_SIZE, "big") + s.to_bytes(SCALAR_SIZE, "big")


def raw_decode_signature(raw: bytes) -> tuple[int, int]:
    """Split an exactly-64-byte ``r ‖ s``."""
    if not isinstance(raw, bytes | bytearray) or len(raw) != RAW_SIZE:
        raise EncodingError("raw signature must be exactly 64 bytes")
    return int.from_bytes(raw[:SCALAR_SIZE], "big"), int.from_bytes(raw[SCALAR_SIZE:], "big")


def raw_to_der(raw: bytes) -> bytes:
    """Convert a 64-byte ``r ‖ s`` to DER."""
    return der_encode_signature(*raw_decode_signature(raw))


def der_to_raw(der: bytes) -> bytes:
    """Convert a strict DER signature to 64-byte ``r ‖ s``."""
    return raw_encode_signature(*der_decode_signature(der))
