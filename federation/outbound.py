"""The product's one HTTP client for outgoing calls, on aiohttp (its C parser, llhttp):
the iAM Smart API, the simulator's result POSTs and back-channel logout.

What it guarantees for every ``POST`` (the tests in ``tests/federation/test_outbound.py``
prove each against raw and TLS servers on loopback):

* bounds: one head line or field at most :data:`MAX_LINE`, at most :data:`MAX_FIELDS`
  field lines, a body of at most :data:`MAX_BODY` (a larger ``Content-Length`` is refused
  before any of it is read); ``Transfer-Encoding`` with ``Content-Length`` is refused as a
  smuggling sign (RFC 9112 §6.1), so is a 101 nobody asked for;
* one total deadline per exchange (``connect_timeout + read_timeout``: connect, TLS, write,
  every 1xx, head and body — a slow drip cannot extend it), the connect phase (name
  resolution, TCP, TLS handshake) also bounded by ``connect_timeout`` alone;
* TLS >= 1.2 with certificate and host-name verification, SNI (the system CA store, which
  ``SSL_CERT_FILE`` can replace, or only ``ca_file``); plain ``http`` only to loopback unless
  ``allow_http``;
* no redirects followed (a 3xx is returned as it is), no cookies (a dummy jar), no
  decompression (no ``Accept-Encoding`` sent), no proxy except one the environment
  configures for the URL (``HTTPS_PROXY`` …, ``NO_PROXY`` honoured; never for a pinned
  destination), no ``.netrc``;
* a POST is never re-sent (aiohttp retries a stale keep-alive connection for idempotent
  methods only; RFC 9112 §9.3.1); a connection that failed, was cancelled, answered
  ``Connection: close`` or holds bytes nobody asked for is never reused;
* typed errors (:class:`HttpFailure`): :class:`ConnectFailed` (:class:`TlsFailed`) — the
  request never reached the server, always safe to retry; :class:`ResponseFailed`
  (:class:`ResponseTimeout`, :class:`ConnectionLost`, :class:`MalformedResponse`,
  :class:`ResponseTooLarge`) — it may have arrived: retry only what is idempotent. A bad
  URL or header from the *caller* is a ``ValueError`` before anything is sent.

:class:`PinnedResolver` makes a connection go to one already-checked address while the URL,
``Host`` and TLS server name keep the host name (the back-channel egress guard).

Layer 1 (see :mod:`federation`): imports the standard library, aiohttp and its yarl only.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import re
import socket
import ssl
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from federation import untrusted

MAX_LINE = 8 * 1024
"""Largest status line or field line of an answer."""
MAX_FIELDS = 100
"""Most field lines in one head."""
MAX_BODY = 4 * 1024 * 1024
"""Largest body accepted."""
KEEPALIVE_EXPIRY = 4.0
"""Idle connections older than this are not reused (uvicorn closes them after 5 s)."""
MAX_IDLE = 32
"""Connections kept per origin."""


class HttpFailure(Exception):
    """A POST that did not produce a complete answer."""


class ConnectFailed(HttpFailure):
    """The request never reached the server: safe to retry."""


class TlsFailed(ConnectFailed):
    """The TLS handshake failed (certificate not trusted, wrong host name, old protocol):
    nothing was sent."""


class ResponseFailed(HttpFailure):
    """The request may have reached the server, but no usable answer came back."""


class ResponseTimeout(ResponseFailed):
    """No complete answer within the deadline."""


class ConnectionLost(ResponseFailed):
    """The connection closed or broke before a complete answer."""


class MalformedResponse(ResponseFailed):
    """The answer breaks HTTP/1.1 message syntax or framing (RFC 9112)."""


class ResponseTooLarge(ResponseFailed):
    """The answer exceeds one of this module's limits."""


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """Status and body of an answer (the body is empty when it was not read)."""

    status_code: int
    content: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    """The answer's fields (multidict, case-insensitive) when the client read them."""

    def json(self) -> Any:
        """The body as JSON, read as untrusted input (``ValueError`` if it is not JSON, too
        deep, too large or not valid Unicode)."""
        return untrusted.loads(self.content, max_bytes=untrusted.MAX_UPSTREAM)


class Poster(Protocol):
    """What callers need: POST bytes, get status and body."""

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, read_body: bool = True
    ) -> HttpResponse: ...

    async def aclose(self) -> None: ...


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CTL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_RESERVED = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "te"}
    | {"trailer", "upgrade", "expect", "user-agent"}
)


def check_request_fields(fields: Mapping[str, str]) -> None:
    """``ValueError`` unless every name is a token we let callers set and no value has a
    control character (header injection, request smuggling; RFC 9110 §5.1, §5.5)."""
    for name in fields:
        if not _TOKEN.fullmatch(name):
            raise ValueError("a header name must be an RFC 9110 token")
        if name.lower() in _RESERVED:
            raise ValueError(f"the {name} header is set by the HTTP client")
    check_field_value("\t".join(fields.values()))


