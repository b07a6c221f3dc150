"""A small pure-Python SM2 (GB/T 32918.2): verification, and signing with an injected k.

An implementation independent of OpenSSL, used as a test oracle and as the verify fallback
when no libcrypto ≥ 3.0 is present. Curve arithmetic is Jacobian (a = -3 doubling, mixed
additions); k·G uses a fixed-base comb table built on first use, and a verifier may keep the
same kind of table for a trusted public key (``cache=True``) to verify about 4x faster.

It is **not constant time**. Verification involves no secret, so that is fine there; the only
signing entry point, :func:`sign_with_k`, takes the nonce from the caller and exists for the
GB/T 32918.5 Annex A vector test. Production signing goes through :mod:`.sm2_openssl`.
"""

from __future__ import annotations

from .encoding import EncodingError, der_decode_signature, raw_decode_signature
from .sm2_curve import (
    DEFAULT_ID,
    GX,
    GY,
    InvalidPublicKey,
    N,
    P,
    compute_z,
    message_digest,
    validate_private_scalar,
    validate_public_point,
)

Jacobian = tuple[int, int, int]
Affine = tuple[int, int]
_INF: Jacobian = (1, 1, 0)


def _double(pt: Jacobian) -> Jacobian:
    x1, y1, z1 = pt
    if z1 == 0 or y1 == 0:
        return _INF
    delta = z1 * z1 % P
    gamma = y1 * y1 % P
    beta = x1 * gamma % P
    alpha = 3 * (x1 - delta) * (x1 + delta) % P
    x3 = (alpha * alpha - 8 * beta) % P
    z3 = ((y1 + z1) ** 2 - gamma - delta) % P
    y3 = (alpha * (4 * beta - x3) - 8 * gamma * gamma) % P
    return x3, y3, z3


def _add_affine(pt: Jacobian, q: Affine) -> Jacobian:
    x1, y1, z1 = pt
    x2, y2 = q
    if z1 == 0:
        return x2, y2, 1
    z1z1 = z1 * z1 % P
    h = (x2 * z1z1 - x1) % P
    r = (y2 * z1 * z1z1 - y1) % P
    if h == 0:
        return _double(pt) if r == 0 else _INF
    hh = h * h % P
    hhh = h * hh % P
    v = x1 * hh % P
    x3 = (r * r - hhh - 2 * v) % P
    return x3, (r * (v - x3) - y1 * hhh) % P, z1 * h % P


def _add(p1: Jacobian, p2: Jacobian) -> Jacobian:
    if p1[2] == 0:
        return p2
    if p2[2] == 0:
        return p1
    x1, y1, z1 = p1
    x2, y2, z2 = p2
    z1z1, z2z2 = z1 * z1 % P, z2 * z2 % P
    u1, u2 = x1 * z2z2 % P, x2 * z1z1 % P
    s1, s2 = y1 * z2 * z2z2 % P, y2 * z1 * z1z1 % P
    h, r = (u2 - u1) % P, (s2 - s1) % P
    if h == 0:
        return _double(p1) if r == 0 else _INF
    hh = h * h % P
    hhh = h * hh % P
    v = u1 * hh % P
    x3 = (r * r - hhh - 2 * v) % P
    return x3, (r * (v - x3) - s1 * hhh) % P, z1 * z2 * h % P


def _to_affine(pt: Jacobian) -> Affine | None:
    x, y, z = pt
    if z == 0:
        return None
    zinv = pow(z, -1, P)
    zinv2 = zinv * zinv % P
    return x * zinv2 % P, y * zinv2 * zinv % P


def _comb_table(point: Affine) -> list[list[Affine]]:
    """table[i][j-1] = j · 256^i · point, affine, for i < 32 and 1 ≤ j ≤ 255."""
    table = []
    base = point
    for _ in range(32):
        row = [base]
        acc: Jacobian = (base[0], base[1], 1)
        for _ in range(254):
            acc = _add_affine(acc, base)
            row.append(_to_affine(acc))  # never infinity: j·base with j < n
        table.append(row)  # type: ignore[arg-type]
        nxt: Jacobian = (base[0], base[1], 1)
        for _ in range(8):
            nxt = _double(nxt)
        base = _to_affine(nxt)  # type: ignore[assignment]
    return table


