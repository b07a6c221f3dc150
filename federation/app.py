"""The FastAPI app factory (top layer): wires settings, Redis, middleware, error handling
and the routers of every front end.

``create_app()`` is what ``uvicorn --factory`` and the tests call.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from federation import logs
from federation.logs import request_id_var
from federation.settings import Settings, get_settings
from federation.storage.client import connect
from federation.web import RequestContextMiddleware

log = logging.getLogger("idbridge.app")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the bridge's ASGI app from ``settings`` (default: the environment)."""
    settings = settings or get_settings()
    logs.configure(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not settings.redis_url:
            raise RuntimeError("IDBRIDGE_REDIS_URL is not set (or use --embedded-redis)")
        app.state.redis = connect(settings.redis_url)
        try:
            yield
        finally:
            await app.state.redis.aclose()

    app = FastAPI(
        title="idbridge",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.add_middleware(RequestContextMiddleware, hsts=settings.issuer.startswith("https://"))
    _install_error_handlers(app)
    _install_health(app)
    return app


def _install_health(app: FastAPI) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> Response:
        """Readiness: Redis answers PING."""
        try:
            await request.app.state.redis.ping()
        except Exception:  # any Redis failure means not ready
            log.warning("readiness check failed: redis unreachable")
            return JSONResponse({"status": "unavailable", "redis": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "redis": "up"})


def _install_error_handlers(app: FastAPI) -> None:
    """Bad input gets a clear JSON error with an OAuth-style code, never a stack trace."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
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
        return JSONResponse(
            {
                "error": code,
                "error_description": str(exc.detail),
                "reference": request_id_var.get(),
            },
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        log.error("unhandled error", exc_info=exc)
        return JSONResponse(
            {
                "error": "server_error",
                "error_description": "an internal error occurred; quote the reference to support",
                "reference": request_id_var.get(),
            },
            status_code=500,
        )
