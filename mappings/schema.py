"""The profile file format, as pydantic models (validated when a profile loads).

See ``mappings/profiles/profile.yaml.example`` for every field with comments. Unknown
fields are errors (``extra="forbid"``); transform and validator names and transform
arguments are checked against the registries here; cross-references between sections
(policy → claims, code tables, user-supplied attributes) are checked by
:mod:`mappings.profile`, which knows the lines.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from federation.identity import Attr
from mappings.transforms import compile_step
from mappings.validators import VALIDATORS

PSEUDO_SOURCES = frozenset({"@subject", "@locale", "@upstream", "@assurance"})
"""Values that come from the release rather than the upstream attributes."""
KNOWN_ATTRIBUTES = frozenset(a.value for a in Attr)
SAML_URI_FORMAT = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Labels(_Strict):
    """The same text in the three languages of every page (PAGES.md)."""

    zh_HK: str = Field(alias="zh-HK", min_length=1)
    zh_CN: str = Field(alias="zh-CN", min_length=1)
    en: str = Field(min_length=1)

    def as_dict(self) -> dict[str, str]:
        """``{"zh-HK": …, "zh-CN": …, "en": …}``."""
        return {"zh-HK": self.zh_HK, "zh-CN": self.zh_CN, "en": self.en}


def parse_transform_ref(item: Any) -> tuple[str, dict[str, Any]]:
    """``"name"`` or ``{"name": {arg: value}}`` → ``(name, args)``; ValueError otherwise."""
    if isinstance(item, str):
        return item, {}
    if isinstance(item, dict) and len(item) == 1:
        ((name, args),) = item.items()
        if args is None:
            args = {}
        if isinstance(name, str) and isinstance(args, dict):
            return name, args
    raise ValueError("a transform is a name or a one-key mapping {name: {argument: value}}")


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str | dict) else value


class _Steps(_Strict):
    """Transforms then validators, applied in order."""

    transform: list[Any] = Field(default_factory=list)
    checks: list[str] = Field(default_factory=list, alias="validate")

    @field_validator("transform", mode="before")
    @classmethod
    def _transform_list(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("transform")
    @classmethod
    def _known_transforms(cls, value: list[Any]) -> list[Any]:
        for item in value:
            compile_step(*parse_transform_ref(item))
        return value

    @field_validator("checks", mode="before")
    @classmethod
    def _check_list(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("checks")
    @classmethod
    def _known_validators(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in VALIDATORS:
                known = ", ".join(sorted(VALIDATORS))
                raise ValueError(f"unknown validator {name!r} (known: {known})")
        return value


class SourceSpec(_Steps):
    """Where a value comes from and what is done to it."""

    from_: str = Field(alias="from")
    otherwise: SourceSpec | None = None
    """Used when ``from`` is absent (e.g. the English name when there is no Chinese name)."""

    @field_validator("from_")
    @classmethod
    def _known_source(cls, value: str) -> str:
        if value not in KNOWN_ATTRIBUTES | PSEUDO_SOURCES:
            known = ", ".join(sorted(KNOWN_ATTRIBUTES | PSEUDO_SOURCES))
            raise ValueError(f"unknown source attribute {value!r} (known: {known})")
        return value


class SamlName(_Strict):
    """The SAML ``Attribute`` ``Name`` (a URI) and its ``NameFormat``."""

    name: str = Field(min_length=1)
    name_format: str = SAML_URI_FORMAT


class ClaimSpec(SourceSpec):
    """One claim (OIDC) or attribute (SAML; the key is the FriendlyName)."""

    scopes: list[str] = Field(default_factory=list)
    labels: Labels
    display: Literal["value", "masked"] = "value"
    """``masked`` for ID numbers: the consent page shows ``A12****(*)``."""
    sensitive: bool = False
    """Sensitive personal information (PIPL art. 28: specific identity, e.g. ID numbers):
    the consent page shows the art. 30 notice and asks for its own tick (art. 29)."""
    display_values: dict[str, Labels] = Field(default_factory=dict)
    """Words for coded values on the consent page, e.g. ``"1": {zh-HK: 男, …}``."""
    verifiable: bool = False
    """May appear in ``verified_claims`` (OIDC4IDA): only for values iAM Smart verified."""
    verifiable_if: str | None = None
    """An attribute that must be true (``Y``) for the value to count as verified."""
    saml: SamlName | None = None

    @field_validator("scopes", mode="before")
    @classmethod
    def _scope_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class UserSuppliedSpec(_Steps):
    """An attribute iAM Smart does not hold, which the consent page asks the person for."""

    labels: Labels
    hint: Labels | None = None


Location = Literal["id_token", "userinfo"]


class ClientPolicySpec(_Strict):
    """Overrides of the default policy for one client; unset fields inherit it."""

    scope_claims_in: list[Location] | None = None
    essential: list[str] | None = None
    allowed_claims: list[str] | None = None
    verified_claims: bool | None = None


class PolicySpec(_Strict):
    """What a client may receive and how (the default for every client)."""

    scope_claims_in: list[Location] = Field(default_factory=lambda: ["userinfo"])
    """Where claims asked for by scope go (OIDC Core §5.4: the UserInfo response)."""
    essential: list[str] = Field(default_factory=list)
    """Claims that are essential when asked for by scope (the person cannot switch them off)."""
    allowed_claims: list[str] | None = None
    """Claims this client may ever receive; ``null`` = every claim of the profile."""
    verified_claims: bool = False
    """Whether ``verified_claims`` (OIDC4IDA) requests are honoured."""


class VerificationSpec(_Strict):
    """The ``verification`` element of ``verified_claims`` (OIDC4IDA §5.1)."""

    trust_framework: str = Field(min_length=1)
    evidence: list[dict[str, Any]] = Field(default_factory=list)
    assurance_levels: dict[str, str] = Field(default_factory=dict)
    """Upstream assurance (``iamsmart`` / ``iamsmart_plus``) → ``assurance_level``."""


class ProfileSpec(_Strict):
    """A whole profile file."""

    name: str = Field(min_length=1)
    protocol: Literal["oidc", "saml"]
    description: str = ""
    code_tables: dict[str, dict[str, str]] = Field(default_factory=dict)
    claims: dict[str, ClaimSpec]
    user_supplied: dict[str, UserSuppliedSpec] = Field(default_factory=dict)
    policy: PolicySpec = Field(default_factory=PolicySpec)
    clients: dict[str, ClientPolicySpec] = Field(default_factory=dict)
    verification: VerificationSpec | None = None
