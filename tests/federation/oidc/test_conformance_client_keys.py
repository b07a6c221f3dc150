"""Issue 19 defects, against the provider's real endpoints: the RS256 default of dynamic
clients (OP-Registration-Sub / OIDC Registration §2), private_key_jwt for a generic RP
(OP-Registration-jwks, OP-ClientAuth-PrivateJWT, OP-Rotation-RP-Sig), ``jwks_uri`` through
the egress guard, and the ``public`` subject policy (OP-Registration-Sub-Public)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from fastapi.responses import JSONResponse, RedirectResponse, Response
from joserfc import jws
from joserfc.jwk import RSAKey

from federation.crypto.jose import decode_jwt, encode_jwt
from federation.crypto.keyset import ManagedKey
from federation.oidc.client_auth import ASSERTION_TYPE
from federation.oidc.clients import Client
from federation.oidc.provider import OidcProvider
from federation.storage.keys import Keys
from tests.federation.journey.harness import ServerThread
from tests.federation.oidc import harness
from tests.federation.oidc.flow import Authorized, authorize
from tests.federation.oidc.harness import ISSUER
from tests.federation.oidc.test_client_auth import _alg_none, _hs256_with_public_key

TOKEN = {"Authorization": "Bearer test-initial-access-token-0123456789"}
REDIRECT = "https://generic.example.cn/cb"
METADATA = {
    "client_name": "Generic RP",
    "redirect_uris": [REDIRECT],
    "purposes": {"zh-HK": "辦理業務", "zh-CN": "办理业务", "en": "Handling"},
    "processing_method": {"zh-HK": "電子處理", "zh-CN": "电子处理", "en": "Electronic"},
    "retention": {"zh-HK": "兩年", "zh-CN": "两年", "en": "Two years"},
    "rights_procedure": {"zh-HK": "電郵", "zh-CN": "电邮", "en": "Email us"},
    "contacts": ["dpo@rp.example.cn"],
}


async def register(http: httpx.AsyncClient, **metadata: Any) -> httpx.Response:
    name = {"client_name": f"Generic RP {secrets.token_hex(4)}"}  # names must differ
    response = await http.post("/register", json={**METADATA, **name, **metadata}, headers=TOKEN)
    if response.status_code == 201:
        harness.REDIRECTS[response.json()["client_id"]] = REDIRECT
    return response


def claims_for(provider: OidcProvider, client_id: str) -> dict[str, Any]:
    now = provider.clock()
    return {
        "iss": client_id,
        "sub": client_id,
        "aud": ISSUER,
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(16),
    }


def ps256(claims: dict[str, Any], key: ManagedKey) -> str:
    """A PS256 JWS with an RSA key (ManagedKey signs RS256 only)."""
    rsa = RSAKey.import_key(key.to_pem())
    header = {"alg": "PS256", "kid": key.kid, "typ": "JWT"}
    return jws.serialize_compact(header, json.dumps(claims).encode(), rsa, algorithms=["PS256"])


async def token_with(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    client_id: str,
    assertion: str,
) -> httpx.Response:
    got = await authorize(http, redis, provider, client_id)
    assert isinstance(got, Authorized)
    return await http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": got.code,
            "redirect_uri": REDIRECT,
            "code_verifier": got.verifier,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )


# --- RS256 default (OIDC Registration §2) ------------------------------------------------
async def test_dynamic_client_without_an_alg_gets_rs256_id_tokens(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    response = await register(http)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id_token_signed_response_alg"] == "RS256"
    got = await authorize(http, redis, provider, body["client_id"])
    assert isinstance(got, Authorized)
    token = await http.post(
        "/token",
        auth=(body["client_id"], body["client_secret"]),
        data={
            "grant_type": "authorization_code",
            "code": got.code,
            "redirect_uri": REDIRECT,
            "code_verifier": got.verifier,
        },
    )
    assert token.status_code == 200, token.text
    jwks = (await http.get("/jwks")).json()
    header, claims = decode_jwt(token.json()["id_token"], jwks, algorithms=["RS256"])
    assert header["alg"] == "RS256" and claims["aud"] == body["client_id"]


async def test_a_dynamic_client_may_still_name_sm2sm3(http: httpx.AsyncClient) -> None:
    response = await register(http, id_token_signed_response_alg="SM2SM3")
    assert response.status_code == 201
    assert response.json()["id_token_signed_response_alg"] == "SM2SM3"


def test_static_clients_keep_the_sm2sm3_default(provider: OidcProvider) -> None:
    template = provider.clients.static["rp-sm2"].model_dump(by_alias=True)
    template.pop("id_token_signed_response_alg")
    assert Client.model_validate(template).id_token_signed_response_alg == "SM2SM3"


# --- private_key_jwt with a whole key set --------------------------------------------------
@pytest.fixture(scope="module")
def rp_keys() -> dict[str, ManagedKey]:
    return {alg: ManagedKey.generate(alg) for alg in ("SM2SM3", "ES256", "RS256")}


def key_set(rp_keys: dict[str, ManagedKey]) -> dict[str, Any]:
    """An ordinary RP key set: signing keys of three types and an RSA encryption key."""
    enc = {**ManagedKey.generate("RS256").public_jwk, "use": "enc", "kid": "enc-1"}
    enc.pop("alg", None)
    rsa = {k: v for k, v in rp_keys["RS256"].public_jwk.items() if k != "alg"}
    return {"keys": [rp_keys["SM2SM3"].public_jwk, rp_keys["ES256"].public_jwk, rsa, enc]}


@pytest.mark.parametrize("alg", ["SM2SM3", "ES256", "RS256", "PS256"])
async def test_private_key_jwt_with_a_whole_key_set_and_no_alg_named(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    rp_keys: dict[str, ManagedKey],
    alg: str,
) -> None:
    response = await register(
        http, token_endpoint_auth_method="private_key_jwt", jwks=key_set(rp_keys)
    )
    assert response.status_code == 201, response.text
    client_id = response.json()["client_id"]
    claims = claims_for(provider, client_id)
    if alg == "PS256":
        assertion = ps256(claims, rp_keys["RS256"])
    else:
        assertion = encode_jwt(claims, rp_keys[alg])
    ok = await token_with(http, redis, provider, client_id, assertion)
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("attack", ["none", "hs256", "enc_key", "kid_of_other_type"])
async def test_private_key_jwt_never_none_hmac_or_an_encryption_key(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    rp_keys: dict[str, ManagedKey],
    attack: str,
) -> None:
    keys = key_set(rp_keys)
    enc_signer = ManagedKey.generate("RS256")
    enc = {**enc_signer.public_jwk, "use": "enc", "kid": "enc-2"}
    keys["keys"].append(enc)
    response = await register(http, token_endpoint_auth_method="private_key_jwt", jwks=keys)
    client_id = response.json()["client_id"]
    claims = claims_for(provider, client_id)
    if attack == "none":
        assertion = _alg_none(claims)
    elif attack == "hs256":
        assertion = _hs256_with_public_key(claims, rp_keys["RS256"].public_jwk)
    elif attack == "enc_key":  # a key published for encryption must not verify
        rsa = RSAKey.import_key(enc_signer.to_pem())
        assertion = jws.serialize_compact(
            {"alg": "RS256", "kid": "enc-2"}, json.dumps(claims).encode(), rsa
        )
    else:  # an ES256 header naming the RSA key's kid
        rsa_kid = rp_keys["RS256"].kid
        key = rp_keys["ES256"]
        assertion = encode_jwt(claims, key).split(".", 1)[1]
        header = json.dumps({"alg": "ES256", "kid": rsa_kid}).encode()
        import base64

        assertion = base64.urlsafe_b64encode(header).rstrip(b"=").decode() + "." + assertion
    refused = await token_with(http, redis, provider, client_id, assertion)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"


async def test_a_named_assertion_alg_narrows_what_verifies(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    rp_keys: dict[str, ManagedKey],
) -> None:
    response = await register(
        http,
        token_endpoint_auth_method="private_key_jwt",
        token_endpoint_auth_signing_alg="ES256",
        jwks=key_set(rp_keys),
    )
    assert response.status_code == 201, response.text
    client_id = response.json()["client_id"]
    rs = encode_jwt(claims_for(provider, client_id), rp_keys["RS256"])
    assert (await token_with(http, redis, provider, client_id, rs)).status_code == 401
    es = encode_jwt(claims_for(provider, client_id), rp_keys["ES256"])
    assert (await token_with(http, redis, provider, client_id, es)).status_code == 200


async def test_private_parts_in_jwks_are_refused(
    http: httpx.AsyncClient, rp_keys: dict[str, ManagedKey]
) -> None:
    private = RSAKey.import_key(rp_keys["RS256"].to_pem()).as_dict(private=True)
    response = await register(
        http, token_endpoint_auth_method="private_key_jwt", jwks={"keys": [private]}
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_client_metadata"


# --- jwks_uri ------------------------------------------------------------------------------
@dataclass
class KeyHost:
    """An RP's key publishing endpoint on loopback: what it serves, how often it is hit."""

    keys: list[dict[str, Any]] = field(default_factory=list)
    hits: int = 0
    mode: str = "ok"
    cache_control: str = "max-age=600"
    url: str = ""


