"""Load a profile file: parse (with lines), validate (pydantic), cross-check, compile.

Every problem becomes a :class:`mappings.errors.ProfileError` naming the file, the line
and the reason, so a bad profile stops the bridge at start-up rather than at a login.
Shipped profiles (``mappings/profiles/<name>.yaml``) load by name and are cached.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mappings.errors import ProfileError
from mappings.profile import CompiledClaim, CompiledSource, Profile, UserSuppliedField
from mappings.request import EffectivePolicy
from mappings.schema import (
    KNOWN_ATTRIBUTES,
    ClientPolicySpec,
    PolicySpec,
    ProfileSpec,
    SourceSpec,
    UserSuppliedSpec,
    parse_transform_ref,
)
from mappings.source import LocatedYaml, load_located
from mappings.transforms import Step, compile_step
from mappings.validators import VALIDATORS, Validator

PROFILES_DIR = Path(__file__).parent / "profiles"


def shipped_profiles() -> list[str]:
    """Names of the profiles shipped in ``mappings/profiles/``."""
    return sorted(path.stem for path in PROFILES_DIR.glob("*.yaml"))


def load_profile(name_or_path: str | Path) -> Profile:
    """A shipped profile by name (``"guangdong-tyrz"``) or a profile file by path."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or text.endswith((".yaml", ".yml")) or "/" in text:
        return load_profile_file(Path(name_or_path))
    if text not in shipped_profiles():
        shipped = ", ".join(shipped_profiles())
        raise ProfileError(text, None, f"no shipped profile of that name (shipped: {shipped})")
    return _load_shipped(text)


@cache
def _load_shipped(name: str) -> Profile:
    return load_profile_file(PROFILES_DIR / f"{name}.yaml")


def load_profile_file(path: Path) -> Profile:
    """Parse, validate and compile the profile at ``path``."""
    located = load_located(path)
    if not isinstance(located.data, dict):
        raise ProfileError(path, 1, "a profile is a mapping with at least name, protocol, claims")
    try:
        spec = ProfileSpec.model_validate(located.data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        where = ".".join(str(part) for part in loc if isinstance(part, str | int))
        reason = first["msg"].removeprefix("Value error, ")
        raise located.error(loc, f"{where}: {reason}" if where else reason) from None
    _cross_check(spec, located)
    return _compile(spec, str(path))


def _cross_check(spec: ProfileSpec, located: LocatedYaml) -> None:
    claims = set(spec.claims)
    policies: list[tuple[tuple[Any, ...], PolicySpec | ClientPolicySpec]] = [
        (("policy",), spec.policy)
    ]
    policies += [(("clients", cid), pol) for cid, pol in spec.clients.items()]
    for loc, policy in policies:
        for field in ("essential", "allowed_claims"):
            for index, name in enumerate(getattr(policy, field) or []):
                if name not in claims:
                    raise located.error((*loc, field, index), f"{field}: no claim named {name!r}")
        if policy.verified_claims and spec.verification is None:
            raise located.error(
                (*loc, "verified_claims"), "verified_claims needs a verification section"
            )
    for name in spec.user_supplied:
        if name not in KNOWN_ATTRIBUTES:
            raise located.error(("user_supplied", name), f"unknown attribute {name!r}")
    for name, claim in spec.claims.items():
        loc = ("claims", name)
        if spec.protocol == "saml" and claim.saml is None:
            raise located.error(loc, f"claim {name!r} of a SAML profile needs saml.name")
        if claim.verifiable and spec.verification is None:
            raise located.error(
                (*loc, "verifiable"), "verifiable claims need a verification section"
            )
        if claim.verifiable_if is not None and claim.verifiable_if not in KNOWN_ATTRIBUTES:
            raise located.error(
                (*loc, "verifiable_if"), f"unknown attribute {claim.verifiable_if!r}"
            )
        _check_tables(claim, loc, spec, located)


def _check_tables(
    source: SourceSpec, loc: tuple[Any, ...], spec: ProfileSpec, located: LocatedYaml
) -> None:
    for index, item in enumerate(source.transform):
        _, args = parse_transform_ref(item)
        table = args.get("table")
        if table is not None and table not in spec.code_tables:
            raise located.error((*loc, "transform", index), f"no code table named {table!r}")
    if source.otherwise is not None:
        _check_tables(source.otherwise, (*loc, "otherwise"), spec, located)


def _steps(transforms: list[Any]) -> tuple[Step, ...]:
    return tuple(compile_step(*parse_transform_ref(item)) for item in transforms)


def _checks(names: list[str]) -> tuple[Validator, ...]:
    return tuple(VALIDATORS[name] for name in names)


def _source(spec: SourceSpec) -> CompiledSource:
    otherwise = _source(spec.otherwise) if spec.otherwise is not None else None
    return CompiledSource(spec.from_, _steps(spec.transform), _checks(spec.checks), otherwise)


def _user_field(name: str, spec: UserSuppliedSpec) -> UserSuppliedField:
    return UserSuppliedField(
        attribute=name,
        claims=(),
        essential=False,
        validators=tuple(spec.checks),
        labels=spec.labels.as_dict(),
        hint=spec.hint.as_dict() if spec.hint else None,
        steps=_steps(spec.transform),
        checks=_checks(spec.checks),
    )


def _policy(default: PolicySpec, override: ClientPolicySpec | None = None) -> EffectivePolicy:
    def pick(field: str) -> Any:
        value = getattr(override, field, None) if override is not None else None
        return getattr(default, field) if value is None else value

    allowed = pick("allowed_claims")
    return EffectivePolicy(
        scope_claims_in=tuple(pick("scope_claims_in")),
        essential=frozenset(pick("essential")),
        allowed_claims=frozenset(allowed) if allowed is not None else None,
        verified_claims=bool(pick("verified_claims")),
    )


def _compile(spec: ProfileSpec, path: str) -> Profile:
    claims = {
        name: CompiledClaim(
            name=name,
            source=_source(claim),
            scopes=frozenset(claim.scopes),
            labels=claim.labels.as_dict(),
            masked=claim.display == "masked",
            display_values={k: v.as_dict() for k, v in claim.display_values.items()},
            verifiable=claim.verifiable,
            verifiable_if=claim.verifiable_if,
            saml=claim.saml,
            sensitive=claim.sensitive,
        )
        for name, claim in spec.claims.items()
    }
    return Profile(
        name=spec.name,
        protocol=spec.protocol,
        description=spec.description,
        claims=claims,
        user_fields={name: _user_field(name, f) for name, f in spec.user_supplied.items()},
        policy=_policy(spec.policy),
        client_policies={cid: _policy(spec.policy, pol) for cid, pol in spec.clients.items()},
        code_tables={name: dict(table) for name, table in spec.code_tables.items()},
        verification=spec.verification,
        path=path,
    )
