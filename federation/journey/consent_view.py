"""What the consent page shows, built from the client's registered metadata, the standard
notice texts and the mapping profile's release (PAGES.md "The consent page").

Plain functions from data to the page's view models and to the consent layer's
``ConsentNotice`` / ``ReleaseItem``: the page and the record say the same thing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from consent.capture import ConsentNotice, ReleaseItem
from consent.records import Localized, Purpose
from federation.crypto.sm3 import sm3
from federation.journey.context import NoticeTexts
from federation.oidc.clients import Client
from federation.pages import ConsentAttribute, RelyingPartyView, SuppliedField
from mappings import Release, ReleasedItem, UserSuppliedField

PURPOSE_ID = "service"
"""The one purpose a client registers (``Client.purposes``)."""
PERMIT_PATTERN = r"[HMhm]\s*[0-9]{4}\s*[0-9]{4}([0-9]{2})?"


def texts(value: object) -> dict[str, str]:
    """``{"zh-HK", "zh-CN", "en"}`` of a client ``Texts`` or a consent ``Localized``."""
    return value.model_dump(by_alias=True)  # type: ignore[attr-defined]


def contact_of(client: Client) -> str:
    """The RP's contact as shown and recorded (PIPL art. 39)."""
    return ", ".join(client.contacts) or client.client_id


def notice_for(client: Client, notice: NoticeTexts) -> ConsentNotice:
    """The notice the person sees for ``client``; its version changes with any text."""
    shown = {
        "client": client.model_dump(
            mode="json",
            by_alias=True,
            include={"client_name", "purposes", "processing_method", "contacts"},
        ),
        "standard": notice.version,
    }
    version = f"{notice.version}.{sm3(json.dumps(shown, sort_keys=True).encode()).hex()[:12]}"
    return ConsentNotice(
        client_id=client.client_id,
        client_name=Localized.model_validate(texts(client.client_name)),
        contact=contact_of(client),
        purposes=[
            Purpose(id=PURPOSE_ID, description=Localized.model_validate(texts(client.purposes)))
        ],
        processing_method=Localized.model_validate(texts(client.processing_method)),
        retention=notice.retention,
        rights=notice.rights,
        notice_version=version,
        remember_seconds=client.consent_remember_seconds,
    )


def supplied_attributes(fields: Iterable[UserSuppliedField]) -> frozenset[str]:
    """Attribute names the person types in."""
    return frozenset(f.attribute for f in fields)


def release_items(release: Release, supplied: frozenset[str]) -> list[ReleaseItem]:
    """The consent layer's items: every offered claim with the value as it will be sent."""
    return [
        ReleaseItem(
            name=item.claim,
            value=item.value,
            essential=item.essential,
            supplied_by_person=bool(supplied & set(item.sources)),
        )
        for item in release.items
    ]


def attribute_view(item: ReleasedItem, locale: str, kept: frozenset[str]) -> ConsentAttribute:
    """One row of the consent page."""
    masked = item.display != str(item.value) and isinstance(item.value, str)
    value = item.value if isinstance(item.value, str) else item.display
    shown = (item.display_labels or {}).get(locale)
    return ConsentAttribute(
        attribute=item.claim,
        value=value,
        essential=item.essential,
        claim=item.name,
        label=item.labels,
        shown_value=shown,
        masked=masked,
        selected=item.claim in kept,
    )


def supplied_view(
    field: UserSuppliedField, typed: Mapping[str, str], invalid: frozenset[str]
) -> SuppliedField:
    """One field the person types in, keeping what they typed on a re-render."""
    permit = "home_return_permit" in field.validators
    return SuppliedField(
        attribute=field.attribute,
        pattern=PERMIT_PATTERN if permit else None,
        value=typed.get(field.attribute, ""),
        invalid=field.attribute in invalid,
        required=field.essential,
        max_length=32 if permit else 64,
    )


def registered_hosts(client: Client) -> tuple[str, ...]:
    """The distinct hosts of the client's redirect URIs, in order, in ASCII (IDNA)."""
    hosts: list[str] = []
    for uri in client.redirect_uris:
        host = urlsplit(uri).hostname or ""
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            host = host.encode("ascii", "backslashreplace").decode("ascii")
        if host and host not in hosts:
            hosts.append(host)
    return tuple(hosts)


def relying_party_view(client: Client) -> RelyingPartyView:
    """Who asks: name, contact, registered host, and whether the operator vetted it (a
    self-registered client never counts as verified)."""
    logo = client.logo_uri if client.logo_uri and client.logo_uri.startswith("data:") else None
    return RelyingPartyView(
        name=texts(client.client_name),
        contact=contact_of(client),
        logo_url=logo,
        client_id=client.client_id,
        hosts=registered_hosts(client),
        self_registered=client.self_registered,
        verified=client.verified and not client.self_registered,
        shared_identifier=client.subject_type == "public",
    )
