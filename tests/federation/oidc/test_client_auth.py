"""private_key_jwt client authentication (RFC 7523, OIDC Core §9) with SM2SM3 and ES256
assertions: success, jti replay, alg none, alg confusion, wrong key/aud/lifetime."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from federation.crypto.jose import encode_jwt
from federation.crypto.keyset import ManagedKey
from federation.oidc.client_auth import ASSERTION_TYPE
from federation.oidc.provider import OidcProvider
from tests.federation.oidc.flow import Authorized, authorize
from tests.federation.oidc.harness import ISSUER

REDIRECT = "https://jwt.example.cn/cb"


@pytest.fixture(scope="module")
def rp_keys() -> dict[str, ManagedKey]:
    return {alg: ManagedKey.generate(alg) for alg in ("SM2SM3", "ES256", "RS256")}


@pytest.fixture
def jwt_clients(provider: OidcProvider, rp_keys: dict[str, ManagedKey]) -> None:
    """Two private_key_jwt clients, one per assertion alg, added to the static registry."""
    template = provider.clients.static["rp-sm2"]
    for alg in ("SM2SM3", "ES256"):
        client = template.model_validate(
            {
                **template.model_dump(by_alias=True, exclude={"client_secret_digest"}),
                "client_id": f"jwt-{alg.lower()}",
                "redirect_uris": [REDIRECT],
                "token_endpoint_auth_method": "private_key_jwt",
                "token_endpoint_auth_signing_alg": alg,
                "jwks": {"keys": [rp_keys[alg].public_jwk]},
            }
        )
        provider.clients.static[client.client_id] = client


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assertion_claims(provider: OidcProvider, client_id: str, **over: Any) -> dict[str, Any]:
    now = provider.clock()
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": ISSUER,
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(16),
    }
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not None}


async def _code(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider, client_id: str
) -> Authorized:
    from tests.federation.oidc import harness

    harness.REDIRECTS[client_id] = REDIRECT
    got = await authorize(http, redis, provider, client_id)
    assert isinstance(got, Authorized)
    return got


async def _token(
    http: httpx.AsyncClient, got: Authorized, client_id: str, assertion: str
) -> httpx.Response:
    return await http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": got.code,
            "redirect_uri": REDIRECT,
            "code_verifier": got.verifier,
            "client_id": client_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )


@pytest.mark.parametrize("alg", ["SM2SM3", "ES256"])
async def test_private_key_jwt_authenticates_once_per_jti(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    rp_keys: dict[str, ManagedKey],
    jwt_clients: None,
    alg: str,
) -> None:
    client_id = f"jwt-{alg.lower()}"
    claims = assertion_claims(provider, client_id)
    assertion = encode_jwt(claims, rp_keys[alg])
    ok = await _token(http, await _code(http, redis, provider, client_id), client_id, assertion)
    assert ok.status_code == 200, ok.text
    replay = await _token(http, await _code(http, redis, provider, client_id), client_id, assertion)
    assert replay.status_code == 401 and replay.json()["error"] == "invalid_client"


def _alg_none(claims: dict[str, Any]) -> str:
    header = _b64(b'{"alg":"none","typ":"JWT"}')
    return f"{header}.{_b64(json.dumps(claims).encode())}."


def _hs256_with_public_key(claims: dict[str, Any], jwk: dict[str, Any]) -> str:
    signing_input = _b64(b'{"alg":"HS256","typ":"JWT"}') + "." + _b64(json.dumps(claims).encode())
    secret = json.dumps(jwk, sort_keys=True).encode()
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


@pytest.mark.parametrize(
    "attack",
    [
        "alg_none",
        "hs256_confusion",
        "other_alg_key",
        "foreign_key",
        "wrong_aud",
        "endpoint_aud",
        "issuer_among_others",
        "expired",
        "too_long",
        "iss_not_sub",
        "no_jti",
        "garbage",
        "wrong_type",
    ],
)
async def test_bad_client_assertions_are_invalid_client(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    rp_keys: dict[str, ManagedKey],
    jwt_clients: None,
    attack: str,
) -> None:
    client_id = "jwt-es256"
    claims = assertion_claims(provider, client_id)
    forms = {
        "alg_none": lambda: _alg_none(claims),
        "hs256_confusion": lambda: _hs256_with_public_key(claims, rp_keys["ES256"].public_jwk),
        "other_alg_key": lambda: encode_jwt(claims, rp_keys["RS256"]),
        "foreign_key": lambda: encode_jwt(claims, ManagedKey.generate("ES256")),
        "wrong_aud": lambda: encode_jwt({**claims, "aud": "https://other"}, rp_keys["ES256"]),
        "endpoint_aud": lambda: encode_jwt({**claims, "aud": f"{ISSUER}/token"}, rp_keys["ES256"]),
        "issuer_among_others": lambda: encode_jwt(
            {**claims, "aud": [ISSUER, f"{ISSUER}/token"]}, rp_keys["ES256"]
        ),
        "expired": lambda: encode_jwt({**claims, "exp": provider.clock() - 1}, rp_keys["ES256"]),
        "too_long": lambda: encode_jwt(
            {**claims, "exp": provider.clock() + 3600}, rp_keys["ES256"]
        ),
        "iss_not_sub": lambda: encode_jwt({**claims, "sub": "jwt-sm2sm3"}, rp_keys["ES256"]),
        "no_jti": lambda: encode_jwt(
            {k: v for k, v in claims.items() if k != "jti"}, rp_keys["ES256"]
        ),
        "garbage": lambda: "not.a.jwt",
    }
    got = await _code(http, redis, provider, client_id)
    if attack == "wrong_type":
        response = await http.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": got.code,
                "redirect_uri": REDIRECT,
                "code_verifier": got.verifier,
                "client_assertion_type": "urn:x",
                "client_assertion": encode_jwt(claims, rp_keys["ES256"]),
            },
        )
    else:
        response = await _token(http, got, client_id, forms[attack]())
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    assert "access_token" not in response.json()


async def test_secret_client_cannot_use_an_assertion(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    rp_keys: dict[str, ManagedKey],
    jwt_clients: None,
) -> None:
    got = await authorize(http, redis, provider, "rp-es256")
    assert isinstance(got, Authorized)
    claims = assertion_claims(provider, "rp-es256")
    response = await http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": got.code,
            "redirect_uri": "https://rp.example.cn/cb",
            "code_verifier": got.verifier,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": encode_jwt(claims, rp_keys["ES256"]),
        },
    )
    assert response.status_code == 401
