"""The audit chain: atomic appends, SM2-signed checkpoints, and tamper detection by
``idbridge audit verify`` (change, delete, reorder, insert, truncate, forged checkpoint)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from consent.audit import GENESIS, Action, AuditChain, Event, entry_hash, parse_entry
from consent.audit_verify import verify_chain
from consent.signing import JwksVerifier, KeySetSigner
from federation.crypto.keyset import KeySet
from federation.storage.keys import Keys
from federation.storage.runtime import RedisServer
from tests.consent.conftest import run_cli


async def _fill(chain: AuditChain, n: int) -> None:
    for i in range(n):
        await chain.append(Event("operator:alice", Action.OPERATOR_VIEWED, {"consent_id": f"c{i}"}))


async def _rows(redis: aioredis.Redis) -> list[tuple[str, dict[str, str]]]:
    return list(await redis.xrange(Keys.AUDIT_STREAM))


async def _rewrite(redis: aioredis.Redis, rows: list[tuple[str, dict[str, str]]]) -> None:
    """What an attacker with Redis access does: replace the stream wholesale."""
    await redis.delete(Keys.AUDIT_STREAM)
    for stream_id, fields in rows:
        await redis.xadd(Keys.AUDIT_STREAM, fields, id=stream_id)


def _verify_cli(server: RedisServer, jwks: Path) -> tuple[int, str]:
    result = run_cli("audit", "verify", "--redis-url", server.url, "--jwks", str(jwks))
    return result.returncode, result.stdout + result.stderr


async def test_intact_chain_with_checkpoints_verifies(
    redis: aioredis.Redis,
    signer: KeySetSigner,
    keyset: KeySet,
    redis_server: RedisServer,
    jwks_file: Path,
) -> None:
    chain = AuditChain(redis, signer, checkpoint_every=5)
    await _fill(chain, 12)
    report = await verify_chain(redis, JwksVerifier(keyset.public_jwks()))
    assert report.ok, report.problem
    # the first entry is sealed at once (seq 2), then every 5 entries: seq 7 and seq 12
    assert report.checkpoints == 3
    assert report.entries == 15
    assert report.last_checkpoint_seq == 11
    code, out = _verify_cli(redis_server, jwks_file)
    assert code == 0, out
    assert "audit chain OK: 15 entries, 3 checkpoints (checkpoints verified)" in out


async def test_entries_are_linked_and_hashed(redis: aioredis.Redis) -> None:
    chain = AuditChain(redis)
    await _fill(chain, 3)
    entries = [parse_entry(i, f) for i, f in await _rows(redis)]
    assert [e["seq"] for e in entries] == [1, 2, 3]
    assert entries[0]["prev"] == GENESIS
    assert entries[1]["prev"] == entries[0]["hash"] and entries[2]["prev"] == entries[1]["hash"]
    assert all(entry_hash(e) == e["hash"] for e in entries)
    assert (await chain.head())["hash"] == entries[2]["hash"]


async def test_concurrent_appenders_keep_one_chain(
    redis: aioredis.Redis, redis_server: RedisServer
) -> None:
    from federation.storage.client import connect

    clients = [connect(redis_server.url) for _ in range(4)]
    chains = [AuditChain(c) for c in clients]
    await asyncio.gather(*(_fill(chains[i % 4], 10) for i in range(8)))
    report = await verify_chain(redis, None)
    assert report.ok, report.problem
    assert report.entries == 80
    for c in clients:
        await c.aclose()


async def test_changed_entry_is_named(
    redis: aioredis.Redis, signer: KeySetSigner, redis_server: RedisServer, jwks_file: Path
) -> None:
    await _fill(AuditChain(redis, signer, checkpoint_every=5), 12)
    rows = await _rows(redis)
    rows[4][1]["actor"] = "operator:mallory"  # entry seq 5
    await _rewrite(redis, rows)
    code, out = _verify_cli(redis_server, jwks_file)
    assert code == 1
    assert f"entry seq=5 (stream id {rows[4][0]})" in out
    assert "altered" in out


async def test_changed_and_rehashed_tail_is_caught_by_the_checkpoint(
    redis: aioredis.Redis, signer: KeySetSigner, redis_server: RedisServer, jwks_file: Path
) -> None:
    """An attacker who recomputes every hash after the change still cannot re-sign."""
    await _fill(AuditChain(redis, signer, checkpoint_every=5), 8)
    rows = await _rows(redis)
    prev = GENESIS
    for stream_id, fields in rows:
        entry = parse_entry(stream_id, fields)
        if entry["seq"] == 3:
            entry["objects"] = {"consent_id": "forged"}
            fields["objects"] = json.dumps(entry["objects"], separators=(",", ":"))
        entry["prev"] = prev
        fields["prev"] = prev
        fields["hash"] = prev = entry_hash(entry)
    await _rewrite(redis, rows)
    await redis.hset(Keys.AUDIT_HEAD, mapping={"hash": prev})
    code, out = _verify_cli(redis_server, jwks_file)
    assert code == 1
    assert "entry seq=7" in out and "checkpoint" in out


async def test_deleted_entry_is_named(
    redis: aioredis.Redis, signer: KeySetSigner, redis_server: RedisServer, jwks_file: Path
) -> None:
    await _fill(AuditChain(redis, signer, checkpoint_every=5), 12)
    rows = await _rows(redis)
    await redis.xdel(Keys.AUDIT_STREAM, rows[6][0])  # seq 7
    code, out = _verify_cli(redis_server, jwks_file)
    assert code == 1
    assert "entry seq=7" in out and "expected seq 7, found 8" in out


async def test_reordered_entries_are_named(
    redis: aioredis.Redis, signer: KeySetSigner, redis_server: RedisServer, jwks_file: Path
) -> None:
    await _fill(AuditChain(redis, signer, checkpoint_every=5), 12)
    rows = await _rows(redis)
    rows[3], rows[4] = (rows[3][0], rows[4][1]), (rows[4][0], rows[3][1])  # swap seq 4 and 5
    await _rewrite(redis, rows)
    code, out = _verify_cli(redis_server, jwks_file)
    assert code == 1
    assert f"entry seq=4 (stream id {rows[3][0]})" in out and "expected seq 4, found 5" in out


async def test_inserted_entry_is_named(
    redis: aioredis.Redis, signer: KeySetSigner, redis_server: RedisServer, jwks_file: Path
) -> None:
    await _fill(AuditChain(redis, signer, checkpoint_every=5), 12)
    rows = await _rows(redis)
    rows = [(f"{1000 + 10 * i}-0", fields) for i, (_, fields) in enumerate(rows)]  # room
    fake_id = "1075-0"  # between seq 8 (1070-0) and seq 9 (1080-0)
    rows.insert(8, (fake_id, dict(rows[7][1], actor="operator:mallory")))
    await _rewrite(redis, rows)
    code, out = _verify_cli(redis_server, jwks_file)
    assert code == 1
    assert f"(stream id {fake_id})" in out and "seq 9, found 8" in out


async def test_truncated_tail_is_caught_by_the_head(
    redis: aioredis.Redis, signer: KeySetSigner, redis_server: RedisServer, jwks_file: Path
) -> None:
    await _fill(AuditChain(redis, signer, checkpoint_every=5), 12)
    rows = await _rows(redis)
    await redis.xdel(Keys.AUDIT_STREAM, rows[-1][0], rows[-2][0])
    code, out = _verify_cli(redis_server, jwks_file)
    assert code == 1
    assert "head says seq 15 but the chain ends at seq 13" in out


async def test_a_head_whose_seq_is_not_a_number_is_named(
    redis: aioredis.Redis, signer: KeySetSigner, redis_server: RedisServer, jwks_file: Path
) -> None:
    await _fill(AuditChain(redis, signer, checkpoint_every=5), 3)
    await redis.hset(Keys.AUDIT_HEAD, "seq", "three")
    code, out = _verify_cli(redis_server, jwks_file)
    assert code == 1 and "the head's seq is not a number" in out and "Traceback" not in out


class _UntypedSigner(KeySetSigner):
    """The bridge's own key, but every token typed ``JWT`` (what an ID token carries)."""

    def sign_jws(self, payload: dict[str, Any], *, typ: str = "JWT") -> str:
        return super().sign_jws(payload, typ="JWT")