def key_host_app(host: KeyHost) -> FastAPI:
    app = FastAPI()

    @app.get("/jwks")
    async def jwks() -> Response:
        host.hits += 1
        if host.mode == "redirect":
            return RedirectResponse(host.url + "/elsewhere", 302)
        if host.mode == "huge":
            return Response(b"{" + b" " * 200_000 + b"}", media_type="application/json")
        if host.mode == "error":
            return JSONResponse({"error": "boom"}, status_code=500)
        return JSONResponse({"keys": host.keys}, headers={"Cache-Control": host.cache_control})

    @app.get("/elsewhere")
    async def elsewhere() -> Response:
        return JSONResponse({"keys": host.keys})

    return app


@pytest.fixture(scope="module")
def key_server() -> Iterator[tuple[KeyHost, str]]:
    host = KeyHost()
    with ServerThread(key_host_app(host)) as server:
        host.url = server.url
        yield host, server.url


@pytest.fixture
def key_host(key_server: tuple[KeyHost, str], provider: OidcProvider) -> KeyHost:
    host, _ = key_server
    host.keys, host.hits, host.mode, host.cache_control = [], 0, "ok", "max-age=600"
    provider.config.client_fetch_allow_private_networks = True  # the host is on loopback
    return host


async def register_uri(http: httpx.AsyncClient, host: KeyHost) -> str:
    # the test issuer is https, so jwks_uri must be https to a public host at registration:
    # register, then point the stored client at the loopback host (as DNS could later)
    response = await register(
        http,
        token_endpoint_auth_method="private_key_jwt",
        jwks_uri="https://keys.generic.example.cn/jwks",
    )
    assert response.status_code == 201, response.text
    return response.json()["client_id"]


