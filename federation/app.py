"""The FastAPI app factory (top layer): wires settings, Redis, key sets, clients, the
upstream connector, mapping profiles, consent, pages and the routers of every front end.

- :func:`create_app` — the whole bridge; what ``uvicorn --factory`` (``idbridge serve``)
  and the flow tests run;
- :func:`create_base_app` — middleware, error handling, health and Redis only, for tests
  that mount one router on their own.

At start-up (when Redis is up) :func:`federation.journey.wiring.start_bridge` builds the
consent services with the OIDC revoker (tokens + back-channel logout) and installs the
consent checker on the provider.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException

from federation import logs, metrics
from federation.logs import request_id_var
from federation.pages import ErrorKind, Pages
from federation.settings import Settings, get_settings
from federation.storage.client import durable_client, ephemeral_client
from federation.storage.keys import Keys
from federation.web import AdmissionControl, RequestContextMiddleware

log = logging.getLogger("idbridge.app")

Hook = Callable[[FastAPI], Awaitable[None]]


def create_app(settings: Settings | None = None) -> FastAPI:
    """The whole bridge from ``settings`` (default: the environment)."""
    from federation.journey.wiring import install_bridge
    from federation.production import enforce

    settings = settings or get_settings()
    app = create_base_app(settings)  # the logs are configured: the warnings go there
    enforce(settings)  # an https bridge refuses the demo's configuration
    install_bridge(app)
    return app


def create_base_app(settings: Settings | None = None) -> FastAPI:
    """Middleware, error handlers, ``/healthz``, ``/readyz`` and Redis: ``app.state.redis``
    (durable) and ``app.state.ephemeral_redis`` (journeys, counters, caches).

    ``app.state.start_hooks`` / ``stop_hooks`` run after Redis connects / before it closes.
    """
    settings = settings or get_settings()
    logs.configure(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.redis = durable_client(settings)
        app.state.ephemeral_redis = ephemeral_client(settings, app.state.redis)
        try:
            for hook in app.state.start_hooks:
                await hook(app)
            yield
        finally:
            for hook in reversed(app.state.stop_hooks):
                await hook(app)
            if app.state.ephemeral_redis is not app.state.redis:
                await app.state.ephemeral_redis.aclose()
            await app.state.redis.aclose()

    app = FastAPI(
        title="idbridge",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.start_hooks = []
    app.state.stop_hooks = []
    # the last added runs first: request ids and security headers wrap the metrics,
    # which count admission's 503s too
    app.add_middleware(AdmissionControl, limit=settings.max_requests_in_flight)
    app.add_middleware(metrics.MetricsMiddleware)
    app.add_middleware(RequestContextMiddleware, hsts=settings.issuer.startswith("https://"))
    _install_error_handlers(app)
    _install_health(app)
    _install_metrics(app)
    return app


def _install_metrics(app: FastAPI) -> None:
    @app.get("/metrics", include_in_schema=False)
    async def metrics_endpoint(request: Request) -> Response:
        """Prometheus exposition, for ``Authorization: Bearer $IDBRIDGE_METRICS_TOKEN``
        only; without a configured token the endpoint does not exist."""
        token = request.app.state.settings.metrics_token
        if token is None:
            raise StarletteHTTPException(404, "not found")
        given = request.headers.get("authorization", "")
        expected = "Bearer " + token.get_secret_value()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise StarletteHTTPException(401, "metrics need the bearer token")
        await _audit_status(request.app)
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})


async def _audit_status(app: FastAPI) -> None:
    """The audit gauges, read at scrape time from what ``idbridge audit verify`` recorded."""
    try:
        verified = await app.state.redis.hgetall(Keys.AUDIT_VERIFIED)
        seq = await app.state.redis.hget(Keys.AUDIT_HEAD, "seq")
    except RedisError:
        return  # the Redis families say why
    metrics.set_audit_status(verified, int(seq or 0))


def _install_health(app: FastAPI) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> Response:
        """Readiness: the durable and the ephemeral Redis answer PING."""
        state = request.app.state
        try:
            await state.redis.ping()
            ephemeral = getattr(state, "ephemeral_redis", state.redis)
            if ephemeral is not state.redis:
                await ephemeral.ping()
        except Exception:  # any Redis failure means not ready
            log.warning("readiness check failed: redis unreachable")
            return JSONResponse({"status": "unavailable", "redis": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "redis": "up"})


def wants_html(request: Request) -> bool:
    """A person's browser (``Accept`` names ``text/html``) rather than an API client."""
    return "text/html" in request.headers.get("accept", "")


def _pages(request: Request) -> Pages:
    """The app's pages; an app without them (``create_base_app`` alone) renders its error
    pages with a form-less instance kept apart, so that its fixed CSRF key can never become
    the app's."""
    pages = getattr(request.app.state, "pages", None)
    if pages is None:
        pages = getattr(request.app.state, "error_pages", None)
    if pages is None:
        pages = request.app.state.error_pages = Pages(
            request.app.state.settings, csrf_secret=b"error pages have no forms"
        )
    return pages


def _page(request: Request, kind: ErrorKind, status: int) -> Response:
    pages = _pages(request)
    return pages.render_error(kind, pages.locale_for(request), request=request, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    """Bad input gets a clear error — a trilingual page for people, JSON with an
    OAuth-style code for APIs — never a stack trace."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if wants_html(request):
            return _page(request, ErrorKind.INVALID_REQUEST, 400)
        fields = sorted({".".join(str(p) for p in err.get("loc", ())[1:]) for err in exc.errors()})
        return JSONResponse(
            {
                "error": "invalid_request",
                "error_description": "malformed or missing parameters: " + ", ".join(fields),
                "reference": request_id_var.get(),
            },
            status_code=400,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed", 401: "invalid_token"}.get(
            exc.status_code, "invalid_request"
        )
        if wants_html(request) and exc.status_code != 401:
            kinds = {404: ErrorKind.NOT_FOUND, 405: ErrorKind.METHOD_NOT_ALLOWED}
            kinds[413] = ErrorKind.REQUEST_TOO_LARGE
            return _page(
                request, kinds.get(exc.status_code, ErrorKind.INVALID_REQUEST), exc.status_code
            )
        return JSONResponse(
            {
                "error": code,
                "error_description": str(exc.detail),
                "reference": request_id_var.get(),
            },
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RedisError)
    async def storage_unavailable(request: Request, exc: RedisError) -> Response:
        """Redis did not answer (an outage, a failover): 503, try again — not a 500."""
        log.error("redis unavailable", extra={"fields": {"error": type(exc).__name__}})
        if wants_html(request):
            return _page(request, ErrorKind.SERVER_ERROR, 503)
        return JSONResponse(
            {
                "error": "temporarily_unavailable",
                "error_description": "try again later",
                "reference": request_id_var.get(),
            },
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        log.error("unhandled error", exc_info=exc)
        if wants_html(request):
            return _page(request, ErrorKind.SERVER_ERROR, 500)
        return JSONResponse(
            {
                "error": "server_error",
                "error_description": "an internal error occurred; quote the reference to support",
                "reference": request_id_var.get(),
            },
            status_code=500,
        )
