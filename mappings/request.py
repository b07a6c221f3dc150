"""What a relying party asked for, and which claims that means under a profile's policy.

Implements the selection half of the release policy:

- scopes (OIDC Core §5.4): a claim is wanted when one of its ``scopes`` was granted; it goes
  where the client's policy says (``userinfo`` by default, as §5.4 specifies for the code
  flow) and is essential when the policy lists it;
- the ``claims`` request parameter (§5.5): claims named under ``id_token`` / ``userinfo``
  go there, essential when ``{"essential": true}``; names the profile does not know are
  ignored (§5.5: "Claims not understood MUST be ignored");
- ``verified_claims`` inside the ``claims`` parameter (OpenID Connect for Identity
  Assurance 1.0 §6): honoured when the client's policy allows it, for claims marked
  ``verifiable``;
- SAML profiles take requested attributes as ``{"attributes": {name: {"essential": bool}}}``
  (name = FriendlyName or Name URI), as eIDAS ``RequestedAttributes`` with ``isRequired``.

Nothing is wanted that was not asked for, and nothing outside the client's
``allowed_claims``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from federation import untrusted
from mappings.errors import ClaimsRequestError

SubjectType = Literal["pairwise", "public"]


@dataclass(frozen=True, slots=True)
class ReleaseRequest:
    """One authorization request, as the journey understood it."""

    client_id: str
    scopes: list[str]
    claims_request: dict[str, Any] | None = None
    """The parsed OIDC ``claims`` parameter (see :func:`parse_claims_request`)."""
    sector_identifier: str = ""
    """Host of the client's redirect URIs or ``sector_identifier_uri`` (pairwise only)."""
    subject_type: SubjectType = "pairwise"
    locale: str = "zh-HK"
    """The language the person uses (BCP 47), released as the ``locale`` claim if asked."""


@dataclass(frozen=True, slots=True)
class Wanted:
    """A claim to release: where it goes and whether the person may switch it off."""

    claim: str
    essential: bool
    locations: tuple[str, ...]
    verified: bool = False

    @property
    def key(self) -> str:
        """The item's name on the consent page: ``given_name`` or ``verified_claims.given_name``."""
        return f"verified_claims.{self.claim}" if self.verified else self.claim


@dataclass(slots=True)
class EffectivePolicy:
    """A client's policy after applying its overrides to the profile's default."""

    scope_claims_in: tuple[str, ...]
    essential: frozenset[str]
    allowed_claims: frozenset[str] | None
    verified_claims: bool


def parse_claims_request(raw: str | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Parse and check the ``claims`` parameter (OIDC Core §5.5); ClaimsRequestError if bad."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            raw = untrusted.loads(raw)
        except ValueError:
            raise ClaimsRequestError("the claims parameter is not JSON") from None
    if not isinstance(raw, Mapping):
        raise ClaimsRequestError("the claims parameter must be a JSON object")
    for member in ("id_token", "userinfo", "attributes"):
        requested = raw.get(member)
        if requested is None:
            continue
        if not isinstance(requested, Mapping):
            raise ClaimsRequestError(f"claims.{member} must be an object")
        for name, spec in requested.items():
            if name == "verified_claims" and member != "attributes":
                _check_verified(spec, member)
            elif spec is not None and not isinstance(spec, Mapping):
                raise ClaimsRequestError(f"claims.{member}.{name} must be null or an object")
            elif isinstance(spec, Mapping) and not isinstance(spec.get("essential", False), bool):
                raise ClaimsRequestError(f"claims.{member}.{name}.essential must be a boolean")
    return dict(raw)


def _check_verified(spec: Any, member: str) -> None:
    for entry in spec if isinstance(spec, list) else [spec]:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("claims"), Mapping):
            raise ClaimsRequestError(f"claims.{member}.verified_claims needs a claims object")


def _essential(spec: Any) -> bool:
    return isinstance(spec, Mapping) and spec.get("essential") is True


class _Collector:
    def __init__(self) -> None:
        self.found: dict[tuple[str, bool], tuple[bool, set[str]]] = {}

    def add(self, claim: str, verified: bool, essential: bool, locations: tuple[str, ...]) -> None:
        was_essential, where = self.found.get((claim, verified), (False, set()))
        self.found[(claim, verified)] = (was_essential or essential, where | set(locations))


def resolve(
    claims: Mapping[str, Any],
    policy: EffectivePolicy,
    request: ReleaseRequest,
    *,
    saml: bool,
    verifiable: frozenset[str],
    aliases: Mapping[str, str],
) -> list[Wanted]:
    """The claims to release for ``request``, in profile order, plain before verified.

    ``claims`` maps claim name → its scopes (a set); ``aliases`` maps SAML Name URIs to
    claim names.
    """
    allowed = policy.allowed_claims
    collector = _Collector()
    granted = set(request.scopes)
    scope_locations = ("assertion",) if saml else policy.scope_claims_in
    for name, scopes in claims.items():
        if granted & scopes and (allowed is None or name in allowed):
            collector.add(name, False, name in policy.essential, scope_locations)
    asked = request.claims_request or {}
    members = ("attributes",) if saml else ("id_token", "userinfo")
    for member in members:
        for key, spec in (asked.get(member) or {}).items():
            if key == "verified_claims" and not saml:
                if policy.verified_claims:
                    _add_verified(collector, spec, member, verifiable, allowed)
                continue
            name = aliases.get(key, key)
            if name in claims and (allowed is None or name in allowed):
                location = "assertion" if saml else member
                collector.add(name, False, _essential(spec), (location,))
    order = {name: index for index, name in enumerate(claims)}
    ordered = sorted(collector.found.items(), key=lambda kv: (kv[0][1], order[kv[0][0]]))
    return [
        Wanted(claim, essential, tuple(sorted(where)), verified)
        for (claim, verified), (essential, where) in ordered
    ]


def _add_verified(
    collector: _Collector,
    spec: Any,
    member: str,
    verifiable: frozenset[str],
    allowed: frozenset[str] | None,
) -> None:
    for entry in spec if isinstance(spec, list) else [spec]:
        for name, claim_spec in (entry.get("claims") or {}).items():
            if name in verifiable and (allowed is None or name in allowed):
                collector.add(name, True, _essential(claim_spec), (member,))
