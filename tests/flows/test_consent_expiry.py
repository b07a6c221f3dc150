"""Revocation by expiry (issue 6 "Must show"): a consent past its client's remember period
is expired by the lifecycle's ``expire_due`` (the app's expiry loop), which ends what the
RP holds exactly as a withdrawal does: introspection inactive, /userinfo 401, refresh
``invalid_grant``, a back-channel logout token at the RP, ``consent.expired`` audited. The
clock is driven: ``expire_due(now=expires_at)``, and nothing expires a second earlier."""

from __future__ import annotations

import httpx
import redis.asyncio as aioredis

from federation.storage.keys import Keys
from tests.federation.journey.harness import Bridge, Person, bridge
from tests.federation.selfservice.helpers import (
    assert_grant_ended,
    consent_at,
    consent_records,
    consent_services,
)

__all__ = ["bridge"]


async def test_expiry_ends_the_grant(bridge: Bridge, redis: aioredis.Redis) -> None:
    person = Person(bridge, "cheung-kai-ming")
    try:
        token = await consent_at(bridge, person)
    finally:
        await person.aclose()
    (record,) = await consent_records(redis)
    expires_at = int(record["expires_at"])
    assert expires_at - int(record["given_at"]) == 86400 * 30  # the client's policy
    services = consent_services(bridge, redis)
    before = len(bridge.rp.logout_tokens)
    assert await services.lifecycle.expire_due(now=expires_at - 1) == []
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert httpx.get(bridge.url + "/userinfo", headers=bearer).status_code == 200
    expired = await services.lifecycle.expire_due(now=expires_at)
    assert [r.id for r in expired] == [record["id"]]
    assert (await redis.hgetall(Keys.consent(record["id"])))["status"] == "expired"
    await assert_grant_ended(
        bridge,
        redis,
        token,
        client_id="rp-sm2",
        logout_tokens_before=before,
        action="consent.expired",
    )
