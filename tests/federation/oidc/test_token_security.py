"""DESIGN §8 at the token endpoint: PKCE, redirect URI binding, single-use codes whose
replay revokes what they issued, refresh rotation with reuse detection, consent withdrawal,
client secrets."""

from __future__ import annotations

import asyncio
import base64

import httpx
import redis.asyncio as aioredis

from federation.oidc.provider import OidcProvider
from tests.federation.oidc.flow import Authorized, authorize, basic, full_flow, redeem
from tests.federation.oidc.harness import REDIRECTS, Clock


async def _code(http: httpx.AsyncClient, redis: aioredis.Redis, p: OidcProvider) -> Authorized:
    got = await authorize(http, redis, p, scope="openid profile")
    assert isinstance(got, Authorized)
    return got


async def _userinfo_claims(http: httpx.AsyncClient, token: str) -> dict[str, object]:
    response = await http.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    return dict(response.json())


async def _userinfo_status(http: httpx.AsyncClient, token: str) -> int:
    return (await http.get("/userinfo", headers={"Authorization": f"Bearer {token}"})).status_code


async def test_missing_code_verifier_is_refused(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    got = await _code(http, redis, provider)
    form = {
        "grant_type": "authorization_code",
        "code": got.code,
        "redirect_uri": REDIRECTS["rp-es256"],
    }
    response = await http.post("/token", data=form, headers=basic("rp-es256"))
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


async def test_wrong_code_verifier_is_invalid_grant(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    got = await _code(http, redis, provider)
    response = await redeem(http, got, code_verifier="x" * 43)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert "access_token" not in response.json()


async def test_redirect_uri_must_match_the_request(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    got = await _code(http, redis, provider)
    response = await redeem(http, got, redirect_uri="http://127.0.0.1:9999/cb")
    assert response.json()["error"] == "invalid_grant"


async def test_code_of_another_client_is_refused(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    got = await _code(http, redis, provider)
    form = {
        "grant_type": "authorization_code",
        "code": got.code,
        "redirect_uri": REDIRECTS["rp-es256"],
        "code_verifier": got.verifier,
    }
    response = await http.post("/token", data=form, headers=basic("rp-sm2"))
    assert response.json()["error"] == "invalid_grant"


async def test_expired_code_is_refused(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider, clock: Clock
) -> None:
    got = await _code(http, redis, provider)
    clock.advance(61)
    response = await redeem(http, got)
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "code has expired",
        "reference": response.json()["reference"],
    }


async def test_replayed_code_revokes_access_and_refresh_tokens(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    got = await _code(http, redis, provider)
    first = (await redeem(http, got)).json()
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    rotated = (await http.post("/token", data=form, headers=basic("rp-es256"))).json()
    assert await _userinfo_status(http, rotated["access_token"]) == 200
    assert (await redeem(http, got)).json()["error"] == "invalid_grant"
    for token in (first["access_token"], rotated["access_token"]):
        assert await _userinfo_status(http, token) == 401
    form = {"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"]}
    again = await http.post("/token", data=form, headers=basic("rp-es256"))
    assert again.json()["error"] == "invalid_grant"


async def test_concurrent_redemptions_issue_tokens_once(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    got = await _code(http, redis, provider)
    responses = await asyncio.gather(*(redeem(http, got) for _ in range(5)))
    issued = [r.json() for r in responses if r.status_code == 200]
    assert len(issued) <= 1 and sum(r.status_code == 400 for r in responses) >= 4
    for body in issued:  # the replays revoked whatever the winner got
        assert await _userinfo_status(http, body["access_token"]) == 401


async def test_refresh_reuse_revokes_the_family(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    body = await full_flow(http, redis, provider)
    old = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    rotated = (await http.post("/token", data=old, headers=basic("rp-es256"))).json()
    assert await _userinfo_status(http, rotated["access_token"]) == 200
    reuse = await http.post("/token", data=old, headers=basic("rp-es256"))
    assert reuse.json()["error"] == "invalid_grant"
    assert await _userinfo_status(http, rotated["access_token"]) == 401
    assert await _userinfo_status(http, body["access_token"]) == 401
    new = {"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"]}
    assert (await http.post("/token", data=new, headers=basic("rp-es256"))).status_code == 400


async def test_refresh_cannot_widen_scope(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    body = await full_flow(http, redis, provider, scope="openid")
    form = {
        "grant_type": "refresh_token",
        "refresh_token": body["refresh_token"],
        "scope": "openid email",
    }
    response = await http.post("/token", data=form, headers=basic("rp-es256"))
    assert response.json()["error"] == "invalid_scope"


async def _refresh(http: httpx.AsyncClient, token: str, scope: str | None) -> dict:
    form = {"grant_type": "refresh_token", "refresh_token": token}
    if scope is not None:
        form["scope"] = scope
    response = await http.post("/token", data=form, headers=basic("rp-es256"))
    assert response.status_code == 200, response.text
    return response.json()


async def _introspected_scope(http: httpx.AsyncClient, token: str) -> str:
    response = await http.post("/introspect", data={"token": token}, headers=basic("rp-es256"))
    body = response.json()
    assert body["active"] is True, body
    return body["scope"]


async def test_narrowing_refresh_keeps_the_original_grant(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    """RFC 6749 §6: the narrowed scope is the access token's; the new refresh token still
    stands for the original grant, so a later refresh may ask for all of it again."""
    body = await full_flow(http, redis, provider, scope="openid profile email")
    narrowed = await _refresh(http, body["refresh_token"], "openid")
    assert narrowed["scope"] == "openid"
    assert await _introspected_scope(http, narrowed["access_token"]) == "openid"
    assert await _introspected_scope(http, narrowed["refresh_token"]) == "openid profile email"
    assert set(await _userinfo_claims(http, narrowed["access_token"])) == {"sub"}
    only_email = await _refresh(http, narrowed["refresh_token"], "openid email")
    assert set(await _userinfo_claims(http, only_email["access_token"])) == {
        "sub",
        "email",
        "email_verified",
    }
    again = await _refresh(http, only_email["refresh_token"], "openid profile email")
    assert {"name", "email"} <= set(await _userinfo_claims(http, again["access_token"]))
    assert set(again["scope"].split()) == {"openid", "profile", "email"}
    assert await _introspected_scope(http, again["access_token"]) == "openid profile email"
    default = await _refresh(http, again["refresh_token"], None)  # no scope: the original
    assert set(default["scope"].split()) == {"openid", "profile", "email"}
    widened = await http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": default["refresh_token"],
            "scope": "openid profile email phone",
        },
        headers=basic("rp-es256"),
    )
    assert widened.json()["error"] == "invalid_scope"  # never beyond the original grant


class _Withdrawn:
    def __init__(self) -> None:
        self.withdrawn: set[str] = set()

    async def consent_active(self, redis: aioredis.Redis, consent_id: str) -> bool:
        return consent_id not in self.withdrawn


async def test_withdrawn_consent_stops_userinfo_and_refresh(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    from federation.oidc.seam import issue_authorization_code
    from tests.federation.oidc.harness import grant_for

    checker = _Withdrawn()
    provider.consent_checker = checker
    parked = await http.get(
        "/authorize",
        params={
            "client_id": "rp-es256",
            "redirect_uri": REDIRECTS["rp-es256"],
            "response_type": "code",
            "scope": "openid profile",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        },
    )
    import json

    from federation.oidc.models import AuthorizationRequest
    from federation.storage.keys import Keys

    authz = AuthorizationRequest.from_dict(
        json.loads(await redis.get(Keys.journey(parked.json()["journey"])))
    )
    url = await issue_authorization_code(
        redis, authz, grant_for(provider, authz, consent_id="consent-1"), provider=provider
    )
    code = url.split("code=")[1].split("&")[0]
    got = Authorized(code, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", {}, url, None)
    body = (await redeem(http, got)).json()
    assert await _userinfo_status(http, body["access_token"]) == 200
    checker.withdrawn.add("consent-1")
    assert await _userinfo_status(http, body["access_token"]) == 401
    form = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    refused = await http.post("/token", data=form, headers=basic("rp-es256"))
    assert refused.json()["error"] == "invalid_grant"
    introspected = await http.post(
        "/introspect", data={"token": body["access_token"]}, headers=basic("rp-es256")
    )
    assert introspected.json() == {"active": False}


async def test_wrong_client_secret_is_401_with_challenge(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    got = await _code(http, redis, provider)
    form = {
        "grant_type": "authorization_code",
        "code": got.code,
        "redirect_uri": REDIRECTS["rp-es256"],
        "code_verifier": got.verifier,
    }
    response = await http.post("/token", data=form, headers=basic("rp-es256", "wrong" * 10))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")
    post = await http.post(
        "/token",
        data={
            **form,
            "client_id": "rp-es256",
            "client_secret": "rp-es256-secret-0123456789abcdefghijklmnopqrstuv",
        },
    )
    assert post.status_code == 401  # registered for client_secret_basic only


async def test_secrets_and_claims_are_not_stored_in_clear(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    got = await authorize(http, redis, provider, scope="openid profile email")
    assert isinstance(got, Authorized)
    dump_before = await _dump(redis)
    body = (await redeem(http, got)).json()
    dump = dump_before + await _dump(redis)
    for secret in (got.code, body["access_token"], body["refresh_token"]):
        assert secret not in dump
    for value in ("陳大文", "chan.taiman@example.hk"):  # the bridge subject is pseudonymous
        assert value not in dump
    assert "claims" in dump and "grant" in dump  # the sealed fields are there


async def _dump(redis: aioredis.Redis) -> str:
    parts = []
    async for key in redis.scan_iter("idb:*"):
        kind = await redis.type(key)
        value = (
            await redis.hgetall(key)
            if kind == "hash"
            else await redis.smembers(key)
            if kind == "set"
            else await redis.get(key)
        )
        parts.append(f"{key} {value}")
    return " ".join(parts)


def test_sealed_claims_open_only_with_their_secret_and_record() -> None:
    import pytest

    from federation.oidc.sealing import seal, unseal

    sealed = seal({"name": "陳大文"}, "token-1", "idb:at:one")
    assert unseal(sealed, "token-1", "idb:at:one") == {"name": "陳大文"}
    with pytest.raises(ValueError):
        unseal(sealed, "token-1", "idb:at:two")
    with pytest.raises(ValueError):
        unseal(sealed, "token-2", "idb:at:one")


async def test_malformed_credentials_and_bearer_usage(http: httpx.AsyncClient) -> None:
    form = {"grant_type": "authorization_code", "code": "x"}
    for header in (b"Basic \xe9\xe9", b"Basic !!!!", b"Basic " + base64.b64encode(b"no-colon")):
        response = await http.post("/token", data=form, headers={"Authorization": header})
        assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    both = await http.post(
        "/userinfo", data={"access_token": "a"}, headers={"Authorization": "Bearer a"}
    )
    assert both.status_code == 400 and 'error="invalid_request"' in both.headers["www-authenticate"]
    none = await http.get("/userinfo")
    assert none.status_code == 401 and none.headers["www-authenticate"] == 'Bearer realm="idbridge"'
    scheme = await http.get("/userinfo", headers={"Authorization": "Token abc"})
    # RFC 6750 §3.1: an unsupported method is a challenge without an error code
    assert scheme.status_code == 401
    assert scheme.headers["www-authenticate"] == 'Bearer realm="idbridge"'
