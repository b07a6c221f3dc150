"""Fixtures for the console's in-process tests: the real app factory with the operator API
and the console mounted, real Redis, real SM2 receipt signing; operators made through the
real accounts API and signed in through the console's own form (cookies over https)."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pyotp
import pytest
from fastapi import FastAPI

from consent.operator.api import router
from consent.operator.console import install_console
from consent.operator.roles import Role
from consent.services import ConsentServices
from federation.app import create_base_app
from federation.pages import Pages
from federation.settings import Settings
from federation.storage.runtime import RedisServer
from tests.consent.factories import PII_KEY
from tests.consent.operator.conftest import PASSWORD, secret_of

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The first form's CSRF token on a page."""
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@pytest.fixture
def console_app(redis_server: RedisServer, services: ConsentServices) -> FastAPI:
    settings = Settings(redis_url=redis_server.url, pii_key=PII_KEY.hex())
    app = create_base_app(settings)
    app.state.consent = services
    app.state.pages = Pages(settings, csrf_secret=b"console tests csrf key")
    app.include_router(router)
    install_console(app)
    return app


NewClient = Callable[[], Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def browser(console_app: FastAPI) -> AsyncIterator[NewClient]:
    """Make cookie-keeping clients (one per simulated browser)."""
    opened: list[httpx.AsyncClient] = []

    async def new() -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=console_app, raise_app_exceptions=False)
        client = httpx.AsyncClient(transport=transport, base_url="https://testserver")
        opened.append(client)
        return client

    yield new
    for client in opened:
        await client.aclose()


SignIn = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
def sign_in(services: ConsentServices, browser: NewClient) -> SignIn:
    """Create an operator with ``role`` (name ``<role>-<suffix>``) and sign in through the
    console's form; returns the signed-in client."""

    async def _sign_in(role: Role, suffix: str = "op") -> httpx.AsyncClient:
        username = f"{role.value}-{suffix}"
        uri = await services.accounts.add(username, PASSWORD, role)
        client = await browser()
        page = await client.get("/operator/login")
        code = pyotp.TOTP(secret_of(uri)).at(time.time())
        response = await client.post(
            "/operator/login",
            data={
                "csrf_token": csrf_of(page.text),
                "username": username,
                "password": PASSWORD,
                "totp": code,
            },
        )
        assert response.status_code == 303, response.text
        return client

    return _sign_in
