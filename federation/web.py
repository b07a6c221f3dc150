"""Cross-cutting HTTP concerns shared by every front end: request ids, security headers,
and the error responses that replace stack traces.

Every request body is capped here too (:data:`MAX_REQUEST_BODY`, a backstop: routes read
with their own, tighter bounds): a declared ``Content-Length`` over it is refused before the
app runs, and a body without one stops at the cap; either way the answer is 413.

A client that disconnects mid-request (``ClientDisconnect``) is logged at INFO without a
traceback: ERROR is kept for our own faults, so nobody can fill the error log at will.

An unhandled exception is answered here, inside :class:`RequestContextMiddleware`, so that
the 500 carries the request id as its reference and the security headers (Starlette's
outermost ``ServerErrorMiddleware`` runs after the request id has been reset). People
(``Accept: text/html``) get the trilingual ``server_error`` page of ``app.state.pages``
when the app has one, else a minimal trilingual text; API clients get OAuth-style JSON.

Bottom-layer helpers for the app factory; protocol logic never lives here.
"""

from __future__ import annotations

import html
import json
import logging
import re
import secrets
import time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from federation import untrusted
from federation.logs import request_id_var, traceback_frames

log = logging.getLogger("idbridge.web")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    # form-action lists http: and https: on purpose: Chromium applies form-action to the
    # redirect that follows a form POST (consent → 302 → the RP's redirect_uri), so 'self'
    # alone would block the end of every login journey.
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"frame-ancestors 'none'; base-uri 'none'; form-action 'self' http: https:",
    ),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)


MAX_REQUEST_BODY = 1024 * 1024
"""The largest body any route may receive (the operator API's JSON, every form, every
token request is far smaller)."""


class RequestBodyTooLarge(Exception):
    """The body passed :data:`MAX_REQUEST_BODY` while the app was reading it."""


class UntrustedJSONRequest(Request):
    """A request whose :meth:`json` reads the body with :func:`federation.untrusted.loads`
    (what FastAPI calls for a JSON body parameter): a route class hands it to its
    handler, so that pydantic only ever sees JSON that helper has accepted."""

    async def body(self) -> bytes:
        try:
            return await super().body()
        except RequestBodyTooLarge as exc:  # a chunked body over the cap: FastAPI would say 400
            raise HTTPException(413, "the request body is too large") from exc

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = untrusted.loads(await self.body(), max_bytes=MAX_REQUEST_BODY)
        return self._json


class AdmissionControl:
    """Per-worker admission control: at most ``limit`` requests in flight; one more is
    answered at once with 503 ``temporarily_unavailable`` and ``Retry-After: 1`` (RFC 9110
    §15.6.4, §10.2.3) — JSON, or the trilingual page for people — without touching Redis.
    Below the limit nobody is refused; the cap keeps a flood from queueing work (and
    latency) without bound. ``/healthz`` is exempt so that a saturated worker is not
    mistaken for a dead one. Pure ASGI, on the hot path."""

    def __init__(self, app: ASGIApp, *, limit: int, exempt: tuple[str, ...] = ("/healthz",)):
        self.app = app
        self.limit = limit
        self.exempt = exempt
        self.in_flight = 0
        self.refused = 0
        self._last_log = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.exempt:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            self.refused += 1
            now = time.monotonic()
            if now - self._last_log >= 1.0:  # a flood must not flood the logs
                self._last_log = now
                log.warning(
                    "worker saturated: request refused",
                    extra={"fields": {"in_flight": self.in_flight, "refused": self.refused}},
                )
            description = "the server is busy; retry shortly"
            await _refuse(
                scope,
                request_id_var.get(),
                send,
                503,
                "temporarily_unavailable",
                description,
                "server_error",
                retry_after=1,
            )
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


def new_request_id() -> str:
    """A short random reference id a person can quote to support."""
    return secrets.token_hex(8)


