"""The simulator's FastAPI app factory.

``create_app(clients_file, personas_file, settings, public_url)``. All state lives in this
process (``state``): run one process (``idbridge iamsmart-sim`` does). Errors never leak a
stack trace: the API answers D-code envelopes, pages a trilingual error page. Result POSTs
to relying parties go through one shared keep-alive pool (``federation.outbound``;
made at start-up, closed at shutdown).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import yaml
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from connectors.iamsmart.simulator import api, pages
from connectors.iamsmart.simulator.config import (
    DEFAULT_CLIENTS,
    DEFAULT_PERSONAS,
    HERE,
    Persona,
    RegisteredClient,
    SimulatorSettings,
    load_clients,
    load_personas,
)
from connectors.iamsmart.simulator.delivery import delivery_client
from connectors.iamsmart.simulator.state import SimulatorState
from federation.outbound import Poster
from federation.web import RequestContextMiddleware

log = logging.getLogger("idbridge.iamsmart_sim")


@dataclass
class Simulator:
    """What the routes share (``request.app.state.sim``)."""

    clients: dict[str, RegisteredClient]
    personas: dict[str, Persona]
    settings: SimulatorSettings
    public_url: str
    state: SimulatorState = field(init=False)
    templates: jinja2.Environment = field(init=False)
    messages: dict[str, dict[str, str]] = field(init=False)
    css: str = field(init=False)
    _http: Poster | None = field(init=False, default=None)

    def http(self) -> Poster:
        """The shared client for result POSTs (made on first use if start-up did not)."""
        if self._http is None:
            self._http = delivery_client(self.settings.deliver_timeout_s)
        return self._http

    async def aclose(self) -> None:
        """Close the shared client (app shutdown)."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def __post_init__(self) -> None:
        self.state = SimulatorState(self.settings)
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.messages = yaml.safe_load((HERE / "messages.yaml").read_text(encoding="utf-8"))
        self.css = (HERE / "static" / "sim.css").read_text(encoding="utf-8")


def create_app(
    clients_file: Path = DEFAULT_CLIENTS,
    personas_file: Path = DEFAULT_PERSONAS,
    settings: SimulatorSettings | None = None,
    public_url: str = "http://127.0.0.1:8001",
) -> FastAPI:
    """The simulator app; ``public_url`` is its own base URL (used in the QR code)."""
    sim = Simulator(
        clients=load_clients(clients_file),
        personas=load_personas(personas_file),
        settings=settings or SimulatorSettings(),
        public_url=public_url.rstrip("/"),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        sim.http()
        try:
            yield
        finally:
            await sim.aclose()

    app = FastAPI(
        title="iAM Smart simulator",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.sim = sim
    app.include_router(api.router)
    app.include_router(pages.router)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _error(request, exc.status_code if exc.status_code < 500 else 400)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return _error(request, 400)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("simulator error", extra={"fields": {"error": type(exc).__name__}})
        return _error(request, 400)

    app.add_middleware(RequestContextMiddleware)
    return app


def _error(request: Request, status: int) -> Response:
    if request.url.path.startswith("/api/"):
        if status == 405 or status == 404:
            return JSONResponse({"code": "D20003", "message": "unknown endpoint or method"}, status)
        return api.envelope("D20003")
    lang = pages.pick_language(request.query_params.get("lang"))
    return pages.error_page(request, lang, "D20003", "e_bad_request", status=status)
