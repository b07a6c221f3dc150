"""The outgoing HTTP client (``federation.outbound``, aiohttp) against real servers on
127.0.0.1 (``raw_http``): a raw asyncio server that answers what each test scripts — every
framing, keep-alive reuse, every broken, oversized, slow or hostile answer, each a typed
failure within the timeout — and a TLS server with a certificate made here (trusted with
the CA configured, refused without it or on a name mismatch)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from connectors.iamsmart.cek import CekCache
from connectors.iamsmart.client import IAMSmartClient
from federation import outbound
from federation.outbound import (
    MAX_BODY,
    MAX_FIELDS,
    MAX_LINE,
    ConnectFailed,
    ConnectionLost,
    HttpClient,
    HttpFailure,
    MalformedResponse,
    ResponseTimeout,
    ResponseTooLarge,
)

from .conftest import Receiver, make_config
from .raw_http import RawServer, drip, ok, raw_server, stall, then

pytestmark = pytest.mark.timeout(30)
ENVELOPE = b'{"code":"D00000"}'


@pytest.fixture
async def server() -> AsyncIterator[RawServer]:
    async with raw_server() as state:
        yield state


@pytest.fixture
async def pool() -> AsyncIterator[HttpClient]:
    http = HttpClient(connect_timeout=0.3, read_timeout=0.3)
    yield http
    await http.aclose()


# --- what a good server gets from us, and keep-alive ------------------------------------
async def test_posts_reuse_one_connection_and_send_what_was_given(
    server: RawServer, pool: HttpClient
) -> None:
    for i in range(3):
        response = await pool.post(server.url, b'{"n":%d}' % i, {"nonce": f"n{i}"})
        assert response.status_code == 200 and response.json() == {"code": "D00000"}
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /api/x?y=1 HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{server.port}\r\n".encode() in first
    assert b"Content-Length: 7\r\n" in first and b"User-Agent: idbridge\r\n" in first
    assert b"nonce: n0\r\n" in first and first.endswith(b'\r\n\r\n{"n":0}')


@pytest.mark.parametrize(
    "reply",
    [
        b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\n{"a"\r\n3\r\n:1}\r\n'
        b"0\r\nX-Trailer: t\r\n  folded\r\n\r\n",
        b'HTTP/1.1 200 OK\r\ntransfer-encoding:  Chunked \r\n\r\n00004;a="b;c"\r\n{"a"\r\n'
        b"3\r\n:1}\r\n000\r\n\r\n",
        b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n{"a":1}   \r\n0\r\n\r\n',
        b"HTTP/1.1 200 OK\r\nX-Long: one\r\n two\r\n\tthree\r\n"
        b'Content-Length:\r\n 7\r\n\r\n{"a":1}',
        b'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n'
        b'HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{"a":1}',
        b'HTTP/1.1 200\r\nContent-Length: 7\r\n\r\n{"a":1}',
        b'HTTP/1.1 200 \xc3\xa9 ok\r\nX-Obs-Text: \xff\tx\r\nContent-Length: 7\r\n\r\n{"a":1}',
    ],
    ids=["chunked-trailer-fold", "chunked-hex-ext", "chunked-hex-a",
         "obs-fold", "interim-1xx", "no-reason", "obs-text"],
)  # fmt: skip
async def test_well_formed_answers_are_read_and_the_connection_kept(
    server: RawServer, pool: HttpClient, reply: bytes
) -> None:
    server.answer = lambda _: reply
    for _ in range(2):
        assert (await pool.post(server.url, b"", {})).json() == {"a": 1}
    assert server.connections == 1


async def test_204_and_304_have_no_body_whatever_their_fields_say(
    server: RawServer, pool: HttpClient
) -> None:
    replies = iter([b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", ok(ENVELOPE)])
    server.answer = lambda _: next(replies)
    response = await pool.post(server.url, b"", {})
    assert (response.status_code, response.content) == (204, b"")
    assert (await pool.post(server.url, b"", {})).json() == {"code": "D00000"}


async def test_body_delimited_by_close_is_read_and_not_reused(
    server: RawServer, pool: HttpClient
) -> None:
    server.answer = lambda _: b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 100_000
    server.close_after = True
    assert len((await pool.post(server.url, b"", {})).content) == 100_000
    assert len((await pool.post(server.url, b"", {})).content) == 100_000
    assert server.connections == 2


@pytest.mark.parametrize(
    "extra",
    [
        "Connection: close\r\n",
        "Connection: keep-alive, close\r\n",
        "Connection: TE,  CLOSE \r\n",
        "Connection: close\r\nConnection: keep-alive\r\n",
        "HTTP/1.0",
    ],
)
async def test_connection_close_anywhere_and_http10_end_reuse(
    server: RawServer, pool: HttpClient, extra: str
) -> None:
    """The server keeps the socket open, so only the fields can tell us not to reuse it."""
    if extra == "HTTP/1.0":
        server.answer = lambda _: ok(ENVELOPE).replace(b"HTTP/1.1", b"HTTP/1.0")
    else:
        server.answer = lambda _: ok(ENVELOPE, extra)
    await pool.post(server.url, b"", {})
    await pool.post(server.url, b"", {})
    assert server.connections == 2


async def test_bytes_nobody_asked_for_are_never_taken_for_the_next_answer(
    server: RawServer, pool: HttpClient
) -> None:
    """A body longer than its framing, or a whole answer sent ahead: the connection is
    dropped instead of being read out of step (response desynchronisation)."""
    answers = iter([ok(b"{}") + ok(b'"poison"'), ok(b'"second"')])
    server.answer = lambda _: next(answers)
    assert (await pool.post(server.url, b"", {})).json() == {}
    await asyncio.sleep(0.05)
    assert (await pool.post(server.url, b"", {})).json() == "second"
    assert server.connections == 2


async def test_a_connection_the_server_closed_while_idle_is_not_used(
    server: RawServer, pool: HttpClient
) -> None:
    server.close_after = True  # answers with keep-alive framing, then hangs up
    await pool.post(server.url, b"", {})
    await asyncio.sleep(0.05)  # the FIN arrives while the connection is idle
    await pool.post(server.url, b"", {})
    assert server.connections == 2 and len(server.requests) == 2


async def test_a_connection_the_server_reset_while_idle_is_not_used(
    server: RawServer, pool: HttpClient
) -> None:
    async def answer_then_reset(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(ok(ENVELOPE))
        await writer.drain()
        writer.transport.abort()  # RST instead of FIN

    server.answer = lambda _: answer_then_reset
    await pool.post(server.url, b"", {})
    await asyncio.sleep(0.05)
    await pool.post(server.url, b"", {})
    assert server.connections == 2


async def test_expired_idle_connections_are_not_reused(
    server: RawServer, pool: HttpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbound, "KEEPALIVE_EXPIRY", 0.05)
    await pool.post(server.url, b"", {})
    await asyncio.sleep(0.1)
    await pool.post(server.url, b"", {})
    assert server.connections == 2


async def test_a_post_is_never_sent_twice_when_the_connection_dies_after_sending(
    server: RawServer, pool: HttpClient
) -> None:
    """The idle-close race: the server drops a kept-alive connection just as our POST
    arrives. It may have been acted on (RFC 9112 §9.3.1), so the failure is reported, not
    retried; the caller decides (the connector retries only idempotent calls)."""
    replies = iter([ok(ENVELOPE), None])
    server.answer = lambda _: next(replies)
    await pool.post(server.url, b"1", {})
    with pytest.raises(ConnectionLost):
        await pool.post(server.url, b"2", {})
    assert len(server.requests) == 2 and server.connections == 1


async def test_a_cancelled_post_closes_its_connection(server: RawServer, pool: HttpClient) -> None:
    server.answer = lambda _: stall()
    task = asyncio.create_task(pool.post(server.url, b"{}", {}))
    while not server.requests:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(server.hung_up.wait(), 2)
    assert server.client_hangups == 1


# --- broken and hostile answers: a typed failure each ------------------------------------
def _head(*lines: bytes, body: bytes = b"") -> bytes:
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
BROKEN: dict[str, tuple[bytes | None, type[Exception]]] = {
    # status line (RFC 9112 §4)
    "http2": (b"HTTP/2 200 OK\r\n\r\n", MalformedResponse),
    "status-letters": (b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n", MalformedResponse),
    "status-4-digits": (b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n", MalformedResponse),
    "status-superscript": (b"HTTP/1.1 \xb200 OK\r\nContent-Length: 0\r\n\r\n", MalformedResponse),
    "status-000": (b"HTTP/1.1 000 X\r\nContent-Length: 0\r\n\r\n", MalformedResponse),
    "status-600": (b"HTTP/1.1 600 X\r\nContent-Length: 0\r\n\r\n", MalformedResponse),
    "status-no-space": (b"HTTP/1.1 200OK\r\nContent-Length: 0\r\n\r\n", MalformedResponse),
    "status-ctl": (b"HTTP/1.1 200 O\x00K\r\nContent-Length: 0\r\n\r\n", MalformedResponse),
    "garbage": (b"garbage\r\n\r\n", MalformedResponse),
    # field lines (RFC 9112 §5, RFC 9110 §5.5)
    "no-colon": (_head(b"HTTP/1.1 200 OK", b"no colon here"), MalformedResponse),
    "space-before-colon": (_head(b"HTTP/1.1 200 OK", b"Content-Length : 0"), MalformedResponse),
    "bad-name": (_head(b"HTTP/1.1 200 OK", b"X(y): 1", b"Content-Length: 0"), MalformedResponse),
    "nul-value": (_head(b"HTTP/1.1 200 OK", b"X: a\x00b", b"Content-Length: 0"), MalformedResponse),
    "bare-cr": (_head(b"HTTP/1.1 200 OK", b"X: a\rContent-Length: 9", b"Content-Length: 0"),
                MalformedResponse),
    "bare-lf": (_head(b"HTTP/1.1 200 OK", b"X: a\nContent-Length: 9", b"Content-Length: 0"),
                MalformedResponse),
    "too-many-fields": (_head(b"HTTP/1.1 200 OK", *[b"X: 1"] * (MAX_FIELDS + 1)),
                        ResponseTooLarge),
    "long-line": (_head(b"HTTP/1.1 200 OK", b"X: " + b"a" * MAX_LINE), ResponseTooLarge),
    "big-head": (b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", ResponseTooLarge),
    # framing (RFC 9112 §6)
    "length-negative": (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", MalformedResponse),
    "length-float": (b"HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n", MalformedResponse),
    "length-list": (b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nab", MalformedResponse),
    "length-huge": (f"HTTP/1.1 200 OK\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n".encode(),
                    ResponseTooLarge),
    "length-conflict": (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
                        MalformedResponse),
    "te-and-length": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n"
                      b"\r\n2\r\n{}\r\n0\r\n\r\n", MalformedResponse),
    "te-gzip": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n\x1f\x8b", MalformedResponse),
    "te-gzip-chunked": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                        b"2\r\n\x1f\x8b\r\n0\r\n\r\n", MalformedResponse),
    "te-lookalike": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
                     MalformedResponse),
    "te-twice": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked"
                 b"\r\n\r\n2\r\n{}\r\n0\r\n\r\n", MalformedResponse),
    "te-http10": (b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
                  MalformedResponse),
    "switching-protocols": (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
                            MalformedResponse),
    "endless-1xx": (b"HTTP/1.1 100 Continue\r\n\r\n" * 20, ConnectionLost),  # then a close
    # chunked (RFC 9112 §7.1)
    "chunk-size": (CHUNKED + b"zz\r\n", MalformedResponse),
    "chunk-0x": (CHUNKED + b"0x2\r\n{}\r\n0\r\n\r\n", MalformedResponse),
    "chunk-negative": (CHUNKED + b"-2\r\n{}\r\n0\r\n\r\n", MalformedResponse),
    "chunk-leading-space": (CHUNKED + b" 2\r\n{}\r\n0\r\n\r\n", MalformedResponse),
    "chunk-huge": (CHUNKED + b"ffffffffffff\r\n", ConnectionLost),  # then a close
    "chunk-huge-sent": (CHUNKED + b"ffffffffffff\r\n" + b"x" * (MAX_BODY + 1), ResponseTooLarge),
    "length-twice-same": (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
                          MalformedResponse),
    "chunk-overrun": (CHUNKED + b"2\r\nabc\r\n0\r\n\r\n", MalformedResponse),
    "chunk-ext-ctl": (CHUNKED + b"2;a=\x01\r\n{}\r\n0\r\n\r\n", MalformedResponse),
    "trailer-flood": (CHUNKED + b"0\r\n" + b"X: 1\r\n" * (MAX_FIELDS + 1) + b"\r\n",
                      ResponseTooLarge),
    "trailer-malformed": (CHUNKED + b"0\r\nno colon\r\n\r\n", MalformedResponse),
    "chunk-truncated": (CHUNKED + b"5\r\nab", ConnectionLost),
    "chunk-no-last": (CHUNKED + b"2\r\n{}\r\n", ConnectionLost),
    # bodies
    "truncated": (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", ConnectionLost),
    "to-close-too-big": (b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * (MAX_BODY + 1), ResponseTooLarge),
    "hang-up": (None, ConnectionLost),
}  # fmt: skip


@pytest.mark.parametrize("case", BROKEN)
async def test_broken_answers_are_typed_failures(
    server: RawServer, pool: HttpClient, case: str
) -> None:
    reply, expected = BROKEN[case]
    server.answer = lambda _: reply
    server.close_after = True
    started = time.monotonic()
    with pytest.raises(expected) as caught:
        await pool.post(server.url, b"{}", {})
    assert type(caught.value) is expected and str(caught.value)
    assert time.monotonic() - started < pool.total_timeout + 0.2


TOLERATED = {
    # llhttp accepts these (RFC 9112 §2.2 lets a recipient take a bare LF as a line end and
    # skip an empty line first; leading zeros and long extensions of a chunk size, many
    # tiny chunks are parsed in C at no risk): an answer or a typed failure, in time
    "lf-only": b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
    "empty-line-first": b"\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "fold-first": _head(b"HTTP/1.1 200 OK", b" X: 1", b"Content-Length: 0"),
    "chunk-17-digits": CHUNKED + b"0" * 16 + b"2\r\n{}\r\n0\r\n\r\n",
    "chunk-ext-long": CHUNKED + b"2;" + b"a" * MAX_LINE + b"\r\n{}\r\n0\r\n\r\n",
    "tiny-chunks": CHUNKED + b"1\r\nx\r\n" * 20_000 + b"0\r\n\r\n",
}


@pytest.mark.parametrize("case", TOLERATED)
async def test_answers_the_parser_tolerates_are_bounded(
    server: RawServer, pool: HttpClient, case: str
) -> None:
    server.answer = lambda _: TOLERATED[case]
    server.close_after = True
    started = time.monotonic()
    try:
        response = await pool.post(server.url, b"{}", {})
    except HttpFailure:
        pass
    else:
        assert response.status_code == 200 and len(response.content) <= 20_000
    assert time.monotonic() - started < pool.total_timeout + 0.2


async def test_silence_is_a_read_timeout(server: RawServer, pool: HttpClient) -> None:
    server.answer = lambda _: stall()
    with pytest.raises(ResponseTimeout, match="in time"):
        await pool.post(server.url, b"{}", {})


@pytest.mark.parametrize("where", ["head", "body"])
async def test_a_slow_drip_cannot_outlast_the_read_timeout(
    server: RawServer, pool: HttpClient, where: str
) -> None:
    """Every byte comes well within the timeout, but the whole answer would not."""
    answer = ok(b"x" * 40)
    split = 20 if where == "head" else len(answer) - 30
    server.answer = lambda _: then(answer[:split], drip(answer[split:], 0.05))
    started = time.monotonic()
    with pytest.raises(ResponseTimeout):
        await pool.post(server.url, b"{}", {})
    assert time.monotonic() - started < pool.total_timeout + 0.2


# --- what we refuse to send ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("{url}", {"nonce": "a\r\nX-Evil: 1"}),
        ("{url}", {"nonce": "a\nb"}),
        ("{url}", {"nonce": "a\x00b"}),
        ("{url}", {"X-Evil: 1\r\nnonce": "a"}),
        ("{url}", {"a b": "1"}),
        ("{url}", {"a:b": "1"}),
        ("{url}", {"": "1"}),
        ("{url}", {"Content-Length": "0"}),
        ("{url}", {"content-length": "0"}),
        ("{url}", {"Transfer-Encoding": "chunked"}),
        ("{url}", {"Host": "evil.example"}),
        ("{url}", {"Connection": "close"}),
        ("ftp://127.0.0.1/x", {}),
        ("http://127.0.0.1:{port}/a b", {}),
        ("http://127.0.0.1:{port}/a\x00b", {}),
        ("https://bü.example/x", {}),
        ("http://192.0.2.1:{port}/x", {}),
        ("http://iamsmart.example/x", {}),
    ],
)
async def test_bad_requests_are_refused_before_anything_is_sent(
    server: RawServer, pool: HttpClient, url: str, headers: dict[str, str]
) -> None:
    with pytest.raises(ValueError):
        await pool.post(url.format(url=server.url, port=server.port), b"", headers)
    assert server.connections == 0


async def test_plain_http_beyond_loopback_only_when_allowed(server: RawServer) -> None:
    """0.0.0.0 is not a loopback address, but Linux connects it to this host."""
    url = f"http://0.0.0.0:{server.port}/x"
    strict = HttpClient(connect_timeout=2, read_timeout=1)
    with pytest.raises(ValueError, match="loopback"):
        await strict.post(url, b"", {})
    lax = HttpClient(connect_timeout=2, read_timeout=1, allow_http=True)
    assert (await lax.post(url, b"", {})).status_code == 200
    assert (await strict.post(f"http://localhost:{server.port}/x", b"", {})).status_code == 200
    await lax.aclose()
    await strict.aclose()


async def test_the_connector_allows_plain_http_beyond_loopback_only_when_configured(
    server: RawServer, keypair: tuple[Path, Path]
) -> None:
    server.answer = lambda _: ok(b'{"code":"D00000","content":{"secretKey":"k","expiresIn":9}}')
    url = f"http://0.0.0.0:{server.port}"
    config = make_config(url, Receiver(url=url), keypair[0], insecure_allow_http=True)
    client = IAMSmartClient(config, cek=CekCache(config))
    assert (await client.fetch_cek())[0] == "k"
    await client.aclose()
    assert server.requests[0].startswith(b"POST /api/v1/security/getKey HTTP/1.1\r\n")


@pytest.mark.parametrize("value", [0, -1, float("inf"), float("nan")])
def test_timeouts_must_be_positive_and_finite(value: float) -> None:
    with pytest.raises(ValueError):
        HttpClient(connect_timeout=value, read_timeout=1)
    with pytest.raises(ValueError):
        HttpClient(connect_timeout=1, read_timeout=value)


async def test_nobody_listening_is_a_connect_failure(pool: HttpClient) -> None:
    with pytest.raises(ConnectFailed):
        await pool.post("http://127.0.0.1:9/x", b"", {})


async def test_a_closed_pool_does_not_connect(server: RawServer) -> None:
    http = HttpClient(connect_timeout=1, read_timeout=1)
    await http.aclose()
    with pytest.raises(ConnectFailed):
        await http.post(server.url, b"", {})
    assert server.connections == 0
