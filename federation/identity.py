"""The internal identity record: the one small object that travels through the journey.

Modelled on SATOSA's ``InternalData`` and Dex's ``connector.Identity``: a connector builds
it from what the upstream said; the mapping engine turns it into claims; front ends never
see upstream payloads and connectors never see OIDC or SAML.

Attribute *names* are ours (the vocabulary below, :class:`Attr`); attribute *values* are
kept as the upstream sent them, parsed from JSON but not reformatted, so that every
transform and validator lives in one place, the mapping engine.

Imports nothing of ours.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Attr(StrEnum):
    """Internal attribute vocabulary shared by connectors and mapping profiles.

    Values are as the upstream sends them; for iAM Smart (``domain-facts.md`` §1.6):
    """

    HKID = "hkid"  # {"Identification": "A123456", "CheckDigit": "3"}
    NAME_EN = "name_en"  # {"UnstructuredName": "CHAN, Tai Man"}
    NAME_ZH = "name_zh"  # {"ChineseName": "陳大文"}
    NAME_ZH_VERIFIED = "name_zh_verified"  # "Y" | "N" (as the public clients read it)
    BIRTH_DATE = "birth_date"  # "YYYYMMDD"
    GENDER = "gender"  # "M" | "F"
    MARITAL_STATUS = "marital_status"  # one character
    PREFIX = "prefix"  # "Mr", "Ms", ...
    EMAIL = "email"  # "a@example.hk"
    MOBILE_PHONE = "mobile_phone"  # {"CountryCode", "NationalDestinationCode", "SubscriberNumber"}
    HOME_PHONE = "home_phone"  # same shape
    OFFICE_PHONE = "office_phone"  # same shape
    # {"ChiPremisesAddress" | "EngPremisesAddress" | "FreeFormatAddress": {...}}
    RESIDENTIAL_ADDRESS = "residential_address"
    POSTAL_ADDRESS = "postal_address"  # same, plus "PostBoxAddress"
    EDUCATION_LEVEL = "education_level"
    EMPLOYMENT_STATUS = "employment_status"
    HOME_RETURN_PERMIT = "home_return_permit"  # "H12345678" (supplied by the person, not iAM Smart)
    RESIDENCE_PERMIT = "residence_permit"  # "810000199408230021" (supplied by the person)


class Assurance(StrEnum):
    """How strongly the upstream verified the person (iAM Smart ``userType``)."""

    IAMSMART = "iamsmart"  # userType "default": iAM Smart
    IAMSMART_PLUS = "iamsmart_plus"  # userType "sign": iAM Smart+ (digital signing capable)


@dataclass(frozen=True, slots=True)
class IdentityRecord:
    """Who the upstream says the person is, and what it told us about them."""

    upstream: str
    """Connector id, e.g. ``"iamsmart"``."""
    subject: str
    """The upstream's subject for this bridge (iAM Smart ``openID``, pairwise per client)."""
    assurance: Assurance
    authenticated_at: int
    """Epoch seconds of the upstream authentication."""
    attributes: Mapping[str, Any] = field(default_factory=dict)
    """Internal attribute name (:class:`Attr`) → value as the upstream sent it."""
    attributes_version: str | None = None
    """Upstream's marker of when the verified attributes last changed (``lastModifiedDate``)."""
    connector_data: str = ""
    """Opaque to everything but the connector (e.g. an access token for a later fetch)."""

    def with_attributes(self, extra: Mapping[str, Any]) -> IdentityRecord:
        """Return a copy with ``extra`` merged over the current attributes."""
        merged = {**self.attributes, **extra}
        return IdentityRecord(
            upstream=self.upstream,
            subject=self.subject,
            assurance=self.assurance,
            authenticated_at=self.authenticated_at,
            attributes=merged,
            attributes_version=self.attributes_version,
            connector_data=self.connector_data,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form for the journey record."""
        return {
            "upstream": self.upstream,
            "subject": self.subject,
            "assurance": self.assurance.value,
            "authenticated_at": self.authenticated_at,
            "attributes": dict(self.attributes),
            "attributes_version": self.attributes_version,
            "connector_data": self.connector_data,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IdentityRecord:
        """Inverse of :meth:`to_dict`."""
        return cls(
            upstream=str(data["upstream"]),
            subject=str(data["subject"]),
            assurance=Assurance(data["assurance"]),
            authenticated_at=int(data["authenticated_at"]),
            attributes=dict(data.get("attributes") or {}),
            attributes_version=data.get("attributes_version"),
            connector_data=str(data.get("connector_data") or ""),
        )


def now() -> int:
    """Current epoch seconds (one place to read the clock)."""
    return int(time.time())
