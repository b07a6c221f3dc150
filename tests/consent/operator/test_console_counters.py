"""The dashboard's counters are kept where the journey and the lifecycle act, over real
HTTP on the real bridge (``tests/federation/journey/harness``): a login that consents
counts ``success`` and ``given``, one declined on the consent page counts ``declined``,
one refused in the iAM Smart app counts its D-code."""

from __future__ import annotations

import time

import redis.asyncio as aioredis

from consent.operator.stats import hk_day
from federation.storage.keys import Keys
from tests.federation.journey.harness import (
    Bridge,
    Person,
    authorize_url,
    bridge,
    consent,
    finish,
    rp_client,
)

__all__ = ["bridge"]


async def _day(redis: aioredis.Redis, kind: str) -> dict[str, str]:
    return dict(await redis.hgetall(Keys.stats_day(kind, hk_day(time.time()))))


async def test_journey_outcomes_and_consents_are_counted(
    bridge: Bridge, redis: aioredis.Redis
) -> None:
    client = rp_client(bridge, "rp-sm2")
    url, *_ = await authorize_url(bridge, client)
    person = Person(bridge, "ho-kwan")
    try:
        await finish(person, await consent(person, await person.sign_in(url)))
    finally:
        await person.aclose()
    url, *_ = await authorize_url(bridge, client)
    decliner = Person(bridge, "wong-siu-ming")
    try:
        page = await decliner.sign_in(url)
        await consent(decliner, page, cross_boundary=False, decision="decline")
    finally:
        await decliner.aclose()
    url, *_ = await authorize_url(bridge, client)
    canceller = Person(bridge, "ng-wing-chi")
    try:
        await canceller.sign_in(url, action="cancel")
    finally:
        await canceller.aclose()
    logins = await _day(redis, "logins")
    assert logins.get("success|rp-sm2") == "1"
    assert logins.get("declined|rp-sm2") == "1"
    assert [k for k in logins if k.startswith("upstream:D")] == ["upstream:D40000|rp-sm2"]
    assert (await _day(redis, "consents")) == {"given|rp-sm2": "1"}
