"""``idbridge jwt``: sign and verify compact JWS tokens by hand (integrator tools)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
import httpx2

from federation.crypto.jose import InvalidJWS, decode_jwt, encode_jwt, import_jwks
from federation.crypto.keyset import ManagedKey

DEFAULT_ALGS = ("SM2SM3", "ES256", "RS256")
DEFAULT_LIFETIME = 300
FETCH_TIMEOUT = 10.0


@click.group()
def jwt() -> None:
    """JWTs: sign claims with a PEM key, verify tokens against a JWKS."""


def _claims(raw: str | None, lifetime: int) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {"iat": now, "exp": now + lifetime}
    if raw:
        try:
            given = json.loads(raw)
        except ValueError as exc:
            raise click.ClickException(f"--claims is not JSON: {exc}") from None
        if not isinstance(given, dict):
            raise click.ClickException("--claims must be a JSON object")
        claims.update(given)
    return claims


@jwt.command("sign")
@click.option("--key", "key_file", type=click.Path(exists=True, dir_okay=False), required=True)
@click.option("--claims", help='JSON object, e.g. \'{"sub": "x"}\'; iat/exp are added.')
@click.option("--kid", help="Override the kid (default: RFC 7638 thumbprint).")
@click.option("--lifetime", type=click.IntRange(1), default=DEFAULT_LIFETIME, show_default=True)
def sign(key_file: str, claims: str | None, kid: str | None, lifetime: int) -> None:
    """Print a compact JWS of CLAIMS signed with the private key in KEY (alg from the key)."""
    try:
        key = ManagedKey.from_pem(Path(key_file).read_bytes())
    except ValueError as exc:
        raise click.ClickException(f"cannot load key: {exc}") from None
    if kid:
        key.kid = kid
    click.echo(encode_jwt(_claims(claims, lifetime), key))


def _load_jwks(source: str) -> dict[str, Any]:
    try:
        if source.startswith(("https://", "http://")):
            response = httpx2.get(source, timeout=FETCH_TIMEOUT, follow_redirects=False)
            response.raise_for_status()
            return response.json()
        return json.loads(Path(source).read_text(encoding="utf-8"))
    except (httpx2.HTTPError, OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read JWKS from {source}: {exc}") from None


@jwt.command("verify")
@click.option("--jwks", "jwks_source", required=True, help="JWKS file or http(s) URL.")
@click.option("--alg", "algs", multiple=True, help="Allowed alg (repeatable).")
@click.option("--no-exp", is_flag=True, help="Do not reject tokens past their exp.")
@click.argument("token")
def verify(jwks_source: str, algs: tuple[str, ...], no_exp: bool, token: str) -> None:
    """Verify TOKEN against the JWKS; print its header and claims as JSON."""
    try:
        keys = import_jwks(_load_jwks(jwks_source))
    except ValueError as exc:
        raise click.ClickException(f"invalid JWKS: {exc}") from None
    try:
        header, claims = decode_jwt(token.strip(), keys, algorithms=list(algs or DEFAULT_ALGS))
    except (InvalidJWS, ValueError) as exc:
        raise click.ClickException(f"invalid token: {exc}") from None
    exp = claims.get("exp")
    if not no_exp and exp is not None and (not isinstance(exp, int | float) or exp < time.time()):
        raise click.ClickException("invalid token: expired (exp is in the past)")
    click.echo(json.dumps({"header": header, "claims": claims}, indent=2, ensure_ascii=False))
