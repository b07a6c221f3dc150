"""An app built by the real factory with the operator router mounted, on the real Redis,
with a real SM2 signer for checkpoints; operators created through the real accounts API."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import parse_qs, urlparse

import httpx
import pyotp
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI

from consent.operator.api import router
from consent.operator.roles import Role
from consent.services import ConsentServices, build_consent_services
from consent.signing import JwksVerifier, KeySetSigner
from federation.app import create_base_app
from federation.crypto.keyset import KeySet
from federation.settings import Settings
from federation.storage.runtime import RedisServer
from tests.consent.factories import PII_KEY
from tests.consent.revokers import RecordingRevoker

PASSWORD = "correct horse battery staple"


@pytest.fixture
def revoker() -> RecordingRevoker:
    return RecordingRevoker()


@pytest.fixture
def services(redis: aioredis.Redis, keyset: KeySet, revoker: RecordingRevoker) -> ConsentServices:
    return build_consent_services(
        redis,
        pii_key=PII_KEY,
        revoker=revoker,
        issuer="http://testserver",
        signer=KeySetSigner(keyset),
        verifier=JwksVerifier(keyset.public_jwks()),
        checkpoint_every=20,
    )


@pytest.fixture
def app(redis_server: RedisServer, services: ConsentServices) -> FastAPI:
    app = create_base_app(Settings(redis_url=redis_server.url, pii_key=PII_KEY.hex()))
    app.state.consent = services
    app.include_router(router)
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def secret_of(uri: str) -> str:
    return parse_qs(urlparse(uri).query)["secret"][0]


LoginAs = Callable[[Role], Awaitable[dict[str, str]]]


@pytest.fixture
def login_as(services: ConsentServices, client: httpx.AsyncClient) -> LoginAs:
    """Create an operator with ``role`` and return bearer headers for them."""

    async def _login(role: Role) -> dict[str, str]:
        username = f"{role.value}-op"
        uri = await services.accounts.add(username, PASSWORD, role)
        code = pyotp.TOTP(secret_of(uri)).at(time.time())
        response = await client.post(
            "/operator/api/login", json={"username": username, "password": PASSWORD, "totp": code}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return _login


# the operator console's fixtures (app with the console mounted, cookie clients, sign-in)
from tests.consent.operator.console_support import browser, console_app, sign_in  # noqa: E402, F401
