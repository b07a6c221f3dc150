"""The bridge session's cookie is a secret, not the ``sid``: ID tokens carry the ``sid``
(derived one way from the cookie), and presenting a ``sid`` as the cookie resumes nothing
(``prompt=none`` → ``login_required``), while the real cookie still gives single sign-on."""

from __future__ import annotations

import httpx
import redis.asyncio as aioredis

from federation import cookies
from federation.oidc.provider import OidcProvider
from federation.oidc.session import (
    create_session,
    get_session,
    new_session_secret,
    session_from_cookie,
    session_id_for,
)
from tests.federation.oidc.flow import Authorized, authorize, full_flow

SESSION_COOKIE = cookies.cookie_name(cookies.SESSION, secure=True)  # https://testserver


async def test_the_id_tokens_sid_is_not_the_cookie_and_cannot_be_used_as_one(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    body = await full_flow(http, redis, provider, "rp-es256")
    cookie, sid = http.cookies[SESSION_COOKIE], body["claims"]["sid"]
    assert sid != cookie and session_id_for(cookie) == sid
    http.cookies.clear()
    http.cookies.set(SESSION_COOKIE, sid)  # an RP holding the ID token tries its sid
    refused = await authorize(http, redis, provider, "rp-es256", login=False, prompt="none")
    assert isinstance(refused, httpx.Response) and refused.status_code == 302
    assert "error=login_required" in refused.headers["location"]
    http.cookies.clear()
    http.cookies.set(SESSION_COOKIE, cookie)  # the person's browser: SSO as before
    again = await authorize(http, redis, provider, "rp-es256", login=False, prompt="none")
    assert isinstance(again, Authorized)
    other = await full_flow(http, redis, provider, "rp-sm2", prompt="none")  # a second RP
    assert other["claims"]["sid"] == sid


async def test_session_from_cookie_derives_the_sid(redis: aioredis.Redis) -> None:
    secret = new_session_secret()
    sid = await create_session(redis, "person", 1_700_000_000, 60, secret=secret)
    assert sid == session_id_for(secret) and sid != secret and len(sid) == 43
    found = await session_from_cookie(redis, secret)
    assert found is not None and found.session_id == sid and found.subject == "person"
    assert await session_from_cookie(redis, sid) is None  # the sid is no cookie
    for junk in (None, "", "short", "x" * 129, secret + "\n", "é" * 40):
        assert await session_from_cookie(redis, junk) is None
    assert await get_session(redis, sid) is not None