async def test_a_checkpoint_typed_as_another_kind_of_token_fails(
    redis: aioredis.Redis, keyset: KeySet, redis_server: RedisServer, jwks_file: Path
) -> None:
    await _fill(AuditChain(redis, _UntypedSigner(keyset), checkpoint_every=5), 6)
    code, out = _verify_cli(redis_server, jwks_file)
    assert code == 1 and "checkpoint signature does not verify" in out and "typ" in out


async def test_checkpoint_signed_by_another_key_fails(
    redis: aioredis.Redis, redis_server: RedisServer, jwks_file: Path
) -> None:
    intruder = KeySetSigner(KeySet.generate(["SM2SM3"]))
    await _fill(AuditChain(redis, intruder, checkpoint_every=5), 6)
    code, out = _verify_cli(redis_server, jwks_file)
    assert code == 1
    assert "entry seq=2" in out and "signature does not verify" in out


async def test_cli_needs_keys_or_explicit_skip(
    redis: aioredis.Redis, redis_server: RedisServer
) -> None:
    await _fill(AuditChain(redis), 2)
    missing = run_cli("audit", "verify", "--redis-url", redis_server.url)
    assert missing.returncode == 2 and "--jwks" in missing.stderr
    skipped = run_cli("audit", "verify", "--redis-url", redis_server.url, "--skip-signatures")
    assert skipped.returncode == 0 and "signatures NOT checked" in skipped.stdout


