"""The connector against an upstream that answers garbage (a broken or hostile service), and
against forged callbacks: every case is a typed ``UpstreamProtocolError``, never another
exception (which the journey would turn into a 500).

The fake upstream is a real ASGI app reached through httpx's ASGI transport; it answers
each call with the body the test sets.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import Response

from connectors.base import UpstreamProtocolError
from connectors.iamsmart.connector import IAMSmartConnector, new_state
from tests.asgi_poster import AsgiPoster

from .conftest import Receiver, make_config

DEEP_JSON = b"[" * 100_000 + b"]" * 100_000


class Upstream:
    """What the fake service answers next (raw bytes)."""

    def __init__(self) -> None:
        self.body = b"{}"
        self.app = FastAPI()

        @self.app.post("/{path:path}")
        async def answer(path: str) -> Response:
            return Response(self.body, media_type="application/json")


@pytest.fixture
async def hostile(
    keypair: tuple[Path, Path],
) -> AsyncIterator[tuple[IAMSmartConnector, Upstream]]:
    upstream = Upstream()
    base = "http://127.0.0.1:9"  # never dialled: the ASGI transport answers
    http = AsgiPoster(upstream.app)
    config = make_config(
        base, Receiver(url="http://127.0.0.1:9"), keypair[0], encrypt_get_token_body=False
    )
    connector = IAMSmartConnector(config, http=http)
    try:
        yield connector, upstream
    finally:
        await connector.aclose()


@pytest.mark.parametrize(
    "body",
    [
        DEEP_JSON,
        b'{"code": "D00000", "content": {"openID": "o"}}',
        b'{"code": "D00000", "content": {"accessToken": "", "openID": "o"}}',
        b'{"code": "D00000", "content": {"accessToken": {"a": 1}, "openID": "o"}}',
        b'{"code": "D00000", "content": {"accessToken": "t", "openID": ["o"]}}',
        b'{"code": "D00000", "content": {"accessToken": "t", "openID": "o", "issueAt": 1e400}}',
        b'{"code": "D00000", "content": {"accessToken": "t", "openID": "o", "expiresIn": "x"}}',
    ],
    ids=["deep", "no-token", "empty-token", "object-token", "list-openid", "inf", "text-time"],
)
async def test_get_token_garbage_is_a_protocol_error(
    hostile: tuple[IAMSmartConnector, Upstream], body: bytes
) -> None:
    connector, upstream = hostile
    upstream.body = body
    state = new_state()
    with pytest.raises(UpstreamProtocolError):
        await connector.handle_callback({"state": state, "code": "c"}, expected_state=state)


async def test_get_key_with_infinite_times_is_a_protocol_error(
    hostile: tuple[IAMSmartConnector, Upstream],
) -> None:
    connector, upstream = hostile
    upstream.body = b'{"code": "D00000", "content": {"secretKey": "AA==", "issueAt": 1e400}}'
    with pytest.raises(UpstreamProtocolError):
        await connector.client.fetch_cek()


async def test_deeply_nested_result_callback_is_a_protocol_error(
    hostile: tuple[IAMSmartConnector, Upstream],
) -> None:
    connector, _ = hostile
    with pytest.raises(UpstreamProtocolError):
        await connector.complete_attribute_request(DEEP_JSON)


@pytest.mark.parametrize(
    ("given", "expected"),
    [("", ""), ("abc", ""), ("", "abc"), ("abd", "abc")],
    ids=["both-empty", "journey-lost-state", "callback-without-state", "different"],
)
async def test_callback_state_must_match_a_real_state(
    hostile: tuple[IAMSmartConnector, Upstream], given: str, expected: str
) -> None:
    connector, upstream = hostile
    upstream.body = b'{"code": "D00000", "content": {"accessToken": "t", "openID": "o"}}'
    with pytest.raises(UpstreamProtocolError):
        await connector.handle_callback({"state": given, "code": "c"}, expected_state=expected)


async def test_state_with_a_trailing_newline_is_refused(
    hostile: tuple[IAMSmartConnector, Upstream],
) -> None:
    connector, _ = hostile
    with pytest.raises(ValueError):
        connector.login_redirect(state="abc\n", user_agent="", language="en")
    assert connector.login_redirect(state="abc", user_agent="", language="en").state == "abc"


async def test_the_fake_upstream_can_also_answer_correctly(
    hostile: tuple[IAMSmartConnector, Upstream],
) -> None:
    connector, upstream = hostile
    upstream.body = b'{"code": "D00000", "content": {"accessToken": "t", "openID": "o"}}'
    identity = await connector.handle_callback({"state": "abc", "code": "c"}, expected_state="abc")
    assert identity.subject == "o"
