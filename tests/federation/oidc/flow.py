"""Raw-HTTP relying-party steps for the conformance and negative tests (the authlib RP is
in tests/flows): authorize, log in through the seam, redeem, call userinfo."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import httpx
import redis.asyncio as aioredis

from federation import cookies
from federation.crypto.jose import decode_jwt
from federation.oidc.provider import OidcProvider
from federation.oidc.session import SESSION_COOKIE
from tests.federation.oidc.harness import REDIRECTS, SECRETS, log_in, pkce, query_of


def basic(client_id: str, secret: str | None = None) -> dict[str, str]:
    """An ``Authorization: Basic`` header for a test client."""
    raw = f"{client_id}:{secret or SECRETS[client_id]}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


@dataclass
class Authorized:
    """The outcome of an authorization request that reached the RP with a code."""

    code: str
    verifier: str
    params: dict[str, str]
    redirect: str
    cookie: str | None
    """The session cookie's value (the session's secret), if a login opened one."""


async def authorize(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    client_id: str = "rp-es256",
    *,
    login: bool = True,
    **extra: str | None,
) -> Authorized | httpx.Response:
    """Send an authorization request; if the journey parks it, log in through the seam.
    Returns the code (or the raw response when the request ended otherwise)."""
    verifier, challenge = pkce()
    params: dict[str, str | None] = {
        "client_id": client_id,
        "redirect_uri": REDIRECTS[client_id],
        "response_type": "code",
        "scope": "openid",
        "state": "s-123",
        "nonce": "n-456",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(extra)
    response = await http.get(
        "/authorize", params={k: v for k, v in params.items() if v is not None}
    )
    cookie = None
    if response.status_code == 200 and "journey" in response.json() and login:
        redirect, cookie = await log_in(redis, provider, response.json()["journey"])
        if cookie:
            secure = cookies.secure_issuer(provider.issuer)
            http.cookies.set(cookies.cookie_name(SESSION_COOKIE, secure), cookie)
    elif response.status_code == 302:
        redirect = response.headers["location"]
    else:
        return response
    query = query_of(redirect)
    if "code" not in query:
        return response
    return Authorized(query["code"], verifier, query, redirect, cookie)


async def redeem(
    http: httpx.AsyncClient, got: Authorized, client_id: str = "rp-es256", **extra: str
) -> httpx.Response:
    """POST the code to the token endpoint with Basic auth."""
    form = {
        "grant_type": "authorization_code",
        "code": got.code,
        "redirect_uri": REDIRECTS[client_id],
        "code_verifier": got.verifier,
    }
    form.update(extra)
    return await http.post("/token", data=form, headers=basic(client_id))


async def id_token_claims(http: httpx.AsyncClient, id_token: str) -> dict[str, Any]:
    """Verify an ID token against the published JWKS (any of our algs) and return claims."""
    jwks = (await http.get("/jwks")).json()
    jwks["keys"] += (await http.get("/jwks/sm2")).json()["keys"]
    _, claims = decode_jwt(id_token, jwks, algorithms=["SM2SM3", "ES256", "RS256"])
    return claims


async def full_flow(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    client_id: str = "rp-es256",
    **extra: str | None,
) -> dict[str, Any]:
    """Authorize, log in, redeem; return the token response plus verified ID token claims."""
    got = await authorize(http, redis, provider, client_id, **extra)
    assert isinstance(got, Authorized), getattr(got, "text", got)
    token = await redeem(http, got, client_id)
    assert token.status_code == 200, token.text
    body = token.json()
    body["claims"] = await id_token_claims(http, body["id_token"])
    return body
