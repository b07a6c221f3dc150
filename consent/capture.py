"""Turn what the consent page showed and what the person chose into a consent record
(DESIGN §3 step 5, §5; PIPL art. 39; PDPO DPP3).

The journey describes the notice (the client's registered metadata as shown) and the items
to be released (claim name, value, essential); the person's choices say which optional
items they kept and whether they ticked the separate cross-boundary box. :func:`capture`
validates the choices and builds the record; values never enter the record, only keyed
SM3 digests. Values the person typed in (e.g. the Home Return Permit number) are returned
separately so the store can seal them (SM4-GCM) under the record id.

Imports ``consent.records``, ``consent.notice`` and ``federation.crypto`` only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from consent.notice import DataUser, RecipientContact
from consent.records import (
    LANGUAGES,
    ConsentRecord,
    Localized,
    Purpose,
    ReleasedAttribute,
    canonical_json,
    consent_key,
    new_consent_id,
    value_digest,
)
from federation.crypto.sm3 import sm3

PERSON_SUPPLIED: frozenset[str] = frozenset({"home_return_permit"})
"""Internal attributes the person types in on the consent page (not from iAM Smart)."""


class CaptureError(ValueError):
    """The person's choices cannot become a consent; ``code`` names why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ConsentNotice(BaseModel):
    """What the consent page tells the person: the client's registered metadata."""

    model_config = ConfigDict(frozen=True)

    client_id: str = Field(min_length=1, max_length=200)
    client_name: Localized
    contact: str = Field(min_length=1, description="Recipient contact (PIPL art. 39).")
    recipient: RecipientContact = RecipientContact()
    """The recipient's contact method in full (e-mail, address, phone)."""
    operator: DataUser | None = None
    """The bridge operator, the Hong Kong data user (PDPO DPP1(3))."""
    purposes: list[Purpose] = Field(min_length=1)
    processing_method: Localized
    retention: Localized
    """The client's registered retention: a duration and what happens after it."""
    rights: Localized
    """The client's registered procedure to exercise rights (PIPL art. 39), as written."""
    policy_url: str = ""
    notice_version: str = Field(min_length=1, max_length=64)
    remember_seconds: int = Field(
        0,
        ge=0,
        description="Seconds a consent lasts and skips the page (0: ask at every login).",
    )

    def digest(self) -> str:
        """SM3 (hex) of the notice as shown: proves which text the person saw."""
        return sm3(canonical_json(self.model_dump(mode="json", by_alias=True))).hex()


