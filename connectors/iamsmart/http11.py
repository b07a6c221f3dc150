"""A small HTTP/1.1 client for JSON POSTs: the connector's calls to the iAM Smart API and
the simulator's result POSTs to relying parties.

Why not httpx for these: a login makes four signed POSTs to iAM Smart and the simulator
two result POSTs back, and httpx + httpcore cost ~0.5-1 ms of CPU each (request model,
cookie jar, redirect and auth machinery, a readability probe of every pooled connection
per request), a quarter of the bridge's CPU per login in py-spy. This client does one
thing: ``POST`` a body over a keep-alive connection (``http`` or ``https``, TLS context
made once per pool) and read a bounded answer (``Content-Length``, chunked, or until
close). No redirects, cookies, proxies or compression — the callers need none; when a
proxy is configured in the environment, :func:`open_poster` gives an httpx-backed poster
instead.

Errors: :class:`ConnectFailed` — the request never reached the server (DNS, refused,
connect timeout, TLS handshake): always safe to retry; :class:`ResponseFailed` — it may
have arrived but no complete, well-formed answer came back (read timeout, reset, a
malformed or oversized answer): retry only what is idempotent.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

MAX_HEAD = 64 * 1024
"""Largest status line + headers accepted."""
MAX_BODY = 4 * 1024 * 1024
"""Largest body accepted."""
KEEPALIVE_EXPIRY = 4.0
"""Idle connections older than this are not reused (uvicorn closes them after 5 s)."""
MAX_IDLE = 32
"""Idle connections kept per origin."""


class HttpFailure(Exception):
    """A POST that did not produce a complete answer."""


class ConnectFailed(HttpFailure):
    """The request never reached the server: safe to retry."""


class ResponseFailed(HttpFailure):
    """The request may have reached the server, but no usable answer came back."""


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """Status and body of an answer."""

    status_code: int
    content: bytes

    def json(self) -> Any:
        """The body as JSON (``ValueError`` / ``RecursionError`` if it is not)."""
        return json.loads(self.content)


class Poster(Protocol):
    """What the connector and the simulator need: POST bytes, get status and body."""

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> HttpResponse: ...

    async def aclose(self) -> None: ...


class _Conn:
    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.idle_since = 0.0

    def usable(self, now: float) -> bool:
        return (
            not self.reader.at_eof()
            and not self.writer.is_closing()
            and now - self.idle_since < KEEPALIVE_EXPIRY
        )

    def close(self) -> None:
        self.writer.close()


@dataclass(frozen=True, slots=True)
class _Origin:
    scheme: str
    host: str
    port: int

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


class Http11Pool:
    """Keep-alive connections per origin; share one per process (or per app)."""

    def __init__(
        self,
        *,
        connect_timeout: float,
        read_timeout: float,
        user_agent: str = "idbridge",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._user_agent = user_agent
        self._ssl = ssl_context
        self._idle: dict[_Origin, list[_Conn]] = {}
        self._origins: dict[str, tuple[_Origin, str]] = {}
        self._closed = False

    @property
    def is_closed(self) -> bool:
        """True after :meth:`aclose`."""
        return self._closed

    async def aclose(self) -> None:
        """Close every idle connection; later POSTs fail with :class:`ConnectFailed`."""
        self._closed = True
        for pool in self._idle.values():
            for conn in pool:
                conn.close()
        self._idle.clear()

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> HttpResponse:
        """POST ``body`` to the absolute ``url`` with ``headers`` (``Host``,
        ``Content-Length``, ``Connection``, ``User-Agent`` are set here)."""
        origin, target = self._split(url)
        head = [f"POST {target} HTTP/1.1", f"Host: {origin.host_header}"]
        head.append(f"Content-Length: {len(body)}")
        head.append(f"User-Agent: {self._user_agent}")
        for name, value in headers.items():
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                raise ValueError("header names and values must not contain CR or LF")
            head.append(f"{name}: {value}")
        raw = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        conn = await self._acquire(origin)
        try:
            async with asyncio.timeout(self.read_timeout):
                conn.writer.write(raw)
                await conn.writer.drain()
                response, keep = await _read_response(conn.reader)
        except TimeoutError as exc:
            conn.close()
            raise ResponseFailed(f"no answer from {origin.host} in time") from exc
        except (OSError, EOFError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            conn.close()
            raise ResponseFailed(
                f"no complete answer from {origin.host}: {type(exc).__name__}"
            ) from exc
        except ResponseFailed:
            conn.close()
            raise
        self._release(origin, conn, keep)
        return response

    def _split(self, url: str) -> tuple[_Origin, str]:
        known = self._origins.get(url)
        if known is not None:
            return known
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        found = (_Origin(parts.scheme, parts.hostname, port), target)
        if len(self._origins) < 256:
            self._origins[url] = found
        return found

    async def _acquire(self, origin: _Origin) -> _Conn:
        if self._closed:
            raise ConnectFailed("the HTTP pool is closed")
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if conn.usable(now):
                return conn
            conn.close()
        context = None
        if origin.scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            context = self._ssl
        try:
            async with asyncio.timeout(self.connect_timeout):
                reader, writer = await asyncio.open_connection(
                    origin.host,
                    origin.port,
                    ssl=context,
                    server_hostname=origin.host if context else None,
                    limit=MAX_HEAD,
                )
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            raise ConnectFailed(f"cannot connect to {origin.host}: {type(exc).__name__}") from exc
        return _Conn(reader, writer)

    def _release(self, origin: _Origin, conn: _Conn, keep: bool) -> None:
        idle = self._idle.setdefault(origin, [])
        if keep and not self._closed and len(idle) < MAX_IDLE:
            conn.idle_since = time.monotonic()
            idle.append(conn)
        else:
            conn.close()


async def _read_response(reader: asyncio.StreamReader) -> tuple[HttpResponse, bool]:
    """One answer (skipping 1xx), and whether the connection may be reused."""
    while True:
        head = await reader.readuntil(b"\r\n\r\n")
        status, version, headers = _parse_head(head)
        if not 100 <= status < 200:
            break
    keep = headers.get("connection", "").lower() != "close" and version == "HTTP/1.1"
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    elif "content-length" in headers:
        length = _int(headers["content-length"], 10)
        if length < 0 or length > MAX_BODY:
            raise ResponseFailed("Content-Length out of bounds")
        body = await reader.readexactly(length)
    elif status in (204, 304):
        body = b""
    else:  # delimited by close
        keep = False
        body = await _read_to_close(reader)
    return HttpResponse(status, body), keep


async def _read_to_close(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    size = 0
    while more := await reader.read(65536):
        size += len(more)
        if size > MAX_BODY:
            raise ResponseFailed("body too large")
        parts.append(more)
    return b"".join(parts)


def _parse_head(head: bytes) -> tuple[int, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code = rest[:3]
    if version not in ("HTTP/1.1", "HTTP/1.0") or len(code) != 3 or not code.isdigit():
        raise ResponseFailed("malformed status line")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise ResponseFailed("malformed header line")
        key = name.lower()
        value = value.strip()
        if key in _FRAMING and headers.get(key, value) != value:
            raise ResponseFailed("conflicting framing headers")
        headers[key] = value
    return int(code), version, headers


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        line = await reader.readuntil(b"\r\n")
        chunk = _int(line.split(b";", 1)[0].strip().decode("latin-1"), 16)
        if chunk < 0 or size + chunk > MAX_BODY:
            raise ResponseFailed("chunked body out of bounds")
        if chunk == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(chunk))
        size += chunk
        if await reader.readexactly(2) != b"\r\n":
            raise ResponseFailed("malformed chunk")


_FRAMING = frozenset({"content-length", "transfer-encoding"})
_DIGITS = {10: frozenset("0123456789"), 16: frozenset("0123456789abcdefABCDEF")}


def _int(text: str, base: int) -> int:
    if not text or len(text) > 16 or not set(text) <= _DIGITS[base]:
        raise ResponseFailed("malformed number in the answer's framing")
    return int(text, base)


class HttpxPoster:
    """The same interface over an ``httpx.AsyncClient`` (injected clients in tests, or a
    proxy configured in the environment)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    @property
    def is_closed(self) -> bool:
        return self.client.is_closed

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> HttpResponse:
        try:
            response = await self.client.post(url, content=body, headers=dict(headers))
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ConnectFailed(type(exc).__name__) from exc
        except httpx.HTTPError as exc:
            raise ResponseFailed(type(exc).__name__) from exc
        return HttpResponse(response.status_code, response.content)

    async def aclose(self) -> None:
        await self.client.aclose()


def proxied(url: str) -> bool:
    """True when the environment configures a proxy for ``url`` (``HTTPS_PROXY`` etc.,
    honouring ``NO_PROXY``)."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass_environment(parts.hostname or "", proxies)


def open_poster(
    base_url: str, *, connect_timeout: float, read_timeout: float, user_agent: str = "idbridge"
) -> Poster:
    """The lean pool, or an httpx client when a proxy is configured for ``base_url``."""
    if proxied(base_url):
        timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        return HttpxPoster(httpx.AsyncClient(timeout=timeout, headers={"User-Agent": user_agent}))
    return Http11Pool(
        connect_timeout=connect_timeout, read_timeout=read_timeout, user_agent=user_agent
    )
