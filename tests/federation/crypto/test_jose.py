"""SM2SM3 with joserfc: JWKs, JWS shape, allow-lists, alg confusion, half hashes."""

from __future__ import annotations

import base64
import json

import pytest
from joserfc import jws
from joserfc.jwk import OctKey

from federation.crypto import jose
from federation.crypto.encoding import raw_to_der
from federation.crypto.jose import (
    InvalidJWS,
    decode_jwt,
    encode_jwt,
    half_hash,
    import_jwk,
    import_jwks,
)
from federation.crypto.keyset import KeySet, ManagedKey
from federation.crypto.sm2_curve import GX, GY, N, P
from federation.crypto.sm3 import sm3


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def keyset() -> KeySet:
    return KeySet.generate()


@pytest.fixture(scope="module")
def sm2(keyset: KeySet) -> ManagedKey:
    return keyset.signing_key("SM2SM3")


def test_registration_is_idempotent() -> None:
    before = jws.JWSRegistry.algorithms["SM2SM3"]
    jose.register()
    jose.register()
    assert jws.JWSRegistry.algorithms["SM2SM3"] is before
    assert "SM2SM3" not in jws.JWSRegistry.recommended  # only accepted when allow-listed
    with pytest.raises(Exception, match="not recommended"):
        jws.JWSRegistry().get_alg("SM2SM3")


def test_round_trip_and_raw_signature(keyset: KeySet, sm2: ManagedKey) -> None:
    token = encode_jwt({"sub": "陳大文", "n": 1}, sm2, header={"typ": "receipt+jwt"})
    header, claims = decode_jwt(token, keyset, algorithms=["SM2SM3"])
    assert header == {"typ": "receipt+jwt", "alg": "SM2SM3", "kid": sm2.kid}
    assert claims == {"sub": "陳大文", "n": 1}
    sig = base64.urlsafe_b64decode(token.split(".")[2] + "==")
    assert len(sig) == 64  # raw r||s, never DER
    # also through joserfc's own decoder with the public JWKS
    obj = jws.deserialize_compact(token, import_jwks(keyset.public_jwks()), algorithms=["SM2SM3"])
    assert json.loads(obj.payload)["n"] == 1


def _resign(token: str, signature: bytes) -> str:
    head, payload, _ = token.split(".")
    return f"{head}.{payload}.{b64(signature)}"


def test_bad_signature_shapes_are_invalid(keyset: KeySet, sm2: ManagedKey) -> None:
    token = encode_jwt({"a": 1}, sm2)
    sig = base64.urlsafe_b64decode(token.split(".")[2] + "==")
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    variants = {
        "63 bytes": sig[:63],
        "65 bytes": sig + b"\x00",
        "65 bytes, leading zero": b"\x00" + sig,
        "DER": raw_to_der(sig),
        "r=0": bytes(32) + sig[32:],
        "s=n": sig[:32] + N.to_bytes(32, "big"),
        "(r, n-s)": r.to_bytes(32, "big") + (N - s).to_bytes(32, "big"),
        "empty": b"",
    }
    accepted = []
    for name, bad in variants.items():
        try:
            decode_jwt(_resign(token, bad), keyset, algorithms=["SM2SM3"])
        except InvalidJWS:
            continue
        accepted.append(name)
    assert accepted == []


def test_alg_none_is_never_accepted(keyset: KeySet, sm2: ManagedKey) -> None:
    token = encode_jwt({"a": 1}, sm2)
    payload = token.split(".")[1]
    unsigned = f"{b64(json.dumps({'alg': 'none'}).encode())}.{payload}."
    with pytest.raises(InvalidJWS):
        decode_jwt(unsigned, keyset, algorithms=["SM2SM3"])
    with pytest.raises(ValueError):
        decode_jwt(unsigned, keyset, algorithms=["none"])


@pytest.mark.parametrize("part", [0, 1])
def test_deeply_nested_json_is_an_invalid_jws(keyset: KeySet, sm2: ManagedKey, part: int) -> None:
    """A header (or a signed payload) of 20 000 nested arrays must not escape as
    RecursionError: the token endpoint parses client assertions with this."""
    deep = b64(b"[" * 20_000)  # joserfc refuses parts over 128 KiB before parsing
    parts = encode_jwt({"a": 1}, sm2).split(".")
    parts[part] = deep
    if part == 1:  # a payload only reaches json.loads once it verifies: sign it for real
        signing_input = f"{parts[0]}.{parts[1]}".encode()
        parts[2] = b64(sm2.sign(signing_input))
    with pytest.raises(InvalidJWS):
        decode_jwt(".".join(parts), keyset, algorithms=["SM2SM3"])


def test_hs256_keyed_with_the_public_key_fails(keyset: KeySet, sm2: ManagedKey) -> None:
    """Alg confusion: an attacker MACs with the public key bytes the verifier publishes."""
    header = b64(json.dumps({"alg": "HS256", "kid": sm2.kid}).encode())
    payload = b64(b'{"sub":"admin"}')
    for secret in (sm2.key.as_pem(private=False), json.dumps(sm2.public_jwk).encode()):
        forged = jws.serialize_compact(
            {"alg": "HS256", "kid": sm2.kid}, b'{"sub":"admin"}', OctKey.import_key(secret)
        )
        assert forged.startswith(header.split(".")[0][:5])
        for allowed in (["SM2SM3"], ["SM2SM3", "HS256"]):
            with pytest.raises(InvalidJWS):
                decode_jwt(forged, keyset, algorithms=allowed)
            with pytest.raises(InvalidJWS):
                decode_jwt(forged, keyset.public_jwks(), algorithms=allowed)
    assert payload


