"""Test harness for the OpenID Provider: a provider on the test clients file with a clock
the tests control, the bridge app with the provider mounted, a stand-in login journey that
is driven through the real seam (``federation.oidc.seam``), and RP helpers built on
authlib's real OAuth2 client. Imported by the oidc tests and tests/flows/test_oidc_*.py."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
import pytest
import redis.asyncio as aioredis
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from federation import app as app_factory
from federation import cookies
from federation.crypto.keyset import KeySet
from federation.oidc.authorize import redirect_for
from federation.oidc.clients import ClientRegistry, ClientSecrets, load_static_clients
from federation.oidc.config import OidcConfig
from federation.oidc.errors import RedirectableError
from federation.oidc.models import AuthorizationRequest, Grant
from federation.oidc.provider import OidcProvider
from federation.oidc.router import install
from federation.oidc.seam import issue_authorization_code, session_decision
from federation.oidc.session import (
    SESSION_COOKIE,
    create_session,
    new_session_secret,
    session_from_cookie,
)
from federation.oidc.signing import KeySetSigner, load_or_create_keyset
from federation.settings import Settings
from federation.storage.keys import Keys
from federation.storage.runtime import RedisServer
from mappings.subjects import pairwise_subject, public_subject

ISSUER = "https://testserver"
CLIENTS_FILE = Path(__file__).with_name("clients.yaml")
SERVER_KEY = bytes.fromhex("11" * 32)
PAIRWISE_SALT = b"test-pairwise-salt-0123456789"
SECRETS = {
    "rp-es256": "rp-es256-secret-0123456789abcdefghijklmnopqrstuv",
    "rp-rs256": "rp-rs256-secret-from-the-environment-0123456789ab",
    "rp-par": "rp-par-secret-from-the-environment-0123456789abcd",
    "rp-sm2": "rp-sm2-secret-0123456789abcdefghijklmnopqrstuvwx",
}
REDIRECTS = {
    "rp-es256": "https://rp.example.cn/cb",
    "rp-rs256": "https://rp2.example.cn/cb",
    "rp-par": "https://rp3.example.cn/cb",
    "rp-sm2": "https://gd.example.cn/cb",
}
PERSON = "bridge-person-1"
"""The bridge subject of the test person."""
PROFILE: dict[str, dict[str, Any]] = {
    "profile": {
        "name": "陳大文",
        "family_name": "陳",
        "given_name": "大文",
        "birthdate": "1980-01-01",
        "gender": "male",
    },
    "email": {"email": "chan.taiman@example.hk", "email_verified": True},
    "phone": {"phone_number": "+852 9123 4567", "phone_number_verified": True},
    "address": {"address": {"country": "HK", "region": "Hong Kong"}},
}
"""Claims the stand-in mapping releases for each scope."""


def base_app(settings: Settings) -> FastAPI:
    """The app without any front end: middleware, error handling, health and Redis
    (``create_base_app`` where the factory has it, so that only this router is mounted)."""
    factory = getattr(app_factory, "create_base_app", None) or app_factory.create_app
    return factory(settings)


class Clock:
    """A clock the tests move by hand."""

    def __init__(self) -> None:
        self.now = int(time.time())

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: int) -> None:
        self.now += seconds


@pytest.fixture(scope="session")
def signing_keys(tmp_path_factory: pytest.TempPathFactory) -> KeySet:
    """SM2SM3, ES256 and RS256 keys, generated once per session into a temp data dir."""
    return load_or_create_keyset([], tmp_path_factory.mktemp("oidc-keys"))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def provider(signing_keys: KeySet, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> OidcProvider:
    monkeypatch.setenv("IDB_TEST_RP_RS256_SECRET", SECRETS["rp-rs256"])
    monkeypatch.setenv("IDB_TEST_RP_PAR_SECRET", SECRETS["rp-par"])
    return OidcProvider(
        issuer=ISSUER,
        # the back-channel receivers of these tests listen on 127.0.0.1
        config=OidcConfig(clients_file=CLIENTS_FILE, backchannel_allow_private_networks=True),
        clients=ClientRegistry(load_static_clients(CLIENTS_FILE)),
        secrets=ClientSecrets(SERVER_KEY),
        signer=KeySetSigner(signing_keys),
        pairwise_salt=PAIRWISE_SALT,
        initial_access_token="test-initial-access-token-0123456789",
        clock=clock,
    )


def rp_subject(provider: OidcProvider, authz: AuthorizationRequest) -> str:
    """The RP-facing ``sub`` as the journey computes it (:mod:`mappings.subjects`)."""
    if authz.client.subject_type == "public":
        return public_subject(provider.pairwise_salt, "iamsmart", PERSON)
    return pairwise_subject(provider.pairwise_salt, authz.client.sector, "iamsmart", PERSON)


def grant_for(
    provider: OidcProvider,
    authz: AuthorizationRequest,
    *,
    sid: str | None = None,
    auth_time: int | None = None,
    consent_id: str | None = None,
) -> Grant:
    """What the stand-in mapping + consent would grant: per-scope claims, plus any claim
    requested through the ``claims`` parameter that the person has."""
    userinfo: dict[str, Any] = {}
    for scope in authz.scopes:
        userinfo.update(PROFILE.get(scope, {}))
    known = {k: v for claims in PROFILE.values() for k, v in claims.items()}
    for name in (authz.claims or {}).get("userinfo", {}) or {}:
        if name in known:
            userinfo[name] = known[name]
    id_token = {
        name: known[name]
        for name in (authz.claims or {}).get("id_token", {}) or {}
        if name in known
    }
    return Grant(
        subject=rp_subject(provider, authz),
        bridge_subject=PERSON,
        scopes=authz.scopes,
        auth_time=auth_time if auth_time is not None else provider.clock(),
        id_token_claims=id_token,
        userinfo_claims=userinfo,
        acr="iamsmart",
        amr=("iamsmart",),
        sid=sid,
        consent_id=consent_id,
        claim_scopes={name: (scope,) for scope, claims in PROFILE.items() for name in claims},
    )


async def stand_in_journey(request: Request, authz: AuthorizationRequest) -> Response:
    """The journey's place: reuse a session (prompt=none, id_token_hint, max_age rules) or
    park the request in a journey record for the test to "log in"."""
    provider: OidcProvider = request.app.state.oidc
    redis: aioredis.Redis = request.app.state.redis
    secure = cookies.secure_issuer(provider.issuer)
    cookie = cookies.read_cookie(request.cookies, SESSION_COOKIE, secure)
    session = await session_from_cookie(redis, cookie)
    try:
        decision = session_decision(authz, session, provider.clock())
    except RedirectableError as exc:
        return RedirectResponse(redirect_for(exc, authz.issuer), 302)
    if decision == "reuse" and session is not None:
        grant = grant_for(provider, authz, sid=session.session_id, auth_time=session.auth_time)
        url = await issue_authorization_code(redis, authz, grant, provider=provider)
        return RedirectResponse(url, 302)
    journey_id = secrets.token_urlsafe(16)
    await redis.set(Keys.journey(journey_id), __import__("json").dumps(authz.to_dict()), ex=900)
    return JSONResponse({"journey": journey_id})


async def log_in(
    redis: aioredis.Redis,
    provider: OidcProvider,
    journey_id: str,
    *,
    consent_id: str | None = None,
    with_session: bool = True,
) -> tuple[str, str | None]:
    """Complete a parked journey as the person: open a session and issue the code.
    Returns (redirect URL, the session cookie's value — its secret, not the ``sid``)."""
    import json

    authz = AuthorizationRequest.from_dict(json.loads(await redis.get(Keys.journey(journey_id))))
    sid = cookie = None
    if with_session:
        cookie = new_session_secret()
        sid = await create_session(
            redis, PERSON, provider.clock(), 3600, acr="iamsmart", amr=("iamsmart",), secret=cookie
        )
    grant = grant_for(provider, authz, sid=sid, consent_id=consent_id)
    return await issue_authorization_code(redis, authz, grant, provider=provider), cookie


@pytest.fixture
def app(provider: OidcProvider, redis: aioredis.Redis, redis_server: RedisServer) -> FastAPI:
    application = base_app(Settings(redis_url=redis_server.url, issuer=ISSUER))
    application.state.redis = redis
    install(application, provider, journey=stand_in_journey)
    return application


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ISSUER) as client:
        yield client


