"""Inclusion and consistency proofs for 10,000 events, checked by an implementation of
RFC 9162 §2.1 written here from the RFC (hashlib's OpenSSL SM3, not the project's code),
and a witness on another loopback port that refuses an inconsistent head (issue 15)."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from consent.audit import Event
from consent.merkle import consistency_proof, inclusion_proof
from consent.signing import JwksVerifier, KeySetSigner
from consent.translog import TransparencyLog
from consent.tree_heads import COSIG_TYP, TreeHeads, WitnessRefused, read_lines
from federation.crypto.keyset import KeySet
from federation.storage.keys import Keys
from federation.storage.runtime import free_port
from tests.consent.conftest import run_cli

IDBRIDGE = Path(sys.executable).parent / "idbridge"


# --- RFC 9162 §2.1, independently -------------------------------------------------------
def h(data: bytes) -> bytes:
    return hashlib.new("sm3", data).digest()


def mth(d: list[bytes]) -> bytes:
    """§2.1.1 MTH over leaf *entries*."""
    if not d:
        return h(b"")
    if len(d) == 1:
        return h(b"\x00" + d[0])
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return h(b"\x01" + mth(d[:k]) + mth(d[k:]))


def verify_inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    """§2.1.3.2, step by step."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = h(b"\x01" + p + r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = h(b"\x01" + r + p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(m: int, n: int, old: bytes, new: bytes, path: list[bytes]) -> bool:
    """§2.1.4.2, step by step."""
    if m == n:
        return old == new and not path
    if not path:
        return False
    if m & (m - 1) == 0:
        path = [old, *path]
    fn, sn = m - 1, n - 1
    while fn % 2 == 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr, sr = h(b"\x01" + c + fr), h(b"\x01" + c + sr)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = h(b"\x01" + sr + c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old and sr == new


def payload(jws: str) -> dict:
    body = jws.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def entry_bytes(fields: dict[str, str]) -> bytes:
    """The leaf entry as the docs define it: sorted compact JSON, objects a JSON object."""
    body = {k: fields[k] for k in ("actor", "action", "nonce", "prev")}
    body.update(shard=int(fields["shard"]), seq=int(fields["seq"]), ts=int(fields["ts"]))
    body["objects"] = json.loads(fields["objects"])
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


async def test_proofs_for_10000_events(redis: aioredis.Redis, keyset: KeySet, tmp_path: Path):
    shards, total = 3, 10_000
    log = TransparencyLog(redis, shards=shards)
    heads = TreeHeads(log, KeySetSigner(keyset), tmp_path / "h.jsonl", every=2500, seconds=3600)
    refs = []
    for i in range(total):
        appended = await log.append(
            Event("subject", "consent.granted", {"consent_id": f"c{i}"}), shard_key=f"p{i % 97}"
        )
        refs.append(appended.stream_id)
    await heads.sign()
    sths = [payload(r["sth"]) for r in read_lines(heads.path) if "sth" in r]
    assert len(sths) >= 4 and sum(s["size"] for s in sths[-1]["shards"]) == total
    rng = random.Random(15)
    for shard in range(shards):
        rows = await redis.xrange(Keys.audit_log(shard))
        entries = [entry_bytes(f) for _, f in rows]
        leaves = await log.leaves(shard)
        size = sths[-1]["shards"][shard]["size"]
        assert len(entries) == size > 0
        assert mth(entries).hex() == sths[-1]["shards"][shard]["root"]
        root = bytes.fromhex(sths[-1]["shards"][shard]["root"])
        for index in {0, size - 1, *rng.sample(range(size), 60)}:
            leaf = h(b"\x00" + entries[index])
            path = inclusion_proof(leaves, index, size)
            assert verify_inclusion(leaf, index, size, path, root)
            assert not verify_inclusion(leaf, (index + 1) % size, size, path, root)
        for older in sths[:-1]:
            m = older["shards"][shard]["size"]
            if m == 0:  # RFC 9162 §2.1.4 defines proofs for 0 < m ≤ n
                continue
            proof = consistency_proof(leaves, m, size)
            old_root = bytes.fromhex(older["shards"][shard]["root"])
            assert old_root == mth(entries[:m])
            assert verify_consistency(m, size, old_root, root, proof)
            assert not verify_consistency(m, size, h(b"forged"), root, proof)


@pytest.fixture
def witness_url(keyset: KeySet, tmp_path: Path):
    """``idbridge audit witness`` in its own process on a free loopback port."""
    witness_keys = KeySet.generate(["SM2SM3"])
    key_path = witness_keys.save_pem(tmp_path / "wkeys")[0]
    jwks = tmp_path / "bridge-jwks.json"
    jwks.write_text(json.dumps(keyset.public_jwks()))
    port = free_port()
    args = ["audit", "witness", "--state", str(tmp_path / "w.json"), "--bridge-jwks", str(jwks)]
    proc = subprocess.Popen(
        [str(IDBRIDGE), *args, "--key", str(key_path), "--name", "gd", "--port", str(port)]
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{url}/v1/head", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url, JwksVerifier(witness_keys.public_jwks())
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_witness_cosigns_consistent_heads_and_refuses_a_rewritten_log(
    redis: aioredis.Redis, redis_server, keyset: KeySet, tmp_path: Path, witness_url
) -> None:
    url, witness_verifier = witness_url
    log = TransparencyLog(redis, shards=2)
    heads = TreeHeads(log, KeySetSigner(keyset), tmp_path / "h.jsonl", every=5, seconds=3600)
    for i in range(12):
        await log.append(Event("subject", "consent.granted", {"consent_id": f"c{i}"}))
    jws = await heads.sign()
    assert jws is not None
    cosig = await heads.send(url, jws, payload(jws))
    signed = witness_verifier.verify_jws(cosig, typ=COSIG_TYP)
    assert signed["witness"] == "gd" and signed["n"] == payload(jws)["n"]
    assert await redis.hget(Keys.audit_cosignature(url), "jws") == cosig
    for i in range(3):
        await log.append(Event("subject", "consent.granted", {"consent_id": f"d{i}"}))
    jws = await heads.sign()
    assert jws is not None
    await heads.send(url, jws, payload(jws))  # grows consistently: co-signed

    # the heads file and Redis lose the last head: only the witness remembers it
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(keyset.public_jwks()))
    args = ["--redis-url", redis_server.url, "--shards", "2", "--jwks", str(jwks)]
    args += ["--heads", str(heads.path), "--witness", url]
    assert run_cli("audit", "verify-log", *args).returncode == 0
    kept = heads.path.read_text()
    lines = [line for line in kept.splitlines() if jws not in line]
    heads.path.write_text("\n".join(lines) + "\n")
    await redis.hset(Keys.AUDIT_STH, "n", payload(jws)["n"] - 1)
    done = run_cli("audit", "verify-log", *args)
    assert done.returncode == 1 and "deleted checkpoint" in done.stderr, done.stderr
    assert f"{url} co-signed head n={payload(jws)['n']}" in done.stderr
    heads.path.write_text(kept)
    # an administrator rewrites shard 0 from scratch (every hash recomputed) and signs on
    await redis.delete(
        *(k(0) for k in (Keys.audit_log, Keys.audit_log_head, Keys.audit_log_leaves))
    )
    for i in range(20):
        await log.append(Event("subject", "consent.granted", {"consent_id": f"x{i}"}))
    jws = await heads.sign()
    assert jws is not None
    with pytest.raises(WitnessRefused, match="does not extend"):
        await heads.send(url, jws, payload(jws))
    reply = httpx.post(f"{url}/v1/cosign", json={"sth": jws, "proofs": [[], []]})
    assert reply.status_code == 409 and reply.json()["error"] == "inconsistent_head"
    reply = httpx.post(f"{url}/v1/cosign", content=b"{not json")
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_request"