class ReleaseItem(BaseModel):
    """One attribute the relying party would receive, with its value as it will be sent."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=64)
    value: Any
    essential: bool
    supplied_by_person: bool = False
    sensitive: bool = False
    """Sensitive personal information (PIPL art. 28), as the mapping profile marks it."""


class ConsentChoices(BaseModel):
    """What the person did on the page."""

    model_config = ConfigDict(frozen=True)

    cross_boundary: bool = Field(description="The separate, unticked-by-default checkbox.")
    kept_optional: frozenset[str] = frozenset()
    language: str = "zh-HK"
    sensitive_consent: bool = Field(
        False, description="The separate tick for sensitive items (PIPL art. 29)."
    )


@dataclass(frozen=True, slots=True)
class Captured:
    """A new record and the person-supplied values to seal with it (name → value)."""

    record: ConsentRecord
    sealed_values: dict[str, Any]


def items_from_release(
    released: Iterable[Any], person_supplied: frozenset[str] = PERSON_SUPPLIED
) -> list[ReleaseItem]:
    """Consent items from a ``mappings.release.Release``'s ``items`` (claim, value as sent,
    essential); an item is person-supplied when it comes from an attribute in
    ``person_supplied`` (its value is then sealed with the record)."""
    return [
        ReleaseItem(
            name=item.claim,
            value=item.value,
            essential=item.essential,
            supplied_by_person=bool(person_supplied & set(item.sources)),
            sensitive=bool(getattr(item, "sensitive", False)),
        )
        for item in released
    ]


def released_items(items: list[ReleaseItem], choices: ConsentChoices) -> list[ReleaseItem]:
    """Essential items and the optional ones the person kept, in the order shown."""
    return [i for i in items if i.essential or i.name in choices.kept_optional]


def validate_choices(items: list[ReleaseItem], choices: ConsentChoices) -> None:
    """Raise :class:`CaptureError` unless the choices can form a valid consent."""
    names = [i.name for i in items]
    if len(set(names)) != len(names):
        raise CaptureError("invalid_request", "an attribute is listed twice")
    if choices.language not in LANGUAGES:
        raise CaptureError("invalid_request", f"unsupported language {choices.language!r}")
    if not choices.cross_boundary:
        raise CaptureError(
            "cross_boundary_consent_required",
            "the separate consent to the cross-boundary transfer was not given",
        )
    if not choices.sensitive_consent and any(i.sensitive for i in released_items(items, choices)):
        raise CaptureError(
            "sensitive_consent_required",
            "the separate consent to sensitive personal information was not given",
        )
    optional = {i.name for i in items if not i.essential}
    unknown = choices.kept_optional - optional
    if unknown:
        raise CaptureError(
            "invalid_request",
            "kept attributes that were not offered: " + ", ".join(sorted(unknown)),
        )


def capture(
    subject: str,
    notice: ConsentNotice,
    items: list[ReleaseItem],
    choices: ConsentChoices,
    *,
    digest_key: bytes,
    now: int,
    collection_method: str = "web-form",
) -> Captured:
    """Validate the choices and build the record (status active).

    Every essential item is released (the page cannot switch them off: dropping one is a
    decline, not a consent); optional items are released only if kept.
    """
    validate_choices(items, choices)
    kept = released_items(items, choices)
    attributes = [
        ReleasedAttribute(
            name=i.name,
            essential=i.essential,
            digest=value_digest(digest_key, i.name, i.value),
            supplied_by_person=i.supplied_by_person,
        )
        for i in kept
    ]
    key = consent_key(
        notice.client_id,
        [p.id for p in notice.purposes],
        notice.notice_version,
        [(a.name, a.digest) for a in attributes],
    )
    # remember_seconds = 0: asked at every login; the consent then lasts until superseded
    # by the next one or revoked, and is never used to skip the page.
    expires = now + notice.remember_seconds if notice.remember_seconds else None
    record = ConsentRecord(
        id=new_consent_id(),
        subject=subject,
        client_id=notice.client_id,
        client_name=notice.client_name,
        client_contact=notice.contact,
        purposes=list(notice.purposes),
        processing_method=notice.processing_method,
        retention=notice.retention,
        rights=notice.rights,
        policy_url=notice.policy_url,
        attributes=attributes,
        withheld=[i.name for i in items if i not in kept],
        cross_boundary=True,
        notice_version=notice.notice_version,
        notice_digest=notice.digest(),
        language=choices.language,
        collection_method=collection_method,
        given_at=now,
        expires_at=expires,
        consent_key=key,
        has_sealed_pii=any(i.supplied_by_person for i in kept),
        operator=notice.operator.model_dump(mode="json", by_alias=True)
        if notice.operator
        else None,
        recipient_address=notice.recipient.address,
        recipient_phone=notice.recipient.phone,
        sensitive=[i.name for i in kept if i.sensitive],
        sensitive_consent=any(i.sensitive for i in kept),
    )
    sealed = {i.name: i.value for i in kept if i.supplied_by_person}
    return Captured(record=record, sealed_values=sealed)


def candidate_key(
    notice: ConsentNotice, items: list[ReleaseItem], names: list[str], *, digest_key: bytes
) -> str | None:
    """The consent key a new consent would have if the same ``names`` were released again
    with today's values; ``None`` if an essential item is not among ``names`` or a name is
    no longer offered (the page must be shown)."""
    offered = {i.name: i for i in items}
    if any(i.essential and i.name not in names for i in items):
        return None
    if any(n not in offered for n in names):
        return None
    pairs = [(n, value_digest(digest_key, n, offered[n].value)) for n in names]
    return consent_key(
        notice.client_id, [p.id for p in notice.purposes], notice.notice_version, pairs
    )
