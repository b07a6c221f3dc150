"""Consent receipts: Kantara Consent Receipt v1.1 (KI-CR-v1.1.0) shaped JSON, extended
with the PIPL art. 39 notice elements, signed as a compact JWS (SM2SM3, ``kid`` in the
header) that anyone can verify offline with the bridge's published JWKS
(``domain-facts.md`` §3.5; DESIGN §5; ``docs/consent.md`` shows the OpenSSL commands).

The Kantara top-level fields are kept exactly; everything PIPL needs that Kantara lacks
sits under ``pipl`` (recipient name and contact, purposes, processing method, PI
categories, how to exercise rights, the separate consent, the cross-border flag).

The controller and contact are the ones the consent page showed: the record keeps the
operator (``consent.notice.DataUser``) as shown, and the receipt reads it from there.

Imports ``consent.records``, ``consent.notice`` and ``consent.signing``.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict

from consent.notice import DataUser
from consent.records import ConsentRecord
from consent.signing import JwsSigner, JwsVerifier

KANTARA_VERSION = "KI-CR-v1.1.0"
RECEIPT_TYP = "consent-receipt+jwt"

SENSITIVE_CLAIMS: frozenset[str] = frozenset(
    {"idcardnumber", "hkid", "home_return_permit", "hrp_number", "id_number"}
)
"""Claims that are sensitive personal information (PIPL art. 28: specific identity)."""


class BridgeController(BaseModel):
    """The bridge operator as a PII controller (the party exporting the data)."""

    model_config = ConfigDict(frozen=True)

    name: str = "idbridge operator"
    contact: str = "privacy@idbridge.example.hk"
    address: str = ""
    email: str = "privacy@idbridge.example.hk"
    phone: str = ""
    url: str = ""
    jurisdiction: str = "HK"

    @classmethod
    def from_data_user(cls, operator: DataUser, language: str) -> BridgeController:
        """The controller as the consent page named it (the record's operator)."""
        return cls(
            name=operator.name.get(language),
            contact=operator.contact,
            address=operator.address.get(language),
            email=operator.privacy_officer,
            phone=operator.phone,
            url=operator.url,
        )


def build_receipt(
    record: ConsentRecord,
    *,
    issuer: str,
    controller: BridgeController | None = None,
    sensitive_claims: frozenset[str] = SENSITIVE_CLAIMS,
    now: int | None = None,
    audit_log: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The receipt for ``record`` in the record's language, as a JSON-ready dict; with
    ``audit_log`` (``consent.log_evidence.evidence``) it names the event's leaf in the
    transparency log and the tree head covering it, as ``auditLog``."""
    lang = record.language
    if record.operator is not None:  # the page's operator wins: page and receipt agree
        controller = BridgeController.from_data_user(DataUser.model_validate(record.operator), lang)
    controller = controller or BridgeController()
    recipient = record.client_name.get(lang)
    names = record.attribute_names
    sensitive = sorted(
        set(record.sensitive) | {n for n in names if n.split(".")[-1] in sensitive_claims}
    )
    termination = f"{record.retention.get(lang)}; consent valid until " + (
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.expires_at))
        if record.expires_at
        else "withdrawn"
    )
    purposes = [
        {
            "purpose": p.description.get(lang),
            "purposeCategory": [p.category],
            "consentType": "EXPLICIT",
            "piiCategory": names,
            "primaryPurpose": i == 0,
            "termination": termination,
            "thirdPartyDisclosure": True,
            "thirdPartyName": recipient,
        }
        for i, p in enumerate(record.purposes)
    ]
    receipt = {
        "iss": issuer,
        "iat": int(time.time()) if now is None else now,
        "version": KANTARA_VERSION,
        "jurisdiction": f"{controller.jurisdiction}; CN-GD",
        "consentTimestamp": record.given_at,
        "collectionMethod": record.collection_method,
        "consentReceiptID": record.id,
        "language": lang,
        "piiPrincipalId": record.subject,
        "piiControllers": [
            {
                "piiController": controller.name,
                "onBehalf": False,
                "contact": controller.contact,
                "address": controller.address,
                "email": controller.email,
                "phone": controller.phone,
                "piiControllerUrl": controller.url,
            },
            {
                "piiController": recipient,
                "onBehalf": False,
                "contact": record.client_contact,
                "address": record.recipient_address.get(lang)
                if record.recipient_address
                else "Guangdong, PRC",
                "email": ", ".join(p.strip() for p in record.client_contact.split(",") if "@" in p),
                "phone": record.recipient_phone,
                "piiControllerUrl": record.policy_url,
            },
        ],
        "policyUrl": record.policy_url,
        "services": [{"service": recipient, "purposes": purposes}],
        "sensitive": bool(sensitive),
        "spiCat": sensitive,
        "status": record.status.value,
        "pipl": _pipl_art39(record),
    }
    if audit_log is not None:
        receipt["auditLog"] = audit_log
    return receipt


def _pipl_art39(record: ConsentRecord) -> dict[str, Any]:
    """The art. 39 elements (and arts. 29–30 for sensitive items), in all three languages,
    as shown on the consent page."""
    return {
        "recipientName": record.client_name.as_dict(),
        "recipientContact": record.client_contact,
        "recipientClientId": record.client_id,
        "purposes": [{"id": p.id, **p.description.as_dict()} for p in record.purposes],
        "processingMethod": record.processing_method.as_dict(),
        "piCategories": [
            {"name": a.name, "essential": a.essential, "valueDigest": a.digest}
            for a in record.attributes
        ],
        "retention": record.retention.as_dict(),
        "rightsExercise": record.rights.as_dict(),
        "recipientAddress": record.recipient_address.as_dict()
        if record.recipient_address
        else None,
        "recipientPhone": record.recipient_phone,
        "sensitivePI": record.sensitive,
        "separateSensitiveConsent": record.sensitive_consent,
        "separateConsent": record.cross_boundary,
        "crossBorder": True,
        "direction": "HK→CN-GD",
        "noticeVersion": record.notice_version,
        "noticeDigestSM3": record.notice_digest,
        "expires": record.expires_at,
        "withdrawal": {
            "revokedAt": record.revoked_at,
            "revokedBy": record.revoked_by,
        },
    }


def sign_receipt(receipt: dict[str, Any], signer: JwsSigner) -> str:
    """The receipt as a compact JWS (``typ`` ``consent-receipt+jwt``)."""
    return signer.sign_jws(receipt, typ=RECEIPT_TYP)


def issue_receipt(
    record: ConsentRecord,
    signer: JwsSigner,
    *,
    issuer: str,
    controller: BridgeController | None = None,
) -> str:
    """Build and sign in one step."""
    return sign_receipt(build_receipt(record, issuer=issuer, controller=controller), signer)


def verify_receipt(token: str, verifier: JwsVerifier) -> dict[str, Any]:
    """The receipt inside ``token`` if its signature verifies and it is typed as a receipt
    (else ``SignatureError``)."""
    return verifier.verify_jws(token, typ=RECEIPT_TYP)
