"""Hypothesis: what people's browsers and the upstream can send to the journey and the
provider never makes the bridge answer 5xx (DESIGN §8: bad input of any kind gets a clear
error, never a 500). The whole bridge from ``create_app`` in process (ASGI; an exception
raised in the app fails the test) with a real redis-server; rate limits off so that every
example reaches its handler.

Each example sends arbitrary query or form fields (names the routes read and random ones),
odd encodings (bad UTF-8, ``%``-escapes that decode to nothing, latin-1, JSON, broken
multipart), oversized values and random cookies, sometimes with a live journey (and its
CSRF token) so that the deeper steps run too. An error is JSON with an ``error`` member or
an HTML page; a success is a page, a JSON object or a redirect.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from connectors.iamsmart.attributes import attributes_from_iamsmart
from connectors.iamsmart.simulator.config import load_personas
from federation.identity import Assurance, IdentityRecord
from federation.journey.record import JOURNEY_COOKIE
from federation.oidc.models import AuthorizationRequest
from federation.storage.runtime import RedisServer, free_port
from tests.federation.journey.harness import (
    RP_REDIRECT,
    RelyingParty,
    bridge_env,
    build_with_env,
    secret_of,
)

FORM = "application/x-www-form-urlencoded"
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_PERSONA = load_personas()["chan-tai-man"]
IDENTITY = IdentityRecord(
    upstream="iamsmart",
    subject="fuzz-open-id",
    assurance=Assurance.IAMSMART,
    authenticated_at=int(time.time()),
    attributes=attributes_from_iamsmart(_PERSONA.profile, _PERSONA.eme),
)

_printable = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
names = st.one_of(
    st.sampled_from(
        [
            "csrf_token",
            "decision",
            "cross_boundary",
            "release",
            "supplied_home_return_permit",
            "lang",
            "code",
            "state",
            "error_code",
            "ticketID",
            "txID",
            "id_token_hint",
            "post_logout_redirect_uri",
            "client_id",
            "redirect_uri",
            "response_type",
            "scope",
            "code_challenge",
            "code_challenge_method",
            "nonce",
            "ui_locales",
            "claims",
            "prompt",
            "request",
        ]
    ),
    st.text(max_size=12),
)
small_values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "agree",
            "decline",
            "yes",
            "en",
            "rp-sm2",
            RP_REDIRECT,
            "openid profile",
            "code",
            "S256",
            "none",
            "<T=ticket>",
            "D50001",
            "v1.9999999999.forged",
            "%FF%FE",
            "\x00\ud7ff\U0002a6a5",
            '{"userinfo": {"x": {"essential": true}}}',
        ]
    ),
    st.sampled_from([3_000, 9_000]).map("x".__mul__),
)
pairs = st.lists(st.tuples(names, small_values), max_size=8)
raw_query = st.one_of(
    pairs.map(lambda p: urlencode(p).encode()),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="#")).map(
        str.encode
    ),
)
result_envelopes = st.fixed_dictionaries(
    {
        "txID": st.text(max_size=20).map(lambda t: f"<T={t}>"),
        "code": st.sampled_from(["D50001", "D60001", "D00000", "00000", ""]),
    },
    optional={"content": st.text(max_size=60), "secretKey": st.text(max_size=60)},
)
bodies = st.one_of(
    pairs.map(lambda p: (FORM, urlencode(p).encode())),
    pairs.map(lambda p: (FORM, urlencode([*p, ("pad", "x" * 70_000)]).encode())),  # too large
    st.binary(max_size=300).map(lambda b: (FORM, b)),
    pairs.map(
        lambda p: (
            FORM + "; charset=latin-1",
            urlencode(p, encoding="latin-1", errors="replace").encode(),
        )
    ),
    pairs.map(lambda p: ("application/json", json.dumps(dict(p)).encode())),
    st.binary(max_size=200).map(lambda b: ("multipart/form-data; boundary=zz", b"--zz\r\n" + b)),
    st.tuples(st.text(_printable, max_size=30), st.binary(max_size=100)),
    result_envelopes.map(lambda e: ("application/json", json.dumps(e).encode())),
)
cookie_names = st.sampled_from([JOURNEY_COOKIE, "idb_session", "idb_self", "idb_lang", "x"])
cookies = st.one_of(
    st.text(_printable, max_size=120),
    st.lists(st.tuples(cookie_names, st.text(_printable, max_size=70))).map(
        lambda items: "; ".join(f"{k}={v}" for k, v in items)
    ),
)
accepts = st.sampled_from(["text/html", "application/json", "*/*", ""])
journeys = st.sampled_from([None, "attributes", "consent"])


@pytest.fixture
async def app(
    redis_server: RedisServer, redis: aioredis.Redis, tmp_path: Path
) -> AsyncIterator[FastAPI]:
    rp = RelyingParty(url=f"http://127.0.0.1:{free_port()}")
    sim_url = f"http://127.0.0.1:{free_port()}"  # nothing listens: no example reaches it
    env = bridge_env(tmp_path, redis_server.url, free_port(), sim_url, rp)
    env["IDBRIDGE_RATE_LIMIT_ENABLED"] = "false"
    bridge, _ = build_with_env(env)
    async with bridge.router.lifespan_context(bridge):
        yield bridge


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


async def _headers(
    app: FastAPI, stage: str | None, cookie: str, accept: str
) -> tuple[dict[str, str], str]:
    """Request headers (random cookies, plus a live journey at ``stage``) and that
    journey's CSRF token ("" without one)."""
    headers = {"Accept": accept} if accept else {}
    token = ""
    if stage is not None:
        journey = app.state.journey
        authz = AuthorizationRequest(
            client=journey.provider.clients.static["rp-sm2"],
            redirect_uri=RP_REDIRECT,
            scopes=("openid", "profile", "email", "phone"),
            state="s",
            nonce="n",
            code_challenge="c" * 43,
            issuer=journey.provider.issuer,
        )
        record = await journey.store.create(authz, locale="en", user_agent="fuzz")
        await journey.store.update(record, identity=IDENTITY, stage=stage, wanted=[])
        token = journey.pages.issue_csrf(record.id)
        cookie = (
            f"{cookie}; {JOURNEY_COOKIE}={record.id}" if cookie else f"{JOURNEY_COOKIE}={record.id}"
        )
    if cookie:
        headers["Cookie"] = cookie
    return headers, token


