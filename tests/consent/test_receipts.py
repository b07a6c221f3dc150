"""Consent receipts: Kantara v1.1 shape with the PIPL art. 39 elements, SM2SM3-signed,
verified in Python with the published JWKS and, independently, by the OpenSSL CLI."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from consent.capture import ConsentChoices, capture
from consent.receipts import KANTARA_VERSION, build_receipt, issue_receipt, verify_receipt
from consent.signing import JwksVerifier, KeySetSigner, SignatureError
from federation.crypto.keyset import KeySet
from tests.consent.factories import DIGEST_KEY, grant, items, notice

# SubjectPublicKeyInfo header for id-ecPublicKey on curve SM2 (1.2.156.10197.1.301),
# uncompressed point: built by hand so the test does not trust our own PEM code.
_SM2_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d03420004")

KANTARA_FIELDS = {
    "version", "jurisdiction", "consentTimestamp", "collectionMethod", "consentReceiptID",
    "language", "piiPrincipalId", "piiControllers", "policyUrl", "services", "sensitive",
    "spiCat",
}  # fmt: skip
PURPOSE_FIELDS = {
    "purpose", "purposeCategory", "consentType", "piiCategory", "primaryPurpose",
    "termination", "thirdPartyDisclosure", "thirdPartyName",
}  # fmt: skip


def _b64d(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _openssl_verify(token: str, jwk: dict, workdir: Path) -> subprocess.CompletedProcess[str]:
    header_b64, payload_b64, sig_b64 = token.split(".")
    raw = _b64d(sig_b64)
    assert len(raw) == 64
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    spki = _SM2_SPKI_PREFIX + _b64d(jwk["x"]).rjust(32, b"\0") + _b64d(jwk["y"]).rjust(32, b"\0")
    pem = (
        "-----BEGIN PUBLIC KEY-----\n"
        + base64.encodebytes(spki).decode()
        + "-----END PUBLIC KEY-----\n"
    )
    (workdir / "pub.pem").write_text(pem)
    (workdir / "sig.der").write_bytes(der)
    (workdir / "input").write_bytes(f"{header_b64}.{payload_b64}".encode())
    return subprocess.run(
        [
            "openssl", "dgst", "-sm3", "-verify", "pub.pem",
            "-sigopt", "distid:1234567812345678", "-signature", "sig.der", "input",
        ],
        cwd=workdir, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def test_receipt_has_the_kantara_and_pipl_fields() -> None:
    record = grant().record
    receipt = build_receipt(record, issuer="https://bridge.example.hk")
    assert receipt.keys() >= KANTARA_FIELDS
    assert receipt["version"] == KANTARA_VERSION
    assert receipt["consentReceiptID"] == record.id
    assert receipt["piiPrincipalId"] == record.subject
    purpose = receipt["services"][0]["purposes"][0]
    assert set(purpose) == PURPOSE_FIELDS
    assert purpose["piiCategory"] == ["name", "birthdate", "email"]
    assert purpose["thirdPartyName"] == "Guangdong Social Security e-Service"
    pipl = receipt["pipl"]
    assert pipl["separateConsent"] is True and pipl["crossBorder"] is True
    assert pipl["recipientContact"] == "dpo@gdsi.example.cn"
    assert pipl["processingMethod"]["zh-CN"].startswith("stored")
    assert pipl["rightsExercise"]["en"].startswith("write to the DPO")
    assert [c["name"] for c in pipl["piCategories"]] == ["name", "birthdate", "email"]
    text = json.dumps(receipt, ensure_ascii=False)
    for value in ("CHAN, Tai Man", "1980-01-31", "tm.chan@example.hk"):
        assert value not in text


def test_identity_numbers_make_the_receipt_sensitive() -> None:
    plain = build_receipt(grant().record, issuer="https://b")
    assert plain["sensitive"] is False and plain["spiCat"] == []
    with_permit = capture(
        "sub-1",
        notice(),
        items(permit="H12345678"),
        ConsentChoices(cross_boundary=True, language="zh-HK"),
        digest_key=DIGEST_KEY,
        now=1_700_000_000,
    ).record
    receipt = build_receipt(with_permit.model_copy(update={"attributes": [
        a.model_copy(update={"name": "home_return_permit"}) if a.name == "hrp_number" else a
        for a in with_permit.attributes
    ]}), issuer="https://b")  # fmt: skip
    assert receipt["sensitive"] is True and receipt["spiCat"] == ["home_return_permit"]
    assert receipt["language"] == "zh-HK"
    assert receipt["services"][0]["service"].endswith("（繁）")


def test_signed_receipt_verifies_with_the_published_jwks(keyset: KeySet) -> None:
    record = grant().record
    token = issue_receipt(record, KeySetSigner(keyset), issuer="https://bridge.example.hk")
    header = json.loads(_b64d(token.split(".")[0]))
    assert header["alg"] == "SM2SM3" and header["typ"] == "consent-receipt+jwt"
    assert header["kid"] == keyset.signing_key("SM2SM3").kid
    receipt = verify_receipt(token, JwksVerifier(json.dumps(keyset.public_jwks())))
    assert receipt["consentReceiptID"] == record.id
    other = JwksVerifier(KeySet.generate(["SM2SM3"]).public_jwks())
    with pytest.raises(SignatureError):
        verify_receipt(token, other)


def test_a_token_of_another_type_never_passes_for_a_receipt(keyset: KeySet) -> None:
    """Same key, receipt-shaped claims, but typed as something else (an ID token's
    ``JWT``, an audit checkpoint): refused (RFC 8725 §3.11)."""
    receipt = build_receipt(grant().record, issuer="https://bridge.example.hk")
    verifier = JwksVerifier(keyset.public_jwks())
    for typ in ("JWT", "audit+jwt"):
        token = KeySetSigner(keyset).sign_jws(receipt, typ=typ)
        with pytest.raises(SignatureError, match="typ"):
            verify_receipt(token, verifier)


def test_openssl_verifies_the_receipt_outside_python(keyset: KeySet, tmp_path: Path) -> None:
    token = issue_receipt(grant().record, KeySetSigner(keyset), issuer="https://b.example.hk")
    jwk = keyset.public_jwks()["keys"][0]
    assert jwk["crv"] == "SM2"
    result = _openssl_verify(token, jwk, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Verified OK" in result.stdout


def test_openssl_rejects_an_altered_receipt(keyset: KeySet, tmp_path: Path) -> None:
    token = issue_receipt(grant().record, KeySetSigner(keyset), issuer="https://b.example.hk")
    header, payload, sig = token.split(".")
    claims = json.loads(_b64d(payload))
    claims["pipl"]["separateConsent"] = False
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    result = _openssl_verify(
        f"{header}.{forged_payload}.{sig}", keyset.public_jwks()["keys"][0], tmp_path
    )
    assert result.returncode != 0
    assert "Verification failure" in result.stdout + result.stderr
