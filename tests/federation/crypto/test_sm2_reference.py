"""The pure-Python reference agrees with OpenSSL and rejects what it must."""

from __future__ import annotations

import pytest

from federation.crypto.encoding import raw_decode_signature
from federation.crypto.sm2_curve import GX, GY, InvalidPublicKey, N, P
from federation.crypto.sm2_openssl import SM2PrivateKey
from federation.crypto.sm2_reference import ReferencePublicKey, public_point, sign_with_k


@pytest.mark.parametrize("cache", [False, True])
def test_agrees_with_openssl_on_fresh_keys(cache: bool) -> None:
    for i in range(3):
        key = SM2PrivateKey.generate()
        assert public_point(key.private_value) == (key.public_key.x, key.public_key.y)
        ref = ReferencePublicKey(key.public_key.x, key.public_key.y, cache=cache)
        msg = f"message {i}".encode()
        sig = key.sign(msg, encoding="raw")
        assert ref.verify(msg, sig, encoding="raw")
        assert not ref.verify(msg + b"!", sig, encoding="raw")
        r, s = raw_decode_signature(sig)
        for br, bs in [(0, s), (r, 0), (N, s), (r, N), (r + N, s), (r, N - s)]:
            if br < 2**256:
                raw = br.to_bytes(32, "big") + bs.to_bytes(32, "big")
                assert ref.verify(msg, raw, encoding="raw") is False
        assert ref.verify(msg, sig, encoding="raw", uid=b"") is False


def test_reference_signature_verified_by_openssl() -> None:
    key = SM2PrivateKey.generate()
    r, s = sign_with_k(key.private_value, b"abc", 0x1234567890ABCDEF)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert key.public_key.verify(b"abc", raw, encoding="raw")


def test_rejects_invalid_public_keys() -> None:
    for x, y in [(GX, (GY + 1) % P), (0, 0), (GX + P, GY), (P, 0)]:
        with pytest.raises(InvalidPublicKey):
            ReferencePublicKey(x, y)


def test_sign_with_k_checks_its_inputs() -> None:
    with pytest.raises(ValueError):
        sign_with_k(5, b"m", 0)
    with pytest.raises(ValueError):
        sign_with_k(0, b"m", 5)
