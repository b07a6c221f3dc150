"""``idbridge audit verify-log|prove|consistency|witness``: the consent transparency log.

``verify-log`` checks every shard against the signed tree heads in the heads file
(``consent.translog_verify``) and names the problem (exit 1); ``prove REF`` prints an
inclusion proof (RFC 9162 §2.1.3) of the entry ``<shard>/<stream id>`` (a receipt's
``audit_ref``) under the latest head; ``consistency`` a consistency proof between two
heads; ``witness`` runs the witness service (``consent.witness``) with uvicorn.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click

from consent.merkle import consistency_proof
from consent.signing import JwksVerifier, JwsVerifier, KeySetSigner
from consent.translog import TransparencyLog
from consent.translog_verify import verify_log
from consent.tree_heads import read_lines
from federation.cli.audit import _REDIS_URL, _verifier, audit
from federation.storage.client import connect

_HEADS = click.option(
    "--heads",
    "heads_file",
    envvar="IDBRIDGE_AUDIT_HEADS_FILE",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The signed tree heads file (default: $IDBRIDGE_AUDIT_HEADS_FILE).",
)
_SHARDS = click.option(
    "--shards", envvar="IDBRIDGE_AUDIT_LOG_SHARDS", type=int, required=True, help="Log shards."
)


def _last_head(heads_file: Path, n: int | None = None) -> tuple[str, dict[str, Any]]:
    """The JWS and (unverified) payload of head ``n`` (default: the last one)."""
    import base64

    heads = [r["sth"] for r in read_lines(heads_file) if "sth" in r]
    if not heads:
        raise click.UsageError(f"no tree head in {heads_file}")
    jws = heads[-1] if n is None else heads[n - 1]
    body = jws.split(".")[1]
    return jws, json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def _ref_of(receipt: str) -> str:
    """A log reference, or the ``auditLog.ref`` of a receipt JSON file (a download)."""
    path = Path(receipt)
    if not path.is_file():
        return receipt
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        return str(body.get("receipt", body)["auditLog"]["ref"])
    except (ValueError, KeyError, TypeError) as exc:
        raise click.UsageError(f"{receipt}: no receipt.auditLog.ref in it") from exc


async def _prove(url: str, shards: int, ref: str) -> dict[str, Any]:
    from consent.audit import AuditChain
    from consent.log_evidence import inclusion

    redis = connect(url)
    try:
        chain = AuditChain(redis, log=TransparencyLog(redis, shards=shards))
        proof = await inclusion(chain, ref)
        if proof is None:
            raise click.UsageError(f"no log entry {ref} under a signed tree head (yet)")
        return proof
    finally:
        await redis.aclose()


@audit.command("prove")
@_REDIS_URL
@_SHARDS
@click.argument("receipt")
def prove(redis_url: str, shards: int, receipt: str) -> None:
    """Inclusion proof for RECEIPT (a downloaded receipt .json, or ``<shard>/<stream id>``)
    under the latest signed tree head; check it with docs/verify_consent_log.py."""
    click.echo(json.dumps(asyncio.run(_prove(redis_url, shards, _ref_of(receipt))), indent=1))


async def _consistency(url: str, shards: int, heads_file: Path, old: int, new: int) -> Any:
    redis = connect(url)
    try:
        log = TransparencyLog(redis, shards=shards)
        old_jws, old_head = _last_head(heads_file, old)
        new_jws, new_head = _last_head(heads_file, new)
        proofs = []
        for shard, after in enumerate(new_head["shards"]):
            before = int(old_head["shards"][shard]["size"])
            leaves = await log.leaves(shard, int(after["size"]))
            proofs.append([p.hex() for p in consistency_proof(leaves, before, after["size"])])
        return {"old": old_jws, "new": new_jws, "proofs": proofs}
    finally:
        await redis.aclose()


@audit.command("consistency")
@_REDIS_URL
@_SHARDS
@_HEADS
@click.argument("old", type=int)
@click.argument("new", type=int)
def consistency(redis_url: str, shards: int, heads_file: Path, old: int, new: int) -> None:
    """Consistency proofs (one per shard) between tree heads OLD and NEW (their ``n``)."""
    click.echo(json.dumps(asyncio.run(_consistency(redis_url, shards, heads_file, old, new))))


@audit.command("verify-log")
@_REDIS_URL
@_SHARDS
@_HEADS
@click.option("--jwks", type=click.Path(path_type=Path, dir_okay=False), help="Published JWKS.")
@click.option("--key", "keys", multiple=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--every", envvar="IDBRIDGE_AUDIT_HEAD_EVERY", type=int, default=100)
@click.option("--seconds", envvar="IDBRIDGE_AUDIT_HEAD_SECONDS", type=float, default=300.0)
@click.option(
    "--witness",
    "witnesses",
    multiple=True,
    help="Base URL of a witness whose last co-signed head must be in the file (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify_log_command(
    redis_url: str,
    shards: int,
    heads_file: Path,
    jwks: Path | None,
    keys: tuple[Path, ...],
    every: int,
    seconds: float,
    witnesses: tuple[str, ...],
    as_json: bool,
) -> None:
    """Check every shard against the signed tree heads; name the problem (exit 1)."""
    verifier = _verifier(jwks, keys, False)
    assert verifier is not None
    ok = run_verify_log(redis_url, shards, heads_file, verifier, every, seconds, witnesses, as_json)
    sys.exit(0 if ok else 1)


def run_verify_log(
    redis_url: str,
    shards: int,
    heads_file: Path,
    verifier: JwsVerifier,
    every: int,
    seconds: float,
    witnesses: tuple[str, ...] = (),
    as_json: bool = False,
) -> bool:
    """Verify the log, print the report (as ``verify-log`` does); return whether it is ok."""

    async def run() -> Any:
        import httpx2

        witnessed = []
        for url in witnesses:
            try:
                seen = httpx2.get(f"{url.rstrip('/')}/v1/head", timeout=10).json()
            except (httpx2.HTTPError, ValueError) as exc:
                raise click.UsageError(f"witness {url}: {exc}") from exc
            if seen.get("sth"):
                witnessed.append((url, str(seen["sth"])))
        redis = connect(redis_url)
        try:
            records = read_lines(heads_file)
            return await verify_log(
                redis,
                records,
                verifier,
                shards=shards,
                every=every,
                seconds=seconds,
                witnessed=witnessed,
            )
        finally:
            await redis.aclose()

    report = asyncio.run(run())
    if as_json:
        click.echo(json.dumps(report.as_dict(), sort_keys=True))
    elif report.ok:
        click.echo(
            f"transparency log OK: {report.entries} entries in {shards} shards, "
            f"{report.heads} signed tree heads, last n={report.last_head_n}"
        )
    else:
        assert report.problem is not None
        click.echo(f"transparency log BROKEN: {report.problem.describe()}", err=True)
    return bool(report.ok)


@audit.command("witness")
@click.option("--state", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.option("--bridge-jwks", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.option("--key", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.option("--name", default="witness", help="This witness's name in co-signatures.")
@click.option("--host", default="127.0.0.1")
@click.option("--port", type=int, default=8090)
def witness(state: Path, bridge_jwks: Path, key: Path, name: str, host: str, port: int) -> None:
    """Run a witness: co-sign the bridge's tree heads that extend the last one seen."""
    import uvicorn

    from consent.witness import Witness, create_witness_app
    from federation.crypto.keyset import KeySet

    bridge = JwksVerifier(json.loads(bridge_jwks.read_text()))
    signer = KeySetSigner(KeySet.from_pem_files([key]))
    app = create_witness_app(Witness(state, bridge, signer, name))
    uvicorn.run(app, host=host, port=port, log_level="warning")


