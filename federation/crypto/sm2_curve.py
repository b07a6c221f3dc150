"""The SM2 recommended curve sm2p256v1 and the signer identity hash Z (GB/T 32918.2 §5.5).

Constants and the few affine-point checks every SM2 module needs: public-key validation
(coordinates below p, on the curve, not the point at infinity) and
``Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA)``. Imports only :mod:`.sm3`.
"""

from __future__ import annotations

from .sm3 import sm3

#: GB/T 32918.5 recommended curve parameters (sm2p256v1, OID 1.2.156.10197.1.301).
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

COORD_SIZE = 32

#: The default distinguishing identifier of GB/T 35276 / GM/T 0009 §10. OpenSSL 3 uses an
#: *empty* ID unless one is set, so every call in this package passes it explicitly.
DEFAULT_ID = b"1234567812345678"

#: ENTL is a 16-bit count of ID *bits*.
MAX_ID_BYTES = 0xFFFF // 8


class InvalidPublicKey(ValueError):
    """An SM2 public key that is out of range, off the curve, or the point at infinity."""


def is_on_curve(x: int, y: int) -> bool:
    """True when (x, y) are field elements and satisfy y² = x³ + ax + b (mod p)."""
    if not (0 <= x < P and 0 <= y < P):
        return False
    return (y * y - (x * x * x + A * x + B)) % P == 0


def validate_public_point(x: int, y: int) -> None:
    """Raise :class:`InvalidPublicKey` unless (x, y) is a valid SM2 public point.

    GB/T 32918.1 §6.2.1: coordinates in [0, p-1], on the curve, not O. The cofactor is 1,
    so every on-curve point other than O has order n.
    """
    if not (0 <= x < P and 0 <= y < P):
        raise InvalidPublicKey("public key coordinate out of range")
    if x == 0 and y == 0:
        raise InvalidPublicKey("public key is the point at infinity")
    if not is_on_curve(x, y):
        raise InvalidPublicKey("public key is not on the SM2 curve")


def validate_private_scalar(d: int) -> None:
    """Raise ``ValueError`` unless d ∈ [1, n-2] (GB/T 32918.1 §6.1: d ≠ n-1 for SM2)."""
    if not 1 <= d <= N - 2:
        raise ValueError("SM2 private key out of range [1, n-2]")


def int_to_bytes32(value: int) -> bytes:
    """Big-endian, left-padded to 32 bytes (``ValueError`` if it does not fit)."""
    return value.to_bytes(COORD_SIZE, "big")


def point_to_bytes(x: int, y: int) -> bytes:
    """Uncompressed SEC1 encoding ``04 ‖ x ‖ y`` (65 bytes)."""
    return b"\x04" + int_to_bytes32(x) + int_to_bytes32(y)


def point_from_bytes(data: bytes) -> tuple[int, int]:
    """Parse and validate an uncompressed ``04 ‖ x ‖ y`` point."""
    if len(data) != 1 + 2 * COORD_SIZE or data[0] != 4:
        raise InvalidPublicKey("public key must be an uncompressed 65-byte point")
    x = int.from_bytes(data[1:33], "big")
    y = int.from_bytes(data[33:], "big")
    validate_public_point(x, y)
    return x, y


_CURVE_BYTES = b"".join(int_to_bytes32(v) for v in (A, B, GX, GY))


def compute_z(x: int, y: int, uid: bytes = DEFAULT_ID) -> bytes:
    """Z_A = SM3(ENTL_A ‖ ID_A ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A) (GB/T 32918.2 §5.5)."""
    if len(uid) > MAX_ID_BYTES:
        raise ValueError("SM2 distinguishing ID too long")
    entl = (len(uid) * 8).to_bytes(2, "big")
    return sm3(entl + uid + _CURVE_BYTES + int_to_bytes32(x) + int_to_bytes32(y))


def message_digest(z: bytes, message: bytes) -> int:
    """e = SM3(Z ‖ M) as an integer (GB/T 32918.2 §6.1 steps A1–A2)."""
    return int.from_bytes(sm3(z + message), "big")
