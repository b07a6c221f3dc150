"""Registration is bounded and clients can be offboarded (issue 24): initial access tokens
per onboarding with a registration quota and an expiry (``IDBRIDGE_INITIAL_ACCESS_TOKEN``
is one of them), a tight hourly limit on ``/register``, and ``idbridge clients
list|show|delete`` — delete ends the client's consents and tokens (back-channel logout
included) and its registration, through ``federation.oidc.offboarding.offboard_client``."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from authlib.integrations.httpx_client import AsyncOAuth2Client
from click.testing import CliRunner
from fastapi import FastAPI

from federation.cli import main
from federation.oidc.onboarding import issue_initial_access_token
from federation.storage.keys import Keys
from federation.storage.runtime import RedisServer, free_port
from tests.federation.journey.harness import (
    RP_REDIRECT,
    Bridge,
    Person,
    RelyingParty,
    audit_actions,
    authorize_url,
    bridge,
    bridge_env,
    build_with_env,
    consent,
    exchange,
    finish,
)

__all__ = ["bridge"]

ENV_TOKEN = "env-initial-access-token-0123456789abcdef"
METADATA = {
    "redirect_uris": [RP_REDIRECT],
    "client_name": "Onboarded service",
    "purposes": {"zh-HK": "辦理業務", "zh-CN": "办理业务", "en": "Your application"},
    "processing_method": {"zh-HK": "電子處理", "zh-CN": "电子处理", "en": "Electronic"},
    "retention": {"zh-HK": "保存一年", "zh-CN": "保存一年", "en": "Kept for one year"},
    "rights_procedure": {"zh-HK": "寫信給我們", "zh-CN": "写信给我们", "en": "Write to us"},
    "contacts": ["dpo@onboarded.example.cn"],
    "scope": "openid profile",
    "grant_types": ["authorization_code", "refresh_token"],
}


@pytest.fixture
async def app(
    redis_server: RedisServer, redis: aioredis.Redis, tmp_path: Path
) -> AsyncIterator[FastAPI]:
    rp = RelyingParty(url=f"http://127.0.0.1:{free_port()}")
    sim = f"http://127.0.0.1:{free_port()}"
    env = bridge_env(tmp_path, redis_server.url, free_port(), sim, rp)
    env |= {
        "IDBRIDGE_INITIAL_ACCESS_TOKEN": ENV_TOKEN,
        "IDBRIDGE_INITIAL_ACCESS_TOKEN_QUOTA": "2",
        "IDBRIDGE_REGISTRATION_PER_HOUR": "8",
    }
    application, _ = build_with_env(env)
    async with application.router.lifespan_context(application):
        yield application


def _http(app: FastAPI, address: str = "192.0.2.40") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")


_SERIAL = itertools.count(1)


def _name() -> str:
    """A client name no other is confusable with (letters that look like no others)."""
    return "e-service " + "".join("bcdfghkmnp"[int(d)] for d in str(next(_SERIAL)))


async def _register(http: httpx.AsyncClient, token: str, body: object = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    named = {**METADATA, "client_name": _name()}  # names must differ
    return await http.post("/register", json=named if body is None else body, headers=headers)


async def test_registrations_beyond_the_quota_are_refused(
    app: FastAPI, redis: aioredis.Redis
) -> None:
    async with _http(app) as http:
        bad = await _register(http, ENV_TOKEN, {"redirect_uris": ["ftp://x"]})
        assert bad.status_code == 400  # a failed registration uses none of the quota
        for _ in range(2):
            assert (await _register(http, ENV_TOKEN)).status_code == 201
        refused = await _register(http, ENV_TOKEN)
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"
        assert "quota" in refused.json()["error_description"]
        token, _ = await issue_initial_access_token(
            redis, label="GD e-service A", quota=1, ttl=600, now=int(time.time())
        )
        first = await _register(http, token)
        assert first.status_code == 201
        assert (await _register(http, token)).status_code == 401
        expiring, _ = await issue_initial_access_token(
            redis, label="GD e-service B", quota=5, ttl=600, now=int(time.time()) - 601
        )
        late = await _register(http, expiring)
        assert late.status_code == 401 and "expired" in late.json()["error_description"]
        assert (await _register(http, "no-such-token")).status_code == 401
    meta = json.loads(await redis.hget(Keys.DYNAMIC_CLIENTS, first.json()["client_id"]))
    assert meta["onboarding"].startswith("iat_") and meta["registered_at"] > 0
    assert await redis.hlen(Keys.DYNAMIC_CLIENTS) == 3


async def test_register_is_limited_per_address_and_hour(app: FastAPI) -> None:
    async with _http(app, "192.0.2.41") as http:
        for _ in range(8):
            assert (await _register(http, "wrong")).status_code == 401
        limited = await _register(http, "wrong")
        assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
        assert int(limited.headers["retry-after"]) > 60  # an hourly window
    async with _http(app, "192.0.2.42") as other:
        assert (await _register(other, "wrong")).status_code == 401


def _cli(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["clients", *args], env=env)
    return result.exit_code, result.output


async def test_operators_list_show_and_offboard_a_client(
    bridge: Bridge, redis: aioredis.Redis
) -> None:
    token, _ = await issue_initial_access_token(
        redis, label="GD e-service C", quota=1, ttl=600, now=int(time.time())
    )
    registered = httpx.post(
        bridge.url + "/register",
        json={
            **METADATA,
            "client_name": "Offboarded e-service",
            "backchannel_logout_uri": f"{bridge.rp.url}/backchannel",
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert registered.status_code == 201, registered.text
    client_id, secret = registered.json()["client_id"], registered.json()["client_secret"]
    client = AsyncOAuth2Client(
        client_id, client_secret=secret, redirect_uri=RP_REDIRECT, scope="openid profile",
        code_challenge_method="S256", token_endpoint_auth_method="client_secret_basic",
    )  # fmt: skip
    url, _, _, verifier = await authorize_url(bridge, client)
    person = Person(bridge, "chan-tai-man")
    try:
        answer = await finish(person, await consent(person, await person.sign_in(url)))
    finally:
        await person.aclose()
    tokens = await exchange(bridge, client, answer, verifier)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert httpx.get(bridge.url + "/userinfo", headers=bearer).status_code == 200
    env = {**bridge.env, "IDBRIDGE_ISSUER": bridge.url}
    code, listed = await asyncio.to_thread(_cli, env, "list")
    assert code == 0 and client_id in listed and "rp-sm2\tstatic" in listed
    code, shown = await asyncio.to_thread(_cli, env, "show", client_id)
    assert code == 0 and json.loads(shown)["client_id"] == client_id and "digest" not in shown
    code, refused = await asyncio.to_thread(_cli, env, "delete", "rp-sm2", "--reason", "x", "--yes")
    assert code != 0 and "clients file" in refused
    before = len(bridge.rp.logout_tokens)
    code, out = await asyncio.to_thread(
        _cli, env, "delete", client_id, "--reason", "contract ended", "--yes"
    )
    assert code == 0 and "1 consent(s) ended" in out, out
    assert httpx.get(bridge.url + "/userinfo", headers=bearer).status_code == 401
    refreshed = httpx.post(
        bridge.url + "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(client_id, secret),
    )
    assert refreshed.status_code in (400, 401)  # the client is gone
    assert not await redis.exists(Keys.client(client_id))
    assert len(bridge.rp.logout_tokens) == before + 1  # back-channel logout sent
    actions = audit_actions(await redis.xrange(Keys.AUDIT_STREAM))
    assert {"client.viewed", "consent.revoked", "client.offboarded"} <= set(actions)
