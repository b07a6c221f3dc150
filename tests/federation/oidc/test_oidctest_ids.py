"""The OpenID Foundation oidctest OP test ids of the Basic and Config profiles that
``test_conformance.py`` (named after the newer suite's modules) does not play one to one:
one test each, named after the id (``OP-Req-max_age=10000`` → ``test_op_req_max_age_10000``).
The ids and their ``usage`` come from ``test_tool/cp/test_op/flows/*.json`` of
rohe/oidctest; docs/oidc.md maps every Basic/Config id to the test that plays it."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import httpx
import redis.asyncio as aioredis

from federation.oidc.provider import OidcProvider
from tests.federation.oidc import test_conformance
from tests.federation.oidc.flow import Authorized, authorize, full_flow, id_token_claims, redeem
from tests.federation.oidc.harness import ISSUER, Clock
from tests.federation.oidc.test_registration import METADATA

TOKEN = {"Authorization": "Bearer test-initial-access-token-0123456789"}


def header_of(jwt: str) -> dict[str, str]:
    return json.loads(base64.urlsafe_b64decode(jwt.split(".")[0] + "=="))


async def test_op_idtoken_c_signature(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    """OP-IDToken-C-Signature: the code flow's ID token is signed (never ``none``) and
    verifies against the published keys (``full_flow`` verifies it)."""
    body = await full_flow(http, redis, provider)
    assert header_of(body["id_token"])["alg"] == "ES256"
    assert body["claims"]["iss"] == ISSUER


async def test_op_idtoken_kid(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    """OP-IDToken-kid: the ID token names its key, and that key is in ``jwks_uri``."""
    body = await full_flow(http, redis, provider)
    kid = header_of(body["id_token"])["kid"]
    jwks = (await http.get("/jwks")).json()
    assert kid in {key["kid"] for key in jwks["keys"]}


async def test_op_req_notunderstood(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    """OP-Req-NotUnderstood: an unknown request parameter is ignored (OIDC Core §3.1.2.1)."""
    got = await authorize(http, redis, provider, extra="foobar")
    assert isinstance(got, Authorized) and got.params["state"] == "s-123"


async def test_op_req_acr_values(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    """OP-Req-acr_values: voluntary ``acr_values`` succeed and the ID token has an ``acr``."""
    body = await full_flow(http, redis, provider, acr_values="iamsmart iamsmart_plus")
    assert body["claims"]["acr"] in {"iamsmart", "iamsmart_plus"}


async def test_op_req_claims_locales(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    """OP-Req-claims_locales: the request succeeds (claims are released as iAM Smart gives
    them; no localised variants exist)."""
    body = await full_flow(http, redis, provider, claims_locales="zh-HK en")
    assert body["claims"]["aud"] == "rp-es256"


async def test_op_req_login_hint(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    """OP-Req-login_hint: a ``login_hint`` is accepted (iAM Smart has no user name field)."""
    body = await full_flow(http, redis, provider, login_hint="someone@example.cn")
    assert body["claims"]["sub"]


async def test_op_req_max_age_10000(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider, clock: Clock
) -> None:
    """OP-Req-max_age=10000: a session younger than ``max_age`` is reused without a login,
    and ``auth_time`` is the first login's (OIDC Core §3.1.2.1)."""
    first = await full_flow(http, redis, provider)
    clock.advance(2)
    again = await authorize(http, redis, provider, max_age="10000", login=False)
    assert isinstance(again, Authorized)  # no login page: the session is young enough
    token = await redeem(http, again)
    claims = await id_token_claims(http, token.json()["id_token"])
    assert claims["auth_time"] == first["claims"]["auth_time"]


