"""The e-service's own ID token and logout token checks (OIDC Core §3.1.3.7, Back-Channel
Logout 1.0 §2.6), against tokens signed by the bridge's real key set (SM2 via OpenSSL)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from federation.crypto.jose import half_hash
from federation.demo.verify import (
    BACKCHANNEL_EVENT,
    TokenRejected,
    verify_id_token,
    verify_logout_token,
)
from federation.oidc.signing import KeySetSigner, load_or_create_keyset

ISSUER = "http://127.0.0.1:8000"
CLIENT = "gd-demo-eservice"
ACCESS = "access-token-0123456789"


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> KeySetSigner:
    return KeySetSigner(load_or_create_keyset([], Path(tmp_path_factory.mktemp("keys"))))


def id_claims(**override: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": CLIENT,
        "sub": "pairwise-subject",
        "iat": now,
        "exp": now + 600,
        "nonce": "n-1",
        "at_hash": half_hash(ACCESS, "SM2SM3"),
        "cn": "陈大文",
    }
    claims.update(override)
    return {k: v for k, v in claims.items() if v is not None}


def check(signer: KeySetSigner, claims: dict[str, Any], alg: str = "SM2SM3", **kw: Any) -> Any:
    token = signer.sign(claims, alg)
    options: dict[str, Any] = {
        "issuer": ISSUER,
        "client_id": CLIENT,
        "nonce": "n-1",
        "access_token": ACCESS,
        "now": int(time.time()),
    }
    options.update(kw)
    return verify_id_token(token, signer.public_jwks(), **options)


def test_a_good_sm2_token_passes_every_check(signer: KeySetSigner) -> None:
    verified = check(signer, id_claims())
    assert verified.header["alg"] == "SM2SM3"
    assert verified.claims["cn"] == "陈大文"
    assert verified.checks == ("signature", "iss", "aud", "exp", "iat", "nonce", "at_hash")


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"iss": "http://evil.example"}, "iss"),
        ({"aud": "someone-else"}, "aud"),
        ({"aud": [CLIENT, "other"]}, "azp"),
        ({"exp": int(time.time()) - 3600}, "exp"),
        ({"iat": int(time.time()) + 3600}, "iat"),
        ({"nonce": "n-2"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"at_hash": half_hash("another-token", "SM2SM3")}, "at_hash"),
        ({"at_hash": half_hash(ACCESS, "ES256")}, "at_hash"),  # SHA-256 half, not SM3
        ({"sub": ""}, "sub"),
    ],
)
def test_each_bad_claim_is_rejected_by_name(
    signer: KeySetSigner, override: dict[str, Any], reason: str
) -> None:
    with pytest.raises(TokenRejected) as caught:
        check(signer, id_claims(**override))
    assert caught.value.reason == reason


def test_another_algorithm_is_refused_even_when_validly_signed(signer: KeySetSigner) -> None:
    with pytest.raises(TokenRejected) as caught:
        check(signer, id_claims(), alg="ES256")
    assert caught.value.reason == "signature"
    assert "not allowed" in caught.value.detail


def test_a_tampered_payload_fails_the_signature(signer: KeySetSigner) -> None:
    token = signer.sign(id_claims(), "SM2SM3")
    head, body, sig = token.split(".")
    other = signer.sign(id_claims(cn="李小明"), "SM2SM3").split(".")[1]
    with pytest.raises(TokenRejected) as caught:
        verify_id_token(
            f"{head}.{other}.{sig}",
            signer.public_jwks(),
            issuer=ISSUER,
            client_id=CLIENT,
            nonce="n-1",
            access_token=ACCESS,
            now=int(time.time()),
        )
    assert caught.value.reason == "signature"
    assert body != other


def test_alg_none_is_refused(signer: KeySetSigner) -> None:
    import base64
    import json

    def b64(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    token = f"{b64({'alg': 'none'})}.{b64(id_claims())}."
    with pytest.raises(TokenRejected) as caught:
        verify_id_token(token, signer.public_jwks(), issuer=ISSUER, client_id=CLIENT,
                        nonce="n-1", access_token=None, now=int(time.time()))  # fmt: skip
    assert caught.value.reason == "signature"


def logout_claims(**override: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": CLIENT,
        "iat": now,
        "exp": now + 120,
        "jti": "j-1",
        "sid": "session-1",
        "events": {BACKCHANNEL_EVENT: {}},
    }
    claims.update(override)
    return {k: v for k, v in claims.items() if v is not None}


def test_a_good_logout_token_passes(signer: KeySetSigner) -> None:
    token = signer.sign(logout_claims(), "SM2SM3", typ="logout+jwt")
    verified = verify_logout_token(
        token, signer.public_jwks(), issuer=ISSUER, client_id=CLIENT, now=int(time.time())
    )
    assert verified.claims["sid"] == "session-1"


@pytest.mark.parametrize(
    ("override", "typ", "reason"),
    [
        ({"events": None}, "logout+jwt", "events"),
        ({"nonce": "n"}, "logout+jwt", "nonce"),
        ({"sid": None}, "logout+jwt", "sub"),
        ({}, "JWT", "typ"),
        ({"aud": "other"}, "logout+jwt", "aud"),
    ],
)
def test_bad_logout_tokens_are_rejected(
    signer: KeySetSigner, override: dict[str, Any], typ: str, reason: str
) -> None:
    token = signer.sign(logout_claims(**override), "SM2SM3", typ=typ)
    with pytest.raises(TokenRejected) as caught:
        verify_logout_token(
            token, signer.public_jwks(), issuer=ISSUER, client_id=CLIENT, now=int(time.time())
        )
    assert caught.value.reason == reason