def test_es256_token_cannot_be_checked_with_the_sm2_key(keyset: KeySet) -> None:
    es = keyset.signing_key("ES256")
    token = encode_jwt({"a": 1}, es)
    header, _ = decode_jwt(token, keyset, algorithms=["ES256"])
    assert header["alg"] == "ES256"
    # relabel as SM2SM3 with the SM2 key's kid: must fail (curve/alg mismatch)
    sm2 = keyset.signing_key("SM2SM3")
    head = b64(json.dumps({"alg": "SM2SM3", "kid": sm2.kid}).encode())
    relabeled = head + "." + ".".join(token.split(".")[1:])
    with pytest.raises(InvalidJWS):
        decode_jwt(relabeled, keyset, algorithms=["SM2SM3", "ES256"])


def test_unknown_kid_and_tampered_payload(keyset: KeySet, sm2: ManagedKey) -> None:
    token = encode_jwt({"a": 1}, sm2)
    other = KeySet.generate(["SM2SM3"])
    with pytest.raises(InvalidJWS, match="kid"):
        decode_jwt(token, other, algorithms=["SM2SM3"])
    head, _, sig = token.split(".")
    with pytest.raises(InvalidJWS):
        tampered = b64(b'{"a":2}')
        decode_jwt(f"{head}.{tampered}.{sig}", keyset, algorithms=["SM2SM3"])
    with pytest.raises(InvalidJWS):
        decode_jwt("not-a-token", keyset, algorithms=["SM2SM3"])


def _sm2_jwk(sm2: ManagedKey) -> dict:
    return dict(sm2.public_jwk)


def test_jwk_import_rules(sm2: ManagedKey) -> None:
    good = _sm2_jwk(sm2)
    assert import_jwk(good).kid == sm2.kid
    x = base64.urlsafe_b64decode(good["x"] + "==")
    cases = {
        "wrong crv": {**good, "crv": "P-256"},
        "crv missing": {k: v for k, v in good.items() if k != "crv"},
        "x 31 bytes": {**good, "x": b64(x[1:])},
        "x 33 bytes": {**good, "x": b64(b"\x00" + x)},
        "y 31 bytes": {**good, "y": b64(base64.urlsafe_b64decode(good["y"] + "==")[1:])},
        "off curve": {
            **good,
            "x": b64(GX.to_bytes(32, "big")),
            "y": b64(((GY + 1) % P).to_bytes(32, "big")),
        },
        "identity": {**good, "x": b64(bytes(32)), "y": b64(bytes(32))},
        "x >= p": {**good, "x": b64((P + 1).to_bytes(32, "big"))},
        "not base64url": {**good, "x": "+/+/"},
    }
    for name, jwk in cases.items():
        if jwk.get("crv") == "P-256":
            with pytest.raises(ValueError):  # a P-256 JWK with SM2 coordinates is off-curve too
                import_jwk(jwk)
            continue
        with pytest.raises(ValueError):
            import_jwk(jwk)
        with pytest.raises(ValueError):
            import_jwks({"keys": [jwk]})
        assert name


def test_private_jwk_d_must_match(sm2: ManagedKey) -> None:
    private = dict(sm2.key.as_dict(private=True))
    assert import_jwk(private).is_private
    other = dict(ManagedKey.generate("SM2SM3").key.as_dict(private=True))
    with pytest.raises(ValueError, match="match"):
        import_jwk({**private, "d": other["d"]})
    with pytest.raises(ValueError):
        import_jwk({**private, "d": b64((N - 1).to_bytes(32, "big"))})


def test_jwks_mixes_sm2_ec_rsa_and_skips_unknown_kty(keyset: KeySet) -> None:
    jwks = keyset.public_jwks()
    jwks["keys"].append({"kty": "AKP", "alg": "ML-DSA-44", "pub": "AAAA"})
    imported = import_jwks(jwks)
    assert sorted(k.key_type for k in imported.keys) == ["EC", "EC", "RSA"]
    assert {k.kid for k in imported.keys} == {k.kid for k in keyset}
    assert imported.as_dict()["keys"][0]["crv"] in ("SM2", "P-256")
    with pytest.raises(ValueError):
        import_jwks({"keys": []})
    with pytest.raises(ValueError):
        import_jwks({"nokeys": 1})


def test_half_hash() -> None:
    token = "eyJhbGciOiJTTTJTTTMifQ.e30.sig"
    assert half_hash(token, "SM2SM3") == b64(sm3(token.encode())[:16])
    import hashlib

    assert half_hash(token, "RS256") == b64(hashlib.sha256(token.encode()).digest()[:16])
    assert half_hash(token, "ES256") == half_hash(token, "RS256")
    assert half_hash(token, "ES384") == b64(hashlib.sha384(token.encode()).digest()[:24])
    assert half_hash(token, "PS512") == b64(hashlib.sha512(token.encode()).digest()[:32])
    with pytest.raises(ValueError):
        half_hash(token, "none")
