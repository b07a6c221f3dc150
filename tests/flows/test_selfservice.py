"""The residents' self-service area over real HTTP (simulator, bridge, authlib RP): sign in
through the bridge's own journey, list, receipts, export, withdraw (→ the RP's grant ends
everywhere), CSRF, sign out, and never another person's records."""

from __future__ import annotations

import json

import redis.asyncio as aioredis

from consent.signing import JwksVerifier
from federation.pages.locale import HTML_LANG
from federation.storage.keys import Keys
from tests.federation.journey.harness import Bridge, Person, audit_actions, bridge, form_fields
from tests.federation.selfservice.helpers import (
    assert_grant_ended,
    consent_at,
    consent_ids,
    consent_records,
    open_self_service,
    withdraw,
)

__all__ = ["bridge"]


async def test_withdrawal_in_self_service_ends_the_grant(
    bridge: Bridge, redis: aioredis.Redis
) -> None:
    person = Person(bridge, "cheung-kai-ming")
    try:
        token = await consent_at(bridge, person)
        page = await open_self_service(bridge, person)  # reuses the bridge session
        (record,) = await consent_records(redis)
        assert consent_ids(page.text) == [record["id"]]
        assert "Guangdong test service rp-sm2" in page.text or "廣東測試服務 rp-sm2" in page.text
        en = await person.go(bridge.url + "/consents?lang=en")
        assert "Your consents" in en.text and "Active" in en.text and "Withdraw" in en.text
        for name in json.loads(record["attributes"]):
            assert name["name"] in en.text
        before = len(bridge.rp.logout_tokens)
        done = await withdraw(bridge, person, record["id"])
        assert done.status_code == 200 and "notice=withdrawn" in str(done.url)
        assert "Withdrawn" in done.text and f"/consents/{record['id']}/withdraw" not in done.text
    finally:
        await person.aclose()
    stored = await redis.hgetall(Keys.consent(record["id"]))
    assert stored["status"] == "revoked" and stored["revoked_by"] == "subject"
    await assert_grant_ended(
        bridge,
        redis,
        token,
        client_id="rp-sm2",
        logout_tokens_before=before,
        action="consent.revoked",
    )


async def test_receipts_and_export_are_the_persons_own(
    bridge: Bridge, redis: aioredis.Redis
) -> None:
    person = Person(bridge, "cheung-kai-ming")
    try:
        await consent_at(bridge, person, "rp-sm2")
        await consent_at(bridge, person, "rp-es256")
        page = await open_self_service(bridge, person)
        ids = consent_ids(page.text)
        assert len(ids) == 2
        jws = await person.http.get(f"{bridge.url}/consents/{ids[0]}/receipt.jws")
        assert jws.status_code == 200 and jws.headers["content-type"] == "application/jose"
        assert "attachment" in jws.headers["content-disposition"]
        receipt = JwksVerifier(bridge.jwks).verify_jws(jws.text)
        assert receipt["consentReceiptID"] == ids[0]
        readable = await person.http.get(f"{bridge.url}/consents/{ids[0]}/receipt.json")
        body = readable.json()
        again = body["receipt"]  # issued anew: the same receipt but for its ``iat``
        assert {**again, "iat": 0} == {**receipt, "iat": 0}
        assert 0 <= again["iat"] - receipt["iat"] <= 60
        assert JwksVerifier(bridge.jwks).verify_jws(body["jws"]) == again  # SM2 is randomised
        assert "\n  " in readable.text  # indented for people
        export = (await person.http.get(bridge.url + "/consents/export.json")).json()
    finally:
        await person.aclose()
    records = await consent_records(redis)
    assert sorted(r["record"]["id"] for r in export["records"]) == sorted(r["id"] for r in records)
    assert {r["record"]["subject"] for r in export["records"]} == {export["subject"]}
    for entry in export["records"]:
        actions = [e["action"] for e in entry["events"]]
        assert actions and actions[0] in ("consent.granted", "consent.reconsented")
        assert all(entry["record"]["id"] in json.dumps(e) for e in entry["events"])


