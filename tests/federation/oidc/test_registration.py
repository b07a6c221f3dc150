"""Dynamic client registration (RFC 7591) behind the initial access token."""

from __future__ import annotations

import base64

import httpx
import redis.asyncio as aioredis

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
}


async def test_registered_client_completes_a_flow(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    response = await http.post("/register", json=METADATA, headers=TOKEN)
    assert response.status_code == 201, response.text
    body = response.json()
    client_id, secret = body["client_id"], body["client_secret"]
    assert len(base64.urlsafe_b64decode(secret + "=")) >= 32  # ≥ 256 bits
    assert body["client_name"]["en"] == "Dynamic service"
    assert body["client_name"]["zh-HK"] == "動態服務"
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
