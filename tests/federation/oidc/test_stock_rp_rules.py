"""The rules stock relying-party libraries depend on (issue 13): a ``jwks_uri`` of
IANA-registered keys only with the SM2 keys at ``sm2_jwks_uri``, RFC 8414 metadata,
RFC 6749 §6 (a refused refresh changes nothing), RFC 6750 §2/§3.1 bearer rules, and
RFC 7591 §2.2 language-tagged registration metadata."""

from __future__ import annotations

import httpx
import redis.asyncio as aioredis
from joserfc import jws, jwt
from joserfc.jwk import KeySet

from federation.crypto.jose import decode_jwt
from federation.crypto.keyset import KeySet as BridgeKeySet
from federation.oidc.provider import OidcProvider
from federation.oidc.signing import KeySetSigner
from tests.federation.oidc.flow import basic, full_flow
from tests.federation.oidc.harness import ISSUER

TOKEN = {"Authorization": "Bearer test-initial-access-token-0123456789"}


async def _userinfo(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.get("/userinfo", headers={"Authorization": f"Bearer {token}"})


async def test_jwks_uri_holds_only_registered_keys_and_stock_joserfc_reads_it(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    doc = (await http.get("/.well-known/openid-configuration")).json()
    jwks = (await http.get(doc["jwks_uri"].removeprefix(ISSUER))).json()
    assert all(key.get("crv") != "SM2" for key in jwks["keys"])
    keys = KeySet.import_key_set(jwks)  # raised KeyError: 'SM2' on the old mixed set
    body = await full_flow(http, redis, provider, "rp-es256")
    assert jwt.decode(body["id_token"], keys, algorithms=["ES256"]).claims["aud"] == "rp-es256"
    # the SM2 keys are where discovery says, and verify an SM2SM3 ID token
    assert doc["sm2_jwks_uri"] == ISSUER + "/jwks/sm2"
    sm2 = (await http.get("/jwks/sm2")).json()
    assert sm2["keys"] and {k["crv"] for k in sm2["keys"]} == {"SM2"}
    assert not {k["kid"] for k in sm2["keys"]} & {k["kid"] for k in jwks["keys"]}
    sm2_token = (await full_flow(http, redis, provider, "rp-sm2"))["id_token"]
    header, claims = decode_jwt(sm2_token, sm2, algorithms=["SM2SM3"])
    assert header["alg"] == "SM2SM3" and claims["aud"] == "rp-sm2"


async def test_rfc8414_metadata_is_served(http: httpx.AsyncClient) -> None:
    oauth = await http.get("/.well-known/oauth-authorization-server")
    assert oauth.status_code == 200
    assert oauth.json() == (await http.get("/.well-known/openid-configuration")).json()
    assert oauth.json()["issuer"] == ISSUER  # RFC 8414 §3.3


async def test_a_refused_refresh_changes_nothing(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    body = await full_flow(http, redis, provider, scope="openid profile")
    wider = {
        "grant_type": "refresh_token",
        "refresh_token": body["refresh_token"],
        "scope": "openid profile email",
    }
    refused = await http.post("/token", data=wider, headers=basic("rp-es256"))
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"
    # nothing changed: the access token still works and the same refresh token refreshes
    assert (await _userinfo(http, body["access_token"])).status_code == 200
    again = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    refreshed = await http.post("/token", data=again, headers=basic("rp-es256"))
    assert refreshed.status_code == 200, refreshed.text
    assert (await _userinfo(http, refreshed.json()["access_token"])).status_code == 200
    # ... and rotation still holds: now it is used, a reuse revokes the family
    reuse = await http.post("/token", data=again, headers=basic("rp-es256"))
    assert reuse.json()["error"] == "invalid_grant"
    assert (await _userinfo(http, refreshed.json()["access_token"])).status_code == 401


async def test_a_refresh_token_of_another_client_still_revokes_its_family(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    body = await full_flow(http, redis, provider, "rp-es256", scope="openid")
    stolen = {
        "grant_type": "refresh_token",
        "refresh_token": body["refresh_token"],
        "scope": "openid email",  # even with a scope the check would refuse
    }
    response = await http.post("/token", data=stolen, headers=basic("rp-sm2"))
    assert response.json()["error"] == "invalid_grant"
    assert (await _userinfo(http, body["access_token"])).status_code == 401


async def test_bearer_token_in_header_and_query_is_invalid_request(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    token = (await full_flow(http, redis, provider))["access_token"]
    both = await http.get(
        "/userinfo", params={"access_token": token}, headers={"Authorization": f"Bearer {token}"}
    )
    assert both.status_code == 400 and both.json()["error"] == "invalid_request"
    assert 'error="invalid_request"' in both.headers["www-authenticate"]
    post_both = await http.post(
        f"/userinfo?access_token={token}",
        data={"access_token": token},
    )
    assert post_both.status_code == 400 and post_both.json()["error"] == "invalid_request"
    query_only = await http.get("/userinfo", params={"access_token": token})
    assert query_only.status_code == 400 and query_only.json()["error"] == "invalid_request"
    assert (await _userinfo(http, token)).status_code == 200  # the header alone still works


async def test_unsupported_scheme_is_a_challenge_without_error_code(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    basic_auth = await http.get("/userinfo", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic_auth.status_code == 401
    assert basic_auth.headers["www-authenticate"] == 'Bearer realm="idbridge"'
    token = (await full_flow(http, redis, provider))["access_token"]
    # a Basic header is no bearer method: a token in the body is then the only one
    body = await http.post(
        "/userinfo", data={"access_token": token}, headers={"Authorization": "Basic dXNlcjpwYXNz"}
    )
    assert body.status_code == 200
    empty = await http.get("/userinfo", headers={"Authorization": "Bearer "})
    assert empty.status_code == 400 and empty.json()["error"] == "invalid_request"


TAGGED = {
    "redirect_uris": ["https://tagged.example.cn/cb"],
    "id_token_signed_response_alg": "RS256",
    "client_name": "Tagged service",
    "client_name#zh-HK": "標籤服務",
    "client_name#zh-CN": "标签服务",
    "purposes#zh-HK": "辦理申請",
    "purposes#zh-CN": "办理申请",
    "purposes#en": "Handling your application",
    "processing_method": "Electronic processing",
    "processing_method#zh-Hant-HK": "電子處理",
    "processing_method#zh-cn": "电子处理",
    "retention#zh-HK": "保存兩年，其後刪除",
    "retention#zh-CN": "保存两年，其后删除",
    "retention#en": "Kept for two years, then deleted",
    "rights_procedure#zh-HK": "電郵至個人信息專員，註明同意編號",
    "rights_procedure#zh-CN": "发送电子邮件至个人信息专员，注明同意编号",
    "rights_procedure#en": "Email the personal information officer quoting your consent reference",
    "contacts": ["dpo@rp.example.cn"],
}


async def test_registration_takes_and_echoes_language_tagged_members(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    response = await http.post("/register", json=TAGGED, headers=TOKEN)
    assert response.status_code == 201, response.text
    body = response.json()
    for name in ("client_name", "purposes", "processing_method"):
        assert isinstance(body[name], str), name  # never the JSON-object form
    assert body["client_name"] == body["client_name#en"] == "Tagged service"
    assert body["client_name#zh-HK"] == "標籤服務" and body["client_name#zh-CN"] == "标签服务"
    assert body["purposes"] == body["purposes#en"] == "Handling your application"
    assert body["processing_method#zh-HK"] == "電子處理"
    assert body["processing_method#zh-CN"] == "电子处理"
    client = await provider.clients.get(redis, body["client_id"])
    assert client is not None and client.purposes.get("zh-CN") == "办理申请"
    # the object form is still accepted, and echoed the same §2.2 way
    legacy = {
        **{k: v for k, v in TAGGED.items() if not k.startswith(("purposes", "client_name"))},
        "client_name": "Legacy service",  # its own: no two clients may have confusable names
        "purposes": {"zh-HK": "辦理", "zh-CN": "办理", "en": "Handling"},
    }
    old = (await http.post("/register", json=legacy, headers=TOKEN)).json()
    assert old["purposes"] == "Handling" and old["purposes#zh-CN"] == "办理"


async def test_missing_purpose_error_names_the_fields_and_their_form(
    http: httpx.AsyncClient,
) -> None:
    metadata = {k: v for k, v in TAGGED.items() if k != "purposes#zh-CN"}
    response = await http.post("/register", json=metadata, headers=TOKEN)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_client_metadata"
    for field in ("purposes#zh-HK", "purposes#zh-CN", "purposes#en", "RFC 7591 §2.2"):
        assert field in body["error_description"]
    none = {k: v for k, v in TAGGED.items() if not k.startswith("processing_method")}
    missing = (await http.post("/register", json=none, headers=TOKEN)).json()
    assert "processing_method#zh-HK" in missing["error_description"]
    wrong_type = (
        await http.post("/register", json={**TAGGED, "purposes": 7}, headers=TOKEN)
    ).json()
    assert wrong_type["error"] == "invalid_client_metadata"


async def test_an_sm2_rp_follows_a_key_rotation_from_sm2_jwks_uri_alone(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    keys = BridgeKeySet.generate()
    provider.signer = KeySetSigner(keys)
    doc = (await http.get("/.well-known/openid-configuration")).json()
    cached = (await http.get(doc["sm2_jwks_uri"].removeprefix(ISSUER))).json()
    before = (await full_flow(http, redis, provider, "rp-sm2"))["id_token"]
    keys.rotate("SM2SM3")
    after = (await full_flow(http, redis, provider, "rp-sm2"))["id_token"]
    old_kid = jws.extract_compact(before.encode()).headers()["kid"]
    new_kid = jws.extract_compact(after.encode()).headers()["kid"]
    assert old_kid in {k["kid"] for k in cached["keys"]}
    assert new_kid not in {k["kid"] for k in cached["keys"]}
    # an unknown kid: the RP fetches the set again, as discovery gives it
    fresh = (await http.get(doc["sm2_jwks_uri"].removeprefix(ISSUER))).json()
    assert {old_kid, new_kid} <= {k["kid"] for k in fresh["keys"]}  # old one in its grace
    for token in (before, after):
        assert decode_jwt(token, fresh, algorithms=["SM2SM3"])[1]["aud"] == "rp-sm2"
    assert all(k.get("crv") != "SM2" for k in (await http.get("/jwks")).json()["keys"])