async def test_op_req_ui_locales(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    """OP-Req-ui_locales: ``ui_locales`` is accepted (the pages speak it)."""
    got = await authorize(http, redis, provider, ui_locales="zh-CN")
    assert isinstance(got, Authorized)


async def test_op_display_page(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    """OP-display-page: ``display=page`` succeeds."""
    assert isinstance(await authorize(http, redis, provider, display="page"), Authorized)


async def test_op_display_popup(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    """OP-display-popup: ``display=popup`` succeeds (the pages are responsive)."""
    assert isinstance(await authorize(http, redis, provider, display="popup"), Authorized)


async def test_op_prompt_none_loggedin(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    """OP-prompt-none-LoggedIn: with a session, ``prompt=none`` answers with a code."""
    first = await full_flow(http, redis, provider)
    got = await authorize(http, redis, provider, prompt="none", login=False)
    assert isinstance(got, Authorized) and got.params["iss"] == ISSUER
    assert first["claims"]["sub"]


async def test_op_nonce_code(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider
) -> None:
    """OP-nonce-code: the request's ``nonce`` is echoed in the ID token."""
    body = await full_flow(http, redis, provider, nonce="oidf-nonce-42")
    assert body["claims"]["nonce"] == "oidf-nonce-42"


async def test_op_discovery_claims_supported(http: httpx.AsyncClient) -> None:
    """OP-Discovery-claims_supported: listed, with ``sub`` and the standard claims."""
    doc = (await http.get("/.well-known/openid-configuration")).json()
    assert {"sub", "name", "email", "email_verified", "phone_number"} <= set(
        doc["claims_supported"]
    )


async def test_op_discovery_jwks_uri(http: httpx.AsyncClient) -> None:
    """OP-Discovery-jwks_uri: ``jwks_uri`` is https under the issuer and serves a key set."""
    doc = (await http.get("/.well-known/openid-configuration")).json()
    assert doc["jwks_uri"].startswith(ISSUER) and doc["jwks_uri"].startswith("https://")
    served = await http.get(doc["jwks_uri"].removeprefix(ISSUER))
    assert served.status_code == 200 and served.json()["keys"]


async def test_op_registration_endpoint(http: httpx.AsyncClient) -> None:
    """OP-Registration-Endpoint: discovery names the registration endpoint and it answers
    (RFC 7591 §3; here behind the initial access token)."""
    doc = (await http.get("/.well-known/openid-configuration")).json()
    path = doc["registration_endpoint"].removeprefix(ISSUER)
    assert (await http.post(path, json={})).status_code in (400, 401)
    assert (await http.post(path, json={}, headers=TOKEN)).json()["error"] in (
        "invalid_client_metadata",
        "invalid_redirect_uri",
    )


async def test_op_registration_sector_bad(http: httpx.AsyncClient) -> None:
    """OP-Registration-Sector-Bad: a ``sector_identifier_uri`` that does not list the
    redirect URIs is refused; the bridge refuses every ``sector_identifier_uri`` (the
    sector is the redirect URIs' single host) with ``invalid_client_metadata``."""
    bad = {**METADATA, "sector_identifier_uri": "https://other.example.cn/sector.json"}
    response = await http.post("/register", json=bad, headers=TOKEN)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"


BASIC_AND_CONFIG_IDS = [
    "OP-ClientAuth-Basic-Static",
    "OP-ClientAuth-SecretPost-Static",
    "OP-IDToken-C-Signature",
    "OP-IDToken-kid",
    "OP-OAuth-2nd-30s",
    "OP-OAuth-2nd-Revokes",
    "OP-OAuth-2nd",
    "OP-Req-NotUnderstood",
    "OP-Req-acr_values",
    "OP-Req-claims_locales",
    "OP-Req-id_token_hint",
    "OP-Req-login_hint",
    "OP-Req-max_age=1",
    "OP-Req-max_age=10000",
    "OP-Req-ui_locales",
    "OP-Response-Missing",
    "OP-Response-code",
    "OP-UserInfo-Body",
    "OP-UserInfo-Endpoint",
    "OP-UserInfo-Header",
    "OP-claims-essential",
    "OP-display-page",
    "OP-display-popup",
    "OP-nonce-NoReq-code",
    "OP-nonce-code",
    "OP-prompt-login",
    "OP-prompt-none-LoggedIn",
    "OP-prompt-none-NotLoggedIn",
    "OP-redirect_uri-NotReg",
    "OP-scope-All",
    "OP-scope-address",
    "OP-scope-email",
    "OP-scope-phone",
    "OP-scope-profile",
    "OP-Discovery-Config",
    "OP-Discovery-JWKs",
    "OP-Discovery-claims_supported",
    "OP-Discovery-jwks_uri",
    "OP-Registration-Endpoint",
    "OP-Registration-Sector-Bad",
]
"""The oidctest flows whose ``usage`` is Basic (code, static) or Config (``discover``)."""


def test_the_docs_table_names_every_id_and_only_tests_that_exist() -> None:
    text = Path(__file__).parents[3].joinpath("docs/oidc.md").read_text()
    table = text.split("### By oidctest id", 1)[1].split("### Running the OIDF tool", 1)[0]
    scope = "OP-scope-profile / -email / -address / -phone / -All"
    listed = {m for m in re.findall(r"\| (OP-[^ |]+) \|", table)}
    listed |= {"OP-scope-" + s for s in ("profile", "email", "address", "phone", "All")}
    assert scope in table
    assert set(BASIC_AND_CONFIG_IDS) <= listed, set(BASIC_AND_CONFIG_IDS) - listed
    modules = {"C": vars(test_conformance), "I": globals()}
    for module, name in re.findall(r"\| ([CI]) `(test_\w+)`", table):
        assert callable(modules[module].get(name)), name
