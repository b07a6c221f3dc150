"""The operator console on a real server for the browser tests: the real app factory with
the operator API and the console mounted, the real consent services on real Redis, real
SM2 receipt signing, and seeded data made through the real lifecycle (so the dashboard's
counters are the ones the lifecycle keeps): consents at three relying parties, some
withdrawn, login outcomes, and one operator account per role and test.

Accounts are ``<role>-<tag>`` with :data:`PASSWORD`; their TOTP secrets are returned by
:func:`build_console_app` (a TOTP step can be used once, so each sign-in in a test run uses
its own account).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlparse

from fastapi import FastAPI

from consent.operator.api import router
from consent.operator.console import install_console
from consent.operator.roles import Role
from consent.services import build_consent_services
from consent.signing import JwksVerifier, KeySetSigner
from federation.app import create_base_app
from federation.crypto.keyset import KeySet
from federation.pages import Pages
from federation.settings import Settings
from tests.consent.factories import PII_KEY, grant
from tests.consent.revokers import RecordingRevoker

PASSWORD = "correct horse battery staple"
CLIENTS = ("gd-social-security", "gd-tax-bureau", "gd-health-portal")


def build_console_app(
    redis_url: str, tags: dict[Role, list[str]]
) -> tuple[FastAPI, dict[str, str], dict[str, Any]]:
    """The app, ``username → TOTP secret`` (filled at start-up), and a dict that gets the
    ``services``, the ``revoker`` and the seeded ``records`` at start-up."""
    settings = Settings(redis_url=redis_url, pii_key=PII_KEY.hex())
    app = create_base_app(settings)
    app.state.pages = Pages(settings, csrf_secret=b"console browser tests")
    app.include_router(router)
    install_console(app)
    secrets: dict[str, str] = {}
    state: dict[str, Any] = {}
    keyset = KeySet.generate(["SM2SM3"])

    async def start(app: FastAPI) -> None:
        await app.state.redis.flushdb()
        revoker = RecordingRevoker()
        services = build_consent_services(
            app.state.redis,
            pii_key=PII_KEY,
            revoker=revoker,
            issuer="http://localhost",
            signer=KeySetSigner(keyset),
            verifier=JwksVerifier(keyset.public_jwks()),
            checkpoint_every=25,
        )
        app.state.consent = services
        records = []
        now = int(time.time())
        for n in range(24):
            client = CLIENTS[n % 3]
            captured = grant(
                f"sub-{n:04d}", client, now=now - n * 3000, remember_seconds=86400 * (3 + n)
            )
            await services.lifecycle.grant(captured)
            records.append(captured.record)
        for record in records[:4]:
            await services.lifecycle.revoke_by_operator(
                record.id, operator="seed", reason="seed data"
            )
        for outcome in ("success",) * 6 + ("declined", "upstream:D40000", "upstream:D40003"):
            await services.counters.login(CLIENTS[0], outcome)
        for role, names in tags.items():
            for tag in names:
                uri = await services.accounts.add(f"{role.value}-{tag}", PASSWORD, role)
                secrets[f"{role.value}-{tag}"] = parse_qs(urlparse(uri).query)["secret"][0]
        state.update(services=services, revoker=revoker, records=records)

    app.state.start_hooks.append(start)
    return app, secrets, state