def _comb_mul(table: list[list[Affine]], k: int) -> Jacobian:
    acc = _INF
    for row in table:
        digit = k & 0xFF
        if digit:
            acc = _add_affine(acc, row[digit - 1])
        k >>= 8
    return acc


def _window_mul(point: Affine, k: int) -> Jacobian:
    """k · point with a 4-bit fixed window (variable base, not cached)."""
    multiples: list[Jacobian] = [_INF, (point[0], point[1], 1)]
    for _ in range(14):
        multiples.append(_add_affine(multiples[-1], point))
    acc = _INF
    for shift in range(252, -4, -4):
        for _ in range(4):
            acc = _double(acc)
        digit = (k >> shift) & 0xF
        if digit:
            acc = _add(acc, multiples[digit])
    return acc


_G_TABLE: list[list[Affine]] = []


def _base_mul(k: int) -> Jacobian:
    if not _G_TABLE:
        _G_TABLE.extend(_comb_table((GX, GY)))
    return _comb_mul(_G_TABLE, k)


def public_point(d: int) -> Affine:
    """d · G (for tests and for checking a private key against its public key)."""
    validate_private_scalar(d)
    return _to_affine(_base_mul(d))  # type: ignore[return-value]


class ReferencePublicKey:
    """An SM2 public key verified in pure Python."""

    def __init__(self, x: int, y: int, *, cache: bool = False) -> None:
        validate_public_point(x, y)
        self.x, self.y = x, y
        self._z_default = compute_z(x, y, DEFAULT_ID)
        self._table = _comb_table((x, y)) if cache else None

    def verify_digest(self, e: int, r: int, s: int) -> bool:
        """GB/T 32918.2 §7.1 steps B1–B7 for a given e = SM3(Z ‖ M)."""
        if not (1 <= r < N and 1 <= s < N):
            return False
        t = (r + s) % N
        if t == 0:
            return False
        tp = _comb_mul(self._table, t) if self._table else _window_mul((self.x, self.y), t)
        point = _to_affine(_add(_base_mul(s), tp))
        if point is None:
            return False
        return (e + point[0]) % N == r

    def verify(
        self, message: bytes, signature: bytes, *, encoding: str = "der", uid: bytes = DEFAULT_ID
    ) -> bool:
        """True only for a valid signature; False (never an exception) otherwise."""
        try:
            if encoding == "raw":
                r, s = raw_decode_signature(signature)
            else:
                r, s = der_decode_signature(signature)
            z = self._z_default if uid == DEFAULT_ID else compute_z(self.x, self.y, uid)
            return self.verify_digest(message_digest(z, bytes(message)), r, s)
        except (EncodingError, ValueError, TypeError):
            return False


def sign_with_k(d: int, message: bytes, k: int, *, uid: bytes = DEFAULT_ID) -> tuple[int, int]:
    """TEST ONLY: sign with a caller-chosen nonce k (GB/T 32918.2 §6.1, steps A1–A7).

    Reusing or predicting k reveals d. Only the Annex A vector test calls this.
    """
    validate_private_scalar(d)
    if not 1 <= k < N:
        raise ValueError("k must be in [1, n-1]")
    x, y = public_point(d)
    e = message_digest(compute_z(x, y, uid), message)
    x1 = _to_affine(_base_mul(k))[0]  # type: ignore[index]
    r = (e + x1) % N
    if r == 0 or r + k == N:
        raise ValueError("degenerate r for this k; choose another k")
    s = pow(1 + d, -1, N) * (k - r * d) % N
    if s == 0:
        raise ValueError("degenerate s for this k; choose another k")
    return r, s


__all__ = ["InvalidPublicKey", "ReferencePublicKey", "public_point", "sign_with_k"]
