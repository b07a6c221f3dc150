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
from consent.notice import DataUser, RecipientContact
from consent.records import Localized, Purpose
from federation.crypto.sm3 import sm3
from federation.journey.context import NoticeTexts
from federation.oidc.clients import Client
from federation.pages import ConsentAttribute, OperatorView, RelyingPartyView, SuppliedField
from mappings import Release, ReleasedItem, UserSuppliedField
from mappings.transforms.chinese import converter

PURPOSE_ID = "service"
"""The one purpose a client registers (``Client.purposes``)."""
PERMIT_PATTERN = r"[HMhm]\s*[0-9]{4}\s*[0-9]{4}([0-9]{2})?"


def texts(value: object) -> dict[str, str]:
    """``{"zh-HK", "zh-CN", "en"}`` of a client ``Texts`` or a consent ``Localized``."""
    return value.model_dump(by_alias=True)  # type: ignore[attr-defined]


def contact_of(client: Client) -> str:
    """The RP's contact as shown and recorded (PIPL art. 39)."""
    return ", ".join(client.contacts) or client.client_id


NOTICE_FIELDS = frozenset(
    {
        "client_name",
        "purposes",
        "processing_method",
        "retention",
        "rights_procedure",
        "contacts",
        "contact_address",
        "contact_phone",
    }
)
"""The client metadata the notice shows (the notice version is a digest over them)."""


def recipient_of(client: Client) -> RecipientContact:
    """The RP's contact method in full (PIPL art. 39)."""
    address = client.contact_address
    return RecipientContact(
        emails=tuple(client.contacts),
        address=Localized.model_validate(texts(address)) if address else None,
        phone=client.contact_phone or "",
    )


def notice_for(
    client: Client, notice: NoticeTexts, operator: DataUser | None = None
) -> ConsentNotice:
    """The one notice model for ``client``: the page, the record, the receipt and
    ``/consents`` are built from it. Its version changes with any text shown."""
    operator = operator or DataUser.unconfigured()
    shown = {
        "client": client.model_dump(mode="json", by_alias=True, include=NOTICE_FIELDS),
        "operator": operator.model_dump(mode="json", by_alias=True),
        "standard": notice.version,
    }
    version = f"{notice.version}.{sm3(json.dumps(shown, sort_keys=True).encode()).hex()[:12]}"
    return ConsentNotice(
        client_id=client.client_id,
        client_name=Localized.model_validate(texts(client.client_name)),
        contact=contact_of(client),
        recipient=recipient_of(client),
        operator=operator,
        purposes=[
            Purpose(id=PURPOSE_ID, description=Localized.model_validate(texts(client.purposes)))
        ],
        processing_method=Localized.model_validate(texts(client.processing_method)),
        retention=Localized.model_validate(texts(client.retention)),
        rights=Localized.model_validate(texts(client.rights_procedure)),
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
            sensitive=item.sensitive,
        )
        for item in release.items
    ]


LOCALE_LANG = {"zh-HK": "zh-Hant", "zh-CN": "zh-Hans", "en": "en"}
"""The script subtag of each page language, for a value shown in it."""


def value_lang(text: str) -> str:
    """The BCP 47 language of a value (WCAG 3.1.2): ``en`` without Han characters, else
    ``zh-Hans`` when the text is simplified (OpenCC changes it back to traditional and not
    to simplified), else ``zh-Hant``."""
    if not any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text):
        return "en"
    simplified = converter("hk2s").convert(text) == text
    if simplified and converter("s2hk").convert(text) != text:
        return "zh-Hans"
    return "zh-Hant"


def attribute_view(item: ReleasedItem, locale: str, kept: frozenset[str]) -> ConsentAttribute:
    """One row of the consent page: coded values as words in the page's language (the code
    stays as a hint), each value with its own ``lang``."""
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
        sensitive=item.sensitive,
        value_lang=value_lang(str(value)),
        shown_lang=LOCALE_LANG.get(locale, "en"),
    )


def supplied_view(
    field: UserSuppliedField,
    typed: Mapping[str, str],
    invalid: frozenset[str],
    sensitive: frozenset[str] = frozenset(),
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
        sensitive=field.attribute in sensitive,
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
        address=texts(client.contact_address) if client.contact_address else None,
        phone=client.contact_phone or "",
    )


def operator_view(operator: DataUser) -> OperatorView:
    """The bridge operator as the page names it (the same model the record keeps)."""
    return OperatorView(
        name=operator.name.as_dict(),
        address=operator.address.as_dict(),
        privacy_officer=operator.privacy_officer,
        access_requests=operator.access_requests.as_dict(),
        phone=operator.phone,
    )
