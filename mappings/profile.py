"""A loaded, compiled profile and the three questions the journey asks it.

- :meth:`Profile.required_attributes`: what must the upstream be asked for?
- :meth:`Profile.user_supplied`: what must the person type in (iAM Smart does not hold it)?
- :meth:`Profile.release`: what exactly is sent, to whom, with which labels?

Profiles are immutable after loading; transforms are bound once (:mod:`mappings.loader`),
so a release is a walk over a few small functions (see ``bench/mapping.py``).
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from federation.identity import Attr, IdentityRecord
from mappings.errors import MappingError, ValueFormatError
from mappings.release import Release, ReleasedItem
from mappings.request import EffectivePolicy, ReleaseRequest, Wanted, resolve
from mappings.schema import SamlName, VerificationSpec
from mappings.subjects import pairwise_subject, public_subject
from mappings.transforms import Context, Step
from mappings.transforms.identifiers import mask_id
from mappings.validators import Validator

log = logging.getLogger("idbridge.mappings")

_WANTED_CACHE_SIZE = 1024
HONG_KONG_TIME = timezone(timedelta(hours=8))
_ABSENT: tuple[Any, ...] = (None, "", {}, [])


@dataclass(frozen=True, slots=True)
class CompiledSource:
    """A source attribute with its bound transforms and validators, and a fallback."""

    attribute: str
    steps: tuple[Step, ...]
    checks: tuple[Validator, ...]
    otherwise: CompiledSource | None = None

    def attributes(self) -> Iterator[str]:
        """This source's attribute and those of its fallbacks."""
        source: CompiledSource | None = self
        while source is not None:
            yield source.attribute
            source = source.otherwise


@dataclass(frozen=True, slots=True)
class CompiledClaim:
    """A claim of the profile, ready to evaluate."""

    name: str
    source: CompiledSource
    scopes: frozenset[str]
    labels: dict[str, str]
    masked: bool
    display_values: dict[str, dict[str, str]]
    verifiable: bool
    verifiable_if: str | None
    saml: SamlName | None
    sensitive: bool = False
    """Sensitive personal information (PIPL art. 28)."""


@dataclass(frozen=True, slots=True)
class UserSuppliedField:
    """An attribute the consent page must ask the person for (e.g. the Home Return Permit)."""

    attribute: str
    claims: tuple[str, ...]
    """The claims that need it."""
    essential: bool
    validators: tuple[str, ...]
    labels: dict[str, str]
    hint: dict[str, str] | None
    steps: tuple[Step, ...]
    checks: tuple[Validator, ...]

    def validate(self, value: Any) -> str:
        """The value normalised (e.g. upper-cased) and checked; MappingError if invalid."""
        ctx = Context(today=date.today(), source=self.attribute)
        try:
            for step in self.steps:
                value = step(value, ctx)
            for check in self.checks:
                check(value)
        except ValueFormatError as exc:
            raise MappingError(self.attribute, exc.reason) from None
        return value


def _evaluate(
    claim: str, source: CompiledSource, attributes: Mapping[str, Any], ctx: Context
) -> tuple[Any, str | None]:
    """(value, attribute used) for one claim; (None, None) when nothing is there."""
    current: CompiledSource | None = source
    while current is not None:
        value = attributes.get(current.attribute)
        if value not in _ABSENT:
            break
        current = current.otherwise
    if current is None:
        return None, None
    ctx.source = current.attribute
    try:
        for step in current.steps:
            value = step(value, ctx)
            if value is None:
                return None, None
        for check in current.checks:
            check(value)
    except ValueFormatError as exc:
        raise MappingError(current.attribute, exc.reason, claim=claim) from None
    return value, current.attribute


def _display(value: Any, masked: bool) -> str:
    if masked:
        return mask_id(str(value))
    if isinstance(value, dict):
        return str(value.get("formatted", ""))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().upper() == "Y")


