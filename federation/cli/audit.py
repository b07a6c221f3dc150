"""``idbridge audit verify|export``: check the consent audit chain, archive it.

``verify`` walks the whole chain (``consent.audit_verify``), checks every checkpoint's
SM2SM3 signature against the published keys and names the first bad entry; it exits 0
when the chain is intact, 1 when it is not, 2 on a usage error, and records the result
(``Keys.AUDIT_VERIFIED``) for the bridge's ``/metrics`` unless ``--no-record``. ``export``
writes every entry as one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from consent.audit_verify import ChainReport, export_chain, verify_chain
from consent.signing import JwksVerifier, JwsVerifier
from federation.storage.client import connect
from federation.storage.keys import Keys

_REDIS_URL = click.option(
    "--redis-url",
    envvar="IDBRIDGE_REDIS_URL",
    required=True,
    help="Redis holding the chain (default: $IDBRIDGE_REDIS_URL).",
)


def _verifier(jwks: Path | None, keys: tuple[Path, ...], skip: bool) -> JwsVerifier | None:
    if skip:
        return None
    if jwks is not None:
        try:
            return JwksVerifier(json.loads(jwks.read_text()))
        except (OSError, ValueError) as exc:
            raise click.UsageError(f"cannot read JWKS {jwks}: {exc}") from exc
    if keys:
        from federation.crypto.keyset import KeySet

        try:
            return JwksVerifier(KeySet.from_pem_files(keys).public_jwks())
        except (OSError, ValueError) as exc:
            raise click.UsageError(f"cannot read keys: {exc}") from exc
    raise click.UsageError(
        "give --jwks FILE (the published JWKS) or --key PEM to check checkpoint signatures, "
        "or --skip-signatures"
    )


async def _verify(url: str, verifier: JwsVerifier | None) -> ChainReport:
    redis = connect(url)
    try:
        return await verify_chain(redis, verifier)
    finally:
        await redis.aclose()


async def _record(url: str, ok: bool, seq: int) -> None:
    """The result, for the bridge's ``/metrics`` (idbridge_audit_verify_ok, _timestamp)."""
    redis = connect(url)
    try:
        status = {"ok": int(ok), "ts": int(time.time()), "seq": seq}
        await redis.hset(Keys.AUDIT_VERIFIED, mapping=status)
    finally:
        await redis.aclose()


@click.group()
def audit() -> None:
    """Verify or export the consent audit chain."""


@audit.command()
@_REDIS_URL
@click.option("--jwks", type=click.Path(path_type=Path, dir_okay=False), help="Published JWKS.")
@click.option(
    "--key",
    "keys",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="PEM signing key(s) instead of a JWKS (repeatable).",
)
@click.option("--skip-signatures", is_flag=True, help="Check hashes only, not checkpoints.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--shards",
    envvar="IDBRIDGE_AUDIT_LOG_SHARDS",
    type=int,
    default=0,
    help="With the transparency log on (> 0), also check it (as verify-log does).",
)
@click.option(
    "--heads",
    "heads_file",
    envvar="IDBRIDGE_AUDIT_HEADS_FILE",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The log's signed tree heads file (default: $IDBRIDGE_AUDIT_HEADS_FILE).",
)
@click.option(
    "--record/--no-record",
    default=True,
    show_default=True,
    help="Record the result in Redis for the bridge's /metrics (audit gauges).",
)
def verify(
    redis_url: str,
    jwks: Path | None,
    keys: tuple[Path, ...],
    skip_signatures: bool,
    as_json: bool,
    shards: int,
    heads_file: Path | None,
    record: bool,
) -> None:
    """Check every entry and checkpoint; name the first bad entry (exit 1). With the
    transparency log configured, check it against the external tree heads too."""
    verifier = _verifier(jwks, keys, skip_signatures)
    if shards > 0 and (heads_file is None or verifier is None):
        raise click.UsageError("checking the log needs --heads and a key (--jwks or --key)")
    report = asyncio.run(_verify(redis_url, verifier))
    if as_json:
        click.echo(json.dumps(report.as_dict(), sort_keys=True))
    elif report.ok:
        signed = "checkpoints verified" if report.signatures_checked else "signatures NOT checked"
        click.echo(
            f"audit chain OK: {report.entries} entries, {report.checkpoints} checkpoints "
            f"({signed}), last seq {report.last_seq}, last checkpoint {report.last_checkpoint_seq}"
        )
    else:
        assert report.problem is not None
        click.echo(f"audit chain BROKEN at {report.problem.describe()}", err=True)
    ok = report.ok
    if shards > 0 and heads_file is not None and verifier is not None:
        import os

        from federation.cli.audit_log import run_verify_log

        every = int(os.environ.get("IDBRIDGE_AUDIT_HEAD_EVERY", "100"))
        seconds = float(os.environ.get("IDBRIDGE_AUDIT_HEAD_SECONDS", "300"))
        log_ok = run_verify_log(redis_url, shards, heads_file, verifier, every, seconds)
        ok = ok and log_ok
    if record:
        asyncio.run(_record(redis_url, ok, report.last_seq))
    sys.exit(0 if ok else 1)


async def _export(url: str, out: Any) -> int:
    redis = connect(url)
    try:
        return await export_chain(redis, out)
    finally:
        await redis.aclose()


@audit.command()
@_REDIS_URL
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), help="File (default: stdout)."
)
def export(redis_url: str, out: Path | None) -> None:
    """Write every entry as JSON lines, for archival."""
    if out is None:
        count = asyncio.run(_export(redis_url, sys.stdout))
    else:
        with out.open("w", encoding="utf-8") as handle:
            count = asyncio.run(_export(redis_url, handle))
    click.echo(f"exported {count} entries", err=True)


# The transparency log's commands (verify-log, prove, consistency, witness) join the group.
from federation.cli import audit_log as _audit_log  # noqa: E402

__all__ = ["_audit_log", "audit"]
