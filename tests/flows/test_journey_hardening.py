"""The journey's hardening over real HTTP (simulator, bridge, authlib RP; DESIGN §8):

- the grant kept in the journey after consent is sealed (SM4-GCM, AAD = journey id): no
  released claim value is in Redis in clear;
- the consent form refuses another journey's CSRF token, no token and an expired token
  (the ``csrf_failed`` page), stores nothing, and the journey goes on afterwards;
- Cancel on the waiting page is a POST with the journey's CSRF token; a GET ends nothing.
"""

from __future__ import annotations

import re
import time

import httpx
import redis.asyncio as aioredis

from federation.journey.record import JOURNEY_COOKIE, Sealer
from federation.journey.secret_keys import csrf_secret
from federation.pages.catalogue import catalogues
from federation.pages.csrf import issue_csrf
from federation.storage.keys import Keys
from tests.federation.journey.harness import (
    PII_KEY,
    SALT,
    Bridge,
    Person,
    authorize_url,
    bridge,
    consent,
    exchange,
    finish,
    form_fields,
    rp_client,
    verify_id_token,
)

__all__ = ["bridge"]

CATALOGUES = catalogues()
CSRF_TITLE = {locale: c.text("error.csrf_failed.title") for locale, c in CATALOGUES.items()}


def _strings(value: object) -> list[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


async def _journey(redis: aioredis.Redis, person: Person) -> dict[str, str]:
    return await redis.hgetall(Keys.journey(person.http.cookies[JOURNEY_COOKIE]))


async def test_grant_after_consent_is_sealed_in_the_journey(
    bridge: Bridge, redis: aioredis.Redis
) -> None:
    client = rp_client(bridge, "rp-sm2", scope="openid profile email phone")
    url, _, _, verifier = await authorize_url(bridge, client)
    person = Person(bridge, "chan-tai-man")
    try:
        done = await consent(person, await person.sign_in(url))
        journey_id = person.http.cookies[JOURNEY_COOKIE]
        raw = await redis.hgetall(Keys.journey(journey_id))
        assert raw["stage"] == "granted"
        grant = Sealer(bytes.fromhex(PII_KEY)).open(journey_id, raw["grant"])
        released = {
            s
            for s in _strings([grant["id_token_claims"], grant["userinfo_claims"]])
            if len(s.encode()) >= 4 and s != raw["locale"]  # the page's language: kept
        }
        assert {"陳大文", "taiman.chan@example.hk"} <= released  # what the RP will get
        stored = "\n".join(raw.values())
        for value in released | {"A123456", "CHAN, Tai Man", "91234567", grant["subject"]}:
            assert value not in stored, value
        answer = await finish(person, done)
    finally:
        await person.aclose()
    token = await exchange(bridge, client, answer, verifier)
    claims = verify_id_token(bridge, token["id_token"], "rp-sm2")
    assert claims["sub"] == grant["subject"]


async def test_consent_form_refuses_foreign_missing_and_expired_tokens(
    bridge: Bridge, redis: aioredis.Redis
) -> None:
    client = rp_client(bridge, "rp-sm2")
    url, state, _, verifier = await authorize_url(bridge, client)
    other_url, *_ = await authorize_url(bridge, rp_client(bridge, "rp-sm2"))
    person, other = Person(bridge, "lam-hoi-ying"), Person(bridge, "yip-pak-sun")
    try:
        page = await person.sign_in(url)
        foreign = form_fields((await other.sign_in(other_url)).text)["csrf_token"]
        journey_id = person.http.cookies[JOURNEY_COOKIE]
        own = form_fields(page.text)["csrf_token"]
        secret = csrf_secret(bridge.settings, SALT.encode())
        expiry = int(own.split(".")[1])
        assert issue_csrf(journey_id, secret=secret, ttl_seconds=0, now=expiry) == own
        expired = issue_csrf(journey_id, secret=secret, ttl_seconds=60, now=int(time.time()) - 3600)
        agree = {"decision": "agree", "cross_boundary": "yes", "release": ["email"]}
        for token in (foreign, None, expired):
            data = agree if token is None else {**agree, "csrf_token": token}
            refused = await person.go(bridge.url + "/journey/consent?lang=en", data=data)
            assert refused.status_code == 403 and CSRF_TITLE["en"] in refused.text
            assert '<html lang="en"' in refused.text and "/journey/consent" in refused.text  # retry
            assert await redis.keys(Keys.consent("*")) == []
            assert (await _journey(redis, person))["stage"] == "consent"
        again = await person.go(bridge.url + "/journey/consent")  # the journey goes on
        assert again.status_code == 200
        answer = await finish(person, await consent(person, again))
    finally:
        await person.aclose()
        await other.aclose()
    assert answer["state"] == state
    token = await exchange(bridge, client, answer, verifier)
    assert verify_id_token(bridge, token["id_token"], "rp-sm2")["sub"]


async def _waiting(bridge: Bridge, person: Person) -> httpx.Response:
    """Log in at iAM Smart but leave the attribute request unapproved: the waiting page."""
    url, *_ = await authorize_url(bridge, rp_client(bridge, "rp-sm2"))
    page = await person.go(url)
    login = re.search(r'action="(/sim/app/login/[^"]+)"', page.text)
    assert login is not None, page.text[:300]
    form = {"persona": person.persona, "action": "approve", "csrf": form_fields(page.text)["csrf"]}
    asked = await person.go(bridge.sim_url + login.group(1).replace("&amp;", "&"), data=form)
    assert "/sim/app/requests/" in str(asked.url)
    waiting = await person.go(bridge.url + "/journey/continue?lang=en")
    assert waiting.status_code == 200 and 'action="/journey/cancel?lang=en"' in waiting.text
    return waiting


async def test_cancel_is_a_post_with_the_journeys_token(
    bridge: Bridge, redis: aioredis.Redis
) -> None:
    person, other = Person(bridge, "ng-wing-chi"), Person(bridge, "kwok-sze-wai")
    try:
        waiting = await _waiting(bridge, person)
        foreign = form_fields((await _waiting(bridge, other)).text)["csrf_token"]
        form = re.search(
            r'<form method="post" action="/journey/cancel[^"]*">(.*?)</form>', waiting.text, re.S
        )
        assert form is not None and 'name="csrf_token"' in form.group(1)
        assert re.search(r'<button type="submit" class="button button-secondary">', form.group(1))
        assert 'href="/journey/cancel' not in waiting.text  # no link that a GET could follow
        shown = await person.go(bridge.url + "/journey/cancel?lang=en")  # changes nothing
        assert shown.status_code == 200 and 'action="/journey/cancel?lang=en"' in shown.text
        assert (await _journey(redis, person))["stage"] == "attributes"
        for data in ({}, {"csrf_token": foreign}):
            refused = await person.go(bridge.url + "/journey/cancel?lang=en", data=data)
            assert refused.status_code == 403 and CSRF_TITLE["en"] in refused.text
            assert (await _journey(redis, person))["stage"] == "attributes"
        token = form_fields(waiting.text)["csrf_token"]
        cancelled = await person.go(
            bridge.url + "/journey/cancel?lang=en", data={"csrf_token": token}
        )
        assert cancelled.status_code == 403
        assert CATALOGUES["en"].text("error.access_denied.title") in cancelled.text
        back = re.search(r'href="http://127\.0\.0\.1:9/cb\?([^"]+)"', cancelled.text)
        assert back is not None
        answer = dict(httpx.QueryParams(back.group(1).replace("&amp;", "&")))
        assert answer["error"] == "access_denied" and answer["iss"] == bridge.url
        assert await _journey(redis, person) == {}  # ended
        assert (await _journey(redis, other))["stage"] == "attributes"  # untouched
    finally:
        await person.aclose()
        await other.aclose()
