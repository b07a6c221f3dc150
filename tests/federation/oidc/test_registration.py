"""Dynamic client registration (RFC 7591) behind the initial access token."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from federation.crypto.keyset import ManagedKey
from federation.oidc.provider import OidcProvider
from federation.storage.keys import Keys
from tests.federation.oidc.flow import Authorized, authorize
from tests.federation.oidc.harness import REDIRECTS

TOKEN = {"Authorization": "Bearer test-initial-access-token-0123456789"}
METADATA = {
    "client_name": "動態服務",
    "client_name#en": "Dynamic service",
    "redirect_uris": ["https://dyn.example.cn/cb"],
    "token_endpoint_auth_method": "client_secret_basic",
    "id_token_signed_response_alg": "ES256",
    "scope": "openid profile",
    "purposes": {"zh-HK": "辦理業務", "zh-CN": "办理业务", "en": "Handling"},
    "processing_method": {"zh-HK": "電子處理", "zh-CN": "电子处理", "en": "Electronic"},
    "retention": {"zh-HK": "兩年", "zh-CN": "两年", "en": "Two years"},
    "rights_procedure": {"zh-HK": "電郵", "zh-CN": "电邮", "en": "Email us"},
    "contacts": ["dpo@dyn.example.cn"],
}


async def test_registered_client_completes_a_flow(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    response = await http.post("/register", json=METADATA, headers=TOKEN)
    assert response.status_code == 201, response.text
    body = response.json()
    client_id, secret = body["client_id"], body["client_secret"]
    assert len(base64.urlsafe_b64decode(secret + "=")) >= 32  # ≥ 256 bits
    # RFC 7591 §2.2: a string plus language-tagged members, never a JSON object
    assert body["client_name"] == body["client_name#en"] == "Dynamic service"
    assert body["client_name#zh-HK"] == "動態服務"
    assert "client_secret_digest" not in body
    stored = await redis.get(Keys.client(client_id))
    assert stored and secret not in stored
    REDIRECTS[client_id] = "https://dyn.example.cn/cb"
    got = await authorize(http, redis, provider, client_id)
    assert isinstance(got, Authorized)
    token = await http.post(
        "/token",
        auth=(client_id, secret),
        data={
            "grant_type": "authorization_code",
            "code": got.code,
            "redirect_uri": "https://dyn.example.cn/cb",
            "code_verifier": got.verifier,
        },
    )
    assert token.status_code == 200, token.text


async def test_registration_needs_the_initial_access_token(http: httpx.AsyncClient) -> None:
    assert (await http.post("/register", json=METADATA)).status_code == 401
    wrong = await http.post("/register", json=METADATA, headers={"Authorization": "Bearer x"})
    assert wrong.status_code == 401 and "invalid_token" in wrong.headers["www-authenticate"]


async def test_bad_metadata_is_refused(http: httpx.AsyncClient) -> None:
    bad_uri = await http.post(
        "/register", headers=TOKEN, json={**METADATA, "redirect_uris": ["http://evil.example/cb"]}
    )
    assert bad_uri.status_code == 400 and bad_uri.json()["error"] == "invalid_redirect_uri"
    no_texts = await http.post(
        "/register", headers=TOKEN, json={k: v for k, v in METADATA.items() if k != "purposes"}
    )
    assert no_texts.json()["error"] == "invalid_client_metadata"
    not_json = await http.post(
        "/register", headers={**TOKEN, "Content-Type": "application/json"}, content=b"{nope"
    )
    assert not_json.status_code == 400
    array = await http.post("/register", headers=TOKEN, json=[1, 2])
    assert array.json()["error"] == "invalid_client_metadata"


async def test_registration_disabled_without_a_token(
    http: httpx.AsyncClient, provider: OidcProvider
) -> None:
    provider.initial_access_token = None
    response = await http.post("/register", json=METADATA, headers=TOKEN)
    assert response.status_code == 403
    doc = (await http.get("/.well-known/openid-configuration")).json()
    assert "registration_endpoint" not in doc


# -- server policy: what a registering client may not set ------------------------------


async def _stored(redis: aioredis.Redis, client_id: str) -> dict[str, Any]:
    raw = await redis.get(Keys.client(client_id))
    assert raw is not None
    return json.loads(raw)


async def test_server_side_fields_are_ignored(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    victim = provider.clients.static["rp-sm2"].sector  # another RP's pairwise sector
    hostile = {**METADATA, "sector_identifier": victim, "mapping_profile": "/etc/passwd"}
    response = await http.post("/register", json=hostile, headers=TOKEN)
    assert response.status_code == 201, response.text
    client_id = response.json()["client_id"]
    stored = await _stored(redis, client_id)
    assert stored.get("sector_identifier") is None
    assert stored["mapping_profile"] == "default"
    client = await provider.clients.get(redis, client_id)
    assert client is not None and client.sector == "dyn.example.cn" != victim
    assert "mapping_profile" not in response.json()


async def test_consent_remember_seconds_is_capped(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    ceiling = provider.config.registration_max_consent_remember_seconds
    response = await http.post(
        "/register", json={**METADATA, "consent_remember_seconds": 10**15}, headers=TOKEN
    )
    assert response.status_code == 201, response.text
    assert response.json()["consent_remember_seconds"] == ceiling
    stored = await _stored(redis, response.json()["client_id"])
    assert stored["consent_remember_seconds"] == ceiling
    other_name = {"client_name": "Another service", "client_name#en": "Another service"}
    shorter = await http.post(
        "/register",
        json={**METADATA, **other_name, "consent_remember_seconds": 3600},
        headers=TOKEN,
    )
    assert shorter.json()["consent_remember_seconds"] == 3600


@pytest.mark.parametrize(
    "field",
    [
        {"backchannel_logout_uri": "http://127.0.0.1:6379/"},
        {"backchannel_logout_uri": "https://127.0.0.1:6379/"},
        {"backchannel_logout_uri": "https://[::1]/logout"},
        {"backchannel_logout_uri": "https://10.0.0.5/logout"},
        {"backchannel_logout_uri": "https://[2002:7f00:1::]/logout"},  # 6to4 wrapping 127.0.0.1
        {"backchannel_logout_uri": "https://[::ffff:169.254.169.254]/logout"},
        {"logo_uri": "http://127.0.0.1/logo.png"},
        {"post_logout_redirect_uris": ["http://localhost/bye"]},
        {"subject_type": "public"},
        {"sector_identifier_uri": "https://dyn.example.cn/sector.json"},
        {"redirect_uris": ["https://dyn.example.cn/cb", "https://gd.example.cn/cb"]},
        {"id_token_encrypted_response_alg": "RSA-OAEP"},
    ],
    ids=lambda field: next(iter(field)),
)
async def test_hostile_metadata_is_refused(
    http: httpx.AsyncClient, redis: aioredis.Redis, field: dict[str, Any]
) -> None:
    response = await http.post("/register", json={**METADATA, **field}, headers=TOKEN)
    assert response.status_code == 400, response.text
    assert response.json()["error"] in ("invalid_client_metadata", "invalid_redirect_uri")
    assert not await redis.keys(Keys.client("*"))


async def test_https_public_uris_are_accepted(http: httpx.AsyncClient) -> None:
    uris = {
        "backchannel_logout_uri": "https://dyn.example.cn/backchannel",
        "logo_uri": "https://dyn.example.cn/logo.png",
        "post_logout_redirect_uris": ["https://dyn.example.cn/bye"],
        "require_pushed_authorization_requests": True,
    }
    response = await http.post("/register", json={**METADATA, **uris}, headers=TOKEN)
    assert response.status_code == 201, response.text
    assert response.json()["backchannel_logout_uri"] == uris["backchannel_logout_uri"]


async def test_loopback_issuer_may_register_loopback_uris(
    http: httpx.AsyncClient, provider: OidcProvider
) -> None:
    provider.issuer = "http://127.0.0.1:8000"  # the demo
    loopback = {"backchannel_logout_uri": "http://127.0.0.1:9000/backchannel"}
    response = await http.post("/register", json={**METADATA, **loopback}, headers=TOKEN)
    assert response.status_code == 201, response.text


async def test_unknown_metadata_is_ignored(http: httpx.AsyncClient, redis: aioredis.Redis) -> None:
    extra = {"application_type": "web", "x_vendor_flag": {"a": 1}, "client_name#fr": "Service"}
    response = await http.post("/register", json={**METADATA, **extra}, headers=TOKEN)
    assert response.status_code == 201, response.text
    body = response.json()
    assert not set(extra) & set(body)
    assert not set(extra) & set(await _stored(redis, body["client_id"]))


@pytest.mark.parametrize(
    ("alg", "key_alg"), [("ES256", "SM2SM3"), ("SM2SM3", "ES256"), ("ES256", "RS256")]
)
async def test_jwks_must_match_the_assertion_alg(
    http: httpx.AsyncClient, alg: str, key_alg: str
) -> None:
    jwt_client = {
        **METADATA,
        "token_endpoint_auth_method": "private_key_jwt",
        "token_endpoint_auth_signing_alg": alg,
        "jwks": {"keys": [ManagedKey.generate(key_alg).public_jwk]},
    }
    response = await http.post("/register", json=jwt_client, headers=TOKEN)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_client_metadata"
    matching = {**jwt_client, "jwks": {"keys": [ManagedKey.generate(alg).public_jwk]}}
    good = await http.post("/register", json=matching, headers=TOKEN)
    assert good.status_code == 201, good.text
    assert "client_secret" not in good.json()


async def test_client_registered_with_ignored_fields_completes_a_flow(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    hostile = {
        **METADATA,
        "application_type": "web",
        "mapping_profile": "/etc/passwd",
        "sector_identifier": "gd.example.cn",
        "consent_remember_seconds": 10**15,
    }
    response = await http.post("/register", json=hostile, headers=TOKEN)
    assert response.status_code == 201, response.text
    client_id, secret = response.json()["client_id"], response.json()["client_secret"]
    REDIRECTS[client_id] = "https://dyn.example.cn/cb"
    got = await authorize(http, redis, provider, client_id)
    assert isinstance(got, Authorized)
    token = await http.post(
        "/token",
        auth=(client_id, secret),
        data={
            "grant_type": "authorization_code",
            "code": got.code,
            "redirect_uri": "https://dyn.example.cn/cb",
            "code_verifier": got.verifier,
        },
    )
    assert token.status_code == 200, token.text
