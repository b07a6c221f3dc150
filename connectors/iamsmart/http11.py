"""A small HTTP/1.1 client for JSON POSTs: the connector's calls to the iAM Smart API and
the simulator's result POSTs to relying parties.

Why not httpx for these: a login makes four signed POSTs to iAM Smart and the simulator
two result POSTs back, and httpx + httpcore cost ~0.5-1 ms of CPU each (request model,
cookie jar, redirect and auth machinery, a readability probe of every pooled connection
per request), a quarter of the bridge's CPU per login in py-spy. This client does one
thing: ``POST`` a body over a keep-alive connection (``http`` or ``https``, TLS context
made once per pool) and read a bounded answer. No redirects, cookies, proxies or
compression — the callers need none; when a proxy is configured in the environment,
:func:`open_poster` gives an httpx-backed poster instead (same limits and errors).

What it enforces (the answer is parsed by :mod:`connectors.iamsmart.http11_wire`, RFC 9112):
every limit in that module; a connect timeout (TCP + TLS handshake) and a read timeout
covering the whole exchange (write, every 1xx, head and body: a slow drip cannot extend
it); TLS with certificate and host name verification, SNI and TLS >= 1.2 (the system CA
store, or only ``ca_file``); plain ``http`` only to loopback unless ``allow_http``; no
reuse of a connection that is closed, timed out, answered ``Connection: close``, failed,
was cancelled, or holds bytes nobody asked for. A POST is never re-sent by this module
(RFC 9112 §9.3.1: not idempotent); an idle connection whose close, reset or stray bytes
the event loop has already seen is dropped before anything is written, and a new one opened.

Errors (all :class:`HttpFailure`): :class:`ConnectFailed` — the request never reached the
server (DNS, refused, connect timeout, :class:`TlsFailed`): always safe to retry;
:class:`ResponseFailed` — it may have arrived but no complete, well-formed answer came back
(:class:`ResponseTimeout`, :class:`ConnectionLost`, :class:`MalformedResponse`,
:class:`ResponseTooLarge`): retry only what is idempotent. A bad URL or header from the
*caller* is a ``ValueError`` before anything is sent.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import ssl
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from connectors.iamsmart.http11_wire import (
    MAX_BODY,
    MAX_FIELDS,
    MAX_HEAD,
    MAX_LINE,
    ConnectFailed,
    ConnectionLost,
    HttpFailure,
    HttpResponse,
    MalformedResponse,
    ResponseFailed,
    ResponseTimeout,
    ResponseTooLarge,
    TlsFailed,
    check_field_value,
    check_request_fields,
    read_response,
)

__all__ = [
    "KEEPALIVE_EXPIRY",
    "MAX_BODY",
    "MAX_FIELDS",
    "MAX_HEAD",
    "MAX_IDLE",
    "MAX_LINE",
    "ConnectFailed",
    "ConnectionLost",
    "Http11Pool",
    "HttpFailure",
    "HttpResponse",
    "HttpxPoster",
    "MalformedResponse",
    "Poster",
    "ResponseFailed",
    "ResponseTimeout",
    "ResponseTooLarge",
    "TlsFailed",
    "open_poster",
    "proxied",
]

KEEPALIVE_EXPIRY = 4.0
"""Idle connections older than this are not reused (uvicorn closes them after 5 s)."""
MAX_IDLE = 32
"""Idle connections kept per origin."""


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
        """Still open, not expired, no error, and nothing unread: bytes that arrived while
        idle (an unsolicited 408, a body longer than its framing) would be taken for the
        next answer. ``_buffer`` is StreamReader's buffer (no public accessor)."""
        reader = self.reader
        return (
            now - self.idle_since < KEEPALIVE_EXPIRY
            and not reader.at_eof()
            and not self.writer.is_closing()
            and reader.exception() is None
            and not getattr(reader, "_buffer", b"")
        )

    def close(self) -> None:
        self.writer.close()


