"""Prometheus metrics (issue 11): every family the bridge exports, and their exposition.

Layer 1: imports ``prometheus_client``, Starlette's ASGI types and the standard library
only, so that any layer may count. Labels are bounded, fixed vocabularies (route
templates, step names, grant types, error *codes*, result words) — never a person, a
client secret, a token or an address (the ``client_id`` is not a label either: a
registration endpoint lets anyone add clients, so it would be unbounded).

**Multiprocess mode.** ``idbridge serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh
directory before uvicorn starts its workers, so each worker writes its samples to files
there and :func:`exposition` merges them (``prometheus_client.multiprocess``): several
workers report as one. Without the variable (one process, the tests) the default
registry is used.

The endpoint (``GET /metrics``, :func:`federation.app.create_base_app`) answers only a
bearer token equal to ``IDBRIDGE_METRICS_TOKEN``; without one configured it does not exist
(404): never public by default.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
_STEP = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,24}$")

LOGINS = Counter(
    "idbridge_logins",
    "Login journeys that ended, by outcome (success or the error page kind) and the "
    "upstream's error code ('none' when the upstream did not refuse).",
    ["outcome", "upstream_error"],
)
JOURNEY_STEP = Histogram(
    "idbridge_journey_step_seconds",
    "Latency of each step of the login journey as the bridge served it.",
    ["step"],
    buckets=_STEP,
)
HTTP_REQUESTS = Histogram(
    "idbridge_http_request_seconds",
    "Latency of every request, by route template, method and status class.",
    ["route", "method", "status"],
    buckets=_STEP,
)
UPSTREAM_CALL = Histogram(
    "idbridge_upstream_call_seconds",
    "Latency of each call to the upstream (iAM Smart API), by connector and API name.",
    ["connector", "call"],
    buckets=_STEP,
)
UPSTREAM_ERRORS = Counter(
    "idbridge_upstream_errors",
    "Upstream calls that failed: transport errors and HTTP status >= 400.",
    ["connector", "call", "error"],
)
CONSENT_EVENTS = Counter(
    "idbridge_consent_events",
    "Consent events appended to the audit chain (granted, reconsented, denied, revoked "
    "= withdrawn, expired).",
    ["event"],
)
TOKENS_ISSUED = Counter(
    "idbridge_tokens_issued", "Token responses issued, by grant type.", ["grant_type"]
)
BACKCHANNEL_LOGOUT = Counter(
    "idbridge_backchannel_logout",
    "Back-channel logout deliveries by result (ok, rejected, failed, refused_egress).",
    ["result"],
)
RATE_LIMITED = Counter(
    "idbridge_rate_limit_refusals", "Requests refused by a rate limit, by bucket.", ["bucket"]
)
REDIS_COMMAND = Histogram(
    "idbridge_redis_command_seconds",
    "Redis round trips (a command, a script, a pipeline) by store (durable, ephemeral) and "
    "command, including the WAIT for replicas of durable writes.",
    ["store", "command"],
    buckets=_FAST,
)
REDIS_ERRORS = Counter(
    "idbridge_redis_errors",
    "Redis round trips that failed, by store and error class (ConnectionError, "
    "ReplicasUnavailable, ...).",
    ["store", "error"],
)
AUDIT_VERIFY_OK = Gauge(
    "idbridge_audit_verify_ok",
    "Result of the last `idbridge audit verify`: 1 intact, 0 broken, -1 never run.",
    multiprocess_mode="mostrecent",
)
AUDIT_VERIFY_TIME = Gauge(
    "idbridge_audit_verify_timestamp_seconds",
    "When the last `idbridge audit verify` ran (Unix time; 0: never).",
    multiprocess_mode="mostrecent",
)
AUDIT_HEAD_SEQ = Gauge(
    "idbridge_audit_head_seq",
    "Sequence number of the audit chain's head.",
    multiprocess_mode="mostrecent",
)


def code_label(code: str | None) -> str:
    """An upstream error code as a label: the code itself when it looks like one (short,
    ``[A-Za-z0-9_.-]``), ``none`` for no code, ``other`` for anything else."""
    if not code:
        return "none"
    return code if _CODE.match(code) else "other"


@contextmanager
def timed(histogram: Histogram, **labels: str) -> Iterator[None]:
    """Observe the block's duration in ``histogram`` with ``labels``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        histogram.labels(**labels).observe(time.perf_counter() - start)


def set_audit_status(verified: dict[str, str], head_seq: int) -> None:
    """Gauges from the recorded verification (``Keys.AUDIT_VERIFIED``) and the head."""
    ok = verified.get("ok")
    AUDIT_VERIFY_OK.set(-1 if ok is None else (1 if ok == "1" else 0))
    AUDIT_VERIFY_TIME.set(float(verified.get("ts", 0) or 0))
    AUDIT_HEAD_SEQ.set(head_seq)


def exposition() -> tuple[bytes, str]:
    """The text exposition of every worker (multiprocess) or of this process."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


JOURNEY_STEPS: dict[tuple[str, str], str] = {
    ("GET", "/authorize"): "authorize",
    ("POST", "/authorize"): "authorize",
    ("GET", "/upstream/{connector_id}/callback"): "upstream_callback",
    ("POST", "/upstream/{connector_id}/callback"): "upstream_result",
    ("GET", "/journey/continue"): "continue",
    ("GET", "/journey/status"): "status",
    ("GET", "/journey/consent"): "consent_page",
    ("POST", "/journey/consent"): "consent",
    ("GET", "/journey/finish"): "finish",
    ("POST", "/token"): "token",
}
"""(method, route template) → the journey step it serves."""


class MetricsMiddleware:
    """Pure ASGI: times every HTTP request under its route *template* (never the path,
    which may carry ids) and, for the journey's routes, its step."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = str(scope.get("method", "GET"))
            HTTP_REQUESTS.labels(route, method, f"{status[0] // 100}xx").observe(elapsed)
            step = JOURNEY_STEPS.get((method, route))
            if step is not None:
                JOURNEY_STEP.labels(step).observe(elapsed)


class TimedPoster:
    """Wraps an upstream HTTP poster (``connectors.iamsmart.http11.Poster``: ``post(url,
    body, headers)``): each call's latency under its API name (the URL's last path
    segment, e.g. ``getToken``), failures by exception class or HTTP status."""

    def __init__(self, inner: Any, connector: str) -> None:
        self._inner = inner
        self._connector = connector

    async def post(self, url: str, body: bytes, headers: Any) -> Any:
        """The inner ``post``, timed and counted."""
        call = url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0][:48] or "root"
        start = time.perf_counter()
        try:
            response = await self._inner.post(url, body, headers)
        except Exception as exc:
            UPSTREAM_ERRORS.labels(self._connector, call, type(exc).__name__).inc()
            raise
        finally:
            UPSTREAM_CALL.labels(self._connector, call).observe(time.perf_counter() - start)
        status = int(getattr(response, "status_code", 200))
        if status >= 400:
            UPSTREAM_ERRORS.labels(self._connector, call, f"http_{status}").inc()
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
