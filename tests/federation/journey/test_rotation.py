"""Journey id rotation and the pre-login lifetime on a real Redis (issue 24): a rotated
journey moves, sealed fields resealed, under a fresh id and the old id (and its upstream
``state`` binding) opens nothing; an anonymous journey lives minutes, a logged-in one the
full ``IDBRIDGE_JOURNEY_TTL``."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from federation.journey.record import JourneyStore, Sealer
from federation.storage.keys import Keys
from tests.federation.journey.test_units import AUTHZ, IDENTITY


async def test_rotation_moves_the_record_and_retires_the_old_id(redis: aioredis.Redis) -> None:
    store = JourneyStore(redis, Sealer(b"k" * 16), ttl=1200, pre_login_ttl=120)
    record = await store.create(AUTHZ, locale="en", user_agent="ua")
    await store.bind_state(record, "S1", 600, stage="upstream")
    old = record.id
    assert 0 < await redis.ttl(Keys.journey(old)) <= 120  # anonymous: short
    assert 0 < await redis.ttl(Keys.upstream_state("S1")) <= 120
    new = store.rotate(record)
    assert new != old and record.id == new
    store.defer(record, identity=IDENTITY, sid="sid-1", stage="attributes")
    await store.update(record, wanted=["email"])
    assert await store.load(old) is None and await store.journey_for_state("S1") is None
    loaded = await store.load(new)
    assert loaded is not None and loaded.identity == IDENTITY and loaded.sid == "sid-1"
    assert loaded.authz == AUTHZ and loaded.wanted == ["email"] and loaded.locale == "en"
    assert 120 < await redis.ttl(Keys.journey(new)) <= 1200  # logged in: the full TTL
    grant = {"subject": "pairwise-1"}
    await store.update(record, stage="granted", grant=grant, consent_id="c1")
    second = store.rotate(record)
    await store.update(record, stage="granted")
    again = await store.load(second)
    assert await store.load(new) is None
    assert again is not None and again.grant == grant and again.identity == IDENTITY


async def test_rotation_then_end_deletes_both_ids(redis: aioredis.Redis) -> None:
    store = JourneyStore(redis, Sealer(b"k" * 16), ttl=1200)
    record = await store.create(AUTHZ, locale="en", user_agent="ua")
    await store.bind_state(record, "S2", 60, stage="upstream")
    old = record.id
    store.rotate(record)
    await store.end(record)  # e.g. a remembered consent: the code at once
    assert await redis.exists(Keys.journey(old), Keys.upstream_state("S2")) == 0


async def test_a_journey_waiting_for_a_ticket_is_not_rotated(redis: aioredis.Redis) -> None:
    store = JourneyStore(redis, Sealer(b"k" * 16), ttl=60)
    record = await store.create(AUTHZ, locale="en", user_agent="ua")
    await store.bind_ticket(record, "T1")
    with pytest.raises(ValueError):
        store.rotate(record)
