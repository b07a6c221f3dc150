"""Issue 20's 500s, each a regression test over the whole bridge (``create_app`` in
process, a real redis-server): deeply nested JSON in a client assertion, in ``claims`` and
in a registration body; lone surrogates at ``/register``; a client that disconnects
mid-body; a request without ``Host``; repeated fields on the consent form; chunked bodies
over the cap. Each answer is a clear 4xx, and nothing is logged at ERROR."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI

from federation.storage.runtime import RedisServer, free_port
from tests.federation.journey.harness import (
    RP_REDIRECT,
    RelyingParty,
    bridge_env,
    build_with_env,
    secret_of,
)
from tests.flows.test_fuzz_endpoints import _headers

FORM = "application/x-www-form-urlencoded"
INITIAL = "robust-initial-access-token-0123456789abcdef"
BASIC = "Basic " + base64.b64encode(f"rp-sm2:{secret_of('rp-sm2')}".encode()).decode()


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


DEEP_ASSERTION = f"e30.{b64(b'[' * 1500)}.x"
DEEP_CLAIMS = "[" * 970 + "]" * 970  # within the 8 KiB bound of claims


@pytest.fixture
async def app(
    redis_server: RedisServer, redis: aioredis.Redis, tmp_path: Path
) -> AsyncIterator[FastAPI]:
    rp = RelyingParty(url=f"http://127.0.0.1:{free_port()}")
    env = bridge_env(tmp_path, redis_server.url, free_port(), f"http://127.0.0.1:{free_port()}", rp)
    env["IDBRIDGE_RATE_LIMIT_ENABLED"] = "false"
    env["IDBRIDGE_INITIAL_ACCESS_TOKEN"] = INITIAL
    bridge, _ = build_with_env(env)
    async with bridge.router.lifespan_context(bridge):
        yield bridge


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


@pytest.fixture
def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Records at ERROR or above (checked empty at the end of each test)."""
    caplog.set_level(logging.INFO)
    return caplog.records


def no_error_logged(records: list[logging.LogRecord]) -> None:
    bad = [f"{r.name}: {r.getMessage()}" for r in records if r.levelno >= logging.ERROR]
    assert not bad, bad


@pytest.mark.parametrize("path", ["/token", "/par", "/revoke", "/introspect"])
async def test_a_deeply_nested_client_assertion_is_a_4xx(
    path: str, http: httpx.AsyncClient, errors: list[logging.LogRecord]
) -> None:
    form = {
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": DEEP_ASSERTION,
        "grant_type": "authorization_code",
        "code": "x",
        "token": "x",
        "response_type": "code",
    }
    response = await http.post(path, data=form)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"] in ("invalid_client", "invalid_request")
    no_error_logged(errors)


def _authorize(claims: str) -> dict[str, str]:
    return {
        "client_id": "rp-sm2",
        "response_type": "code",
        "redirect_uri": RP_REDIRECT,
        "scope": "openid profile",
        "code_challenge": "c" * 43,
        "code_challenge_method": "S256",
        "state": "s",
        "claims": claims,
    }


@pytest.mark.parametrize("claims", [DEEP_CLAIMS, '{"userinfo": {}, "userinfo": {}}'])
async def test_bad_claims_at_authorize_and_par_are_refused(
    claims: str, http: httpx.AsyncClient, errors: list[logging.LogRecord]
) -> None:
    params = _authorize(claims)
    for response in (
        await http.get("/authorize", params=params),
        await http.post("/authorize", data=params),
    ):
        assert response.status_code in (302, 303, 400), response.text
        if response.is_redirect:
            assert "error=invalid_request" in response.headers["location"]
    par = await http.post("/par", data=params, headers={"Authorization": BASIC})
    assert par.status_code == 400 and par.json()["error"] == "invalid_request", par.text
    no_error_logged(errors)


