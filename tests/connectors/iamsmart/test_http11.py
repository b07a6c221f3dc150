"""The lean HTTP/1.1 client (``connectors.iamsmart.http11``) against a real asyncio server on
loopback that answers what each test scripts: keep-alive reuse, every body framing, and
every broken answer a bad upstream can give, each a typed failure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from connectors.iamsmart.http11 import (
    MAX_BODY,
    ConnectFailed,
    Http11Pool,
    ResponseFailed,
    open_poster,
    proxied,
)

Answer = Callable[[bytes], bytes | None]


@dataclass
class Server:
    answer: Answer
    port: int = 0
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    close_after: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/x?y=1"


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server(answer=lambda _: ok(b'{"code":"D00000"}'))

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                request = head + await reader.readexactly(length)
                state.requests.append(request)
                reply = state.answer(request)
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
                if state.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    state.port = listener.sockets[0].getsockname()[1]
    yield state
    listener.close()


def ok(body: bytes, extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


@pytest.fixture
async def pool() -> AsyncIterator[Http11Pool]:
    http = Http11Pool(connect_timeout=2, read_timeout=0.5)
    yield http
    await http.aclose()


async def test_posts_reuse_one_connection_and_send_what_was_given(
    server: Server, pool: Http11Pool
) -> None:
    for i in range(3):
        response = await pool.post(server.url, b'{"n":%d}' % i, {"nonce": f"n{i}"})
        assert response.status_code == 200 and response.json() == {"code": "D00000"}
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /api/x?y=1 HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{server.port}\r\n".encode() in first
    assert b"nonce: n0\r\n" in first and first.endswith(b'\r\n\r\n{"n":0}')


async def test_chunked_body_with_trailers(server: Server, pool: Http11Pool) -> None:
    server.answer = lambda _: (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'4;ext=1\r\n{"a"\r\n3\r\n:1}\r\n0\r\nX-Trailer: t\r\n\r\n'
    )
    assert (await pool.post(server.url, b"", {})).json() == {"a": 1}
    assert (await pool.post(server.url, b"", {})).json() == {"a": 1}
    assert server.connections == 1


async def test_body_delimited_by_close_is_read_and_not_reused(
    server: Server, pool: Http11Pool
) -> None:
    server.answer = lambda _: b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 100_000
    server.close_after = True
    assert len((await pool.post(server.url, b"", {})).content) == 100_000
    assert len((await pool.post(server.url, b"", {})).content) == 100_000
    assert server.connections == 2


async def test_connection_close_and_http10_are_not_reused(server: Server, pool: Http11Pool) -> None:
    server.answer = lambda _: ok(b"{}", "Connection: close\r\n")
    server.close_after = True
    await pool.post(server.url, b"", {})
    await pool.post(server.url, b"", {})
    assert server.connections == 2


async def test_a_connection_the_server_closed_while_idle_is_not_used(
    server: Server, pool: Http11Pool
) -> None:
    server.close_after = True  # answers with keep-alive framing, then hangs up
    await pool.post(server.url, b"", {})
    await asyncio.sleep(0.05)  # the FIN arrives while the connection is idle
    await pool.post(server.url, b"", {})
    assert server.connections == 2


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/2 200 OK\r\n\r\n",
        b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n",
        b"garbage\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n",
        f"HTTP/1.1 200 OK\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n".encode(),
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        None,  # hangs up without an answer
    ],
    ids=[
        "http2",
        "status",
        "garbage",
        "negative",
        "float",
        "huge",
        "conflict",
        "header",
        "chunk-size",
        "chunk-frame",
        "big-head",
        "truncated",
        "hang-up",
    ],
)
async def test_broken_answers_are_response_failures(
    server: Server, pool: Http11Pool, reply: bytes | None
) -> None:
    server.answer = lambda _: reply
    server.close_after = True
    with pytest.raises(ResponseFailed):
        await pool.post(server.url, b"{}", {})


async def test_silence_is_a_read_timeout(server: Server, pool: Http11Pool) -> None:
    server.answer = lambda _: b""  # reads the request, never answers
    with pytest.raises(ResponseFailed, match="in time"):
        await pool.post(server.url, b"{}", {})


async def test_nobody_listening_is_a_connect_failure(pool: Http11Pool) -> None:
    with pytest.raises(ConnectFailed):
        await pool.post("http://127.0.0.1:9/x", b"", {})


async def test_header_injection_and_bad_urls_are_refused(server: Server, pool: Http11Pool) -> None:
    with pytest.raises(ValueError):
        await pool.post(server.url, b"", {"nonce": "a\r\nX-Evil: 1"})
    with pytest.raises(ValueError):
        await pool.post("ftp://127.0.0.1/x", b"", {})
    assert server.requests == []


async def test_a_closed_pool_does_not_connect(server: Server) -> None:
    http = Http11Pool(connect_timeout=1, read_timeout=1)
    await http.aclose()
    with pytest.raises(ConnectFailed):
        await http.post(server.url, b"", {})
    assert server.connections == 0


def test_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert not proxied("https://apigw-isit.staging-eid.gov.hk")
    assert isinstance(open_poster("https://a.hk", connect_timeout=1, read_timeout=1), Http11Pool)
    monkeypatch.setenv("https_proxy", "http://proxy.internal:3128")
    monkeypatch.setenv("no_proxy", "localhost,127.0.0.1")
    assert proxied("https://apigw-isit.staging-eid.gov.hk")
    assert not proxied("http://127.0.0.1:8001")
    assert not isinstance(
        open_poster("https://a.hk", connect_timeout=1, read_timeout=1), Http11Pool
    )
