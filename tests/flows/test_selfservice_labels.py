"""The self-service list names what was shared with the labels of the RP's mapping
profile, in the person's language, not with raw claim names."""

from __future__ import annotations

import re

import pytest
import redis.asyncio as aioredis

from mappings.loader import load_profile
from tests.federation.journey.harness import Bridge, Person, bridge
from tests.federation.selfservice.helpers import consent_at, consent_ids, open_self_service

__all__ = ["bridge"]

PROFILE = load_profile("guangdong-tyrz")


def _shared(html: str) -> str:
    """The "what was shared" lists of a self-service page."""
    return " ".join(re.findall(r'<ul class="shared">(.*?)</ul>', html, flags=re.S))


@pytest.mark.parametrize("locale", ["zh-HK", "zh-CN", "en"])
async def test_shared_claims_show_the_profiles_labels(
    bridge: Bridge, redis: aioredis.Redis, locale: str
) -> None:
    del redis  # flushed: a first-time consent each time
    person = Person(bridge, "chan-tai-man")
    try:
        await consent_at(bridge, person, "rp-gd")
        await open_self_service(bridge, person)
        page = await person.go(f"{bridge.url}/consents?lang={locale}")
        shared = _shared(page.text)
        label = PROFILE.claims["cn"].labels[locale]
        assert label in shared, shared[:600]
        # the claim name stays as small print beside its label, never alone
        assert f'{label} <code class="claim">cn</code>' in shared
        (consent_id, *_) = consent_ids(page.text)
        confirm = await person.go(f"{bridge.url}/consents/{consent_id}/withdraw?lang={locale}")
        assert label in _shared(confirm.text)
    finally:
        await person.aclose()
