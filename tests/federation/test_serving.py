"""federation.serving: uvicorn with the slow-client watchdog closes a connection whose
request head, or body, does not arrive in time, and serves a prompt client as usual (a
real uvicorn server on loopback, raw sockets)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from federation.serving import slow_client_protocol
from federation.storage.runtime import free_port

TIMEOUT = 0.6


async def echo(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"got {len(await request.body())}")


@pytest.fixture
def port() -> Iterator[int]:
    port = free_port()
    app = Starlette(routes=[Route("/", echo, methods=["GET", "POST"])])
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        http=slow_client_protocol(TIMEOUT),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        assert time.time() < deadline and thread.is_alive()
        time.sleep(0.02)
    yield port
    server.should_exit = True
    thread.join(timeout=10)


async def _closed_within(port: int, data: bytes, seconds: float) -> tuple[bool, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    try:
        answer = await asyncio.wait_for(reader.read(), seconds)  # read() = until EOF
        return True, answer
    except TimeoutError:
        return False, b""
    finally:
        writer.close()


async def test_a_slow_head_is_disconnected(port: int) -> None:
    closed, answer = await _closed_within(port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow:", 3)
    assert closed and answer == b""


async def test_a_slow_body_is_disconnected(port: int) -> None:
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"
    closed, answer = await _closed_within(port, head, 3)
    assert closed and b"got" not in answer


async def test_a_prompt_client_is_served(port: int) -> None:
    request = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"
    closed, answer = await _closed_within(port, request, 3)
    assert closed and answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"got 3")


async def test_an_idle_keep_alive_connection_outlives_one_timeout(port: int) -> None:
    """The watchdog needs the phase to stall for a whole timeout: a head that completes
    just in time is served."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
    await asyncio.sleep(TIMEOUT * 0.5)
    writer.write(b"Connection: close\r\n\r\n")
    answer = await asyncio.wait_for(reader.read(), 3)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 200")