def rp_client(app: FastAPI, client_id: str, **kwargs: Any) -> AsyncOAuth2Client:
    """authlib's real OAuth2 client as the RP, talking to the app in-process."""
    defaults: dict[str, Any] = {
        "client_secret": SECRETS.get(client_id),
        "redirect_uri": REDIRECTS.get(client_id),
        "scope": "openid profile",
        "code_challenge_method": "S256",
        "token_endpoint_auth_method": "client_secret_basic",
    }
    defaults.update(kwargs)
    return AsyncOAuth2Client(
        client_id, transport=httpx2.ASGITransport(app=app), base_url=ISSUER, **defaults
    )


def pkce() -> tuple[str, str]:
    """(verifier, S256 challenge)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def query_of(url: str) -> dict[str, str]:
    """The query parameters of a redirect URL (single values)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def authorize_params(client_id: str = "rp-es256", **extra: str) -> dict[str, str]:
    """A valid authorization request for ``client_id``; ``extra`` overrides."""
    _, challenge = pkce()
    params = {
        "client_id": client_id,
        "redirect_uri": REDIRECTS[client_id],
        "response_type": "code",
        "scope": "openid profile",
        "state": "st-" + secrets.token_hex(4),
        "nonce": "n-" + secrets.token_hex(4),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}
