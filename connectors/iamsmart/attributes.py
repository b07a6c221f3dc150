"""iAM Smart field names → the internal attribute vocabulary (:class:`federation.identity.Attr`).

Implements the name half of domain-facts §1.6: profile (``eidapi_profiles``) fields
``idNo``, ``enName``, ``chName``, ``chNameVerified``, ``birthDate``, ``gender`` and e-ME
(``eidapi_formFilling``) fields. Values are kept exactly as the API sent them (parsed JSON,
never reformatted): validation and conversion belong to the mapping engine. Fields we do not
know are dropped and their *names* logged (never values).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from federation.identity import Attr

log = logging.getLogger("idbridge.connectors.iamsmart")

Request = Literal["profile", "eme"]

IAMSMART_NAMES: dict[str, Attr] = {
    "idNo": Attr.HKID,
    "enName": Attr.NAME_EN,
    "chName": Attr.NAME_ZH,
    "chNameVerified": Attr.NAME_ZH_VERIFIED,
    "birthDate": Attr.BIRTH_DATE,
    "gender": Attr.GENDER,
    "maritalStatus": Attr.MARITAL_STATUS,
    "prefix": Attr.PREFIX,
    "emailAddress": Attr.EMAIL,
    "mobileNumber": Attr.MOBILE_PHONE,
    "homeTelNumber": Attr.HOME_PHONE,
    "officeTelNumber": Attr.OFFICE_PHONE,
    "residentialAddress": Attr.RESIDENTIAL_ADDRESS,
    "postalAddress": Attr.POSTAL_ADDRESS,
    "educationLevel": Attr.EDUCATION_LEVEL,
    "employmentStatus": Attr.EMPLOYMENT_STATUS,
}
"""iAM Smart result field name → internal attribute."""

PROFILE_FIELDS: tuple[str, ...] = ("idNo", "enName", "chName", "birthDate", "gender")
"""Fields that may be named in ``profileFields`` (``chNameVerified`` comes with ``chName``)."""

EME_FIELDS: tuple[str, ...] = (
    "idNo",
    "enName",
    "chName",
    "birthDate",
    "gender",
    "prefix",
    "maritalStatus",
    "emailAddress",
    "mobileNumber",
    "homeTelNumber",
    "officeTelNumber",
    "residentialAddress",
    "postalAddress",
    "educationLevel",
    "employmentStatus",
)
"""Fields that may be named in ``eMEFields``."""


@dataclass(frozen=True, slots=True)
class FieldSource:
    """Where an internal attribute comes from: which request, and which field to ask for."""

    request: Request
    field: str


IAMSMART_FIELDS_FOR: dict[Attr, FieldSource] = {
    Attr.HKID: FieldSource("profile", "idNo"),
    Attr.NAME_EN: FieldSource("profile", "enName"),
    Attr.NAME_ZH: FieldSource("profile", "chName"),
    Attr.NAME_ZH_VERIFIED: FieldSource("profile", "chName"),
    Attr.BIRTH_DATE: FieldSource("profile", "birthDate"),
    Attr.GENDER: FieldSource("profile", "gender"),
    Attr.MARITAL_STATUS: FieldSource("eme", "maritalStatus"),
    Attr.PREFIX: FieldSource("eme", "prefix"),
    Attr.EMAIL: FieldSource("eme", "emailAddress"),
    Attr.MOBILE_PHONE: FieldSource("eme", "mobileNumber"),
    Attr.HOME_PHONE: FieldSource("eme", "homeTelNumber"),
    Attr.OFFICE_PHONE: FieldSource("eme", "officeTelNumber"),
    Attr.RESIDENTIAL_ADDRESS: FieldSource("eme", "residentialAddress"),
    Attr.POSTAL_ADDRESS: FieldSource("eme", "postalAddress"),
    Attr.EDUCATION_LEVEL: FieldSource("eme", "educationLevel"),
    Attr.EMPLOYMENT_STATUS: FieldSource("eme", "employmentStatus"),
}
"""The preferred iAM Smart request and field for each internal attribute.

``Attr.HOME_RETURN_PERMIT`` is absent: iAM Smart does not hold it (the person supplies it).
The profile fields are also available through e-ME; :func:`plan_requests` moves them there
when the profile API is not available to the bridge (domain-facts §1.6: it may be reserved
for government bureaux).
"""


@dataclass(frozen=True, slots=True)
class RequestPlan:
    """The field lists to send: ``profileFields`` and ``eMEFields`` (either may be empty)."""

    profile_fields: tuple[str, ...]
    eme_fields: tuple[str, ...]
    unavailable: tuple[Attr, ...]
    """Requested attributes iAM Smart cannot supply at all."""


def plan_requests(wanted: Iterable[Attr | str], *, use_profile_api: bool = True) -> RequestPlan:
    """Which profile and e-ME fields to request to obtain ``wanted`` (order kept, no repeats)."""
    profile: list[str] = []
    eme: list[str] = []
    unavailable: list[Attr] = []
    for name in wanted:
        attr = Attr(name)
        source = IAMSMART_FIELDS_FOR.get(attr)
        if source is None:
            unavailable.append(attr)
            continue
        target = profile if source.request == "profile" and use_profile_api else eme
        if source.field not in target:
            target.append(source.field)
    return RequestPlan(tuple(profile), tuple(eme), tuple(unavailable))


def attributes_from_iamsmart(
    profile: Mapping[str, Any] | None, eme: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Internal attributes from a decrypted profile result and/or e-ME result.

    Values are returned as sent. Where both carry a field, the profile value wins (it is
    the verified one). ``None`` values and unknown fields are dropped; unknown field names
    are logged.
    """
    result: dict[str, Any] = {}
    unknown: set[str] = set()
    for source in (eme, profile):  # profile last: it overrides
        if not source:
            continue
        for field_name, value in source.items():
            attr = IAMSMART_NAMES.get(field_name)
            if attr is None:
                unknown.add(str(field_name))
            elif value is not None:
                result[attr.value] = value
    if unknown:
        log.info(
            "iAM Smart sent fields we do not map",
            extra={"fields": {"field_names": ",".join(sorted(unknown))}},
        )
    return result
