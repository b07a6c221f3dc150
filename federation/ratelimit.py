"""Rate limits in Redis (DESIGN §8): fixed windows counted with ``INCR`` + ``EXPIRE`` in
one Lua script (one round trip, one command, atomic), keys from
:meth:`federation.storage.keys.Keys.rate_limit`.

Two classes of limit, both configured by :class:`federation.settings.Settings`:

- **per client** (``rate_limit_per_client`` per window) on ``/token``, ``/introspect``,
  ``/revoke`` and ``/par``, keyed by the ``client_id`` the request claims (Basic
  credentials, the form, or the client assertion's ``iss``; unverified: the limit runs
  before authentication, so it also slows down secret guessing);
- **per client address** (``rate_limit_per_ip`` per window and route group) on the pages
  people reach and the APIs without client authentication. The address is the peer's,
  or with ``trust_proxy_headers`` the last ``X-Forwarded-For`` hop (the one our proxy
  appended); an IPv6 address counts by its ``rate_limit_ipv6_prefix`` (/64:
  :func:`client_bucket`).

When Redis cannot count, :data:`FAIL_CLOSED` buckets answer 503 and the others let the
request through (:meth:`RateLimiter.hit`).

A refused request gets 429 with ``Retry-After`` (the seconds left in the window):
JSON ``{"error": ...}`` for APIs, the trilingual ``rate_limited`` page for people.
Counters live on the ephemeral Redis (``app.state.ephemeral_redis``) when there is one.
Layer 1: imports the settings, the storage keys, the metrics and the pages only.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus

import redis.asyncio as aioredis
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from redis.exceptions import RedisError

from federation import metrics, untrusted
from federation.addresses import address_bucket
from federation.logs import request_id_var
from federation.pages import ErrorKind, Pages
from federation.settings import Settings
from federation.storage.keys import Keys

log = logging.getLogger("idbridge.ratelimit")

MAX_KEY = 128
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return count
"""
"""Count one request; the window's key gets its TTL when it is created."""


FAIL_CLOSED = frozenset({"client-api", "register"})
"""Buckets that refuse (503) rather than let through when Redis cannot count: the token,
PAR, revocation and introspection endpoints (client secrets and assertions are tried
there) and dynamic registration. The operator login's own limit lives in Redis with the
accounts, so it fails closed too. See docs/operations.md, Limits and overload."""


@dataclass(frozen=True, slots=True)
class Decision:
    """One counted request: allowed or not, and when the window ends."""

    allowed: bool
    count: int
    retry_after: int


