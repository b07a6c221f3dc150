"""Hypothesis over the protocol endpoints the older fuzzer (test_fuzz_endpoints.py) does not
drive — ``/authorize``, ``/token``, ``/revoke``, ``/introspect``, ``/userinfo``,
``/register``, ``/consents`` and the iAM Smart result POST — with what an attacker without
an account sends: bad UTF-8, percent-escapes of nothing, NUL bytes, lone surrogates
(escaped in JSON, and as WTF-8 bytes), huge and deeply nested values (in ``claims``, in a
client assertion, in a JSON body), repeated parameters and wrong content types.

For every example: no 5xx, no log line at ERROR, and nothing durable changed (the
consent, PII, audit, operator and client namespaces of Redis hash the same before and
after). The whole bridge in process (``create_app``), rate limits off so that every
example reaches its handler; 40 examples per endpoint group, bounded in time."""

from __future__ import annotations

import base64
import gc
import hashlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from federation.storage.keys import DURABLE_PREFIXES
from federation.storage.runtime import RedisServer, free_port
from tests.federation.journey.harness import (
    RP_REDIRECT,
    RelyingParty,
    bridge_env,
    build_with_env,
    secret_of,
)

FORM = "application/x-www-form-urlencoded"
DEEP_CLAIMS = "[" * 970 + "]" * 970
INITIAL = "fuzz-initial-access-token-0123456789abcdef"
FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
BASIC = "Basic " + base64.b64encode(f"rp-sm2:{secret_of('rp-sm2')}".encode()).decode()


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


NASTY = [
    "\x00",
    "a\x00b",
    "%00",
    "%FF%FE",
    "%ED%A0%80",  # WTF-8 lone surrogate
    "\\ud800",
    '{"a":"\\ud800"}',
    '{"a":1,"a":2}',
    "[" * 1200 + "]" * 1200,
    '{"userinfo":{"x":' * 300 + "null" + "}}" * 300,
    f"e30.{b64(b'[' * 1500)}.x",
    b64(b'{"alg":"none"}') + "." + b64(b'{"iss":"rp-sm2","iss":"x"}') + ".",
    "x" * 9000,
    "Ω" * 3000,
    RP_REDIRECT,
    "rp-sm2",
    "code",
    "openid",
    "S256",
]
names = st.sampled_from(
    [
        "client_id",
        "client_secret",
        "client_assertion",
        "client_assertion_type",
        "grant_type",
        "code",
        "redirect_uri",
        "refresh_token",
        "token",
        "token_type_hint",
        "response_type",
        "scope",
        "state",
        "nonce",
        "claims",
        "code_challenge",
        "code_challenge_method",
        "request",
        "request_uri",
        "id_token_hint",
        "cursor",
        "\x00",
    ]
)
values = st.one_of(st.sampled_from(NASTY), st.text(max_size=30))
pairs = st.lists(st.tuples(names, values), max_size=10)


def encode(items: list[tuple[str, str]], raw: bytes) -> bytes:
    """Form-encode, keeping percent-escapes given literally (so ``%FF`` arrives raw)."""
    out = []
    for name, value in items:
        if value.startswith("%") and len(value) <= 9:
            out.append(f"{quote(name, safe='')}={value}")
        else:
            encoded = value.encode("utf-8", "surrogatepass")
            out.append(f"{quote(name, safe='')}={quote(encoded, safe='')}")
    return "&".join(out).encode() + raw


kinds = st.sampled_from(
    [FORM, FORM, "application/json", "text/plain", "multipart/form-data; boundary=x", ""]
)
json_bodies = st.one_of(
    st.sampled_from(
        [
            b'{"redirect_uris":["https://rp.example.cn/cb"],"contacts":["\\ud800"]}',
            b'{"redirect_uris":["https://rp.example.cn/cb"],"logo_uri":"\\udfff"}',
            b'{"redirect_uris":["https://a/"],"redirect_uris":["https://b/"]}',
            b'{"a":' * 5000 + b"1" + b"}" * 5000,
            b'{"client_name":"\xed\xa0\x80"}',
            b'{"client_name":"a\\u0000b","redirect_uris":["https://rp.example.cn/cb"]}',
            b"NaN",
            b"\xff\xfe",
        ]
    ),
    st.dictionaries(st.text(max_size=10), st.sampled_from(NASTY), max_size=4).map(
        lambda d: json.dumps(d).encode()
    ),
)


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


class ErrorLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")


@pytest.fixture
def error_lines() -> AsyncIterator[ErrorLines]:
    # Objects leaked by earlier tests (an unclosed aiohttp session) are reported by asyncio
    # at ERROR when the garbage collector finds them, whenever that is: collect them now,
    # so that a line caught here comes from the requests of this test.
    gc.collect()
    handler = ErrorLines()
    logging.getLogger().addHandler(handler)
    yield handler  # type: ignore[misc]
    logging.getLogger().removeHandler(handler)


