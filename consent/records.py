"""The consent record (DESIGN §5) and the digests that make it evidence.

A record says who (a pseudonymous bridge subject, never the HKID) agreed to send which
attributes (names and keyed SM3 digests of the values, never the values) to which relying
party, for which purposes, under which version of the notice, and whether the separate
cross-boundary consent (PIPL art. 39; PDPO DPP3 prescribed consent) was given.

The *consent key* is a digest over what the person agreed to (client, purposes, notice
version, attribute names and value digests): when any of these change, the key changes and
the person is asked again (SATOSA ``_get_consent_id``; anchors §3.5 item 5).

Imports only ``federation.crypto``.
"""

from __future__ import annotations

import hmac
import json
import secrets
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from federation.crypto.sm3 import hmac_sm3, sm3

LANGUAGES: tuple[str, ...] = ("zh-HK", "zh-CN", "en")
"""Languages every notice text is given in (PAGES.md)."""


class Status(StrEnum):
    """Where a consent stands."""

    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"


class Localized(BaseModel):
    """One text in the three languages the notice is shown in."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    zh_hk: str = Field(alias="zh-HK")
    zh_cn: str = Field(alias="zh-CN")
    en: str

    def get(self, language: str) -> str:
        """The text in ``language`` (falls back to zh-HK, the default language)."""
        return {"zh-HK": self.zh_hk, "zh-CN": self.zh_cn, "en": self.en}.get(language, self.zh_hk)

    def as_dict(self) -> dict[str, str]:
        """``{"zh-HK": …, "zh-CN": …, "en": …}``."""
        return self.model_dump(by_alias=True)


class Purpose(BaseModel):
    """A purpose registered by the client: a stable code and its text."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    description: Localized
    category: str = Field("service-provision", description="Kantara purposeCategory.")


class ReleasedAttribute(BaseModel):
    """One attribute sent to the relying party: its name and a digest of its value."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=64)
    essential: bool
    digest: str = Field(pattern=r"^[0-9a-f]{64}$", description="HMAC-SM3 of the value (hex).")
    supplied_by_person: bool = False


def new_consent_id() -> str:
    """A fresh, unguessable record id."""
    return "cns_" + secrets.token_urlsafe(18)


class ConsentRecord(BaseModel):
    """One consent given by one person to one relying party (DESIGN §5)."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=r"^cns_[A-Za-z0-9_-]{16,64}$")
    subject: str = Field(min_length=1, max_length=200, description="Pseudonymous bridge subject.")
    client_id: str = Field(min_length=1, max_length=200)
    client_name: Localized
    client_contact: str
    purposes: list[Purpose]
    processing_method: Localized
    retention: Localized
    rights: Localized = Field(description="How to exercise rights against the recipient.")
    policy_url: str = ""
    attributes: list[ReleasedAttribute]
    withheld: list[str] = Field(default_factory=list, description="Optional names switched off.")
    cross_boundary: bool = Field(description="The separate cross-boundary consent (PIPL art. 39).")
    notice_version: str
    notice_digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    language: str
    collection_method: str = "web-form"
    given_at: int = Field(description="Epoch seconds.")
    expires_at: int | None = None
    status: Status = Status.ACTIVE
    revoked_at: int | None = None
    revoked_by: str | None = Field(None, description="'subject', 'operator:<name>' or 'system'.")
    revoke_reason: str | None = None
    consent_key: str = Field(pattern=r"^[0-9a-f]{64}$")
    has_sealed_pii: bool = False
    operator: dict[str, Any] | None = Field(
        None, description="The bridge operator as shown (consent.notice.DataUser, JSON)."
    )
    recipient_address: Localized | None = None
    recipient_phone: str = ""
    sensitive: list[str] = Field(
        default_factory=list,
        description="Released names that are sensitive PI (PIPL art. 28) as shown.",
    )
    sensitive_consent: bool = Field(
        False, description="The separate consent to the sensitive items (PIPL art. 29)."
    )

    @property
    def attribute_names(self) -> list[str]:
        """Names of the released attributes, in order."""
        return [a.name for a in self.attributes]

    def is_valid_at(self, now: int) -> bool:
        """Active and not past its expiry."""
        if self.status is not Status.ACTIVE:
            return False
        return self.expires_at is None or now < self.expires_at

    def remembered_for(self, consent_key: str, now: int) -> bool:
        """Whether this consent lets a journey skip the page: active, unexpired, remembered
        (it has an expiry) and given for exactly ``consent_key``."""
        return (
            self.expires_at is not None
            and self.is_valid_at(now)
            and hmac.compare_digest(self.consent_key, consent_key)
        )

    def to_hash(self) -> dict[str, str]:
        """Flat string fields for a Redis hash (nested values as JSON)."""
        out: dict[str, str] = {}
        for name, value in self.model_dump(mode="json", by_alias=True).items():
            if value is None:
                continue
            out[name] = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        return out

    @classmethod
    def from_hash(cls, fields: dict[str, str]) -> ConsentRecord:
        """Reverse :meth:`to_hash`."""
        data: dict[str, Any] = {}
        for name, raw in fields.items():
            if name not in cls.model_fields:
                continue
            data[name] = raw if name in _STRING_FIELDS else json.loads(raw)
        return cls.model_validate(data)


_STRING_FIELDS = frozenset(
    {
        "id",
        "subject",
        "client_id",
        "client_contact",
        "policy_url",
        "notice_version",
        "notice_digest",
        "language",
        "collection_method",
        "status",
        "revoked_by",
        "revoke_reason",
        "consent_key",
        "recipient_phone",
    }
)


def canonical_json(value: Any) -> bytes:
    """Canonical JSON (sorted keys, no spaces, UTF-8): the bytes every digest is taken over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def value_digest(digest_key: bytes, name: str, value: Any) -> str:
    """Keyed SM3 (HMAC-SM3) of one attribute value, hex.

    Keyed so that a low-entropy value (a birth date, an ID number) cannot be recovered
    from the record by guessing; stable for the same key, name and value, so a remembered
    consent can be matched.
    """
    return hmac_sm3(digest_key, canonical_json({"name": name, "value": value})).hex()


def consent_key(
    client_id: str,
    purposes: list[str],
    notice_version: str,
    attributes: list[tuple[str, str]],
) -> str:
    """SM3 over what the person agreed to; any change means asking again.

    ``attributes`` are ``(name, value digest)`` pairs of what is released.
    """
    body = {
        "client_id": client_id,
        "purposes": sorted(purposes),
        "notice_version": notice_version,
        "attributes": sorted([name, digest] for name, digest in attributes),
    }
    return sm3(canonical_json(body)).hex()


def record_consent_key(record: ConsentRecord) -> str:
    """Recompute the consent key from a record's own contents."""
    return consent_key(
        record.client_id,
        [p.id for p in record.purposes],
        record.notice_version,
        [(a.name, a.digest) for a in record.attributes],
    )
