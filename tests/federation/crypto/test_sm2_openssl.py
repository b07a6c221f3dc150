"""SM2 through libcrypto: interop with the openssl CLI both ways, negatives, randomness,
PEM round trips, thread safety and (coarse) leak checks."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest

from federation.crypto import _libcrypto
from federation.crypto.encoding import der_encode_signature, der_to_raw, raw_decode_signature
from federation.crypto.sm2_curve import GX, GY, InvalidPublicKey, N, P
from federation.crypto.sm2_openssl import SM2PrivateKey, SM2PublicKey
from federation.crypto.sm2_reference import ReferencePublicKey

from .openssl_cli import openssl_genkey, openssl_sign, openssl_verify, run

MSG = b"eyJhbGciOiJTTTJTTTMifQ.eyJzdWIiOiJ4In0"


@pytest.fixture(scope="module")
def key() -> SM2PrivateKey:
    return SM2PrivateKey.generate()


def test_library_version_checked_at_load() -> None:
    assert _libcrypto.lib is not None, _libcrypto.load_error
    assert _libcrypto.lib.OpenSSL_version_num() >= _libcrypto.MIN_VERSION


@pytest.mark.parametrize("path", ["digest", "prehashed"])
def test_our_signature_verified_by_openssl_cli(
    tmp_path: Path, key: SM2PrivateKey, path: str
) -> None:
    sig = key.sign(MSG, path=path)
    assert openssl_verify(tmp_path, key.public_key.to_pem(), MSG, sig)
    # OpenSSL 3 without an explicit distid uses the empty ID: must not verify
    assert not openssl_verify(tmp_path, key.public_key.to_pem(), MSG, sig, distid="")
    assert not openssl_verify(tmp_path, key.public_key.to_pem(), MSG + b"x", sig)


@pytest.mark.parametrize("path", ["digest", "prehashed"])
def test_openssl_cli_signature_verified_by_us(tmp_path: Path, path: str) -> None:
    pem_path = openssl_genkey(tmp_path)
    private = SM2PrivateKey.from_pem(pem_path.read_bytes())
    sig = openssl_sign(tmp_path, pem_path, MSG)
    assert private.public_key.verify(MSG, sig, path=path)
    ref = ReferencePublicKey(private.public_key.x, private.public_key.y)
    assert ref.verify(MSG, sig)
    no_id_sig = openssl_sign(tmp_path, pem_path, MSG, distid="")
    assert not private.public_key.verify(MSG, no_id_sig, path=path)
    assert private.public_key.verify(MSG, no_id_sig, uid=b"", path=path)  # empty ID, made explicit


def test_pem_round_trip_through_openssl_pkey(tmp_path: Path, key: SM2PrivateKey) -> None:
    (tmp_path / "k.pem").write_bytes(key.to_pem())
    text = run("pkey", "-in", str(tmp_path / "k.pem"), "-text", "-noout")
    assert text.returncode == 0 and b"SM2" in text.stdout
    pub = run("pkey", "-in", str(tmp_path / "k.pem"), "-pubout")
    assert pub.returncode == 0
    assert SM2PublicKey.from_pem(pub.stdout) == key.public_key
    assert pub.stdout == key.public_key.to_pem()
    again = SM2PrivateKey.from_pem(key.to_pem())
    assert again.private_value == key.private_value
    assert key.to_pem().startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8


def test_exported_integers(key: SM2PrivateKey) -> None:
    again = SM2PrivateKey.from_private_value(key.private_value)
    assert (again.public_key.x, again.public_key.y) == (key.public_key.x, key.public_key.y)
    assert key.public_key.point()[0] == 4 and len(key.public_key.point()) == 65
    assert SM2PublicKey.from_point(key.public_key.point()) == key.public_key


def test_two_signatures_of_one_message_differ_and_both_verify(key: SM2PrivateKey) -> None:
    first, second = key.sign(MSG, encoding="raw"), key.sign(MSG, encoding="raw")
    assert first != second
    assert key.public_key.verify(MSG, first, encoding="raw")
    assert key.public_key.verify(MSG, second, encoding="raw")


def test_seeding_python_random_changes_nothing(key: SM2PrivateKey) -> None:
    random.seed(1234)
    first = key.sign(MSG)
    random.seed(1234)
    second = key.sign(MSG)
    assert first != second


def _raw(r: int, s: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def test_range_and_malleability_negatives_return_false(key: SM2PrivateKey) -> None:
    pub = key.public_key
    r, s = raw_decode_signature(key.sign(MSG, encoding="raw"))
    assert pub.verify(MSG, _raw(r, s), encoding="raw")
    bad = {
        "r=0": (0, s),
        "s=0": (r, 0),
        "r=n": (N, s),
        "s=n": (r, N),
        "r>n": (r + N if r + N < 2**256 else N + 1, s),
        "s>n": (r, N + 1),
        "(r, n-s)": (r, N - s),
        "r+s=n": (r, N - r),
    }
    for name, (br, bs) in bad.items():
        assert pub.verify(MSG, _raw(br, bs), encoding="raw") is False, name
        assert pub.verify(MSG, der_encode_signature(br, bs)) is False, name
        assert pub.verify(MSG, der_encode_signature(br, bs), path="prehashed") is False, name


def test_wrong_or_empty_distinguishing_id(key: SM2PrivateKey) -> None:
    sig = key.sign(MSG)
    for path in ("digest", "prehashed"):
        assert key.public_key.verify(MSG, sig, path=path)
        assert key.public_key.verify(MSG, sig, uid=b"1234567812345679", path=path) is False
        assert key.public_key.verify(MSG, sig, uid=b"", path=path) is False
    assert key.public_key.verify(MSG, key.sign(MSG, uid=b"ALICE"), uid=b"ALICE")


def test_malformed_der_returns_false(key: SM2PrivateKey) -> None:
    sig = key.sign(MSG)
    assert key.public_key.verify(MSG, sig)
    r, s = raw_decode_signature(der_to_raw(sig))
    r_int = b"\x02\x21\x00" + r.to_bytes(32, "big")  # 33 bytes: minimal only if r >= 2^255
    body = r_int + der_encode_signature(1, s)[5:]
    non_minimal = b"\x30" + bytes([len(body)]) + body
    cases = [sig + b"\x00", sig[:-1], b"", b"\x30\x00", b"\x31" + sig[1:]]
    if r >> 255 == 0:
        cases.append(non_minimal)
    for case in cases:
        assert key.public_key.verify(MSG, case) is False
    assert key.public_key.verify(MSG, "not bytes") is False  # type: ignore[arg-type]
    assert key.public_key.verify("text", sig) is False  # type: ignore[arg-type]
    assert key.public_key.verify(MSG, sig, encoding="raw") is False  # DER given as raw


def test_public_key_validation() -> None:
    with pytest.raises(InvalidPublicKey):
        SM2PublicKey.from_coordinates(GX, (GY + 1) % P)  # off the curve
    with pytest.raises(InvalidPublicKey):
        SM2PublicKey.from_coordinates(0, 0)  # the point at infinity encoding
    with pytest.raises(InvalidPublicKey):
        SM2PublicKey.from_coordinates(GX + P, GY)  # coordinate >= p
    with pytest.raises(InvalidPublicKey):
        SM2PublicKey.from_point(b"\x00")  # identity as a one-byte point
    off_curve_pem = (
        b"-----BEGIN PUBLIC KEY-----\n"
        + __import__("base64").encodebytes(
            bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d034200")
            + b"\x04"
            + GX.to_bytes(32, "big")
            + ((GY + 1) % P).to_bytes(32, "big")
        )
        + b"-----END PUBLIC KEY-----\n"
    )
    with pytest.raises(ValueError):
        SM2PublicKey.from_pem(off_curve_pem)
    for d in (0, N - 1, N, N + 5):
        with pytest.raises(ValueError):
            SM2PrivateKey.from_private_value(d)


def test_rejects_non_sm2_and_encrypted_pem(tmp_path: Path) -> None:
    proc = run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256")
    with pytest.raises(ValueError):
        SM2PrivateKey.from_pem(proc.stdout)
    with pytest.raises(ValueError):
        SM2PrivateKey.from_pem(
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
        )
    with pytest.raises(ValueError):
        SM2PrivateKey.from_pem(b"garbage")
    assert _libcrypto.drain_errors() == ""  # nothing left on the error queue


def test_thread_safety(key: SM2PrivateKey) -> None:
    errors: list[str] = []

    def work() -> None:
        for i in range(150):
            msg = MSG + str(i).encode()
            sig = key.sign(msg, path="prehashed" if i % 2 else "digest")
            if not key.public_key.verify(msg, sig, path="digest" if i % 2 else "prehashed"):
                errors.append(f"bad {i}")
            if key.public_key.verify(msg + b"!", sig):
                errors.append(f"forged {i}")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def _rss_kib() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4


def test_no_native_leak_in_hot_paths() -> None:
    """Coarse: 4000 rounds of keygen-free sign/verify/PEM export must not grow RSS by the
    ~hundreds of bytes per op a forgotten EVP_PKEY_CTX/EVP_MD_CTX/BIO would leak."""
    key = SM2PrivateKey.generate()

    def rounds(n: int) -> None:
        for i in range(n):
            sig = key.sign(MSG, path="digest" if i % 2 else "prehashed")
            key.public_key.verify(MSG, sig, path="prehashed" if i % 2 else "digest")
            key.public_key.verify(MSG, sig + b"\x00")
            SM2PublicKey.from_pem(key.public_key.to_pem())

    rounds(500)  # warm up allocator pools
    before = _rss_kib()
    rounds(4000)
    grown = _rss_kib() - before
    assert grown < 1024, f"RSS grew by {grown} KiB"
