"""``idbridge mappings``: inspect mapping profiles without running the bridge.

``preview`` shows what a login would release (like Keycloak's client-scope evaluation):
give it what the iAM Smart sandbox returned, exactly as returned, and a profile. ``check``
validates profile files (file:line: reason on error). Top layer: may import connectors.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import click

from connectors.iamsmart.attributes import attributes_from_iamsmart
from federation.identity import Assurance, IdentityRecord
from federation.settings import get_settings
from mappings import (
    ClaimsRequestError,
    MappingError,
    ProfileError,
    ReleaseRequest,
    load_profile,
    parse_claims_request,
    shipped_profiles,
)

PREVIEW_SALT = b"idbridge-mappings-preview-salt!!"
"""Used when IDBRIDGE_PAIRWISE_SALT is unset: preview subjects are then illustrative only."""


def read_input(path: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(profile fields, e-ME fields, extras) from ``{"profile", "eme"}`` or a flat object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise click.ClickException(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise click.ClickException(f"{path}: expected a JSON object of iAM Smart fields")
    if "profile" in data or "eme" in data:
        profile, eme = data.get("profile") or {}, data.get("eme") or {}
        if not isinstance(profile, dict) or not isinstance(eme, dict):
            raise click.ClickException(f"{path}: 'profile' and 'eme' must be JSON objects")
        extras = {k: v for k, v in data.items() if k not in ("profile", "eme")}
        return profile, eme, extras
    extras = {k: data.pop(k) for k in ("openID", "userType") if k in data}
    return data, {}, extras


def _identity(path: Path) -> IdentityRecord:
    profile, eme, extras = read_input(path)
    attributes = attributes_from_iamsmart(profile, eme)
    if not attributes:
        raise click.ClickException(f"{path}: no iAM Smart fields found (e.g. idNo, enName)")
    plus = extras.get("userType") == "sign"
    return IdentityRecord(
        upstream="iamsmart",
        subject=str(extras.get("openID") or "preview-openid"),
        assurance=Assurance.IAMSMART_PLUS if plus else Assurance.IAMSMART,
        authenticated_at=0,
        attributes=attributes,
    )


def _supplied(pairs: tuple[str, ...]) -> dict[str, str]:
    supplied: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.ClickException(f"--supply takes ATTRIBUTE=VALUE, got {pair!r}")
        supplied[name] = value
    return supplied


def _salt() -> bytes:
    configured = get_settings().pairwise_salt
    return configured.get_secret_value().encode() if configured else PREVIEW_SALT


@click.group()
def mappings() -> None:
    """Inspect attribute mapping profiles."""


@mappings.command()
@click.option("--profile", "profile_name", required=True, help="Shipped name or path.")
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(path_type=Path),
    help='JSON: {"profile": {...}, "eme": {...}} or a flat object, as iAM Smart sent it.',
)
@click.option("--client", "client_id", default="preview", show_default=True, help="Client id.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    help="Granted scope (repeat, or space-separated). Default: every scope of the profile.",
)
@click.option("--claims", "claims_json", default=None, help="OIDC claims parameter (JSON).")
@click.option("--sector", default="preview.example", show_default=True, help="Sector identifier.")
@click.option(
    "--subject-type",
    type=click.Choice(["pairwise", "public"]),
    default="pairwise",
    show_default=True,
)
@click.option("--locale", default="zh-HK", show_default=True)
@click.option(
    "--supply",
    "supply",
    multiple=True,
    metavar="ATTRIBUTE=VALUE",
    help="A value the person would type on the consent page, e.g. home_return_permit=H12345678.",
)
@click.option(
    "--today",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Date for age_over claims (default: today in Hong Kong).",
)
def preview(
    profile_name: str,
    input_path: Path,
    client_id: str,
    scopes: tuple[str, ...],
    claims_json: str | None,
    sector: str,
    subject_type: str,
    locale: str,
    supply: tuple[str, ...],
    today: Any,
) -> None:
    """Print, as JSON, what a login would release to a client under a profile."""
    try:
        profile = load_profile(profile_name)
        granted = [s for item in scopes for s in item.split()] or ["openid", *profile.scopes]
        request = ReleaseRequest(
            client_id=client_id,
            scopes=granted,
            claims_request=parse_claims_request(claims_json),
            sector_identifier=sector,
            subject_type=subject_type,  # type: ignore[arg-type]
            locale=locale,
        )
        identity = _identity(input_path)
        day: date | None = today.date() if today is not None else None
        release = profile.release(
            identity, request, salt=_salt(), supplied=_supplied(supply), today=day
        )
    except ProfileError as exc:
        raise click.ClickException(str(exc)) from None
    except ClaimsRequestError as exc:
        raise click.ClickException(f"--claims: {exc}") from None
    except MappingError as exc:
        raise click.ClickException(f"cannot map: {exc} ({exc.message_key})") from None
    output = {
        "request": {"client_id": client_id, "scopes": granted, "claims": request.claims_request},
        "required_attributes": sorted(a.value for a in profile.required_attributes(request)),
        "user_supplied": [
            {
                "attribute": f.attribute,
                "claims": list(f.claims),
                "essential": f.essential,
                "validators": list(f.validators),
                "labels": f.labels,
            }
            for f in profile.user_supplied(request)
        ],
        **release.to_dict(),
    }
    click.echo(json.dumps(output, ensure_ascii=False, indent=2))


@mappings.command()
@click.argument("profiles", nargs=-1)
def check(profiles: tuple[str, ...]) -> None:
    """Validate profile files (or shipped names); all shipped profiles if none given."""
    names = profiles or tuple(shipped_profiles())
    for name in names:
        try:
            profile = load_profile(name)
        except ProfileError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"ok  {profile.name}  ({profile.protocol}, {len(profile.claims)} claims)")