async def repoint(redis: aioredis.Redis, client_id: str, uri: str) -> None:
    stored = json.loads(await redis.get(Keys.client(client_id)))
    stored["jwks_uri"] = uri
    await redis.set(Keys.client(client_id), json.dumps(stored))


async def test_jwks_uri_registration_and_key_rotation(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    key_host: KeyHost,
) -> None:
    first, second = ManagedKey.generate("RS256"), ManagedKey.generate("ES256")
    key_host.keys = [first.public_jwk]
    client_id = await register_uri(http, key_host)
    await repoint(redis, client_id, key_host.url + "/jwks")
    ok = await token_with(
        http, redis, provider, client_id, encode_jwt(claims_for(provider, client_id), first)
    )
    assert ok.status_code == 200, ok.text
    again = await token_with(
        http, redis, provider, client_id, encode_jwt(claims_for(provider, client_id), first)
    )
    assert again.status_code == 200 and key_host.hits == 1  # cached per Cache-Control
    key_host.keys = [first.public_jwk, second.public_jwk]  # the RP rotates
    rotated = await token_with(
        http, redis, provider, client_id, encode_jwt(claims_for(provider, client_id), second)
    )
    assert rotated.status_code == 200, rotated.text
    assert key_host.hits == 2  # one re-fetch on the unknown kid


