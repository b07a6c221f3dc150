"""Conformance suite modelled on the OpenID Foundation's Basic OP and Config OP test plans
(one test per module, named after it). Where a module needs the login or consent UI, the
test drives it through the journey seam (``federation.oidc.seam``), as the real journey
will. Clock-dependent modules move the provider's clock instead of sleeping."""

from __future__ import annotations

import base64
import json

import httpx
import redis.asyncio as aioredis

from federation.oidc.provider import OidcProvider
from tests.federation.oidc.flow import Authorized, authorize, basic, full_flow, redeem
from tests.federation.oidc.harness import ISSUER, PROFILE, REDIRECTS, SECRETS, Clock, query_of


async def test_oidcc_server(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    body = await full_flow(http, redis, provider, "rp-sm2")
    claims = body["claims"]
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert claims["iss"] == ISSUER and claims["aud"] == "rp-sm2"
    assert claims["nonce"] == "n-456" and claims["exp"] > claims["iat"]
    assert {"sub", "auth_time", "at_hash"} <= set(claims)


async def test_oidcc_discovery_issuer_matches(http: httpx.AsyncClient) -> None:
    doc = (await http.get("/.well-known/openid-configuration")).json()
    assert doc["issuer"] == ISSUER
    for name in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "pushed_authorization_request_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
        "end_session_endpoint",
        "registration_endpoint",
    ):
        assert doc[name].startswith(ISSUER + "/"), name
    assert doc["id_token_signing_alg_values_supported"] == ["SM2SM3", "ES256", "RS256"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["response_types_supported"] == ["code"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert doc["claims_parameter_supported"] is True
    assert doc["backchannel_logout_supported"] is True
    assert doc["subject_types_supported"] == ["pairwise"]  # public: operator setting
    assert doc["ui_locales_supported"] == ["zh-HK", "zh-CN", "en"]
    assert "openid" in doc["scopes_supported"]


async def test_oidcc_discovery_jwks(http: httpx.AsyncClient) -> None:
    doc = (await http.get("/.well-known/openid-configuration")).json()
    jwks = (await http.get(doc["jwks_uri"].removeprefix(ISSUER))).json()
    sm2 = (await http.get(doc["sm2_jwks_uri"].removeprefix(ISSUER))).json()
    # jwks_uri: only IANA-registered key types and curves; SM2 at the advertised sm2_jwks_uri
    assert {key["alg"] for key in jwks["keys"]} == {"ES256", "RS256"}
    assert {(key["kty"], key.get("crv")) for key in jwks["keys"]} == {
        ("EC", "P-256"),
        ("RSA", None),
    }
    assert {(key["kty"], key["crv"], key["alg"]) for key in sm2["keys"]} == {
        ("EC", "SM2", "SM2SM3")
    }
    jwks["keys"] += sm2["keys"]
    for key in jwks["keys"]:
        assert key["kid"] and key["use"] == "sig"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)  # public parts only
    assert len({key["kid"] for key in jwks["keys"]}) == len(jwks["keys"])


async def test_oidcc_response_type_missing(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    got = await authorize(http, redis, provider, response_type=None)
    assert isinstance(got, httpx.Response) and got.status_code == 302
    query = query_of(got.headers["location"])
    assert got.headers["location"].startswith(REDIRECTS["rp-es256"])
    assert query == {
        "error": "invalid_request",
        "error_description": query["error_description"],
        "state": "s-123",
        "iss": ISSUER,
    }


async def _userinfo_token(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> tuple[str, str]:
    body = await full_flow(http, redis, provider, scope="openid profile")
    return body["access_token"], body["claims"]["sub"]


async def test_oidcc_userinfo_get(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    token, sub = await _userinfo_token(http, redis, provider)
    info = await http.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert info.status_code == 200 and info.json()["sub"] == sub
    assert info.json()["name"] == PROFILE["profile"]["name"]
    assert info.headers["cache-control"] == "no-store"


async def test_oidcc_userinfo_post_header(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    token, sub = await _userinfo_token(http, redis, provider)
    info = await http.post("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert info.status_code == 200 and info.json()["sub"] == sub


async def test_oidcc_userinfo_post_body(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    token, sub = await _userinfo_token(http, redis, provider)
    info = await http.post("/userinfo", data={"access_token": token})
    assert info.status_code == 200 and info.json()["sub"] == sub


async def test_oidcc_ensure_request_without_nonce_succeeds_for_code_flow(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    body = await full_flow(http, redis, provider, nonce=None)
    assert "nonce" not in body["claims"]


async def _scope_claims(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider, scope: str
) -> dict[str, object]:
    body = await full_flow(http, redis, provider, scope=scope)
    assert body["scope"].split() == scope.split()
    info = await http.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200
    return info.json()


async def test_oidcc_scope_profile(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    info = await _scope_claims(http, redis, provider, "openid profile")
    assert {"name", "family_name", "given_name", "birthdate"} <= set(info)
    assert "email" not in info


async def test_oidcc_scope_email(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    info = await _scope_claims(http, redis, provider, "openid email")
    assert info["email"] == PROFILE["email"]["email"] and "name" not in info


async def test_oidcc_scope_address(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    info = await _scope_claims(http, redis, provider, "openid address")
    assert info["address"]["country"] == "HK" and "email" not in info


async def test_oidcc_scope_phone(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    info = await _scope_claims(http, redis, provider, "openid phone")
    assert info["phone_number"] == PROFILE["phone"]["phone_number"] and "address" not in info


async def test_oidcc_scope_all(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    info = await _scope_claims(http, redis, provider, "openid profile email address phone")
    assert {"name", "email", "address", "phone_number"} <= set(info)


async def test_oidcc_ensure_other_scope_order_succeeds(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    info = await _scope_claims(http, redis, provider, "email openid")
    assert "email" in info


async def test_oidcc_prompt_login(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider, clock: Clock
) -> None:
    first = await full_flow(http, redis, provider)
    clock.advance(5)
    again = await authorize(http, redis, provider, prompt="login", login=False)
    assert isinstance(again, httpx.Response) and "journey" in again.json()  # must log in
    second = await full_flow(http, redis, provider, prompt="login")
    assert second["claims"]["auth_time"] > first["claims"]["auth_time"]


async def test_oidcc_prompt_none_not_logged_in(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    got = await authorize(http, redis, provider, prompt="none")
    assert isinstance(got, httpx.Response) and got.status_code == 302
    query = query_of(got.headers["location"])
    assert query["error"] == "login_required" and query["state"] == "s-123"
    assert query["iss"] == ISSUER


async def test_oidcc_max_age_1(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider, clock: Clock
) -> None:
    first = await full_flow(http, redis, provider)
    clock.advance(2)
    parked = await authorize(http, redis, provider, max_age="1", login=False)
    assert isinstance(parked, httpx.Response) and "journey" in parked.json()
    second = await full_flow(http, redis, provider, max_age="1")
    assert second["claims"]["auth_time"] >= first["claims"]["auth_time"] + 2


async def test_oidcc_id_token_hint(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    first = await full_flow(http, redis, provider)
    got = await authorize(http, redis, provider, prompt="none", id_token_hint=first["id_token"])
    assert isinstance(got, Authorized)  # the session was reused without a login page
    second = await redeem(http, got)
    assert second.status_code == 200
    from tests.federation.oidc.flow import id_token_claims

    claims = await id_token_claims(http, second.json()["id_token"])
    assert claims["sub"] == first["claims"]["sub"]


async def test_oidcc_codereuse(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    got = await authorize(http, redis, provider)
    assert isinstance(got, Authorized)
    first = await redeem(http, got)
    assert first.status_code == 200
    token = first.json()["access_token"]
    assert (await http.get("/userinfo", headers={"Authorization": f"Bearer {token}"})).is_success
    reused = await redeem(http, got)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    after = await http.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert after.status_code == 401 and "invalid_token" in after.headers["www-authenticate"]
    refresh = await http.post(
        "/token",
        headers=basic("rp-es256"),
        data={"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]},
    )
    assert refresh.json()["error"] == "invalid_grant"


async def test_oidcc_codereuse_30seconds(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider, clock: Clock
) -> None:
    got = await authorize(http, redis, provider)
    assert isinstance(got, Authorized)
    first = await redeem(http, got)
    token = first.json()["access_token"]
    clock.advance(30)
    reused = await redeem(http, got)
    assert reused.json()["error"] == "invalid_grant"
    after = await http.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert after.status_code == 401


async def test_oidcc_ensure_registered_redirect_uri(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    got = await authorize(http, redis, provider, redirect_uri="https://rp.example.cn/cb/../evil")
    assert isinstance(got, httpx.Response)
    assert got.status_code == 400 and "location" not in got.headers
    assert got.json()["error"] == "invalid_request"


async def test_oidcc_server_client_secret_post(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    got = await authorize(http, redis, provider, "rp-rs256")
    assert isinstance(got, Authorized)
    form = {
        "grant_type": "authorization_code",
        "code": got.code,
        "redirect_uri": REDIRECTS["rp-rs256"],
        "code_verifier": got.verifier,
        "client_id": "rp-rs256",
        "client_secret": SECRETS["rp-rs256"],
    }
    token = await http.post("/token", data=form)
    assert token.status_code == 200, token.text
    header = json.loads(base64.urlsafe_b64decode(token.json()["id_token"].split(".")[0] + "=="))
    assert header["alg"] == "RS256"


async def test_oidcc_claims_essential(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    claims = json.dumps({"userinfo": {"name": {"essential": True}}})
    body = await full_flow(http, redis, provider, scope="openid", claims=claims)
    info = await http.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.json()["name"] == PROFILE["profile"]["name"]
    assert "email" not in info.json()


async def test_oidcc_refresh_token(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    body = await full_flow(http, redis, provider, scope="openid offline_access")
    form = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    fresh = await http.post("/token", data=form, headers=basic("rp-es256"))
    assert fresh.status_code == 200, fresh.text
    new = fresh.json()
    assert new["refresh_token"] != body["refresh_token"] and new["id_token"]
    from tests.federation.oidc.flow import id_token_claims

    claims = await id_token_claims(http, new["id_token"])
    assert claims["sub"] == body["claims"]["sub"] and "nonce" not in claims
    other = await http.post("/token", data=form, headers=basic("rp-rs256", SECRETS["rp-rs256"]))
    assert other.status_code in (400, 401)


async def test_oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    payload = (
        base64.urlsafe_b64encode(
            json.dumps(
                {
                    "client_id": "rp-es256",
                    "redirect_uri": REDIRECTS["rp-es256"],
                    "scope": "openid",
                    "response_type": "code",
                }
            ).encode()
        )
        .rstrip(b"=")
        .decode()
    )
    got = await authorize(http, redis, provider, request=f"{header}.{payload}.")
    assert isinstance(got, Authorized), getattr(got, "text", got)  # supported correctly
    assert got.params["state"] == "s-123"
    assert (await redeem(http, got)).status_code == 200


async def test_oidcc_ensure_pkce_required(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    missing = await authorize(
        http, redis, provider, code_challenge=None, code_challenge_method=None
    )
    assert isinstance(missing, httpx.Response)
    assert query_of(missing.headers["location"])["error"] == "invalid_request"
    plain = await authorize(
        http, redis, provider, code_challenge="a" * 43, code_challenge_method="plain"
    )
    assert isinstance(plain, httpx.Response)
    assert query_of(plain.headers["location"])["error"] == "invalid_request"
