"""The bridge session and logout through the whole bridge (simulator, ``create_app``,
authlib RP, a browser with a cookie jar): the session cookie is a secret, not the ``sid``
of the ID tokens; single sign-on (``prompt=none``, a second RP) still works with the real
cookie and not with a ``sid``; ``/logout`` without a hint asks first on a trilingual page
(POST + CSRF), with the session's hint ends it at once, and shows every refusal as a page.
"""

from __future__ import annotations

import re

import httpx
import redis.asyncio as aioredis

from federation.crypto.jose import decode_jwt
from federation.oidc.session import SESSION_COOKIE, session_id_for
from federation.pages.locale import HTML_LANG
from federation.storage.keys import Keys
from tests.federation.journey.harness import (
    RP_BYE,
    Bridge,
    Person,
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

HTML = {"Accept": "text/html"}
TITLES = {
    "en": "Sign out of the identity bridge?",
    "zh-HK": "登出身份橋接服務？",
    "zh-CN": "登出身份桥接服务？",
}


async def signed_in(bridge: Bridge, person: Person, client_id: str, **extra: str) -> dict:
    """The person signs in at ``client_id`` (iAM Smart only without a bridge session;
    the consent page unless a consent is remembered); the RP's tokens."""
    client = rp_client(bridge, client_id)
    url, _, _, verifier = await authorize_url(bridge, client, **extra)
    page = await person.go(url)
    if "/sim/app/login/" in page.text:
        page = await person.sign_in(url)
    if page.is_redirect:  # a remembered consent: straight back to the RP
        answer = rp_response(page)
    else:
        answer = await finish(person, await consent(person, page))
    return await exchange(bridge, client, answer, verifier)


async def test_the_cookie_is_no_sid_and_single_sign_on_still_works(bridge: Bridge) -> None:
    person = Person(bridge, "chow-mei-ling")
    try:
        first = await signed_in(bridge, person, "rp-es256")
        sid = verify_id_token(bridge, first["id_token"], "rp-es256")["sid"]
        cookie = person.http.cookies.get(SESSION_COOKIE)
        assert cookie and cookie != sid and session_id_for(cookie) == sid
        again = rp_client(bridge, "rp-es256")
        url, state, _, verifier = await authorize_url(bridge, again, prompt="none")
        answer = rp_response(await person.go(url))  # no iAM Smart, no page
        assert answer["state"] == state and "code" in answer
        token = await exchange(bridge, again, answer, verifier)
        assert verify_id_token(bridge, token["id_token"], "rp-es256")["sid"] == sid
        url, *_ = await authorize_url(bridge, rp_client(bridge, "rp-sm2"))
        assert "/sim/app/login/" not in (await person.go(url)).text  # a second RP: no login
        second = await signed_in(bridge, person, "rp-sm2")
        assert verify_id_token(bridge, second["id_token"], "rp-sm2")["sid"] == sid
    finally:
        await person.aclose()
    thief = Person(bridge)  # an RP that holds the ID token presents its sid as the cookie
    try:
        thief.http.cookies.set(SESSION_COOKIE, sid)
        url, state, _, _ = await authorize_url(bridge, rp_client(bridge, "rp-es256"), prompt="none")
        answer = rp_response(await thief.go(url))
    finally:
        await thief.aclose()
    assert answer["error"] == "login_required" and answer["state"] == state


async def test_logout_without_a_hint_is_confirmed_first(
    bridge: Bridge, redis: aioredis.Redis
) -> None:
    person = Person(bridge, "chan-tai-man")
    try:
        token = await signed_in(bridge, person, "rp-sm2")
        sid = verify_id_token(bridge, token["id_token"], "rp-sm2")["sid"]
        params = {"client_id": "rp-sm2", "post_logout_redirect_uri": RP_BYE, "state": "st"}
        for locale, title in TITLES.items():
            page = await person.http.get(
                bridge.url + "/logout", params={**params, "ui_locales": locale}, headers=HTML
            )
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            assert title in page.text and f'<html lang="{HTML_LANG[locale]}"' in page.text
        assert await redis.exists(Keys.session(sid))  # asking ended nothing
        fields = form_fields(page.text)
        action = re.search(r'<form method="post" action="([^"]+)"', page.text)
        assert action is not None and action.group(1) == "/logout?lang=zh-CN"
        forged = await person.http.post(
            bridge.url + "/logout?lang=en", data={**fields, "csrf_token": "v1.1.x"}, headers=HTML
        )
        assert forged.status_code == 403 and "location" not in forged.headers
        assert "This form could not be accepted" in forged.text
        assert forged.headers["content-type"].startswith("text/html")
        assert '<html lang="en"' in forged.text and await redis.exists(Keys.session(sid))
        before = len(bridge.rp.logout_tokens)
        done = await person.http.post(bridge.url + action.group(1), data=fields, headers=HTML)
        assert done.status_code == 302 and done.headers["location"] == RP_BYE + "?state=st"
        assert not await redis.exists(Keys.session(sid))
        assert SESSION_COOKIE not in person.http.cookies
    finally:
        await person.aclose()
    assert len(bridge.rp.logout_tokens) == before + 1
    header, claims = decode_jwt(bridge.rp.logout_tokens[-1], bridge.jwks, algorithms=["SM2SM3"])
    assert header["typ"] == "logout+jwt" and claims["aud"] == "rp-sm2" and claims["sid"] == sid


async def test_the_sessions_own_hint_ends_it_at_once(bridge: Bridge, redis: aioredis.Redis) -> None:
    person = Person(bridge, "chow-mei-ling")
    try:
        mine = await signed_in(bridge, person, "rp-es256")
        sid = verify_id_token(bridge, mine["id_token"], "rp-es256")["sid"]
        await signed_in(bridge, person, "rp-sm2")  # the same session at a second RP
        before = len(bridge.rp.logout_tokens)
        out = await person.http.get(
            bridge.url + "/logout",
            params={"id_token_hint": mine["id_token"], "ui_locales": "en"},
            headers=HTML,
        )
        assert out.status_code == 200 and "You have signed out" in out.text
    finally:
        await person.aclose()
    assert not await redis.exists(Keys.session(sid))
    assert len(bridge.rp.logout_tokens) == before + 1  # rp-sm2 told, rp-es256 asked itself
    _, claims = decode_jwt(bridge.rp.logout_tokens[-1], bridge.jwks, algorithms=["SM2SM3"])
    assert claims["aud"] == "rp-sm2" and claims["sid"] == sid


async def test_refused_logouts_are_pages_never_json_or_redirects(bridge: Bridge) -> None:
    person = Person(bridge, "chan-tai-man")
    try:
        token = await signed_in(bridge, person, "rp-es256")
        hint = token["id_token"]
        cases = [
            (
                "We could not send you back safely",
                {"id_token_hint": hint, "post_logout_redirect_uri": "https://evil.example/bye"},
            ),
            ("The sign-in request was incomplete", {"id_token_hint": "a.b.c"}),
            ("The sign-in request was incomplete", {"id_token_hint": hint, "client_id": "rp-sm2"}),
        ]
        for title, params in cases:
            page = await person.http.get(
                bridge.url + "/logout", params=params, headers={**HTML, "Accept-Language": "en"}
            )
            assert page.status_code == 400 and "location" not in page.headers, params
            assert page.headers["content-type"].startswith("text/html") and title in page.text
        alone = await person.http.get(
            bridge.url + "/logout", params={"post_logout_redirect_uri": RP_BYE}, headers=HTML
        )
        assert alone.status_code == 400 and "location" not in alone.headers
        assert SESSION_COOKIE in person.http.cookies  # nothing ended
    finally:
        await person.aclose()


async def test_a_stranger_without_a_session_goes_straight_back(bridge: Bridge) -> None:
    async with httpx.AsyncClient() as stranger:
        response = await stranger.get(
            bridge.url + "/logout",
            params={"client_id": "rp-sm2", "post_logout_redirect_uri": RP_BYE, "state": "s"},
        )
    assert response.status_code == 302 and response.headers["location"] == RP_BYE + "?state=s"


async def test_an_rps_cross_site_form_post_becomes_a_get_that_sees_the_session(
    bridge: Bridge, redis: aioredis.Redis
) -> None:
    """A form POST from the RP's site arrives without the SameSite=Lax session cookie:
    it is answered with a 303 to the same logout as a GET, which carries the cookie."""
    person = Person(bridge, "chow-mei-ling")
    try:
        mine = await signed_in(bridge, person, "rp-es256")
        sid = verify_id_token(bridge, mine["id_token"], "rp-es256")["sid"]
        params = {
            "id_token_hint": mine["id_token"],
            "post_logout_redirect_uri": RP_BYE,
            "state": "s-1",
        }
        async with httpx.AsyncClient() as cross_site:  # what the browser sends: no cookie
            posted = await cross_site.post(bridge.url + "/logout", data=params, headers=HTML)
        assert posted.status_code == 303 and await redis.exists(Keys.session(sid))
        location = posted.headers["location"]
        assert location.startswith("/logout?")
        back = await person.http.get(bridge.url + location, headers=HTML)
        assert back.status_code == 302 and back.headers["location"].startswith(RP_BYE)
        assert "state=s-1" in back.headers["location"]
    finally:
        await person.aclose()
    assert not await redis.exists(Keys.session(sid))


async def test_an_oversized_logout_is_the_413_page(bridge: Bridge) -> None:
    person = Person(bridge, "chan-tai-man")
    try:
        await signed_in(bridge, person, "rp-es256")
        big = await person.http.post(
            bridge.url + "/logout",
            data={"ui_locales": "en", "padding": "x" * (70 * 1024)},
            headers={**HTML, "Accept-Language": "en"},
        )
    finally:
        await person.aclose()
    assert big.status_code == 413 and "location" not in big.headers
    assert big.headers["content-type"].startswith("text/html")
    assert "What you sent was too large" in big.text