def check_field_value(value: str) -> None:
    """``ValueError`` if ``value`` holds a control character other than HTAB (CR, LF, NUL)."""
    if _CTL.search(value):
        raise ValueError("header values must not contain CR, LF, NUL or other controls")


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback address (``127.0.0.0/8``, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def tls_context(ca_file: str | Path | None = None) -> ssl.SSLContext:
    """Verification on (CERT_REQUIRED, host name check), TLS >= 1.2; the system CA store
    (``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` honoured) or only ``ca_file``."""
    context = ssl.create_default_context(cafile=None if ca_file is None else str(ca_file))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def proxy_for(url: str) -> str | None:
    """The proxy the environment configures for ``url`` (``HTTPS_PROXY`` etc., honouring
    ``NO_PROXY``), or None."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass_environment(parts.hostname or "", proxies):
        return None
    return proxy


def proxied(url: str) -> bool:
    """True when the environment configures a proxy for ``url``."""
    return proxy_for(url) is not None


class PinnedResolver(AbstractResolver):
    """Resolves ``host`` to the one ``address`` already checked, and nothing else."""

    def __init__(self, host: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
        self.host, self.address = host, address

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host != self.host:
            raise OSError(f"{host} is not the pinned host")
        family = socket.AF_INET6 if self.address.version == 6 else socket.AF_INET
        return [
            ResolveResult(
                hostname=host, host=str(self.address), port=port, family=family, proto=0, flags=0
            )
        ]

    async def close(self) -> None:
        return None


def _positive(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number of seconds")


class HttpClient:
    """Keep-alive connections per origin over one aiohttp session (made on first use, in
    the running event loop); share one per process or per app."""

    def __init__(
        self,
        *,
        connect_timeout: float,
        read_timeout: float,
        user_agent: str = "idbridge",
        ssl_context: ssl.SSLContext | None = None,
        ca_file: str | Path | None = None,
        allow_http: bool = False,
        resolver: AbstractResolver | None = None,
        use_env_proxy: bool = True,
    ) -> None:
        """``ssl_context`` (verifying, TLS >= 1.2) or ``ca_file`` replace the system CA
        store; ``allow_http`` permits plain http to hosts other than loopback; ``resolver``
        replaces name resolution (:class:`PinnedResolver`)."""
        _positive("connect_timeout", connect_timeout)
        _positive("read_timeout", read_timeout)
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
        self.total_timeout = connect_timeout + read_timeout
        self._headers = {"User-Agent": user_agent}
        self._ssl = ssl_context or tls_context(ca_file)
        self._allow_http = allow_http
        self._resolver = resolver
        self._use_env_proxy = use_env_proxy and resolver is None
        self._session: aiohttp.ClientSession | None = None
        self._checked: dict[str, tuple[str, str | None, URL]] = {}
        self._closed = False

    @property
    def is_closed(self) -> bool:
        """True after :meth:`aclose`."""
        return self._closed

    async def aclose(self) -> None:
        """Close every connection; later POSTs fail with :class:`ConnectFailed`."""
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            ssl=self._ssl,
            limit=0,
            limit_per_host=MAX_IDLE,
            keepalive_timeout=KEEPALIVE_EXPIRY,
            resolver=self._resolver,
            use_dns_cache=self._resolver is None,
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            headers=self._headers,
            skip_auto_headers=("Accept", "Accept-Encoding"),
            auto_decompress=False,
            trust_env=False,
            timeout=aiohttp.ClientTimeout(
                total=None, connect=self.connect_timeout, sock_connect=self.connect_timeout
            ),
            max_line_size=MAX_LINE,
            max_field_size=MAX_LINE,
            max_headers=MAX_FIELDS,
        )

    def _check_url(self, url: str) -> tuple[str, str | None, URL]:
        """The host (for messages), the proxy and the parsed URL (cached per URL: aiohttp
        then parses nothing); ``ValueError`` for a URL we never send."""
        known = self._checked.get(url)
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
        found = (host, proxy_for(url) if self._use_env_proxy else None, URL(url))
        if len(self._checked) < 256:
            self._checked[url] = found
        return found

    async def get(
        self, url: str, headers: Mapping[str, str], *, max_body: int = MAX_BODY
    ) -> HttpResponse:
        """GET ``url`` (same rules as :meth:`post`; a body bounded by ``max_body``)."""
        return await self._request("GET", url, None, headers, True, max_body)

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, read_body: bool = True
    ) -> HttpResponse:
        """POST ``body`` to the absolute ``url`` with ``headers`` (``Host``,
        ``Content-Length``, ``User-Agent`` are set here; ``Connection``,
        ``Transfer-Encoding`` and the like may not be given). With ``read_body=False`` only
        the status is read and the connection closed (an endless body costs nothing)."""
        return await self._request("POST", url, body, headers, read_body, MAX_BODY)

    async def _request(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: Mapping[str, str],
        read_body: bool,
        max_body: int,
    ) -> HttpResponse:
        host, proxy, parsed = self._check_url(url)
        check_request_fields(headers)
        if self._closed:
            raise ConnectFailed("the HTTP client is closed")
        if self._session is None:
            self._session = self._open()
        try:
            async with asyncio.timeout(self.total_timeout):
                return await self._exchange(
                    method, parsed, body, headers, proxy, read_body, max_body
                )
        except aiohttp.ConnectionTimeoutError as exc:  # before TimeoutError: a subclass
            raise ConnectFailed(f"cannot connect to {host} in time") from exc
        except TimeoutError as exc:
            raise ResponseTimeout(f"no complete answer from {host} in time") from exc
        except aiohttp.ClientConnectorCertificateError as exc:
            reason = getattr(exc.certificate_error, "verify_message", None) or str(exc)
            raise TlsFailed(f"TLS certificate of {host} not accepted: {reason}") from exc
        except (aiohttp.ClientSSLError, ssl.SSLError) as exc:
            raise TlsFailed(f"TLS handshake with {host} failed") from exc
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, ConnectionResetError) and url.startswith("https:"):
                raise TlsFailed(f"{host} broke off the TLS handshake") from exc
            raise ConnectFailed(f"cannot connect to {host}: {type(exc).__name__}") from exc
        except aiohttp.ClientResponseError as exc:
            raise _parse_failure(exc, host) from exc
        except aiohttp.ClientPayloadError as exc:
            raise _payload_failure(exc, host) from exc
        except (aiohttp.ClientConnectionError, OSError, EOFError) as exc:
            raise ConnectionLost(
                f"connection to {host} lost before a complete answer: {type(exc).__name__}"
            ) from exc
        except aiohttp.InvalidURL as exc:
            raise ValueError(f"not a usable URL: {exc}") from exc

    async def _exchange(
        self,
        method: str,
        url: URL,
        body: bytes | None,
        headers: Mapping[str, str],
        proxy: str | None,
        read_body: bool,
        max_body: int,
    ) -> HttpResponse:
        assert self._session is not None
        async with self._session.request(
            method, url, data=body, headers=headers, allow_redirects=False, proxy=proxy
        ) as response:
            status = response.status
            try:
                _check_head(response)
            except MalformedResponse:
                response.close()
                raise
            if not read_body:
                response.close()
                return HttpResponse(status, b"")
            length = response.content_length
            if length is not None and length > max_body:
                response.close()
                raise ResponseTooLarge(f"body of {length} bytes beyond the body limit")
            parts: list[bytes] = []
            size = 0
            async for piece in response.content.iter_any():
                size += len(piece)
                if size > max_body:
                    response.close()
                    raise ResponseTooLarge("body beyond the body limit")
                parts.append(piece)
        return HttpResponse(status, b"".join(parts), response.headers)


def _check_head(response: aiohttp.ClientResponse) -> None:
    """What llhttp lets through in an answer (aiohttp runs it leniently for responses) but
    RFC 9112 / 9110 refuse: a status outside 200-599 (101 was never asked for), controls
    in the reason, a field name that is not a token, a control in a value, and any
    ``Transfer-Encoding`` but one ``chunked`` in an HTTP/1.1 answer (§6.1)."""
    status = response.status
    if status == 101:
        raise MalformedResponse("101 Switching Protocols, but no upgrade was asked for")
    if not 200 <= status <= 599:
        raise MalformedResponse(f"status {status} is not a final HTTP status")
    if _CTL.search(response.reason or ""):
        raise MalformedResponse("control character in the reason phrase")
    codings = 0
    for raw_name, raw_value in response.raw_headers:
        name = raw_name.decode("latin-1")
        if not _TOKEN.fullmatch(name):
            raise MalformedResponse("invalid field name (RFC 9112 §5.1)")
        if _CTL.search(raw_value.decode("latin-1")):
            raise MalformedResponse("control character in a field value (RFC 9110 §5.5)")
        if name.lower() == "transfer-encoding":
            codings += 1
            if raw_value.strip(b" \t").lower() != b"chunked":
                raise MalformedResponse("a Transfer-Encoding other than chunked")
    if codings and (codings > 1 or response.version != aiohttp.HttpVersion11):
        raise MalformedResponse("Transfer-Encoding twice, or in an HTTP/1.0 answer")


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(seen) < 8:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _parse_failure(exc: aiohttp.ClientResponseError, host: str) -> ResponseFailed:
    """The parser's refusal of an answer, typed (a line or head beyond a limit is too large,
    anything else malformed)."""
    names = {type(e).__name__ for e in _chain(exc)}
    message = str(exc.message)
    if "LineTooLong" in names or "Too many" in message or "too long" in message.lower():
        return ResponseTooLarge(f"the answer from {host} is beyond a limit: {message}")
    return MalformedResponse(f"malformed answer from {host}: {message}")


def _payload_failure(exc: aiohttp.ClientPayloadError, host: str) -> ResponseFailed:
    """A broken body: cut short is a lost connection, bad framing malformed."""
    text = " ".join(str(e) for e in _chain(exc))
    if "Not enough data" in text or "not completed" in text:
        return ConnectionLost(f"the answer from {host} was cut short")
    return MalformedResponse(f"malformed body from {host}: {text[:200]}")