def assert_clear(response: httpx.Response) -> None:
    """Never 5xx; an error is JSON with ``error`` or an HTML page; a success is a page, a
    JSON object or a redirect."""
    status = response.status_code
    event(
        f"{response.request.method} {response.request.url.path} {status}"
    )  # --hypothesis-show-statistics
    assert status < 500, (status, response.text[:500])
    kind = response.headers.get("content-type", "")
    if 300 <= status < 400:
        assert response.headers.get("location"), response.headers
    elif kind.startswith("application/json"):
        body = response.json()
        assert isinstance(body, dict), body
        if status >= 400:
            assert isinstance(body.get("error"), str) and body["error"], body
    else:
        assert kind.startswith("text/html"), (status, kind, response.text[:200])
        assert "<html" in response.text and "Traceback" not in response.text


@FUZZ
@given(
    body=bodies,
    stage=st.sampled_from([None, "attributes", "consent", "consent", "consent"]),
    with_token=st.booleans(),
    agree=st.booleans(),
    cookie=cookies,
    accept=accepts,
)
async def test_consent_form_never_5xx(
    app: FastAPI,
    http: httpx.AsyncClient,
    body: tuple[str, bytes],
    stage: str | None,
    with_token: bool,
    agree: bool,
    cookie: str,
    accept: str,
) -> None:
    headers, token = await _headers(app, stage, cookie, accept)
    kind, content = body
    if with_token and token and kind.startswith(FORM):  # the last value of a name counts
        fields = {"csrf_token": token}
        if agree:
            fields |= {"decision": "agree", "cross_boundary": "yes"}
        content = content + b"&" + urlencode(fields).encode()
    response = await http.post(
        "/journey/consent", content=content, headers={**headers, "Content-Type": kind}
    )
    assert_clear(response)
    cancel = await http.post(
        "/journey/cancel", content=content, headers={**headers, "Content-Type": kind}
    )
    assert_clear(cancel)


@FUZZ
@given(query=raw_query, body=bodies, stage=journeys, cookie=cookies, accept=accepts)
async def test_upstream_callback_never_5xx(
    app: FastAPI,
    http: httpx.AsyncClient,
    query: bytes,
    body: tuple[str, bytes],
    stage: str | None,
    cookie: str,
    accept: str,
) -> None:
    headers, _ = await _headers(app, stage, cookie, accept)
    url = httpx.URL("/upstream/iamsmart/callback", query=query)
    assert_clear(await http.get(url, headers=headers))
    kind, content = body
    assert_clear(await http.post(url, content=content, headers={**headers, "Content-Type": kind}))


@FUZZ
@given(query=raw_query, stage=journeys, cookie=cookies, accept=accepts)
async def test_journey_status_and_pages_never_5xx(
    app: FastAPI,
    http: httpx.AsyncClient,
    query: bytes,
    stage: str | None,
    cookie: str,
    accept: str,
) -> None:
    headers, _ = await _headers(app, stage, cookie, accept)
    for path in ("/journey/status", "/journey/cancel", "/journey/continue", "/journey/consent"):
        assert_clear(await http.get(httpx.URL(path, query=query), headers=headers))


@FUZZ
@given(query=raw_query, body=bodies, cookie=cookies, accept=accepts)
async def test_logout_never_5xx(
    http: httpx.AsyncClient, query: bytes, body: tuple[str, bytes], cookie: str, accept: str
) -> None:
    headers = {"Accept": accept} if accept else {}
    if cookie:
        headers["Cookie"] = cookie
    assert_clear(await http.get(httpx.URL("/logout", query=query), headers=headers))
    kind, content = body
    post = await http.post("/logout", content=content, headers={**headers, "Content-Type": kind})
    assert_clear(post)


_basic = "Basic " + base64.b64encode(f"rp-sm2:{secret_of('rp-sm2')}".encode()).decode()


_par = {
    "client_id": "rp-sm2",
    "response_type": "code",
    "redirect_uri": RP_REDIRECT,
    "scope": "openid profile",
    "code_challenge": "c" * 43,
    "code_challenge_method": "S256",
}


@FUZZ
@given(
    body=bodies,
    authorization=st.one_of(st.just(_basic), st.text(_printable, max_size=60)),
    valid_base=st.booleans(),
    accept=accepts,
)
async def test_par_never_5xx(
    http: httpx.AsyncClient,
    body: tuple[str, bytes],
    authorization: str,
    valid_base: bool,
    accept: str,
) -> None:
    kind, content = body
    if valid_base and kind.startswith(FORM):  # a good request plus the fuzzed fields
        content = urlencode(_par).encode() + (b"&" + content if content else b"")
    headers = {"Content-Type": kind, "Authorization": authorization}
    if accept:
        headers["Accept"] = accept
    assert_clear(await http.post("/par", content=content, headers=headers))
