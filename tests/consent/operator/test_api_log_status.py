"""The operator API's audit status reads the transparency log (issue 15): the existing
fields stay, ``log`` adds the verification result, the last head and the witnesses."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from consent.operator.roles import Role
from consent.redis_store import RedisConsentStore
from consent.services import ConsentServices, build_consent_services
from consent.signing import JwksVerifier, KeySetSigner
from federation.crypto.keyset import KeySet
from federation.storage.keys import Keys
from tests.consent.factories import PII_KEY, grant
from tests.consent.operator.conftest import LoginAs
from tests.consent.revokers import RecordingRevoker


@pytest.fixture
def services(
    redis: aioredis.Redis, keyset: KeySet, revoker: RecordingRevoker, tmp_path: Path
) -> ConsentServices:
    return build_consent_services(
        redis,
        pii_key=PII_KEY,
        revoker=revoker,
        issuer="http://testserver",
        signer=KeySetSigner(keyset),
        verifier=JwksVerifier(keyset.public_jwks()),
        checkpoint_every=5,
        log_shards=4,
        heads_file=str(tmp_path / "heads.jsonl"),
        witnesses=("http://127.0.0.1:9/unreachable",),
    )


async def test_audit_status_reports_the_log(
    services: ConsentServices, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    store: RedisConsentStore = services.store
    for i in range(12):
        await store.save(grant(f"sub-{i}").record)
    headers = await login_as(Role.AUDITOR)
    body = (await client.get("/operator/api/audit/status", headers=headers)).json()
    assert {"ok", "entries", "checkpoints", "last_seq", "problem"} <= set(body)  # as before
    log = body["log"]
    assert body["ok"] is True and log["ok"] is True, log
    assert log["entries"] >= 13 and log["heads"] >= 2
    assert log["last_head"]["n"] == log["heads"]
    assert log["witnesses"] == [{"url": "http://127.0.0.1:9/unreachable", "n": None, "ts": None}]

    # an administrator cuts a shard's tail and fixes its head: named, status not ok
    sizes = log["shard_sizes"]
    shard = sizes.index(max(sizes))
    redis = services.chain.redis
    last = (await redis.xrevrange(Keys.audit_log(shard), count=1))[0][0]
    await redis.xdel(Keys.audit_log(shard), last)
    body = (await client.get("/operator/api/audit/status", headers=headers)).json()
    assert body["ok"] is False and body["log"]["ok"] is False
    assert body["log"]["problem"].startswith(("tail cut", "head")), body["log"]["problem"]
    assert body["problem"] == "entry: transparency log: " + body["log"]["problem"]