async def durable_digest(redis: aioredis.Redis) -> str:
    digest = hashlib.sha256()
    for prefix in DURABLE_PREFIXES:
        for key in sorted(await redis.keys(prefix + "*")):
            digest.update(key.encode() + b"\0" + (await redis.type(key)).encode())
            kind = await redis.type(key)
            if kind == "string":
                digest.update(str(await redis.get(key)).encode())
            elif kind == "hash":
                digest.update(json.dumps(await redis.hgetall(key), sort_keys=True).encode())
            elif kind == "zset":
                digest.update(json.dumps(await redis.zrange(key, 0, -1, withscores=True)).encode())
            elif kind == "stream":
                digest.update(str(await redis.xlen(key)).encode())
            elif kind == "set":
                digest.update(json.dumps(sorted(await redis.smembers(key))).encode())
            elif kind == "list":
                digest.update(json.dumps(await redis.lrange(key, 0, -1)).encode())
    return digest.hexdigest()


def clear(response: httpx.Response, errors: ErrorLines) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert "Traceback" not in response.text
    assert not errors.lines, errors.lines


@FUZZ
@given(
    path=st.sampled_from(["/token", "/revoke", "/introspect", "/par", "/authorize", "/userinfo"]),
    items=pairs,
    raw=st.sampled_from([b"", b"&", b"&&=", b"\xff", b"%", b"&client_id=rp-sm2"]),
    kind=kinds,
    authorization=st.sampled_from(["", BASIC, "Basic \x00", "Bearer " + "x" * 3000, "Basic %%"]),
    method=st.sampled_from(["GET", "POST"]),
)
@example(  # issue 20: RecursionError from the unverified assertion payload
    path="/token",
    items=[
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        ("client_assertion", f"e30.{b64(b'[' * 1500)}.x"),
    ],
    raw=b"",
    kind=FORM,
    authorization="",
    method="POST",
)
@example(  # issue 20: claims nested ~970 deep
    path="/authorize",
    items=[
        ("client_id", "rp-sm2"),
        ("redirect_uri", RP_REDIRECT),
        ("claims", "[" * 970 + "]" * 970),
    ],
    raw=b"",
    kind="",
    authorization="",
    method="GET",
)
async def test_oauth_endpoints(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    error_lines: ErrorLines,
    path: str,
    items: list[tuple[str, str]],
    raw: bytes,
    kind: str,
    authorization: str,
    method: str,
) -> None:
    before = await durable_digest(redis)
    body = encode(items, raw)
    headers = {"Content-Type": kind} if kind else {}
    if authorization:
        headers["Authorization"] = authorization
    if method == "GET":
        url = httpx.URL(path, query=body)
        response = await http.get(url, headers=headers)
    else:
        response = await http.post(path, content=body, headers=headers)
    clear(response, error_lines)
    assert await durable_digest(redis) == before


@FUZZ
@given(
    body=json_bodies,
    kind=st.sampled_from(["application/json", "application/json; charset=latin-1", FORM, ""]),
    token=st.sampled_from([INITIAL, "wrong", ""]),
)
async def test_registration(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    error_lines: ErrorLines,
    body: bytes,
    kind: str,
    token: str,
) -> None:
    before = await durable_digest(redis)
    headers = {"Content-Type": kind} if kind else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = await http.post("/register", content=body, headers=headers)
    clear(response, error_lines)
    assert response.status_code != 201, response.text  # none of these is a valid client
    assert await durable_digest(redis) == before


@FUZZ
@given(
    path=st.sampled_from(
        [
            "/consents",
            "/consents/login",
            "/consents/callback",
            "/consents/export.json",
            "/consents/cns_aaaaaaaaaaaaaaaaaaaaaaaa/withdraw",
            "/consents/sign-out",
            "/upstream/iamsmart/callback",
        ]
    ),
    items=pairs,
    body=json_bodies,
    kind=kinds,
    cookie=st.sampled_from(["", "idb_self=\x00", "idb_self=" + "x" * 4000, "idb_lang=%FF"]),
    method=st.sampled_from(["GET", "POST"]),
)
async def test_people_and_callbacks(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    error_lines: ErrorLines,
    path: str,
    items: list[tuple[str, str]],
    body: bytes,
    kind: str,
    cookie: str,
    method: str,
) -> None:
    before = await durable_digest(redis)
    headers = {"Content-Type": kind} if kind else {}
    if cookie:
        headers["Cookie"] = cookie.encode("utf-8").decode("latin-1")
    if method == "GET":
        response = await http.get(httpx.URL(path, query=encode(items, b"")), headers=headers)
    else:
        content = body if "json" in kind else encode(items, b"")
        response = await http.post(path, content=content, headers=headers)
    clear(response, error_lines)
    assert await durable_digest(redis) == before