class Profile:
    """A mapping profile: claims, user-supplied fields, release policy, verification."""

    def __init__(
        self,
        *,
        name: str,
        protocol: str,
        description: str,
        claims: dict[str, CompiledClaim],
        user_fields: dict[str, UserSuppliedField],
        policy: EffectivePolicy,
        client_policies: dict[str, EffectivePolicy],
        code_tables: dict[str, dict[str, str]],
        verification: VerificationSpec | None,
        path: str,
    ) -> None:
        self.name = name
        self.protocol = protocol
        self.description = description
        self.claims = claims
        self.path = path
        self._user_fields = user_fields
        self._policy = policy
        self._client_policies = client_policies
        self._code_tables = code_tables
        self._verification = verification
        self._scopes = {n: c.scopes for n, c in claims.items()}
        self._verifiable = frozenset(n for n, c in claims.items() if c.verifiable)
        self._wanted_cache: dict[tuple[Any, ...], list[Wanted]] = {}
        self._aliases: dict[str, str] = {}
        for claim_name, claim in claims.items():
            if claim.saml is not None:
                self._aliases[claim.saml.name] = claim_name
                self._aliases[claim.saml.name.rsplit("/", 1)[-1]] = claim_name

    def __repr__(self) -> str:
        return f"<Profile {self.name} ({self.protocol}, {len(self.claims)} claims)>"

    @property
    def scopes(self) -> list[str]:
        """Every scope that selects at least one claim of this profile."""
        return sorted({scope for claim in self.claims.values() for scope in claim.scopes})

    def policy_for(self, client_id: str) -> EffectivePolicy:
        """The default policy with this client's overrides applied."""
        return self._client_policies.get(client_id, self._policy)

    def wanted(self, request: ReleaseRequest) -> list[Wanted]:
        """The claims ``request`` asks for that this client may receive (memoised)."""
        claims = request.claims_request
        key = (
            request.client_id,
            tuple(request.scopes),
            json.dumps(claims, sort_keys=True, default=str) if claims else None,
        )
        found = self._wanted_cache.get(key)
        if found is None:
            found = resolve(
                self._scopes,
                self.policy_for(request.client_id),
                request,
                saml=self.protocol == "saml",
                verifiable=self._verifiable,
                aliases=self._aliases,
            )
            if len(self._wanted_cache) >= _WANTED_CACHE_SIZE:
                self._wanted_cache.clear()
            self._wanted_cache[key] = found
        return list(found)

    def required_attributes(self, request: ReleaseRequest) -> set[Attr]:
        """Upstream attributes needed for ``request`` (user-supplied ones excluded)."""
        needed: set[Attr] = set()
        for wanted in self.wanted(request):
            claim = self.claims[wanted.claim]
            names = list(claim.source.attributes())
            if wanted.verified and claim.verifiable_if:
                names.append(claim.verifiable_if)
            needed.update(
                Attr(name)
                for name in names
                if not name.startswith("@") and name not in self._user_fields
            )
        return needed

    def user_supplied(self, request: ReleaseRequest) -> list[UserSuppliedField]:
        """Fields the consent page must ask for, each with the claims that need it."""
        needs: dict[str, tuple[list[str], bool]] = {}
        for wanted in self.wanted(request):
            for name in self.claims[wanted.claim].source.attributes():
                if name in self._user_fields:
                    claims, essential = needs.get(name, ([], False))
                    claims.append(wanted.key)
                    needs[name] = (claims, essential or wanted.essential)
        return [
            _with_need(self._user_fields[name], claims, essential)
            for name, (claims, essential) in needs.items()
        ]

    def sensitive_fields(self, fields: list[UserSuppliedField]) -> frozenset[str]:
        """The typed-in attributes that feed a sensitive claim (PIPL art. 28)."""
        return frozenset(
            f.attribute
            for f in fields
            if any(
                self.claims[c.split(".")[-1]].sensitive
                for c in f.claims
                if c.split(".")[-1] in self.claims
            )
        )

    def subject_for(self, identity: IdentityRecord, request: ReleaseRequest, salt: bytes) -> str:
        """The ``sub`` this client gets for this person (:mod:`mappings.subjects`)."""
        if request.subject_type == "public":
            return public_subject(salt, identity.upstream, identity.subject)
        return pairwise_subject(
            salt, request.sector_identifier, identity.upstream, identity.subject
        )

    def release(
        self,
        identity: IdentityRecord,
        request: ReleaseRequest,
        *,
        salt: bytes,
        supplied: Mapping[str, Any] | None = None,
        today: date | None = None,
    ) -> Release:
        """Map ``identity`` for ``request``; MappingError if a value fails its checks.

        ``supplied`` holds what the person typed on the consent page (attribute → value);
        each is normalised and validated by its field. ``today`` (Hong Kong date) is the
        clock for ``age_over`` claims.
        """
        attributes = dict(identity.attributes)
        for name, value in (supplied or {}).items():
            if name in self._user_fields and value not in _ABSENT:
                attributes[name] = self._user_fields[name].validate(value)
        subject = self.subject_for(identity, request, salt)
        attributes["@subject"] = subject
        attributes["@locale"] = request.locale
        attributes["@upstream"] = identity.upstream
        attributes["@assurance"] = identity.assurance.value
        ctx = Context(
            today=today or datetime.now(HONG_KONG_TIME).date(),
            subject=subject,
            code_tables=self._code_tables,
        )
        items, missing, used = self._items(self.wanted(request), attributes, ctx)
        dropped = sorted(name for name in identity.attributes if name not in used)
        if dropped:
            log.info(
                "attributes not released",
                extra={"fields": {"profile": self.name, "attribute_names": ",".join(dropped)}},
            )
        verification = None
        if any(item.verified for item in items) and self._verification is not None:
            verification = _verification(self._verification, identity)
        return Release(self.name, self.protocol, subject, items, dropped, missing, verification)

    def _items(
        self, wanted: list[Wanted], attributes: Mapping[str, Any], ctx: Context
    ) -> tuple[list[ReleasedItem], list[str], set[str]]:
        items: list[ReleasedItem] = []
        missing: list[str] = []
        used: set[str] = set()
        cache: dict[str, tuple[Any, str | None]] = {}
        for want in wanted:
            claim = self.claims[want.claim]
            if want.claim not in cache:
                cache[want.claim] = _evaluate(claim.name, claim.source, attributes, ctx)
            value, source = cache[want.claim]
            sources = (source,) if source else ()
            if want.verified and claim.verifiable_if:
                used.add(claim.verifiable_if)
                if not _is_true(attributes.get(claim.verifiable_if)):
                    value = None
                sources = (*sources, claim.verifiable_if)
            if value is None:
                missing.append(want.key)
                continue
            used.update(sources)
            display = _display(value, claim.masked)
            items.append(
                ReleasedItem(
                    claim=want.key,
                    value=value,
                    display=display,
                    display_labels=claim.display_values.get(display),
                    essential=want.essential,
                    labels=claim.labels,
                    sources=sources,
                    locations=want.locations,
                    verified=want.verified,
                    saml=claim.saml,
                    scopes=tuple(sorted(claim.scopes)),
                    sensitive=claim.sensitive,
                )
            )
        return items, missing, used


def _with_need(field: UserSuppliedField, claims: list[str], essential: bool) -> UserSuppliedField:
    return UserSuppliedField(
        attribute=field.attribute,
        claims=tuple(claims),
        essential=essential,
        validators=field.validators,
        labels=field.labels,
        hint=field.hint,
        steps=field.steps,
        checks=field.checks,
    )


def _verification(spec: VerificationSpec, identity: IdentityRecord) -> dict[str, Any]:
    """The ``verification`` element (OIDC4IDA §5.1) for this person's iAM Smart account."""
    verification: dict[str, Any] = {"trust_framework": spec.trust_framework}
    level = spec.assurance_levels.get(identity.assurance.value)
    if level:
        verification["assurance_level"] = level
    if spec.evidence:
        verification["evidence"] = copy.deepcopy(spec.evidence)
    return verification
