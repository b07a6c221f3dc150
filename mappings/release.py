"""The result of applying a profile: what will be sent, and what the consent page shows.

:class:`Release` holds one :class:`ReleasedItem` per claim, and derives from them the ID
token claims, the UserInfo claims (OIDC Core §5.3.2, §5.4, §5.5) with ``verified_claims``
(OIDC4IDA §5) and, for SAML profiles, the ``Attribute`` list. :meth:`Release.without`
gives the release with optional items the person switched off on the consent page.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mappings.schema import SamlName


@dataclass(frozen=True, slots=True)
class ReleasedItem:
    """One claim to be released, for the token builders and the consent page."""

    claim: str
    """The item's key: the claim name, or ``verified_claims.<claim>`` for a verified claim."""
    value: Any
    """Exactly as it will be sent (a string, a bool or, for ``address``, an object)."""
    display: str
    """For the consent page: ID numbers masked, addresses as one line."""
    essential: bool
    labels: dict[str, str]
    """``{"zh-HK", "zh-CN", "en"}``."""
    display_labels: dict[str, str] | None
    """For coded values (``sex`` ``"1"``): the words to show, ``{"zh-HK", "zh-CN", "en"}``."""
    sources: tuple[str, ...]
    """Internal attribute names the value came from."""
    locations: tuple[str, ...]
    """``id_token`` and/or ``userinfo`` (OIDC), or ``assertion`` (SAML)."""
    verified: bool = False
    saml: SamlName | None = None
    scopes: tuple[str, ...] = ()
    """The profile's scopes that select this claim (for narrowing a refreshed token)."""
    sensitive: bool = False
    """Sensitive personal information (PIPL art. 28) as the profile marks it."""

    @property
    def name(self) -> str:
        """The claim name as sent (without the ``verified_claims.`` prefix)."""
        return self.claim.removeprefix("verified_claims.")


@dataclass(frozen=True)
class Release:
    """Everything one login would release to one client."""

    profile: str
    protocol: str
    subject: str
    items: list[ReleasedItem]
    dropped: list[str]
    """Names of upstream attributes that were present but not released."""
    missing: list[str] = field(default_factory=list)
    """Keys of items that were asked for but have no value (the upstream did not send it)."""
    verification: dict[str, Any] | None = None
    id_token_claims: dict[str, Any] = field(init=False)
    userinfo_claims: dict[str, Any] = field(init=False)
    saml_attributes: list[dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "id_token_claims", self._claims_for("id_token"))
        set_(self, "userinfo_claims", self._claims_for("userinfo"))
        set_(self, "saml_attributes", self._saml())

    def _claims_for(self, location: str) -> dict[str, Any]:
        if self.protocol != "oidc":
            return {}
        claims: dict[str, Any] = {"sub": self.subject}
        verified: dict[str, Any] = {}
        for item in self.items:
            if location in item.locations:
                (verified if item.verified else claims)[item.name] = item.value
        if verified and self.verification is not None:
            claims["verified_claims"] = {"verification": self.verification, "claims": verified}
        return claims

    def _saml(self) -> list[dict[str, Any]]:
        if self.protocol != "saml":
            return []
        return [
            {
                "name": item.saml.name,
                "name_format": item.saml.name_format,
                "friendly_name": item.name,
                "values": [item.value],
            }
            for item in self.items
            if item.saml is not None
        ]

    @property
    def claim_scopes(self) -> dict[str, tuple[str, ...]]:
        """Claim name (as sent) → the scopes that select it."""
        return {item.name: item.scopes for item in self.items}

    @property
    def optional_claims(self) -> list[str]:
        """Keys of the items the person may switch off."""
        return [item.claim for item in self.items if not item.essential]

    def without(self, claims: Iterable[str]) -> Release:
        """This release minus the optional items ``claims`` (keys as in :attr:`items`).

        ValueError if a key is unknown or names an essential item: the person cannot
        switch those off (declining the whole consent is the way to refuse them).
        """
        drop = set(claims)
        keys = {item.claim: item for item in self.items}
        unknown = sorted(drop - keys.keys())
        if unknown:
            raise ValueError(f"not in this release: {', '.join(unknown)}")
        essential = sorted(key for key in drop if keys[key].essential)
        if essential:
            raise ValueError(f"essential, cannot be switched off: {', '.join(essential)}")
        kept = [item for item in self.items if item.claim not in drop]
        return dataclasses.replace(self, items=kept)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form (the ``mappings preview`` output)."""
        return {
            "profile": self.profile,
            "protocol": self.protocol,
            "subject": self.subject,
            "id_token_claims": self.id_token_claims,
            "userinfo_claims": self.userinfo_claims,
            "saml_attributes": self.saml_attributes,
            "items": [
                {
                    "claim": item.claim,
                    "value": item.value,
                    "display": item.display,
                    "display_labels": item.display_labels,
                    "essential": item.essential,
                    "verified": item.verified,
                    "locations": list(item.locations),
                    "sources": list(item.sources),
                    "labels": item.labels,
                }
                for item in self.items
            ],
            "missing": self.missing,
            "dropped": self.dropped,
        }
