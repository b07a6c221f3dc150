"""How the app factory assembles the bridge (called by :func:`federation.app.create_app`).

At build time (no I/O but files): the OIDC provider (key sets from
``IDBRIDGE_SIGNING_KEYS`` or generated into ``IDBRIDGE_DATA_DIR``; static clients from
``IDBRIDGE_CLIENTS_FILE``), the pages, the mapping profiles of every static client
(a bad profile stops the start), the static files and the routers: OIDC (with the journey
as its ``/authorize`` hook, the trilingual error page and the signed-out page), the
journey, the residents' self-service (``/consents``, a first-party client of the journey),
the operator API.

At start-up (Redis connected): the upstream connector and the journey store on the
ephemeral Redis (``app.state.ephemeral_redis``; everything else on the durable one), the
consent services with :class:`OidcGrantRevoker` (revocation → tokens revoked +
back-channel logout), the :class:`StoreConsentChecker` on the provider, the journey context
and the consent expiry loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import FastAPI, Request
from fastapi.responses import Response

from connectors.base import open_connector
from consent.lifecycle import expiry_loop
from consent.notice import DataUser
from consent.operator.api import router as operator_router
from consent.operator.console import install_console
from consent.services import build_consent_services
from consent.signing import JwksVerifier
from consent.signing import KeySetSigner as ConsentSigner
from federation import metrics
from federation.journey import failures
from federation.journey.admission import JourneyAdmission
from federation.journey.bindings import (
    LifecycleOffboarding,
    OidcGrantRevoker,
    StoreConsentChecker,
)
from federation.journey.context import Journey, ProfileCache
from federation.journey.record import JourneyStore, Sealer
from federation.journey.router import journey_router
from federation.journey.secret_keys import csrf_secret, pii_key
from federation.journey.start import start_journey
from federation.journey.upstreams import connector_config
from federation.oidc.errors import NonRedirectableError
from federation.oidc.provider import OidcProvider
from federation.oidc.router import install
from federation.outbound import HttpClient
from federation.pages import Pages, mount_static
from federation.selfservice import SELF_SERVICE_CLIENT_ID, install_self_service, signed_out_page
from federation.settings import Settings

log = logging.getLogger("idbridge.app")

EXPIRY_INTERVAL_SECONDS = 300.0


def install_bridge(app: FastAPI) -> None:
    """Mount everything on a base app (``federation.app.create_base_app``)."""
    settings: Settings = app.state.settings
    provider = OidcProvider.from_settings(settings)
    app.state.pages = Pages(settings, csrf_secret=csrf_secret(settings, provider.pairwise_salt))
    profiles = ProfileCache(settings.default_mapping_profile)
    for client in provider.clients.static.values():
        profiles.for_client(client)  # ProfileError now, not at someone's login
    app.state.profiles = profiles
    app.state.connector_config = connector_config(settings)

    def error_page(request: Request, error: NonRedirectableError) -> Response:
        return failures.not_redirectable(request.app.state.journey, request, error)

    mount_static(app)
    install(
        app,
        provider,
        journey=start_journey,
        error_page=error_page,
        logged_out_page=signed_out_page,
    )
    app.include_router(journey_router())
    install_self_service(app)  # /consents: a first-party RP of the journey
    app.include_router(operator_router)
    install_console(app)  # /operator: the operator console over the same service
    app.state.start_hooks.append(start_bridge)
    app.state.stop_hooks.append(stop_bridge)


async def start_bridge(app: FastAPI) -> None:
    """Build what needs Redis; put the journey on ``app.state.journey``."""
    settings: Settings = app.state.settings
    provider: OidcProvider = app.state.oidc
    redis = app.state.redis
    ephemeral = getattr(app.state, "ephemeral_redis", redis)
    key = pii_key(settings)
    timeout = provider.config.backchannel_timeout
    http = HttpClient(connect_timeout=timeout, read_timeout=timeout, allow_http=True)
    keyset = getattr(provider.signer, "keyset", None)
    consent = build_consent_services(
        redis,
        pii_key=key,
        revoker=OidcGrantRevoker(provider, redis, http),
        issuer=provider.issuer,
        signer=ConsentSigner(keyset) if keyset is not None else None,
        verifier=JwksVerifier(provider.signer.public_jwks()),
        checkpoint_every=settings.audit_head_every,
        checkpoint_seconds=settings.audit_head_seconds,
        log_shards=settings.audit_log_shards,
        heads_file=settings.audit_heads_file,
        witnesses=tuple(w.strip() for w in settings.audit_witnesses.split(",") if w.strip()),
    )
    provider.consent_checker = StoreConsentChecker(consent.store)
    provider.client_offboarding = LifecycleOffboarding(consent.lifecycle)
    config = app.state.connector_config
    connector = open_connector(config, redis=ephemeral) if config else None
    if connector is None:
        log.warning("no upstream connector configured: logins will be unavailable")
    else:
        _time_upstream_calls(connector)
    sealer = Sealer(key)
    app.state.consent = consent
    app.state.journey = Journey(
        settings=settings,
        provider=provider,
        pages=app.state.pages,
        redis=redis,
        store=JourneyStore(ephemeral, sealer, settings.journey_ttl, settings.journey_prelogin_ttl),
        sealer=sealer,
        consent=consent,
        profiles=app.state.profiles,
        connector=connector,
        first_party_clients=frozenset({SELF_SERVICE_CLIENT_ID}),
        admission=JourneyAdmission(
            redis, cap=settings.journeys_per_address, ttl=settings.journey_prelogin_ttl
        ),
        operator=DataUser.load(settings.operator_file)
        if settings.operator_file
        else DataUser.unconfigured(),
    )
    app.state.http = http
    app.state.stop_expiry = asyncio.Event()
    app.state.expiry_task = asyncio.create_task(
        expiry_loop(consent.lifecycle, EXPIRY_INTERVAL_SECONDS, app.state.stop_expiry)
    )


def _time_upstream_calls(connector: object) -> None:
    """Wrap the connector's API poster (``connector.client._http``, the iAM Smart client's
    one HTTP seam) in :class:`federation.metrics.TimedPoster`; a connector without one is
    left as it is (tests/federation/test_metrics.py checks the iAM Smart one is timed)."""
    client = getattr(connector, "client", None)
    poster = getattr(client, "_http", None)
    if poster is not None and not isinstance(poster, metrics.TimedPoster):
        client._http = metrics.TimedPoster(poster, str(getattr(connector, "id", "upstream")))  # type: ignore[union-attr]


async def stop_bridge(app: FastAPI) -> None:
    """Stop the expiry loop, close the connector and the HTTP pool."""
    stop = getattr(app.state, "stop_expiry", None)
    if stop is not None:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(app.state.expiry_task, timeout=5)
    journey = getattr(app.state, "journey", None)
    if journey is not None and hasattr(journey.connector, "aclose"):
        await journey.connector.aclose()
    http = getattr(app.state, "http", None)
    if http is not None:
        await http.aclose()
