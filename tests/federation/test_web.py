"""Unhandled errors are answered inside the request-context middleware: a 500 whose
reference is the request id, with the security headers, a page for people and JSON for
APIs, no traceback text, and a log line with the request id and code locations only."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient

from federation.app import create_base_app
from federation.logs import JsonFormatter
from federation.pages import Pages
from federation.settings import Settings
from federation.storage.runtime import RedisServer
from federation.web import MAX_REQUEST_BODY

SECRET = "hkid-like A123456(3) in a message"


def _app(redis_server: RedisServer, *, pages: bool) -> FastAPI:
    settings = Settings(redis_url=redis_server.url)
    app = create_base_app(settings)
    if pages:
        app.state.pages = Pages(settings, csrf_secret=b"test-csrf-secret-0123456789abcdef")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError(SECRET)

    @app.post("/echo-length")
    async def echo_length(request: Request) -> dict[str, int]:
        return {"length": len(await request.body())}  # an unbounded read, capped by the app

    @app.get("/late")
    async def late() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"partial"
            raise RuntimeError(SECRET)

        return StreamingResponse(chunks(), media_type="text/plain")

    return app


@pytest.fixture
def web_log() -> Iterator[io.StringIO]:
    """JSON log lines of ``idbridge.web`` as the deployed formatter writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("idbridge.web")
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


def _check_headers(response: object) -> str:
    headers = response.headers  # type: ignore[attr-defined]
    reference = headers["x-request-id"]
    assert reference and reference != "-"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    return reference


@pytest.mark.parametrize("pages", [True, False], ids=["pages", "no-pages"])
def test_api_500_is_json_with_the_request_id(
    redis_server: RedisServer, web_log: io.StringIO, pages: bool
) -> None:
    with TestClient(_app(redis_server, pages=pages), raise_server_exceptions=False) as client:
        response = client.get("/boom", headers={"Accept": "application/json"})
    assert response.status_code == 500
    reference = _check_headers(response)
    body = response.json()
    assert body["error"] == "server_error" and body["reference"] == reference
    assert SECRET not in response.text and "Traceback" not in response.text
    lines = [json.loads(line) for line in web_log.getvalue().splitlines()]
    logged = [line for line in lines if line["msg"] == "unhandled error"]
    assert logged and logged[-1]["request_id"] == reference
    assert "test_web.py" in logged[-1]["frames"] and "boom" in logged[-1]["frames"]
    assert SECRET not in web_log.getvalue() and "A123456" not in web_log.getvalue()


@pytest.mark.parametrize("pages", [True, False], ids=["pages", "no-pages"])
def test_browser_500_is_a_trilingual_page_with_the_reference(
    redis_server: RedisServer, pages: bool
) -> None:
    with TestClient(_app(redis_server, pages=pages), raise_server_exceptions=False) as client:
        response = client.get(
            "/boom", headers={"Accept": "text/html", "X-Request-ID": "ref-0123456789"}
        )
    assert response.status_code == 500
    assert _check_headers(response) == "ref-0123456789"
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text and "ref-0123456789" in response.text
    assert SECRET not in response.text and "Traceback" not in response.text
    if not pages:
        assert "系統" in response.text and "系统" in response.text and "error" in response.text


def test_error_after_the_response_started_is_not_a_second_response(
    redis_server: RedisServer, web_log: io.StringIO
) -> None:
    app = _app(redis_server, pages=False)
    with TestClient(app, raise_server_exceptions=True) as client, pytest.raises(RuntimeError):
        client.get("/late")
    assert "unhandled error" in web_log.getvalue()


def test_json_formatter_logs_frames_without_the_message() -> None:
    try:
        raise ValueError(SECRET)
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", None, None)
        record.exc_info = sys.exc_info()
    entry = json.loads(JsonFormatter().format(record))
    assert entry["error"] == "ValueError"
    assert any("test_web.py" in frame for frame in entry["frames"])
    assert SECRET not in json.dumps(entry)


def _chunks(total: int) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        piece = min(64 * 1024, total - sent)
        sent += piece
        yield b"x" * piece


@pytest.mark.parametrize("how", ["declared", "chunked"])
def test_every_body_is_capped_by_the_app(redis_server: RedisServer, how: str) -> None:
    """A route that reads its whole body still gets at most MAX_REQUEST_BODY: a declared
    length over it is refused before the route runs, a chunked body stops at the cap."""
    over = MAX_REQUEST_BODY + 1
    with TestClient(_app(redis_server, pages=True), raise_server_exceptions=False) as client:
        assert client.post("/echo-length", content=b"x" * 1000).json() == {"length": 1000}
        body = b"x" * over if how == "declared" else _chunks(over)
        response = client.post("/echo-length", content=body)
        assert response.status_code == 413
        assert response.json()["error"] == "invalid_request"
        assert response.json()["reference"] == _check_headers(response)
        page = client.post(
            "/echo-length",
            content=b"x" * over,
            headers={"Accept": "text/html", "Accept-Language": "en"},
        )
    assert page.status_code == 413 and page.headers["content-type"].startswith("text/html")
    assert "<html" in page.text and "What you sent was too large" in page.text


def test_a_malformed_content_length_is_refused(redis_server: RedisServer) -> None:
    with TestClient(_app(redis_server, pages=False), raise_server_exceptions=False) as client:
        response = client.post("/echo-length", content=b"x", headers={"Content-Length": "1, 1"})
    assert response.status_code == 413  # not a decimal length: refused unread


async def test_admission_control_refuses_only_beyond_the_cap() -> None:
    """Two requests in flight with a cap of 2: a third gets 503 + Retry-After at once, and
    once one finishes the next is served (federation.web.AdmissionControl)."""
    import asyncio

    import httpx
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from federation.web import AdmissionControl, RequestContextMiddleware

    release = asyncio.Event()

    async def slow(request: object) -> PlainTextResponse:
        await release.wait()
        return PlainTextResponse("ok")

    inner = Starlette(routes=[Route("/slow", slow), Route("/healthz", slow)])
    app = RequestContextMiddleware(AdmissionControl(inner, limit=2))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        first = [asyncio.create_task(client.get("/slow")) for _ in range(2)]
        await asyncio.sleep(0.05)
        refused = await client.get("/slow")
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["error"] == "temporarily_unavailable"
        assert refused.headers["x-request-id"]
        health = asyncio.create_task(client.get("/healthz"))  # exempt: not refused
        release.set()
        assert [r.status_code for r in await asyncio.gather(*first, health)] == [200, 200, 200]
        assert (await client.get("/slow")).status_code == 200