@dataclass(frozen=True, slots=True)
class _Origin:
    scheme: str
    host: str
    port: int

    @property
    def authority(self) -> str:
        """The ``Host`` field value (RFC 9112 §3.2)."""
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def _caused_by_tls(exc: BaseException) -> bool:
    """Whether an ``ssl.SSLError`` (a certificate or protocol failure) is in the chain."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback address (``127.0.0.0/8``, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _tls_context(ca_file: str | Path | None) -> ssl.SSLContext:
    """Verification on (CERT_REQUIRED, host name check), TLS >= 1.2; the system CA store
    (``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` honoured) or only ``ca_file``."""
    context = ssl.create_default_context(cafile=None if ca_file is None else str(ca_file))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class Http11Pool:
    """Keep-alive connections per origin; share one per process (or per app)."""

    def __init__(
        self,
        *,
        connect_timeout: float,
        read_timeout: float,
        user_agent: str = "idbridge",
        ssl_context: ssl.SSLContext | None = None,
        ca_file: str | Path | None = None,
        allow_http: bool = False,
    ) -> None:
        """``ssl_context`` (verifying, TLS >= 1.2) or ``ca_file`` replace the system CA
        store; ``allow_http`` permits plain http to hosts other than loopback."""
        for name, value in (("connect_timeout", connect_timeout), ("read_timeout", read_timeout)):
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds")
        if ssl_context is not None and ca_file is not None:
            raise ValueError("give ssl_context or ca_file, not both")
        if ssl_context is not None and not (
            ssl_context.verify_mode == ssl.CERT_REQUIRED
            and ssl_context.check_hostname
            and ssl_context.minimum_version >= ssl.TLSVersion.TLSv1_2
        ):
            raise ValueError("ssl_context must verify certificates and host names, TLS >= 1.2")
        check_field_value(user_agent)
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._agent_line = f"User-Agent: {user_agent}"
        self._ssl = ssl_context if ca_file is None else _tls_context(ca_file)
        self._allow_http = allow_http
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
        ``Content-Length``, ``User-Agent`` are set here; ``Connection``,
        ``Transfer-Encoding`` and the like may not be given)."""
        origin, start = self._split(url)
        check_request_fields(headers)
        head = [start, f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        raw = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        conn = await self._acquire(origin)
        try:
            async with asyncio.timeout(self.read_timeout):
                conn.writer.write(raw)
                await conn.writer.drain()
                response, keep = await read_response(conn.reader)
        except TimeoutError as exc:
            conn.close()
            raise ResponseTimeout(f"no complete answer from {origin.host} in time") from exc
        except asyncio.LimitOverrunError as exc:
            conn.close()
            raise ResponseTooLarge(f"a line of the answer from {origin.host} is too long") from exc
        except (OSError, EOFError) as exc:  # IncompleteReadError is an EOFError
            conn.close()
            raise ConnectionLost(
                f"connection to {origin.host} lost before a complete answer: {type(exc).__name__}"
            ) from exc
        except BaseException:  # HttpFailure, cancellation: never reuse a half-read connection
            conn.close()
            raise
        self._release(origin, conn, keep)
        return response

    def _split(self, url: str) -> tuple[_Origin, str]:
        """The origin and the request's first lines (cached per URL)."""
        known = self._origins.get(url)
        if known is not None:
            return known
        parts = urlsplit(url)
        host = parts.hostname
        if parts.scheme not in ("http", "https") or not host:
            raise ValueError(f"not an http(s) URL: {url!r}")
        if not host.isascii() or not host.isprintable() or " " in host:
            raise ValueError("the URL's host must be ASCII (IDNA-encoded)")
        if parts.scheme == "http" and not (self._allow_http or is_loopback_host(host)):
            raise ValueError("plain http is allowed to loopback hosts only (allow_http)")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if not target.isascii() or not target.isprintable() or " " in target:
            raise ValueError("the URL's path and query must be percent-encoded ASCII")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        origin = _Origin(parts.scheme, host, port)
        found = (
            origin,
            f"POST {target} HTTP/1.1\r\nHost: {origin.authority}\r\n{self._agent_line}",
        )
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
                self._ssl = _tls_context(None)
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
        except ssl.SSLCertVerificationError as exc:
            raise TlsFailed(
                f"TLS certificate of {origin.host} not accepted: {exc.verify_message}"
            ) from exc
        except ssl.SSLError as exc:
            raise TlsFailed(f"TLS handshake with {origin.host} failed: {exc.reason}") from exc
        except TimeoutError as exc:
            raise ConnectFailed(f"cannot connect to {origin.host} in time") from exc
        except ConnectionResetError as exc:
            if context is None:
                raise ConnectFailed(f"{origin.host} reset the connection") from exc
            raise TlsFailed(f"{origin.host} broke off the TLS handshake") from exc
        except (OSError, UnicodeError) as exc:  # UnicodeError: a host IDNA cannot encode
            raise ConnectFailed(f"cannot connect to {origin.host}: {type(exc).__name__}") from exc
        return _Conn(reader, writer)

    def _release(self, origin: _Origin, conn: _Conn, keep: bool) -> None:
        idle = self._idle.setdefault(origin, [])
        if not (keep and not self._closed and len(idle) < MAX_IDLE):
            conn.close()
            return
        now = conn.idle_since = time.monotonic()
        idle.append(conn)
        while now - idle[0].idle_since >= KEEPALIVE_EXPIRY:  # oldest first; never the new one
            idle.pop(0).close()


class HttpxPoster:
    """The same interface over an ``httpx.AsyncClient`` (injected clients in tests, or a
    proxy configured in the environment): the body is bounded by ``MAX_BODY`` (decoded
    bytes) and, when ``total_timeout`` is set, the whole exchange by it."""

    def __init__(self, client: httpx.AsyncClient, *, total_timeout: float | None = None) -> None:
        self.client = client
        self.total_timeout = total_timeout

    @property
    def is_closed(self) -> bool:
        return self.client.is_closed

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> HttpResponse:
        try:
            async with asyncio.timeout(self.total_timeout):
                request = self.client.stream("POST", url, content=body, headers=dict(headers))
                async with request as response:
                    parts: list[bytes] = []
                    size = 0
                    async for piece in response.aiter_bytes():
                        size += len(piece)
                        if size > MAX_BODY:
                            raise ResponseTooLarge("body too large")
                        parts.append(piece)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            if _caused_by_tls(exc):
                raise TlsFailed(f"TLS handshake failed: {exc}") from exc
            raise ConnectFailed(type(exc).__name__) from exc
        except httpx.HTTPError as exc:
            raise ResponseFailed(type(exc).__name__) from exc
        except TimeoutError as exc:
            raise ResponseTimeout("no complete answer in time") from exc
        return HttpResponse(response.status_code, b"".join(parts))

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
    base_url: str,
    *,
    connect_timeout: float,
    read_timeout: float,
    user_agent: str = "idbridge",
    ca_file: str | Path | None = None,
    allow_http: bool = False,
) -> Poster:
    """The lean pool, or an httpx client when a proxy is configured for ``base_url`` (then
    ``connect + read`` bounds the whole exchange, as it does with the pool)."""
    if proxied(base_url):
        if base_url.startswith("http://") and not allow_http:
            host = urlsplit(base_url).hostname or ""
            if not is_loopback_host(host):
                raise ValueError("plain http is allowed to loopback hosts only (allow_http)")
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            headers={"User-Agent": user_agent, "Accept-Encoding": "identity"},
            verify=_tls_context(ca_file),
        )
        return HttpxPoster(client, total_timeout=connect_timeout + read_timeout)
    return Http11Pool(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        user_agent=user_agent,
        ca_file=ca_file,
        allow_http=allow_http,
    )