def _registration(**extra: Any) -> dict[str, Any]:
    return {"redirect_uris": ["https://rp.example.cn/cb"], "client_name": "R", **extra}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"redirect_uris": ["https://rp.example.cn/cb"], "contacts": ["\\ud800"]}', "contacts"),
        (b'{"redirect_uris": ["https://rp.example.cn/cb"], "logo_uri": "\\udfff"}', "logo_uri"),
        (b'{"redirect_uris": ["https://rp.example.cn/cb"], "client_name": "\xed\xa0\x80"}', None),
        (b'{"a":' * 5000 + b'"x"' + b"}" * 5000, None),
        (b'{"redirect_uris": [], "redirect_uris": ["https://rp.example.cn/cb"]}', None),
    ],
)
async def test_bad_registration_bodies_are_400(
    body: bytes, field: str | None, http: httpx.AsyncClient, errors: list[logging.LogRecord]
) -> None:
    response = await http.post(
        "/register",
        content=body,
        headers={"Authorization": f"Bearer {INITIAL}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_client_metadata"
    if field:
        assert field in response.json()["error_description"]
    no_error_logged(errors)


async def test_a_client_that_disconnects_mid_body_is_info_not_error(
    app: FastAPI, errors: list[logging.LogRecord]
) -> None:
    """Raw ASGI: part of the body, then ``http.disconnect`` (issue 20: logged ERROR)."""
    messages = [
        {"type": "http.request", "body": b"grant_type=authorization_code&co", "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    for path in ("/token", "/register", "/operator/api/login"):
        scope = _scope("POST", path, [(b"host", b"127.0.0.1"), (b"content-type", FORM.encode())])
        messages[:] = [
            {"type": "http.request", "body": b"grant_type=x&co", "more_body": True},
            {"type": "http.disconnect"},
        ]
        await app(scope, receive, send)
    no_error_logged(errors)
    assert not any(m.get("status", 0) >= 500 for m in sent), sent
    assert not any(r.exc_info for r in errors), "a traceback was logged"


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80),
    }


@pytest.mark.parametrize(
    "headers", [[], [(b"host", b"a.example"), (b"host", b"b.example")]], ids=["none", "two"]
)
async def test_http11_without_exactly_one_host_is_400(
    app: FastAPI, headers: list[tuple[bytes, bytes]]
) -> None:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(_scope("GET", "/.well-known/openid-configuration", headers), receive, send)
    assert sent[0]["status"] == 400


async def test_repeated_consent_decision_is_refused(
    app: FastAPI, http: httpx.AsyncClient, redis: aioredis.Redis
) -> None:
    """``decision=decline&decision=agree`` recorded a consent (the last value won)."""
    headers, token = await _headers(app, "consent", "", "text/html")
    before = sorted(await redis.keys("*consent*"))
    body = urlencode(
        [
            ("csrf_token", token),
            ("decision", "decline"),
            ("decision", "agree"),
            ("cross_boundary", "yes"),
        ]
    )
    response = await http.post(
        "/journey/consent", content=body, headers={**headers, "Content-Type": FORM}
    )
    assert response.status_code == 400, response.text
    assert "<html" in response.text and "Traceback" not in response.text
    assert sorted(await redis.keys("*consent*")) == before


async def test_the_release_checkboxes_may_repeat(app: FastAPI, http: httpx.AsyncClient) -> None:
    """The one field a page of ours repeats is not refused for it."""
    headers, token = await _headers(app, "consent", "", "text/html")
    body = urlencode(
        [("csrf_token", token), ("decision", "decline"), ("release", "a"), ("release", "b")]
    )
    response = await http.post(
        "/journey/consent", content=body, headers={**headers, "Content-Type": FORM}
    )
    assert response.status_code != 400, response.text


async def _chunks(total: int) -> AsyncIterator[bytes]:
    for _ in range(total // 65536 + 1):
        yield b"a" * 65536


READ_FIRST = [
    ("/authorize", FORM),
    ("/par", FORM),
    ("/token", FORM),
    ("/revoke", FORM),
    ("/introspect", FORM),
    ("/logout", FORM),
    ("/register", "application/json"),
    ("/upstream/iamsmart/callback", "application/json"),
    ("/operator/api/login", "application/json"),
]
"""POST routes that read the body before anything else can refuse the request."""
REFUSED_FIRST = [
    "/userinfo",
    "/journey/consent",
    "/journey/cancel",
    "/consents/sign-out",
    "/consents/cns_aaaaaaaaaaaaaaaaaaaaaaaa/withdraw",
    "/operator/api/logout",
    "/operator/api/consents/cns_aaaaaaaaaaaaaaaaaaaaaaaa/revoke",
]
"""POST routes that need a token, cookie or session before they read a body."""


async def test_chunked_bodies_over_the_cap_are_413(
    http: httpx.AsyncClient, errors: list[logging.LogRecord]
) -> None:
    """No Content-Length and 2 MiB: 413 wherever the body is read (it was 400 at the
    operator login), and never a 5xx where the request is refused before."""
    wrong = {}
    auth = {"Authorization": f"Bearer {INITIAL}"}
    cases = READ_FIRST + [(path, kind) for path in REFUSED_FIRST for kind in (FORM, "text/plain")]
    for path, kind in cases:
        response = await http.post(
            path, content=_chunks(2 * 1024 * 1024), headers={**auth, "Content-Type": kind}
        )
        expected = (
            response.status_code == 413 if path in dict(READ_FIRST) else response.status_code < 500
        )
        if not expected:
            wrong[path, kind] = (response.status_code, response.text[:120])
    assert not wrong, wrong
    no_error_logged(errors)
