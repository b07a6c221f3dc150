"""The consent step over real HTTP: remembered consent, decline, the separate
cross-boundary box, CSRF, optional items switched off, the Home Return Permit typed by the
person (invalid, then valid; stored sealed), prompt=none with a session."""

from __future__ import annotations

import base64

import httpx
import redis.asyncio as aioredis

from federation.crypto import sm4
from federation.storage.keys import Keys
from tests.federation.journey.harness import (
    PII_KEY,
    Bridge,
    Person,
    audit_actions,
    authorize_url,
    bridge,
    consent,
    exchange,
    finish,
    form_fields,
    rp_client,
    rp_response,
    verify_id_token,
)

__all__ = ["bridge"]


async def _first_login(bridge: Bridge, client_id: str, persona: str = "ho-kwan") -> Person:
    client = rp_client(bridge, client_id)
    url, *_ = await authorize_url(bridge, client)
    person = Person(bridge, persona)
    done = await consent(person, await person.sign_in(url))
    await finish(person, done)
    return person


async def test_remembered_consent_skips_the_page(bridge: Bridge, redis: aioredis.Redis) -> None:
    first = await _first_login(bridge, "rp-sm2")
    await first.aclose()
    client = rp_client(bridge, "rp-sm2")
    url, state, _, verifier = await authorize_url(bridge, client)
    again = Person(bridge, "ho-kwan")  # a new browser: iAM Smart again, no consent page
    try:
        answer = rp_response(await again.sign_in(url))
    finally:
        await again.aclose()
    assert answer["state"] == state
    token = await exchange(bridge, client, answer, verifier)
    assert verify_id_token(bridge, token["id_token"], "rp-sm2")["sub"]
    assert audit_actions(await redis.xrange(Keys.AUDIT_STREAM)).count("consent.granted") == 1


async def test_session_reused_with_prompt_none(bridge: Bridge) -> None:
    person = await _first_login(bridge, "rp-es256", "lee-ka-fung")
    try:
        client = rp_client(bridge, "rp-es256")
        url, state, _, verifier = await authorize_url(bridge, client, prompt="none")
        answer = rp_response(await person.go(url))  # no iAM Smart, no page
        assert answer["state"] == state and "code" in answer
        token = await exchange(bridge, client, answer, verifier)
        assert verify_id_token(bridge, token["id_token"], "rp-es256")["sid"]
        other = rp_client(bridge, "rp-rs256")  # no consent there yet: consent_required
        url, state, _, _ = await authorize_url(bridge, other, prompt="none")
        assert rp_response(await person.go(url))["error"] == "consent_required"
    finally:
        await person.aclose()
    stranger = Person(bridge)
    try:
        url, state, _, _ = await authorize_url(bridge, rp_client(bridge, "rp-sm2"), prompt="none")
        answer = rp_response(await stranger.go(url))
    finally:
        await stranger.aclose()
    assert answer["error"] == "login_required" and answer["state"] == state


async def test_decline_is_access_denied(bridge: Bridge, redis: aioredis.Redis) -> None:
    client = rp_client(bridge, "rp-sm2")
    url, state, _, _ = await authorize_url(bridge, client)
    person = Person(bridge, "wong-siu-ming")
    try:
        page = await person.sign_in(url)
        declined = await consent(person, page, cross_boundary=False, decision="decline")
        assert declined.status_code == 403 and "ref" in declined.text.lower()
        back = declined.text.split('href="http://127.0.0.1:9/cb?')[1].split('"')[0]
    finally:
        await person.aclose()
    answer = dict(httpx.QueryParams(back.replace("&amp;", "&")))
    assert answer["error"] == "access_denied" and answer["state"] == state
    assert answer["iss"] == bridge.url
    assert "consent.denied" in audit_actions(await redis.xrange(Keys.AUDIT_STREAM))
    assert await redis.keys(Keys.consent("*")) == []


async def test_cross_boundary_box_and_csrf(bridge: Bridge) -> None:
    url, *_ = await authorize_url(bridge, rp_client(bridge, "rp-sm2"))
    person = Person(bridge, "smith-john")
    try:
        page = await person.sign_in(url)
        forged = await person.go(
            bridge.url + "/journey/consent",
            data={
                "csrf_token": "v1.9999999999.forged",
                "decision": "agree",
                "cross_boundary": "yes",
            },
        )
        assert forged.status_code == 403
        missing = await consent(person, page, cross_boundary=False)
        assert missing.status_code == 400 and 'aria-invalid="true"' in missing.text
        assert 'id="cross_boundary"' in missing.text
        done = await consent(person, missing)
        assert (await finish(person, done))["code"]
    finally:
        await person.aclose()


async def test_optional_item_switched_off_is_not_sent(bridge: Bridge) -> None:
    client = rp_client(bridge, "rp-sm2", scope="openid profile email phone")
    url, _, _, verifier = await authorize_url(
        bridge, client, claims='{"id_token": {"email": null, "birthdate": null}}'
    )
    person = Person(bridge, "chan-tai-man")
    try:
        page = await person.sign_in(url)
        offered = set(form_fields(page.text)) | set(
            v for v in page.text.split('name="release" value="')[1:] for v in [v.split('"')[0]]
        )
        assert "email" in offered and "phone_number" in offered
        keep = [name for name in offered if name not in ("email", "csrf_token")]
        answer = await finish(person, await consent(person, page, keep=keep))
    finally:
        await person.aclose()
    token = await exchange(bridge, client, answer, verifier)
    claims = verify_id_token(bridge, token["id_token"], "rp-sm2")
    assert "email" not in claims and claims["birthdate"] == "1978-04-12"
    info = httpx.get(
        bridge.url + "/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}
    ).json()
    assert "email" not in info and info["phone_number"].startswith("+852")


async def test_home_return_permit_invalid_then_valid(bridge: Bridge, redis: aioredis.Redis) -> None:
    client = rp_client(bridge, "rp-gd", scope="openid profile")
    url, _, _, verifier = await authorize_url(
        bridge,
        client,
        claims='{"userinfo": {"idcardnumber": {"essential": true}, "idcardtype": null}}',
    )
    person = Person(bridge, "chan-tai-man")
    try:
        page = await person.sign_in(url)
        assert 'name="supplied_home_return_permit"' in page.text
        wrong = await consent(person, page, supplied={"home_return_permit": "X1234"})
        assert wrong.status_code == 400 and 'value="X1234"' in wrong.text
        done = await consent(person, wrong, supplied={"home_return_permit": "h1234 5678"})
        answer = await finish(person, done)
    finally:
        await person.aclose()
    token = await exchange(bridge, client, answer, verifier)
    info = httpx.get(
        bridge.url + "/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}
    ).json()
    assert info["idcardnumber"] == "H12345678" and info["idcardtype"] == "516"
    assert info["cn"] == "陈大文"
    (pii_key,) = await redis.keys(Keys.pii("*"))
    sealed = await redis.get(pii_key)
    assert "H12345678" not in sealed
    consent_id = pii_key.removeprefix(Keys.pii(""))
    plain = sm4.decrypt(bytes.fromhex(PII_KEY), base64.b64decode(sealed), aad=consent_id.encode())
    assert b"H12345678" in plain
