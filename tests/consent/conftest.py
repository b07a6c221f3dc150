"""Consent fixtures: an audit chain and a Redis consent store on the real ``redis`` fixture."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from consent.audit import AuditChain
from consent.redis_store import RedisConsentStore
from tests.consent.factories import PII_KEY


@pytest.fixture
async def chain(redis: aioredis.Redis) -> AuditChain:
    return AuditChain(redis)


@pytest.fixture
async def redis_store(redis: aioredis.Redis, chain: AuditChain) -> RedisConsentStore:
    return RedisConsentStore(redis, chain, pii_key=PII_KEY)
