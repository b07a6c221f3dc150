"""End-to-end code flows with authlib's real OAuth2 client as the relying party, for ES256
and RS256 clients (SM2SM3 once ``federation.crypto`` lands): authorize → (journey via the
seam) → token → ID token verified against the published JWKS → userinfo → refresh."""

from __future__ import annotations

import base64
import secrets
import subprocess
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from authlib.oidc.core import CodeIDToken
from cryptography.hazmat.primitives import hashes
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import KeySet

from federation.crypto.encoding import raw_to_der
from federation.crypto.jose import decode_jwt, import_jwk
from federation.oidc.provider import OidcProvider
from mappings.subjects import public_subject
from tests.federation.oidc.harness import (
    ISSUER,
    PERSON,
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
    jwks = (await http.get("/jwks/sm2" if alg == "SM2SM3" else "/jwks")).json()
    if alg == "SM2SM3":  # the sm2_jwks_uri set, read with our importer (joserfc has no SM2)
        header, payload = decode_jwt(token["id_token"], jwks, algorithms=[alg])
        sm3_left = hashes.Hash(hashes.SM3())
        sm3_left.update(token["access_token"].encode())
        expected = base64.urlsafe_b64encode(sm3_left.finalize()[:16]).rstrip(b"=").decode()
        assert payload["at_hash"] == expected  # at_hash is the left half of SM3
        params = {"nonce": nonce, "client_id": client_id}
    else:
        # a plain joserfc RP imports the whole jwks_uri set: it holds no SM2 key
        decoded = jwt.decode(token["id_token"], KeySet.import_key_set(jwks), algorithms=[alg])
        header, payload = dict(decoded.header), dict(decoded.claims)
        params = {"nonce": nonce, "client_id": client_id, "access_token": token["access_token"]}
    assert header["alg"] == alg and header["kid"]
    assert header["kid"] in {key["kid"] for key in jwks["keys"]}
    claims = CodeIDToken(payload, header, {"iss": {"essential": True, "value": ISSUER}}, params)
    claims.validate(now=provider.clock(), leeway=5)
    assert claims["iss"] == ISSUER and claims["aud"] == client_id
    rp.token = token
    info = await rp.get(f"{ISSUER}/userinfo")
    assert info.status_code == 200
    return {
        "token": token,
        "claims": payload,
        "header": header,
        "userinfo": info.json(),
        "rp": rp,
        "jwks": jwks,
    }


@pytest.mark.parametrize(
    ("client_id", "alg", "auth_method"),
    [
        ("rp-sm2", "SM2SM3", "client_secret_basic"),
        ("rp-es256", "ES256", "client_secret_basic"),
        ("rp-rs256", "RS256", "client_secret_post"),
    ],
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
    assert public["claims"]["sub"] == public_subject(provider.pairwise_salt, "iamsmart", PERSON)
    assert pairwise["claims"]["sub"] != public["claims"]["sub"]
    assert PERSON not in (pairwise["claims"]["sub"], public["claims"]["sub"])
    assert len(str(pairwise["claims"]["sub"])) == 43  # base64url of a 32-byte HMAC-SM3
    assert SECRETS  # the harness secrets are what authenticated both clients


async def test_sm2_id_token_verifies_with_openssl(
    app: FastAPI,
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    tmp_path: Path,
) -> None:
    """An independent verifier: OpenSSL's SM2 with SM3 and the default ID over the JWS
    signing input, with the public key taken from our published JWKS."""
    result = await run_code_flow(app, http, redis, provider, "rp-sm2", "SM2SM3")
    id_token = result["token"]["id_token"]
    signing_input, _, signature = id_token.rpartition(".")
    jwk = next(k for k in result["jwks"]["keys"] if k["kid"] == result["header"]["kid"])
    assert jwk["crv"] == "SM2" and jwk["alg"] == "SM2SM3"
    (tmp_path / "pub.pem").write_bytes(import_jwk(jwk).as_pem(private=False))
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    assert len(raw) == 64  # raw r||s, never DER
    (tmp_path / "sig.der").write_bytes(raw_to_der(raw))
    (tmp_path / "input").write_bytes(signing_input.encode("ascii"))
    command = [
        "openssl",
        "dgst",
        "-sm3",
        "-verify",
        "pub.pem",
        "-sigopt",
        "distid:1234567812345678",
        "-signature",
        "sig.der",
        "input",
    ]
    ok = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and "Verified OK" in ok.stdout, ok.stdout + ok.stderr
    (tmp_path / "input").write_bytes(signing_input.encode("ascii") + b"x")
    bad = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert bad.returncode != 0  # the same check fails on a tampered input
