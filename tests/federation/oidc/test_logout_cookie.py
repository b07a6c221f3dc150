"""``/logout`` deletes the session cookie with the same ``Secure`` flag the journey set it
with: Secure behind https, not on a plain-http loopback issuer (the demo), where a browser
would ignore a Secure deletion and keep the cookie."""

from __future__ import annotations

import httpx
import redis.asyncio as aioredis

from federation.oidc.provider import OidcProvider
from federation.oidc.router import install
from federation.oidc.session import SESSION_COOKIE
from federation.settings import Settings
from federation.storage.runtime import RedisServer
from tests.federation.oidc.harness import base_app, stand_in_journey


def _deletion(response: httpx.Response) -> str:
    (cookie,) = [c for c in response.headers.get_list("set-cookie") if SESSION_COOKIE in c]
    return cookie.lower()


async def test_https_issuer_deletes_a_secure_cookie(http: httpx.AsyncClient) -> None:
    response = await http.get("/logout", cookies={SESSION_COOKIE: "s"})
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
        response = await http.get("/logout", cookies={SESSION_COOKIE: "s"})
    deletion = _deletion(response)
    assert "max-age=0" in deletion and "httponly" in deletion and "secure" not in deletion
