"""Hypothesis against the outgoing HTTP client (``federation.outbound``, aiohttp): random
and mutated answers from a real server on 127.0.0.1 give an answer or one of the
documented failures (``HttpFailure``), never another exception and never a hang. Also long
runs of blanks in framing fields and trailers: refused in time."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from federation.outbound import HttpClient, HttpFailure, HttpResponse, ResponseFailed

from .raw_http import RawServer, raw_server

pytestmark = pytest.mark.timeout(120)

STATUS = st.one_of(
    st.sampled_from(
        [
            b"HTTP/1.1 200 OK",
            b"HTTP/1.0 200 OK",
            b"HTTP/1.1 204 No Content",
            b"HTTP/1.1 304 Not Modified",
            b"HTTP/1.1 100 Continue",
            b"HTTP/1.1 101 Switching Protocols",
            b"HTTP/1.1 500",
        ]
    ),
    st.binary(max_size=24),
    st.tuples(
        st.sampled_from([b"HTTP/1.1 ", b"HTTP/1.0 ", b"HTTP/1.2 ", b"HTTP/2 "]),
        # digits, and the latin-1 bytes that str.isdigit() also calls digits (superscripts)
        st.lists(st.sampled_from(b"01259x \xb2\xb3\xb9"), min_size=2, max_size=4).map(bytes),
        st.sampled_from([b"", b" OK", b"OK"]),
    ).map(b"".join),
)
NAMES = st.sampled_from(
    [b"Content-Length", b"content-length", b"Transfer-Encoding", b"Connection", b"X-A", b" X-B"]
)
VALUES = st.one_of(
    st.sampled_from([b"0", b"5", b" 7 ", b"99999999", b"-1", b"chunked", b"Chunked", b"close"]),
    st.binary(max_size=12),
)
FIELDS = st.one_of(st.tuples(NAMES, VALUES).map(b": ".join), st.binary(max_size=20))
CHUNKED = st.lists(st.binary(max_size=16), max_size=4).map(
    lambda chunks: b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
)


@st.composite
def answers(draw: st.DrawFn) -> bytes:
    """A plausible answer (status, fields, a plain or chunked body), then a few random
    insertions, deletions and replacements."""
    lines = [draw(STATUS), *draw(st.lists(FIELDS, max_size=6))]
    raw = b"\r\n".join(lines) + b"\r\n\r\n" + draw(st.one_of(st.binary(max_size=48), CHUNKED))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.binary(max_size=3)) + raw[at + draw(st.integers(0, 3)) :]
    return raw


STREAMS = st.one_of(st.binary(max_size=200), answers(), answers().map(lambda a: a * 2))


@pytest.fixture
async def server() -> AsyncIterator[RawServer]:
    async with raw_server(RawServer(close_after=True)) as state:
        yield state


@settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(stream=STREAMS)
async def test_any_answer_is_a_response_or_a_documented_failure(
    server: RawServer, stream: bytes
) -> None:
    server.answer = lambda _: stream
    pool = HttpClient(connect_timeout=0.5, read_timeout=0.5)
    started = time.monotonic()
    try:
        response = await pool.post(server.url, b"{}", {"nonce": "n"})
    except HttpFailure as exc:
        assert str(exc)
    else:
        assert isinstance(response, HttpResponse) and 200 <= response.status_code <= 599
    finally:
        await pool.aclose()
    assert time.monotonic() - started < pool.total_timeout + 0.5


CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
HOSTILE_WHITESPACE = {
    # framing field values: a long run of blanks inside the value (within MAX_LINE each)
    "framing-blanks": b"HTTP/1.1 200 OK\r\n"
    + b"".join(b"Content-Length: 1" + b" " * 8000 + b"x\r\n" for _ in range(7))
    + b"\r\n",
    # a trailer line that looks folded: blanks, then a control character
    "trailer-fold-blanks": CHUNKED_HEAD + b"0\r\nX: 1\r\n" + b" " * 60_000 + b"\x01\r\n\r\n",
}


@pytest.mark.parametrize("case", HOSTILE_WHITESPACE)
async def test_hostile_whitespace_is_refused_without_stalling_the_event_loop(
    server: RawServer, case: str
) -> None:
    """Long runs of blanks inside framing fields and trailers: refused (llhttp, in C) well
    within the deadline, never a blocked event loop."""
    server.answer = lambda _: HOSTILE_WHITESPACE[case]
    pool = HttpClient(connect_timeout=0.5, read_timeout=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(ResponseFailed):
            await pool.post(server.url, b"{}", {})
    finally:
        await pool.aclose()
    assert time.monotonic() - started < pool.total_timeout
