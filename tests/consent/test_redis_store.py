"""The Redis consent store passes the conformance suite, plus Redis-specific checks."""

from __future__ import annotations

import asyncio
import base64

import pytest
import redis.asyncio as aioredis

from consent.audit_verify import verify_chain
from consent.redis_store import RedisConsentStore
from federation.crypto import sm4
from federation.storage.keys import Keys
from tests.consent.conformance import ConsentStoreConformance
from tests.consent.factories import PII_KEY, grant


class TestRedisConsentStore(ConsentStoreConformance):
    @pytest.fixture
    def store(self, redis_store: RedisConsentStore) -> RedisConsentStore:
        return redis_store


async def test_sealed_values_are_sm4_gcm_bound_to_the_record_id(
    redis: aioredis.Redis, redis_store: RedisConsentStore
) -> None:
    record = grant().record
    await redis_store.save(record, {"hrp_number": "H12345678"})
    raw = await redis.get(Keys.pii(record.id))
    assert "H12345678" not in raw
    sealed = base64.b64decode(raw)
    assert sm4.decrypt(PII_KEY, sealed, aad=record.id.encode()) == b'{"hrp_number":"H12345678"}'
    with pytest.raises(sm4.DecryptionError):
        sm4.decrypt(PII_KEY, sealed, aad=b"cns_another_record_id_000")


async def test_no_attribute_value_is_stored_in_the_record(
    redis: aioredis.Redis, redis_store: RedisConsentStore
) -> None:
    record = grant().record
    await redis_store.save(record)
    fields = await redis.hgetall(Keys.consent(record.id))
    flat = " ".join(fields.values())
    for value in ("CHAN, Tai Man", "1980-01-31", "tm.chan@example.hk"):
        assert value not in flat


async def test_concurrent_writers_never_fork_the_chain(
    redis: aioredis.Redis, redis_store: RedisConsentStore
) -> None:
    second = RedisConsentStore(redis, redis_store.chain.__class__(redis), pii_key=PII_KEY)
    records = [grant(f"sub-{i}").record for i in range(40)]
    await asyncio.gather(
        *((redis_store if i % 2 else second).save(r) for i, r in enumerate(records))
    )
    report = await verify_chain(redis, None)
    assert report.ok, report.problem
    assert report.entries == 40
    seqs = [int(f["seq"]) for _, f in await redis.xrange(Keys.AUDIT_STREAM)]
    assert seqs == list(range(1, 41))