async def test_another_persons_records_are_never_shown(
    bridge: Bridge, redis: aioredis.Redis
) -> None:
    alice, bob = Person(bridge, "cheung-kai-ming"), Person(bridge, "chan-tai-man")
    try:
        await consent_at(bridge, alice)
        await consent_at(bridge, bob)
        alice_ids = consent_ids((await open_self_service(bridge, alice)).text)
        bob_page = await open_self_service(bridge, bob)
        bob_ids = consent_ids(bob_page.text)
        assert len(alice_ids) == 1 and len(bob_ids) == 1 and alice_ids != bob_ids
        theirs = alice_ids[0]
        alice_subject = (await redis.hgetall(Keys.consent(theirs)))["subject"]
        for path in ("withdraw", "receipt.jws", "receipt.json"):
            page = await bob.http.get(
                f"{bridge.url}/consents/{theirs}/{path}", headers={"Accept": "text/html"}
            )
            assert page.status_code == 404 and "<html" in page.text, path
            assert alice_subject not in page.text and "consentReceiptID" not in page.text
        token = form_fields(bob_page.text)["csrf_token"]
        forced = await bob.http.post(
            f"{bridge.url}/consents/{theirs}/withdraw", data={"csrf_token": token}
        )
        assert forced.status_code == 404
        export = await bob.http.get(bridge.url + "/consents/export.json")
        assert theirs not in export.text and alice_subject not in export.text
        assert [r["record"]["id"] for r in export.json()["records"]] == bob_ids
    finally:
        await alice.aclose()
        await bob.aclose()
    assert (await redis.hgetall(Keys.consent(theirs)))["status"] == "active"


async def test_withdraw_needs_the_sessions_csrf_token(
    bridge: Bridge, redis: aioredis.Redis
) -> None:
    person = Person(bridge)
    try:
        await consent_at(bridge, person)
        (consent_id,) = consent_ids((await open_self_service(bridge, person)).text)
        url = f"{bridge.url}/consents/{consent_id}/withdraw"
        for data in ({}, {"csrf_token": "forged"}):
            answer = await person.http.post(url, data=data, headers={"Accept": "text/html"})
            assert answer.status_code == 403 and "<html" in answer.text
    finally:
        await person.aclose()
    assert (await redis.hgetall(Keys.consent(consent_id)))["status"] == "active"
    assert "consent.revoked" not in audit_actions(await redis.xrange(Keys.AUDIT_STREAM))


async def test_signing_in_fresh_goes_through_iamsmart_and_records_no_consent(
    bridge: Bridge, redis: aioredis.Redis
) -> None:
    person = Person(bridge)
    try:
        start = await person.go(bridge.url + "/consents")
        assert start.status_code == 200 and 'href="/consents/login' in start.text
        assert (await person.http.get(bridge.url + "/consents/export.json")).status_code == 303
        page = await open_self_service(bridge, person)  # no bridge session: iAM Smart
        assert consent_ids(page.text) == []
    finally:
        await person.aclose()
    assert await consent_records(redis) == []
    assert "consent.granted" not in audit_actions(await redis.xrange(Keys.AUDIT_STREAM))


async def test_a_forged_callback_is_refused(bridge: Bridge, redis: aioredis.Redis) -> None:
    person = Person(bridge)
    try:
        await person.http.get(bridge.url + "/consents/login")  # a pending sign-in
        page = await person.http.get(
            bridge.url + "/consents/callback?code=abc&state=not-the-state",
            headers={"Accept": "text/html"},
        )
        assert page.status_code in (400, 410) and "<html" in page.text
        assert "idb_self" not in person.http.cookies
    finally:
        await person.aclose()


async def test_sign_out_ends_both_sessions_and_says_so(
    bridge: Bridge, redis: aioredis.Redis
) -> None:
    person = Person(bridge)
    try:
        await consent_at(bridge, person)
        page = await open_self_service(bridge, person)
        token = form_fields(page.text)["csrf_token"]
        out = await person.go(bridge.url + "/consents/sign-out?lang=en", data={"csrf_token": token})
        assert out.status_code == 200 and str(out.url).startswith(
            bridge.url + "/consents/signed-out"
        )
        assert "<html" in out.text
        again = await person.go(bridge.url + "/consents")
        assert 'href="/consents/login' in again.text  # signed out of the area
        relogin = await person.go(bridge.url + "/consents/login")
        assert "/sim/app/login/" in relogin.text  # and of the bridge: iAM Smart again
    finally:
        await person.aclose()


async def test_rp_initiated_logout_without_redirect_shows_a_page(
    bridge: Bridge, redis: aioredis.Redis
) -> None:
    person = Person(bridge)
    try:
        token = await consent_at(bridge, person)
        titles = {"en": "You have signed out", "zh-HK": "你已登出", "zh-CN": "您已登出"}
        for locale, title in titles.items():
            page = await person.http.get(
                bridge.url + "/logout",
                params={"id_token_hint": token["id_token"], "ui_locales": locale},
                headers={"Accept": "text/html"},
            )
            assert page.status_code == 200 and "text/html" in page.headers["content-type"]
            assert title in page.text and f'<html lang="{HTML_LANG[locale]}"' in page.text
    finally:
        await person.aclose()
