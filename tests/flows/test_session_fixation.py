"""Journey fixation (issue 24, OWASP Session Management "Renew the Session ID After Any
Privilege Level Change"), two cookie jars over real HTTP:

the attacker opens a journey and plants its id in the victim's browser (cookie tossing); the
victim logs in at iAM Smart through that journey. The id the attacker knows opens nothing
after the login: no consent page with the victim's name, no code. The victim's own journey
goes on (its cookie was rotated), and its id rotates again when consent is given.
"""

from __future__ import annotations

import re

import redis.asyncio as aioredis

from federation.journey.record import JOURNEY_COOKIE
from federation.pages.catalogue import catalogues
from federation.storage.keys import Keys
from tests.federation.journey.harness import (
    Bridge,
    Person,
    authorize_url,
    bridge,
    consent,
    finish,
    form_fields,
    rp_client,
)

__all__ = ["bridge"]

EXPIRED_TITLES = [c.text("error.journey_expired.title") for c in catalogues().values()]


async def test_a_planted_journey_id_is_worthless_after_login(
    bridge: Bridge, redis: aioredis.Redis
) -> None:
    client = rp_client(bridge, "rp-sm2", scope="openid profile email phone")
    url, state, _, _ = await authorize_url(bridge, client)
    attacker, victim = Person(bridge, "chan-tai-man"), Person(bridge, "chan-tai-man")
    try:
        login_page = await attacker.go(url)  # the attacker's journey, at iAM Smart
        planted = attacker.http.cookies[JOURNEY_COOKIE]
        assert await redis.exists(Keys.journey(planted))
        victim.http.cookies.set(JOURNEY_COOKIE, planted, domain="127.0.0.1")
        # the victim, carrying the planted id, logs in on that journey's login page
        page = await victim.go(str(login_page.url))
        action = re.search(r'action="(/sim/app/login/[^"]+)"', page.text)
        assert action is not None, page.text[:300]
        form = {"persona": "chan-tai-man", "action": "approve"}
        form["csrf"] = form_fields(page.text)["csrf"]
        page = await victim.go(bridge.sim_url + action.group(1).replace("&amp;", "&"), data=form)
        page = await victim.approve_requests(page)
        assert page.status_code == 200 and str(page.url).endswith("/journey/consent")
        assert "CHAN" in page.text  # the victim sees their own consent page
        rotated = victim.http.cookies[JOURNEY_COOKIE]
        assert rotated != planted
        assert not await redis.exists(Keys.journey(planted))  # the old record is gone
        # the attacker's id (its own jar still holds it) opens nothing
        for path in ("/journey/consent", "/journey/continue", "/journey/receipt"):
            seen = await attacker.go(bridge.url + path)
            assert "CHAN" not in seen.text and "csrf_token" not in seen.text, path
        seen = await attacker.go(bridge.url + "/journey/consent")
        assert any(title in seen.text for title in EXPIRED_TITLES)
        done = await consent(victim, page)
        assert victim.http.cookies[JOURNEY_COOKIE] not in (planted, rotated)  # consent given
        stolen = await attacker.go(bridge.url + "/journey/finish")
        assert not stolen.is_redirect and "code=" not in stolen.headers.get("location", "")
        answer = await finish(victim, done)
    finally:
        await attacker.aclose()
        await victim.aclose()
    assert answer["state"] == state and "code" in answer
    assert await redis.keys(Keys.journey("*")) == []
