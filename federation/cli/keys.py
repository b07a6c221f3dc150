"""``idbridge keys``: generate signing keys and print public JWKS (integrator tools)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from federation.crypto.keyset import KeySet, ManagedKey

ALGS = ("SM2SM3", "ES256", "RS256")


@click.group()
def keys() -> None:
    """Signing keys: generate PKCS#8 PEM files, print their public JWKS."""


@keys.command("generate")
@click.option("--alg", type=click.Choice(ALGS), default="SM2SM3", show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def generate(alg: str, out: Path, force: bool) -> None:
    """Write a new private key for ALG to OUT (unencrypted PKCS#8 PEM, mode 0600)."""
    if out.exists() and not force:
        raise click.ClickException(f"{out} exists (use --force to overwrite)")
    key = ManagedKey.generate(alg)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(out, flags, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.to_pem())
    os.chmod(out, 0o600)
    click.echo(f"{alg} key {key.kid} written to {out}")


@keys.command("jwks")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def jwks(files: tuple[str, ...]) -> None:
    """Print the public JWKS for the private key FILES."""
    try:
        keyset = KeySet.from_pem_files(files)
    except (ValueError, OSError) as exc:
        raise click.ClickException(f"cannot load keys: {exc}") from None
    click.echo(json.dumps(keyset.public_jwks(), indent=2))
