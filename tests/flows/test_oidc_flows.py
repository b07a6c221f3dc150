"""End-to-end code flows with authlib's real OAuth2 client as the relying party, for ES256
and RS256 clients (SM2SM3 once ``federation.crypto`` lands): authorize → (journey via the
seam) → token → ID token verified against the published JWKS → userinfo → refresh."""

from __future__ import annotations

import secrets

import httpx
import pytest
import redis.asyncio as aioredis
from authlib.oidc.core import CodeIDToken
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import KeySet

from federation.oidc.provider import OidcProvider
from tests.federation.oidc.harness import (
    ISSUER,
    PROFILE,
    SECRETS,
    app,
    clock,
    http,
    log_in,
    provider,
    query_of,
    rp_client,
    signing_keys,
)

__all__ = ["app", "clock", "http", "provider", "signing_keys"]


async def run_code_flow(
    app: FastAPI,
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    client_id: str,
    alg: str,
    **client_kwargs: object,
) -> dict[str, object]:
    """Drive one full flow as the RP; return the token response and the verified claims."""
    rp = rp_client(app, client_id, scope="openid profile email offline_access", **client_kwargs)
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(12)
    url, state = rp.create_authorization_url(
        f"{ISSUER}/authorize", nonce=nonce, code_verifier=verifier
    )
    parked = await http.get(url)
    assert parked.status_code == 200, parked.text
    redirect, _ = await log_in(redis, provider, parked.json()["journey"])
    params = query_of(redirect)
    assert params["state"] == state and params["iss"] == ISSUER
    token = await rp.fetch_token(
        f"{ISSUER}/token", authorization_response=redirect, code_verifier=verifier
    )
    jwks = (await http.get("/jwks")).json()
    decoded = jwt.decode(token["id_token"], KeySet.import_key_set(jwks), algorithms=[alg])
    assert decoded.header["alg"] == alg and decoded.header["kid"]
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {"iss": {"essential": True, "value": ISSUER}},
        {"nonce": nonce, "client_id": client_id, "access_token": token["access_token"]},
    )
    claims.validate(now=provider.clock(), leeway=5)
    assert claims["iss"] == ISSUER and claims["aud"] == client_id
    rp.token = token
    info = await rp.get(f"{ISSUER}/userinfo")
    assert info.status_code == 200
    return {"token": token, "claims": dict(decoded.claims), "userinfo": info.json(), "rp": rp}


@pytest.mark.parametrize(
    ("client_id", "alg", "auth_method"),
    [("rp-es256", "ES256", "client_secret_basic"), ("rp-rs256", "RS256", "client_secret_post")],
)
async def test_code_flow_with_authlib_client(
    app: FastAPI,
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    client_id: str,
    alg: str,
    auth_method: str,
) -> None:
    result = await run_code_flow(
        app, http, redis, provider, client_id, alg, token_endpoint_auth_method=auth_method
    )
    token, claims, info = result["token"], result["claims"], result["userinfo"]
    assert token["token_type"] == "Bearer" and token["refresh_token"]
    assert {"auth_time", "at_hash", "sid", "acr", "amr", "iat", "exp"} <= set(claims)
    assert info["sub"] == claims["sub"]
    assert info["name"] == PROFILE["profile"]["name"]
    assert info["email"] == PROFILE["email"]["email"]
    assert "phone_number" not in info  # phone scope was not requested
    rp = result["rp"]
    refreshed = await rp.refresh_token(f"{ISSUER}/token", refresh_token=token["refresh_token"])
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert refreshed["access_token"] != token["access_token"]


async def test_pairwise_and_public_subjects_differ_by_client(
    app: FastAPI, http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    pairwise = await run_code_flow(app, http, redis, provider, "rp-es256", "ES256")
    public = await run_code_flow(
        app,
        http,
        redis,
        provider,
        "rp-rs256",
        "RS256",
        token_endpoint_auth_method="client_secret_post",
    )
    assert public["claims"]["sub"] == "bridge-person-1"
    assert pairwise["claims"]["sub"] != "bridge-person-1"
    assert len(str(pairwise["claims"]["sub"])) == 43  # base64url of a 32-byte HMAC-SM3
    assert SECRETS  # the harness secrets are what authenticated both clients
