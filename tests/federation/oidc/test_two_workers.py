"""Two uvicorn processes behind one Redis: a code issued through one worker is redeemed at
the other, tokens work everywhere, and refresh reuse detected by one revokes the family for
both (all state in Redis; keys and secrets shared through the data directory)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from federation.oidc.config import OidcConfig
from federation.oidc.provider import OidcProvider
from federation.settings import Settings
from federation.storage.runtime import RedisServer, free_port
from tests.federation.oidc.harness import CLIENTS_FILE, REDIRECTS, SECRETS, log_in, pkce, query_of


@pytest.fixture
def workers(redis_server: RedisServer, tmp_path: Path) -> Iterator[tuple[str, str, dict]]:
    ports = [free_port(), free_port()]
    issuer = f"http://127.0.0.1:{ports[0]}"
    env = {
        **os.environ,
        "IDBRIDGE_REDIS_URL": redis_server.url,
        "IDBRIDGE_ISSUER": issuer,
        "IDBRIDGE_DATA_DIR": str(tmp_path),
        "IDBRIDGE_CLIENTS_FILE": str(CLIENTS_FILE),
        "IDBRIDGE_CLIENT_SECRET_KEY": "11" * 32,
        "IDBRIDGE_LOG_LEVEL": "WARNING",
        "IDB_TEST_RP_RS256_SECRET": SECRETS["rp-rs256"],
        "IDB_TEST_RP_PAR_SECRET": SECRETS["rp-par"],
    }
    # The first worker creates the keys; the second must find and use the same ones.
    procs = []
    for port in ports:
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--factory",
                    "tests.federation.oidc.twoproc_app:create",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--no-access-log",
                ],
                env=env,
                cwd=Path(__file__).parents[3],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + 30
        for url in urls:
            while True:
                try:
                    if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "worker did not start"
                time.sleep(0.1)
        yield urls[0], urls[1], env
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)


async def test_two_workers_share_all_state(
    workers: tuple[str, str, dict], redis: aioredis.Redis, tmp_path: Path
) -> None:
    a, b, env = workers
    provider = OidcProvider.from_settings(
        Settings(issuer=env["IDBRIDGE_ISSUER"], data_dir=tmp_path),
        OidcConfig(clients_file=CLIENTS_FILE, client_secret_key="11" * 32),
    )
    auth = ("rp-sm2", SECRETS["rp-sm2"])
    async with httpx.AsyncClient() as http:
        assert (await http.get(a + "/jwks")).json() == (await http.get(b + "/jwks")).json()
        verifier, challenge = pkce()
        parked = await http.get(
            a + "/authorize",
            params={
                "client_id": "rp-sm2",
                "redirect_uri": REDIRECTS["rp-sm2"],
                "response_type": "code",
                "scope": "openid profile",
                "state": "s",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        assert parked.status_code == 200, parked.text
        redirect, _ = await log_in(redis, provider, parked.json()["journey"])
        form = {
            "grant_type": "authorization_code",
            "code": query_of(redirect)["code"],
            "redirect_uri": REDIRECTS["rp-sm2"],
            "code_verifier": verifier,
        }
        token = await http.post(b + "/token", data=form, auth=auth)
        assert token.status_code == 200, token.text
        body = token.json()
        assert (await http.post(a + "/token", data=form, auth=auth)).status_code == 400
        bearer = {"Authorization": f"Bearer {body['access_token']}"}
        assert (await http.get(b + "/userinfo", headers=bearer)).status_code == 401  # replay
        await _refresh_reuse_across_workers(http, redis, provider, a, b, auth)


async def _refresh_reuse_across_workers(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    a: str,
    b: str,
    auth: tuple[str, str],
) -> None:
    verifier, challenge = pkce()
    parked = await http.get(
        b + "/authorize",
        params={
            "client_id": "rp-sm2",
            "redirect_uri": REDIRECTS["rp-sm2"],
            "response_type": "code",
            "scope": "openid",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    redirect, _ = await log_in(redis, provider, parked.json()["journey"])
    body = (
        await http.post(
            a + "/token",
            auth=auth,
            data={
                "grant_type": "authorization_code",
                "code": query_of(redirect)["code"],
                "redirect_uri": REDIRECTS["rp-sm2"],
                "code_verifier": verifier,
            },
        )
    ).json()
    old = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    rotated = await http.post(b + "/token", data=old, auth=auth)
    assert rotated.status_code == 200
    bearer = {"Authorization": f"Bearer {rotated.json()['access_token']}"}
    assert (await http.get(a + "/userinfo", headers=bearer)).status_code == 200
    assert (await http.post(a + "/token", data=old, auth=auth)).status_code == 400
    assert (await http.get(b + "/userinfo", headers=bearer)).status_code == 401
