"""A receipt names its leaf and a tree head; the inclusion proof verifies with the
third-party reference verifier in docs/ (stdlib + OpenSSL only) (issue 15)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import redis.asyncio as aioredis

from consent.audit import AuditChain
from consent.log_evidence import evidence, head_payload, inclusion
from consent.merkle import consistency_proof
from consent.receipts import build_receipt
from consent.redis_store import RedisConsentStore
from consent.signing import KeySetSigner
from consent.translog import TransparencyLog
from consent.tree_heads import TreeHeads, read_lines
from federation.crypto.keyset import KeySet
from tests.consent.factories import PII_KEY, grant
from tests.consent.test_docs import _run

VERIFIER = Path(__file__).parents[2] / "docs" / "verify_consent_log.py"


def reference(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(VERIFIER), *args], capture_output=True, text=True, check=False
    )


async def test_receipt_proof_verifies_offline(
    redis: aioredis.Redis, keyset: KeySet, jwks_file: Path, tmp_path: Path
) -> None:
    log = TransparencyLog(redis, shards=4)
    heads = TreeHeads(log, KeySetSigner(keyset), tmp_path / "h.jsonl", every=1000, seconds=3600)
    chain = AuditChain(redis, log=log)
    store = RedisConsentStore(redis, chain, pii_key=PII_KEY)
    records = [grant(f"sub-{i}").record for i in range(9)]
    for record in records:
        await store.save(record)
    target = records[5]
    found = await evidence(chain, target.id)
    assert found is not None and found["sth"] is None  # not yet under a signed head
    first = await heads.sign()
    assert first is not None
    found = await evidence(chain, target.id)
    assert found is not None and found["sth"] == first
    receipt = build_receipt(target, issuer="https://bridge.example", audit_log=found)
    assert receipt["auditLog"]["leafIndex"] == found["leafIndex"]
    assert head_payload(first)["shards"][found["shard"]]["size"] > found["leafIndex"]
    assert [e["action"] for e in await store.events(target.id)] == ["consent.granted"]

    proof = await inclusion(chain, found["ref"])
    assert proof is not None
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof))
    done = reference("inclusion", str(path), str(jwks_file))
    assert done.returncode == 0 and done.stdout.startswith("OK"), done.stdout + done.stderr

    # the receipt procedure of docs/consent.md checks a tree head's signature as well
    (tmp_path / "sh").mkdir()
    by_hand = _run(tmp_path / "sh", proof["sth"], json.loads(jwks_file.read_text()))
    assert by_hand.returncode == 0 and by_hand.stdout.strip() == "Verified OK", by_hand.stderr

    forged = {**proof, "entry": {**proof["entry"], "actor": "operator:mallory"}}
    path.write_text(json.dumps(forged))
    done = reference("inclusion", str(path), str(jwks_file))
    assert done.returncode == 1 and "leafHash" in done.stdout

    moved = {**proof, "leafIndex": (proof["leafIndex"] + 1) % proof["treeSize"]}
    path.write_text(json.dumps(moved))
    assert reference("inclusion", str(path), str(jwks_file)).returncode == 1

    resigned = {**proof, "sth": first[:-4] + ("AAAA" if first[-4:] != "AAAA" else "BBBB")}
    path.write_text(json.dumps(resigned))
    assert reference("inclusion", str(path), str(jwks_file)).returncode == 1

    for record in [grant(f"later-{i}").record for i in range(7)]:
        await store.save(record)
    second = await heads.sign()
    assert second is not None
    old, new = head_payload(first), head_payload(second)
    assert [r["sth"] for r in read_lines(heads.path)][-2:] == [first, second]
    for shard, (a, b) in enumerate(zip(old["shards"], new["shards"], strict=True)):
        hashes = consistency_proof(await log.leaves(shard, b["size"]), a["size"], b["size"])
        args = [str(a["size"]), str(b["size"]), a["root"], b["root"], *(h.hex() for h in hashes)]
        done = reference("consistency", *args)
        assert done.returncode == 0, (shard, done.stdout)
        if a["size"] and a["size"] != b["size"]:
            bad = reference("consistency", *args[:2], "00" * 32, *args[3:])
            assert bad.returncode == 1