@audit.command("migrate")
@_REDIS_URL
@_SHARDS
@_HEADS
@click.option("--key", "keys", multiple=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--jwks", type=click.Path(path_type=Path, dir_okay=False), help="Published JWKS.")
def migrate(
    redis_url: str, shards: int, heads_file: Path, keys: tuple[Path, ...], jwks: Path | None
) -> None:
    """Copy the single audit chain into the log (bridge stopped), then sign a tree head.
    --key: the bridge's PEM signing key(s), which also check the old checkpoints."""
    from consent.migrate_log import MigrationRefused, migrate_chain
    from consent.tree_heads import TreeHeads
    from federation.crypto.keyset import KeySet

    if not keys:
        raise click.UsageError("give --key PEM: the bridge's signing key signs the tree head")
    signer = KeySetSigner(KeySet.from_pem_files(keys))
    verifier = _verifier(jwks, keys, False)

    async def run() -> int:
        redis = connect(redis_url)
        try:
            log = TransparencyLog(redis, shards=shards)
            heads = TreeHeads(log, signer, heads_file)
            copied = await migrate_chain(redis, log, verifier)
            await heads.sign()
            return copied
        finally:
            await redis.aclose()

    try:
        copied = asyncio.run(run())
    except MigrationRefused as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(f"copied {copied} chain entries into the log ({shards} shards); head signed")
