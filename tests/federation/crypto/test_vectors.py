"""Every vector in /work/shared/vectors/sm_vectors.json (copied into this directory)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from federation.crypto import sm4
from federation.crypto.encoding import der_decode_signature, raw_encode_signature
from federation.crypto.sm2_curve import N, compute_z, message_digest
from federation.crypto.sm2_openssl import SM2PrivateKey, SM2PublicKey
from federation.crypto.sm2_reference import ReferencePublicKey, public_point, sign_with_k
from federation.crypto.sm3 import sm3

VECTORS = json.loads((Path(__file__).parent / "sm_vectors.json").read_text())
SM4 = {v["mode"]: v for v in VECTORS["sm4"]}
ANNEX_A = VECTORS["sm2_sign"][0]
TEST_CURVE = VECTORS["sm2_sign"][1]
PREHASHED = VECTORS["sm2_verify_prehashed_e"][0]


def h(value: str) -> bytes:
    return bytes.fromhex(value)


@pytest.mark.parametrize("vector", VECTORS["sm3"], ids=lambda v: v["name"])
def test_sm3(vector: dict) -> None:
    assert sm3(h(vector["msg_hex"])).hex() == vector["digest"]


def test_sm4_ecb_one_block() -> None:
    v = SM4["ECB"]
    enc = Cipher(algorithms.SM4(h(v["key"])), modes.ECB()).encryptor()
    assert (enc.update(h(v["plaintext"])) + enc.finalize()).hex() == v["ciphertext"]


def test_sm4_ecb_one_million_times() -> None:
    v = SM4["ECB-iterated"]
    enc = Cipher(algorithms.SM4(h(v["key"])), modes.ECB()).encryptor()
    block = h(v["plaintext"])
    for _ in range(v["iterations"]):
        block = enc.update(block)
    assert block.hex() == v["ciphertext"]


def test_sm4_cbc() -> None:
    v = SM4["CBC"]
    enc = Cipher(algorithms.SM4(h(v["key"])), modes.CBC(h(v["iv"]))).encryptor()
    assert (enc.update(h(v["plaintext"])) + enc.finalize()).hex() == v["ciphertext"]


def test_sm4_gcm_rfc8998_through_our_module() -> None:
    v = SM4["GCM"]
    sealed = sm4.encrypt(h(v["key"]), h(v["plaintext"]), aad=h(v["aad"]), nonce=h(v["iv"]))
    assert sealed == h(v["iv"]) + h(v["ciphertext"]) + h(v["tag"])
    assert sm4.decrypt(h(v["key"]), sealed, aad=h(v["aad"])) == h(v["plaintext"])
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(sm4.DecryptionError):
        sm4.decrypt(h(v["key"]), tampered, aad=h(v["aad"]))
    with pytest.raises(sm4.DecryptionError):
        sm4.decrypt(h(v["key"]), sealed, aad=b"another record id")


def test_annex_a_reference_with_injected_k() -> None:
    d = int(ANNEX_A["d"], 16)
    x, y = public_point(d)
    assert (x, y) == (int(ANNEX_A["px"], 16), int(ANNEX_A["py"], 16))
    z = compute_z(x, y, ANNEX_A["uid"].encode())
    assert z.hex() == ANNEX_A["za"]
    assert message_digest(z, ANNEX_A["msg"].encode()) == int(ANNEX_A["e"], 16)
    r, s = sign_with_k(d, ANNEX_A["msg"].encode(), int(ANNEX_A["k"], 16))
    assert (r, s) == (int(ANNEX_A["r"], 16), int(ANNEX_A["s"], 16))


def test_annex_a_verified_by_openssl_backend_and_reference() -> None:
    raw = raw_encode_signature(int(ANNEX_A["r"], 16), int(ANNEX_A["s"], 16))
    msg = ANNEX_A["msg"].encode()
    pub = SM2PublicKey.from_coordinates(int(ANNEX_A["px"], 16), int(ANNEX_A["py"], 16))
    assert pub.verify(msg, raw, encoding="raw", path="digest")
    assert pub.verify(msg, raw, encoding="raw", path="prehashed")
    assert ReferencePublicKey(pub.x, pub.y).verify(msg, raw, encoding="raw")
    assert not pub.verify(msg + b".", raw, encoding="raw")
    # the same d imported into OpenSSL derives the same public key
    key = SM2PrivateKey.from_private_value(int(ANNEX_A["d"], 16))
    assert key.public_key == pub


def test_test_curve_example_za() -> None:
    """The ALICE example is on the non-recommended test curve: only its Z_A input can be
    checked with SM3 here (our arithmetic is fixed to sm2p256v1)."""
    c = TEST_CURVE["curve"]
    uid = TEST_CURVE["uid"].encode()
    d = int(TEST_CURVE["d"], 16)
    # public key on the test curve, by plain double-and-add over its parameters
    p, a = int(c["p"], 16), int(c["a"], 16)

    def add(p1, p2):
        if p1 is None:
            return p2
        if p2 is None:
            return p1
        if p1[0] == p2[0] and (p1[1] + p2[1]) % p == 0:
            return None
        if p1 == p2:
            lam = (3 * p1[0] * p1[0] + a) * pow(2 * p1[1], -1, p) % p
        else:
            lam = (p2[1] - p1[1]) * pow(p2[0] - p1[0], -1, p) % p
        x3 = (lam * lam - p1[0] - p2[0]) % p
        return x3, (lam * (p1[0] - x3) - p1[1]) % p

    point, acc = (int(c["gx"], 16), int(c["gy"], 16)), None
    for bit in bin(d)[2:]:
        acc = add(acc, acc)
        if bit == "1":
            acc = add(acc, point)
    parts = [c["a"], c["b"], c["gx"], c["gy"], f"{acc[0]:064x}", f"{acc[1]:064x}"]
    z_input = (len(uid) * 8).to_bytes(2, "big") + uid + b"".join(h(v) for v in parts)
    assert sm3(z_input).hex() == TEST_CURVE["za"]


@pytest.mark.parametrize("case", PREHASHED["cases"], ids=["case1", "case2"])
def test_prehashed_e_vectors(case: dict) -> None:
    pem = (
        b"-----BEGIN PRIVATE KEY-----\n"
        + PREHASHED["key_pem_pkcs8_b64"].encode()
        + b"\n-----END PRIVATE KEY-----\n"
    )
    key = SM2PrivateKey.from_pem(pem)
    assert (key.public_key.x, key.public_key.y) == (
        int(PREHASHED["px"], 16),
        int(PREHASHED["py"], 16),
    )
    r, s = der_decode_signature(h(case["sig_der"]))
    ref = ReferencePublicKey(key.public_key.x, key.public_key.y)
    e = int(case["e"], 16)
    assert ref.verify_digest(e, r, s)
    assert not ref.verify_digest(e ^ 1, r, s)
    assert not ref.verify_digest(e, r, N - s)


def test_vectors_file_is_the_shared_one() -> None:
    """Where shared/ lies beside the checkout (the team tree and CI), the copy must not drift."""
    beside = Path(__file__).resolve().parents[3].parent / "shared" / "vectors" / "sm_vectors.json"
    for shared in (beside, Path("/work/shared/vectors/sm_vectors.json")):
        if shared.exists():
            assert json.loads(shared.read_text()) == VECTORS
    assert base64.b64decode(PREHASHED["key_pem_pkcs8_b64"])
