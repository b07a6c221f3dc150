"""``/logout`` deletes the session cookie with the same ``Secure`` flag the journey set it
with: Secure behind https, not on a plain-http loopback issuer (the demo), where a browser
would ignore a Secure deletion and keep the cookie. A request that must be confirmed first
(no ``id_token_hint``) leaves the cookie alone."""

from __future__ import annotations

import httpx
import redis.asyncio as aioredis

from federation.oidc.provider import OidcProvider
from federation.oidc.router import install
from federation.oidc.session import SESSION_COOKIE
from federation.settings import Settings
from federation.storage.runtime import RedisServer
from tests.federation.oidc.flow import full_flow
from tests.federation.oidc.harness import base_app, stand_in_journey

STALE = "a-cookie-of-a-session-that-is-long-gone-0123456789"


def _deletion(response: httpx.Response) -> str:
    (cookie,) = [c for c in response.headers.get_list("set-cookie") if SESSION_COOKIE in c]
    return cookie.lower()


async def test_https_issuer_deletes_a_secure_cookie(http: httpx.AsyncClient) -> None:
    http.cookies.set(SESSION_COOKIE, STALE)
    response = await http.get("/logout")
    assert "secure" in _deletion(response)


async def test_plain_http_issuer_deletes_a_plain_cookie(
    provider: OidcProvider, redis: aioredis.Redis, redis_server: RedisServer
) -> None:
    issuer = "http://127.0.0.1:8000"
    provider.issuer = issuer
    app = base_app(Settings(redis_url=redis_server.url, issuer=issuer))
    app.state.redis = redis
    install(app, provider, journey=stand_in_journey)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=issuer) as http:
        http.cookies.set(SESSION_COOKIE, STALE)
        response = await http.get("/logout")
    deletion = _deletion(response)
    assert "max-age=0" in deletion and "httponly" in deletion and "secure" not in deletion


async def test_a_logout_to_be_confirmed_keeps_the_cookie(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    await full_flow(http, redis, provider, "rp-es256")
    response = await http.get("/logout")  # no id_token_hint: the person is asked first
    assert response.status_code == 200 and "logout_confirm" in response.text
    assert not [c for c in response.headers.get_list("set-cookie") if SESSION_COOKIE in c]