class RateLimiter:
    """Fixed-window counters in Redis."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        window: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.window = window
        self.clock = clock
        self._hit = redis.register_script(_HIT)

    async def hit(self, bucket: str, key: str, limit: int) -> Decision:
        """Count one request of ``key`` in ``bucket``; refused beyond ``limit``.

        Redis not answering (down, paused, or no pool connection free within the pool's
        wait): the buckets of :data:`FAIL_CLOSED` re-raise the ``RedisError``, answered 503
        ``temporarily_unavailable`` with ``Retry-After`` — an outage must not switch the
        limit off where secrets are guessed; every other bucket lets the request through
        (fail open): the route then meets the same outage and answers it as it should
        (503 page or JSON), or serves what needs no Redis."""
        now = self.clock()
        window = int(now // self.window)
        name = Keys.rate_limit(bucket, key[:MAX_KEY], window)
        try:
            count = int(await self._hit(keys=[name], args=[self.window]))
        except RedisError:
            log.warning("rate limiter: redis unavailable", extra={"fields": {"bucket": bucket}})
            if bucket in FAIL_CLOSED:
                raise
            return Decision(True, 0, 0)
        retry_after = max(1, int((window + 1) * self.window - now + 0.999))
        return Decision(count <= limit, count, retry_after)


class RateLimited(Exception):
    """Raised by a limit dependency; answered by :func:`rate_limited_response`."""

    def __init__(self, retry_after: int, *, error: str | None) -> None:
        super().__init__("rate limited")
        self.retry_after = retry_after
        self.error = error
        """The JSON ``error`` for APIs; ``None``: a person, show the page."""


def client_bucket(request: Request, settings: Settings) -> str:
    """The caller's address as the per-address limits count it: IPv6 by its
    ``rate_limit_ipv6_prefix`` (/64), IPv4 as it is (:mod:`federation.addresses`)."""
    address = client_address(request, settings.trust_proxy_headers)
    return address_bucket(address, settings.rate_limit_ipv6_prefix)


def client_address(request: Request, trust_proxy_headers: bool) -> str:
    """The caller's address (see the module docstring)."""
    if trust_proxy_headers:
        forwarded = request.headers.get("x-forwarded-for", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return request.client.host if request.client else "unknown"


def claimed_client_id(form: Mapping[str, str], authorization: str | None) -> str | None:
    """The ``client_id`` a token-endpoint request claims (not yet authenticated)."""
    if authorization and authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        return unquote_plus(decoded.partition(":")[0]) or None
    if form.get("client_id"):
        return form["client_id"]
    assertion = form.get("client_assertion", "")
    parts = assertion.split(".")
    if len(parts) == 3:
        try:
            payload = untrusted.loads_b64url(parts[1])
        except (binascii.Error, ValueError):
            return None
        issuer = payload.get("iss") if isinstance(payload, dict) else None
        return issuer if isinstance(issuer, str) and issuer else None
    return None


def _limiter(request: Request) -> RateLimiter | None:
    """The app's limiter; ``None`` when limits are off (or the app has no bridge settings
    or Redis: a router mounted alone in a test)."""
    settings: Settings | None = getattr(request.app.state, "settings", None)
    state = request.app.state
    redis = getattr(state, "ephemeral_redis", None) or getattr(state, "redis", None)
    if settings is None or redis is None or not settings.rate_limit_enabled:
        return None
    limiter = getattr(request.app.state, "rate_limiter", None)
    if limiter is None or limiter.redis is not redis:
        limiter = RateLimiter(redis, window=settings.rate_limit_window)
        request.app.state.rate_limiter = limiter
    return limiter


async def check_client(
    request: Request, bucket: str, client_id: str | None, *, error: str = "rate_limited"
) -> None:
    """Count a request of ``client_id`` (or, without one, of the caller's address) at a
    client-authenticated endpoint; raise :class:`RateLimited` beyond the limit."""
    limiter = _limiter(request)
    if limiter is None:
        return
    settings: Settings = request.app.state.settings
    key = client_id or "addr:" + client_bucket(request, settings)
    decision = await limiter.hit(bucket, key, settings.rate_limit_per_client)
    if not decision.allowed:
        _refused(bucket, decision, settings.rate_limit_per_client)
        raise RateLimited(decision.retry_after, error=error)


def per_address(bucket: str, *, error: str | None = None) -> Callable[[Request], Awaitable[None]]:
    """A route dependency: count the caller's address in ``bucket``. ``error``: the JSON
    error of an API; ``None``: a page for people."""

    async def dependency(request: Request) -> None:
        limiter = _limiter(request)
        if limiter is None:
            return
        settings: Settings = request.app.state.settings
        address = client_bucket(request, settings)
        decision = await limiter.hit(bucket, address, settings.rate_limit_per_ip)
        if not decision.allowed:
            _refused(bucket, decision, settings.rate_limit_per_ip)
            raise RateLimited(decision.retry_after, error=error)

    return dependency


def _refused(bucket: str, decision: Decision, limit: int) -> None:
    """Count every refusal; log the first of a window only (a flood must not flood the
    logs)."""
    metrics.RATE_LIMITED.labels(bucket).inc()
    if decision.count == limit + 1:
        log.warning("rate limit hit", extra={"fields": {"bucket": bucket}})


def rate_limited_response(request: Request, exc: RateLimited) -> Response:
    """429 with ``Retry-After``: JSON for APIs, the ``rate_limited`` page for people."""
    headers = {"Retry-After": str(exc.retry_after), "Cache-Control": "no-store"}
    if exc.error is not None:
        body = {
            "error": exc.error,
            "error_description": "too many requests; retry later",
            "reference": request_id_var.get(),
        }
        return JSONResponse(body, status_code=429, headers=headers)
    pages: Pages | None = getattr(request.app.state, "pages", None)
    if pages is None:
        pages = request.app.state.pages = Pages(request.app.state.settings)
    response = pages.render_error(
        ErrorKind.RATE_LIMITED, pages.locale_for(request), request=request, status_code=429
    )
    response.headers.update(headers)
    return response


def install_rate_limits(app: FastAPI) -> None:
    """Answer :class:`RateLimited` on ``app`` (idempotent)."""

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RateLimited)
        return rate_limited_response(request, exc)

    app.add_exception_handler(RateLimited, handler)