async def test_unknown_kid_storm_costs_one_fetch(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    key_host: KeyHost,
) -> None:
    known = ManagedKey.generate("ES256")
    key_host.keys = [known.public_jwk]
    client_id = await register_uri(http, key_host)
    await repoint(redis, client_id, key_host.url + "/jwks")
    stranger = ManagedKey.generate("ES256")
    for _ in range(20):
        claims = claims_for(provider, client_id)
        forged = encode_jwt(claims, stranger)
        got = await token_with(http, redis, provider, client_id, forged)
        assert got.status_code == 401 and got.json()["error"] == "invalid_client"
    assert key_host.hits == 2  # the first fetch, and one rate-limited re-fetch


@pytest.mark.parametrize("mode", ["unreachable", "huge", "redirect", "error", "private"])
async def test_jwks_uri_failures_are_a_clean_invalid_client(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    key_host: KeyHost,
    mode: str,
) -> None:
    key = ManagedKey.generate("ES256")
    key_host.keys = [key.public_jwk]
    client_id = await register_uri(http, key_host)
    uri = key_host.url + "/jwks"
    if mode == "unreachable":
        from federation.storage.runtime import free_port

        uri = f"http://127.0.0.1:{free_port()}/jwks"
    elif mode == "private":
        provider.config.client_fetch_allow_private_networks = False
    else:
        key_host.mode = mode
    await repoint(redis, client_id, uri)
    response = await token_with(
        http, redis, provider, client_id, encode_jwt(claims_for(provider, client_id), key)
    )
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    if mode == "private":
        assert key_host.hits == 0  # refused before any connection
    if mode == "redirect":
        assert key_host.hits == 1  # /elsewhere was never asked


async def test_jwks_and_jwks_uri_together_are_refused(
    http: httpx.AsyncClient, rp_keys: dict[str, ManagedKey]
) -> None:
    response = await register(
        http,
        token_endpoint_auth_method="private_key_jwt",
        jwks=key_set(rp_keys),
        jwks_uri="https://keys.generic.example.cn/jwks",
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_client_metadata"


async def test_jwks_uri_must_be_https_to_a_public_host(http: httpx.AsyncClient) -> None:
    response = await register(
        http, token_endpoint_auth_method="private_key_jwt", jwks_uri="https://10.0.0.8/jwks"
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_client_metadata"


# --- public subjects -----------------------------------------------------------------------
async def test_public_subjects_off_by_default_and_discovery_agrees(
    http: httpx.AsyncClient,
) -> None:
    doc = (await http.get("/.well-known/openid-configuration")).json()
    assert doc["subject_types_supported"] == ["pairwise"]
    refused = await register(http, subject_type="public")
    assert refused.status_code == 400
    assert "pairwise" in refused.json()["error_description"]


async def test_public_subjects_when_the_operator_allows_them(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    provider.config.registration_public_subjects = True
    doc = (await http.get("/.well-known/openid-configuration")).json()
    assert doc["subject_types_supported"] == ["pairwise", "public"]
    response = await register(http, subject_type="public")
    assert response.status_code == 201, response.text
    assert response.json()["subject_type"] == "public"


async def test_unusable_request_uris_are_left_out_not_fatal(http: httpx.AsyncClient) -> None:
    # pyoidc registers a relative "requests/<hash>" when its base_url is unset, since
    # discovery says require_request_uri_registration: RFC 7591 §2 lets the server replace it
    uris = ["requests/0a1b2c", "https://generic.example.cn/requests/r.jwt"]
    response = await register(http, request_uris=uris)
    assert response.status_code == 201, response.text
    assert response.json()["request_uris"] == ["https://generic.example.cn/requests/r.jwt"]
