"""ASGI factory for the two-worker test: the bridge app with the provider and the stand-in
journey, configured only from ``IDBRIDGE_*`` environment variables, as a worker would be."""

from __future__ import annotations

from fastapi import FastAPI

from federation.oidc.provider import OidcProvider
from federation.oidc.router import install
from federation.settings import Settings
from tests.federation.oidc.harness import base_app, stand_in_journey


def create() -> FastAPI:
    """``uvicorn --factory tests.federation.oidc.twoproc_app:create``."""
    settings = Settings()
    app = base_app(settings)
    install(app, OidcProvider.from_settings(settings), journey=stand_in_journey)
    return app
