"""Key sets: kids, rotation states, grace period, JWKS contents, PEM files and env."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from joserfc.jwk import thumbprint

from federation.crypto.jose import decode_jwt, encode_jwt
from federation.crypto.keyset import KeySet, KeyState, ManagedKey, NoSigningKey, Signer


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_generate_and_kids() -> None:
    ks = KeySet.generate()
    assert ks.algorithms() == ["ES256", "RS256", "SM2SM3"]
    for key in ks:
        assert isinstance(key, Signer)
        public = {
            k: v for k, v in key.public_jwk.items() if k in ("kty", "crv", "x", "y", "n", "e")
        }
        assert key.kid == thumbprint(public)  # RFC 7638, SHA-256
        assert key.public_jwk["use"] == "sig" and key.public_jwk["alg"] == key.alg
        assert "d" not in key.public_jwk and "p" not in key.public_jwk
    with pytest.raises(NoSigningKey):
        KeySet.generate(["ES256"]).signing_key("SM2SM3")


def test_rotation_grace_and_jwks() -> None:
    clock = Clock()
    ks = KeySet.generate(["SM2SM3"], grace_period=3600, clock=clock)
    first = ks.signing_key("SM2SM3")
    old_token = encode_jwt({"v": 1}, first)
    new = ks.rotate("SM2SM3")
    assert ks.signing_key("SM2SM3") is new and new is not first
    assert first.state == KeyState.RETIRED
    states = sorted(k.state.value for k in ks)
    assert states == ["current", "next", "retired"]
    assert {k["kid"] for k in ks.public_jwks()["keys"]} == {k.kid for k in ks}
    assert decode_jwt(old_token, ks, algorithms=["SM2SM3"])[1] == {"v": 1}
    clock.now += 3601
    assert first.kid not in {k["kid"] for k in ks.public_jwks()["keys"]}
    with pytest.raises(Exception, match="kid"):
        decode_jwt(old_token, ks, algorithms=["SM2SM3"])
    assert ks.prune() == [first.kid]
    assert len(ks) == 2
    staged = next(k for k in ks if k.state == KeyState.NEXT)
    assert ks.rotate("SM2SM3") is staged  # the published next key becomes current


def test_pem_files_detect_alg_and_states(tmp_path: Path) -> None:
    ks = KeySet.generate()
    extra = ManagedKey.generate("SM2SM3")
    paths = ks.save_pem(tmp_path)
    (tmp_path / "extra.pem").write_bytes(extra.to_pem())
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = KeySet.from_pem_files([*sorted(paths), tmp_path / "extra.pem"])
    assert {k.kid for k in loaded} == {k.kid for k in ks} | {extra.kid}
    assert loaded.get(extra.kid).state == KeyState.NEXT
    for alg in ("SM2SM3", "ES256", "RS256"):
        token = encode_jwt({"alg": alg}, ks.signing_key(alg))
        assert decode_jwt(token, loaded, algorithms=[alg])[1] == {"alg": alg}
        assert loaded.signing_key(alg).kid == ks.signing_key(alg).kid


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    ks = KeySet.generate(["SM2SM3", "ES256"])
    monkeypatch.setenv("IDBRIDGE_TEST_KEYS", "\n".join(k.to_pem().decode() for k in ks))
    loaded = KeySet.from_env("IDBRIDGE_TEST_KEYS")
    assert loaded.algorithms() == ["ES256", "SM2SM3"]
    monkeypatch.setenv("IDBRIDGE_TEST_KEYS", "nothing here")
    with pytest.raises(ValueError):
        KeySet.from_env("IDBRIDGE_TEST_KEYS")


def test_rejects_unsupported_keys() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    p384 = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    with pytest.raises(ValueError):
        ManagedKey.from_pem(p384)
    with pytest.raises(ValueError):
        ManagedKey.from_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ValueError):
        ManagedKey(ManagedKey.generate("SM2SM3").verification_key(), "SM2SM3")