class RequestContextMiddleware:
    """Pure ASGI middleware: sets the request id, adds security headers (and HSTS behind
    TLS), echoes ``X-Request-ID``. Pure ASGI rather than ``BaseHTTPMiddleware`` because it
    sits on the hot path."""

    def __init__(
        self, app: ASGIApp, *, hsts: bool = False, max_body: int = MAX_REQUEST_BODY
    ) -> None:
        self.app = app
        self.hsts = hsts
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming, declared, hosts = "", None, 0
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
            elif name == b"content-length":
                declared = value
            elif name == b"host":
                hosts += 1
        request_id = incoming if _REQUEST_ID.match(incoming) else new_request_id()
        token = request_id_var.set(request_id)
        tls = self.hsts or scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                headers.append((b"x-request-id", request_id.encode()))
                if tls:
                    headers.append(
                        (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
                    )
                message["headers"] = headers
            await send(message)

        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send_with_headers(message)

        received = 0

        async def receive_bounded() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise RequestBodyTooLarge
            return message

        if hosts != 1 and scope.get("http_version", "1.1") == "1.1":
            # RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without Host
            # or with more than one (HTTP/2 and /3 carry :authority instead)
            log.info("request without exactly one Host field")
            description = "the request needs exactly one Host header field"
            await _refuse(scope, request_id, send_with_headers, 400, "invalid_request", description)
            request_id_var.reset(token)
            return
        if declared is not None and not declared_length_within(declared, self.max_body):
            await _too_large(scope, request_id, send_with_headers)
            request_id_var.reset(token)
            return
        try:
            await self.app(scope, receive_bounded, send_tracked)
        except RequestBodyTooLarge:
            if started:
                raise
            await _too_large(scope, request_id, send_with_headers)
        except ClientDisconnect:
            # the client went away mid-request: its doing, not ours (ERROR means our fault),
            # and there is no one left to answer
            log.info("client disconnected", extra={"fields": {"path": scope.get("path", "")}})
        except Exception as exc:
            log.error(
                "unhandled error",
                extra={"fields": {"error": type(exc).__name__, "frames": traceback_frames(exc)}},
            )
            if started:  # too late for an error response: let the server close the connection
                raise
            await _server_error(scope, request_id, send_with_headers)
        finally:
            request_id_var.reset(token)


SERVER_ERROR_HTML = """<!DOCTYPE html>
<html lang="zh-Hant-HK"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>系統錯誤 · 系统错误 · Server error</title></head><body><main>
<h1>系統錯誤 · 系统错误 · Server error</h1>
<p>系統發生錯誤，請稍後再試，並向支援人員提供參考編號。</p>
<p lang="zh-Hans-CN">系统发生错误，请稍后再试，并向支持人员提供参考编号。</p>
<p lang="en">An internal error occurred. Please try again later and quote the reference to
support.</p>
<p>參考編號 · 参考编号 · Reference: <code>{reference}</code></p>
</main></body></html>
"""
"""What people see when the app has no pages to render the error page with."""


def declared_length_within(declared: str | bytes, limit: int) -> bool:
    """Whether a ``Content-Length`` value is a plain decimal number no larger than
    ``limit`` (anything else — a list, a sign, non-ASCII digits such as ``²`` — is not)."""
    text = declared.strip()
    if isinstance(text, str):
        if not text.isascii():
            return False
        text = text.encode("ascii")
    return text.isdigit() and len(text) <= 18 and int(text) <= limit


async def _server_error(scope: Scope, request_id: str, send: Send) -> None:
    """Send the 500 response: the error page, a trilingual text, or JSON."""
    description = "an internal error occurred; quote the reference to support"
    await _refuse(scope, request_id, send, 500, "server_error", description)


async def _too_large(scope: Scope, request_id: str, send: Send) -> None:
    """Send 413 (RFC 9110 §15.5.14): the ``request_too_large`` page, or JSON
    ``invalid_request``."""
    log.info("request body over the cap")
    description = "the request body is too large"
    await _refuse(scope, request_id, send, 413, "invalid_request", description, "request_too_large")


async def _refuse(
    scope: Scope,
    request_id: str,
    send: Send,
    status: int,
    error: str,
    description: str,
    page: str | None = None,
    *,
    retry_after: int | None = None,
) -> None:
    """Answer ``status``: people (``Accept: text/html``) get the error page of ``error``
    (for a 500 without pages, the plain trilingual text); API clients get JSON."""
    accept = next((v for k, v in scope.get("headers", ()) if k == b"accept"), b"")
    html = _error_page(scope, request_id, page or error, status) if b"text/html" in accept else None
    if html is not None:
        body, media = html
    else:
        payload = {"error": error, "error_description": description, "reference": request_id}
        body, media = json.dumps(payload).encode(), b"application/json"
    headers = [
        (b"content-type", media),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    if status == 413:
        headers.append((b"connection", b"close"))  # the rest of the body is not read
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _error_page(
    scope: Scope, request_id: str, kind: str, status: int
) -> tuple[bytes, bytes] | None:
    pages = getattr(getattr(scope.get("app"), "state", None), "pages", None)
    if pages is not None:
        try:
            request = Request(scope)
            response = pages.render_error(
                kind,
                pages.locale_for(request),
                reference=request_id,
                request=request,
                status_code=status,
            )
            return bytes(response.body), b"text/html; charset=utf-8"
        except Exception:  # the page itself failed: fall back to the plain text
            log.error("error page could not be rendered")
    if status != 500:
        return None
    page = SERVER_ERROR_HTML.format(reference=html.escape(request_id))
    return page.encode("utf-8"), b"text/html; charset=utf-8"
