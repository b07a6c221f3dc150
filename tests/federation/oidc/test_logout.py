"""RP-initiated logout (RP-Initiated Logout 1.0 §2–§3): a hint of the current session ends
it at once and tells the session's other RPs (to a real HTTP server on loopback); without a
hint, or with one of another session, the person is asked first and only a confirmed POST
with the session's CSRF token ends it; without a session nothing ends; bad requests are
refused and never redirected. Also revocation for the consent layer
(``revoke_grants_for``)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import redis.asyncio as aioredis
from fastapi import FastAPI

from federation import cookies
from federation.crypto.jose import decode_jwt
from federation.oidc.logout import EVENT
from federation.oidc.provider import OidcProvider
from federation.oidc.seam import revoke_grants_for
from federation.oidc.session import get_session
from tests.federation.oidc.flow import full_flow
from tests.federation.oidc.harness import ISSUER, PERSON
from tests.federation.oidc.receiver import Receiver, receiver, with_backchannel

__all__ = ["receiver"]

BYE = "https://gd.example.cn/bye"

SESSION_COOKIE = cookies.cookie_name(cookies.SESSION, secure=True)  # https://testserver


async def _verify_logout_token(
    http: httpx.AsyncClient, token: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    jwks = (await http.get("/jwks/sm2")).json()  # sm2_jwks_uri
    return decode_jwt(token, jwks, algorithms=["SM2SM3"])


def _hidden(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def _action(html: str) -> str:
    found = re.search(r'<form method="post" action="([^"]+)"', html)
    assert found is not None, html[:300]
    return found.group(1).replace("&amp;", "&")


def _deleted(response: httpx.Response) -> bool:
    cookies = response.headers.get_list("set-cookie")
    return any(c.startswith(SESSION_COOKIE + "=") and "Max-Age=0" in c for c in cookies)


async def test_hint_of_the_current_session_ends_it_and_notifies_the_other_rps(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    receiver: Receiver,
) -> None:
    with_backchannel(provider, "rp-sm2", receiver.url)
    first = await full_flow(http, redis, provider, "rp-es256")
    second = await full_flow(http, redis, provider, "rp-sm2")  # same session, reused
    sid = first["claims"]["sid"]
    assert second["claims"]["sid"] == sid and http.cookies[SESSION_COOKIE] != sid
    response = await http.get(
        "/logout",
        params={
            "id_token_hint": first["id_token"],
            "post_logout_redirect_uri": "https://rp.example.cn/bye",
            "state": "bye-state",
        },
    )
    assert response.status_code == 302
    assert response.headers["location"] == "https://rp.example.cn/bye?state=bye-state"
    assert _deleted(response)
    assert await get_session(redis, sid) is None
    assert len(receiver.tokens) == 1  # rp-es256 asked: only rp-sm2 is told
    header, claims = await _verify_logout_token(http, receiver.tokens[0])
    assert header["typ"] == "logout+jwt" and header["alg"] == "SM2SM3"
    assert claims["iss"] == ISSUER and claims["aud"] == "rp-sm2"
    assert claims["sid"] == sid and claims["sub"] == second["claims"]["sub"]
    assert claims["events"] == {EVENT: {}} and "nonce" not in claims and claims["jti"]


async def test_without_a_hint_the_person_confirms_with_a_csrf_token(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    receiver: Receiver,
    app: FastAPI,
) -> None:
    with_backchannel(provider, "rp-sm2", receiver.url)
    body = await full_flow(http, redis, provider, "rp-sm2")
    sid = body["claims"]["sid"]
    params = {
        "client_id": "rp-sm2",
        "post_logout_redirect_uri": BYE,
        "state": "s1",
        "ui_locales": "en",
    }
    page = await http.get("/logout", params=params)  # e.g. a cross-site link: ask first
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert (
        "Sign out of the identity bridge?" in page.text
        and "no-store" in page.headers["cache-control"]
    )
    assert not _deleted(page) and await get_session(redis, sid) is not None
    fields = _hidden(page.text)
    assert {k: fields[k] for k in params} == params and fields["logout_confirm"] == "yes"
    action = _action(page.text)
    assert action == "/logout?lang=en"
    again = await http.get("/logout", params=fields)  # a GET never confirms
    assert again.status_code == 200 and await get_session(redis, sid) is not None
    others = app.state.pages.issue_csrf("logout:" + "another-session-id")
    for bad in ("", "v1.99999999999.forged", others):
        refused = await http.post(action, data={**fields, "csrf_token": bad})
        assert refused.status_code == 403 and "location" not in refused.headers
        assert refused.json()["error"] == "invalid_request"
        assert await get_session(redis, sid) is not None
    done = await http.post(action, data=fields)
    assert done.status_code == 302 and done.headers["location"] == BYE + "?state=s1"
    assert _deleted(done) and await get_session(redis, sid) is None
    assert len(receiver.tokens) == 1  # nobody proved to be asking: every RP is told
    _, claims = await _verify_logout_token(http, receiver.tokens[0])
    assert claims["aud"] == "rp-sm2" and claims["sid"] == sid


async def test_a_hint_of_another_session_is_confirmed_first(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    theirs = await full_flow(http, redis, provider, "rp-es256")
    http.cookies.clear()
    mine = await full_flow(http, redis, provider, "rp-es256")  # a new login, a new session
    assert theirs["claims"]["sid"] != mine["claims"]["sid"]
    page = await http.get("/logout", params={"id_token_hint": theirs["id_token"]})
    assert page.status_code == 200 and "logout_confirm" in page.text
    assert theirs["id_token"] not in _hidden(page.text).values()  # the form carries none
    assert await get_session(redis, theirs["claims"]["sid"]) is not None
    assert await get_session(redis, mine["claims"]["sid"]) is not None


async def test_without_a_session_nothing_ends(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    body = await full_flow(http, redis, provider, "rp-es256")
    http.cookies.clear()  # another browser: it holds no session
    response = await http.get(
        "/logout",
        params={
            "id_token_hint": body["id_token"],
            "post_logout_redirect_uri": "https://rp.example.cn/bye",
        },
    )
    assert response.status_code == 302
    assert response.headers["location"] == "https://rp.example.cn/bye"
    assert await get_session(redis, body["claims"]["sid"]) is not None
    plain = await http.get("/logout")
    assert plain.status_code == 200 and plain.json() == {"logged_out": True}


async def test_bad_logout_requests_are_refused_never_redirected(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    body = await full_flow(http, redis, provider, "rp-es256")
    hint = body["id_token"]
    bad = [
        {"id_token_hint": hint, "post_logout_redirect_uri": "https://evil/bye"},
        {"id_token_hint": "a.b.c"},
        {"id_token_hint": hint, "client_id": "rp-sm2"},  # not the hint's audience
        {"client_id": "no-such-client", "post_logout_redirect_uri": BYE},
        {"post_logout_redirect_uri": BYE},  # no client to check it against
    ]
    for params in bad:
        response = await http.get("/logout", params=params)
        assert response.status_code == 400 and "location" not in response.headers, params
    repeated = await http.get("/logout?state=a&state=b")
    assert repeated.status_code == 400
    not_a_form = await http.post("/logout", content=b"{}", headers={"content-type": "text/json"})
    assert not_a_form.status_code == 400
    assert await get_session(redis, body["claims"]["sid"]) is not None


async def test_revoke_grants_for_ends_tokens_and_tells_the_rp(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    receiver: Receiver,
) -> None:
    from federation.oidc.backchannel import send_backchannel_logout

    with_backchannel(provider, "rp-sm2", receiver.url)
    body = await full_flow(http, redis, provider, "rp-sm2")
    other = await full_flow(http, redis, provider, "rp-es256")
    revoked = await revoke_grants_for(redis, PERSON, "rp-sm2")
    assert len(revoked) == 1 and revoked[0].tokens == 2
    assert revoked[0].subject == body["claims"]["sub"] and revoked[0].sid == body["claims"]["sid"]
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert (await http.get("/userinfo", headers=bearer)).status_code == 401
    still = {"Authorization": f"Bearer {other['access_token']}"}
    assert (await http.get("/userinfo", headers=still)).status_code == 200  # other RP intact
    client = provider.clients.static["rp-sm2"]
    assert await send_backchannel_logout(
        provider, client, sub=revoked[0].subject, sid=revoked[0].sid
    )
    _, claims = await _verify_logout_token(http, receiver.tokens[-1])
    assert claims["sub"] == body["claims"]["sub"]
    assert await revoke_grants_for(redis, PERSON, "rp-sm2") == []