async def test_export_writes_every_entry_as_json_lines(
    redis: aioredis.Redis, signer: KeySetSigner, redis_server: RedisServer, tmp_path: Path
) -> None:
    await _fill(AuditChain(redis, signer, checkpoint_every=5), 7)
    out = tmp_path / "audit.jsonl"
    result = run_cli("audit", "export", "--redis-url", redis_server.url, "--out", str(out))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [int(e["seq"]) for e in lines] == list(range(1, 10))
    assert [e["action"] for e in lines].count("audit.checkpoint") == 2
    assert lines[1]["action"] == lines[6]["action"] == "audit.checkpoint"
    assert all(entry_hash(parse_entry(e["id"], e)) == e["hash"] for e in lines)


async def test_wait_for_replicas_refuses_to_acknowledge_without_them(
    redis_server: RedisServer,
) -> None:
    from federation.storage.client import ReplicasUnavailable, connect

    client = connect(redis_server.url, wait_replicas=1, wait_timeout_ms=50)
    try:
        await AuditChain(client).append(Event("system", Action.CONSENT_DENIED, {"client_id": "c"}))
    except ReplicasUnavailable as exc:
        assert "0 of 1 replicas" in str(exc)
    else:
        raise AssertionError("a write without its replica was acknowledged")
    finally:
        await client.aclose()


async def test_a_rehashed_checkpoint_whose_objects_are_not_an_object_is_named(
    redis: aioredis.Redis, signer: KeySetSigner, keyset: KeySet
) -> None:
    """Verification reports a well-hashed but malformed entry; it does not crash."""
    await _fill(AuditChain(redis, signer, checkpoint_every=5), 3)
    rows = await _rows(redis)
    head = parse_entry(*rows[-1])
    forged = {
        "seq": head["seq"] + 1,
        "ts": head["ts"] + 1,
        "nonce": "00",
        "actor": "system",
        "action": Action.CHECKPOINT.value,
        "objects": [],
        "prev": head["hash"],
    }
    digest = entry_hash(forged)
    fields = {k: str(v) for k, v in forged.items() if k != "objects"}
    await redis.xadd(Keys.AUDIT_STREAM, {**fields, "objects": "[]", "hash": digest})
    await redis.hset(Keys.AUDIT_HEAD, mapping={"seq": forged["seq"], "hash": digest})
    report = await verify_chain(redis, JwksVerifier(keyset.public_jwks()))
    assert not report.ok and report.problem is not None
    assert report.problem.seq == forged["seq"] and "objects" in report.problem.reason
