"""RP-initiated logout, the back-channel logout sender (to a real HTTP server on loopback)
and revocation for the consent layer (``revoke_grants_for``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from federation.crypto.jose import decode_jwt
from federation.oidc.logout import EVENT, send_backchannel_logout
from federation.oidc.provider import OidcProvider
from federation.oidc.seam import revoke_grants_for
from federation.oidc.session import SESSION_COOKIE, get_session
from federation.storage.runtime import free_port
from tests.federation.oidc.flow import full_flow
from tests.federation.oidc.harness import ISSUER, PERSON


class Receiver:
    """A relying party's back-channel logout endpoint, served by uvicorn on 127.0.0.1."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/backchannel"

    async def receive(self, request: Request) -> Response:
        form = await request.form()
        self.tokens.append(str(form["logout_token"]))
        return Response(status_code=200, headers={"Cache-Control": "no-store"})


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rp = Receiver()
    app = Starlette(routes=[Route("/backchannel", rp.receive, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=rp.port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield rp
    finally:
        server.should_exit = True
        await task


def _with_backchannel(provider: OidcProvider, client_id: str, uri: str) -> None:
    client = provider.clients.static[client_id]
    provider.clients.static[client_id] = client.model_copy(update={"backchannel_logout_uri": uri})


async def _verify_logout_token(
    http: httpx.AsyncClient, token: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    jwks = (await http.get("/jwks")).json()
    return decode_jwt(token, jwks, algorithms=["SM2SM3"])


async def test_rp_initiated_logout_notifies_the_other_rps(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    receiver: Receiver,
) -> None:
    _with_backchannel(provider, "rp-sm2", receiver.url)
    first = await full_flow(http, redis, provider, "rp-es256")
    second = await full_flow(http, redis, provider, "rp-sm2")  # same session, reused
    sid = first["claims"]["sid"]
    assert second["claims"]["sid"] == sid
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
    assert SESSION_COOKIE in response.headers["set-cookie"]
    assert await get_session(redis, sid) is None
    assert len(receiver.tokens) == 1
    header, claims = await _verify_logout_token(http, receiver.tokens[0])
    assert header["typ"] == "logout+jwt" and header["alg"] == "SM2SM3"
    assert claims["iss"] == ISSUER and claims["aud"] == "rp-sm2"
    assert claims["sid"] == sid and claims["sub"] == second["claims"]["sub"]
    assert claims["events"] == {EVENT: {}} and "nonce" not in claims and claims["jti"]


async def test_logout_refuses_unregistered_post_logout_redirect(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    body = await full_flow(http, redis, provider, "rp-es256")
    response = await http.get(
        "/logout",
        params={"id_token_hint": body["id_token"], "post_logout_redirect_uri": "https://evil/bye"},
    )
    assert response.status_code == 400 and "location" not in response.headers
    forged = await http.get("/logout", params={"id_token_hint": "a.b.c"})
    assert forged.status_code == 400
    plain = await http.get("/logout")
    assert plain.status_code == 200 and plain.json() == {"logged_out": True}


async def test_backchannel_failure_is_reported_not_raised(provider: OidcProvider) -> None:
    client = provider.clients.static["rp-sm2"].model_copy(
        update={"backchannel_logout_uri": f"http://127.0.0.1:{free_port()}/gone"}
    )
    assert await send_backchannel_logout(provider, client, sub="s", sid=None) is False
    no_uri = provider.clients.static["rp-es256"]
    assert await send_backchannel_logout(provider, no_uri, sub="s", sid=None) is False


async def test_revoke_grants_for_ends_tokens_and_tells_the_rp(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    receiver: Receiver,
) -> None:
    _with_backchannel(provider, "rp-sm2", receiver.url)
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
