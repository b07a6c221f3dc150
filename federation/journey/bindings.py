"""The hooks that join consent and OIDC (DESIGN §5), wired by the app factory:

- :class:`OidcGrantRevoker` implements ``consent.lifecycle.GrantRevoker``: a withdrawn,
  revoked or expired consent revokes the RP's tokens for that person
  (:func:`federation.oidc.seam.revoke_grants_for`) and sends an OIDC back-channel logout
  token where the RP registered a ``backchannel_logout_uri`` — one per distinct
  ``sub``/``sid``, all at once, each with its own deadline and behind the egress guard of
  :mod:`federation.oidc.backchannel` (Back-Channel Logout 1.0 §2.5);
- :class:`StoreConsentChecker` implements ``federation.oidc.provider.ConsentChecker``:
  tokens whose consent is no longer active fail at ``/userinfo``, refresh and
  introspection;
- :class:`LifecycleOffboarding` implements ``federation.oidc.provider.ClientOffboarding``:
  a client that deletes its registration (RFC 7592) is offboarded by
  ``ConsentLifecycle.offboard_client`` (consents end, audited; tokens revoked; logout).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis.asyncio as aioredis

from consent.lifecycle import ConsentLifecycle
from consent.store import ConsentNotFound, ConsentStore
from federation.oidc.backchannel import send_backchannel_logouts
from federation.oidc.provider import OidcProvider
from federation.oidc.seam import revoke_grants_for
from federation.outbound import Poster

log = logging.getLogger("idbridge.journey.bindings")


class OidcGrantRevoker:
    """``GrantRevoker`` over the OIDC token store and back-channel logout."""

    def __init__(
        self,
        provider: OidcProvider,
        redis: aioredis.Redis,
        http: Poster | None = None,
    ) -> None:
        self.provider = provider
        self.redis = redis
        self.http = http

    async def revoke_for(self, subject: str, client_id: str, *, reason: str) -> None:
        """Revoke ``client_id``'s tokens for ``subject`` and tell the RP (once per sub/sid)."""
        revoked = await revoke_grants_for(self.redis, subject, client_id)
        log.info(
            "grants revoked",
            extra={"fields": {"client_id": client_id, "families": len(revoked)}},
        )
        client = await self.provider.clients.get(self.redis, client_id)
        if client is None or not client.backchannel_logout_uri:
            return
        once = dict.fromkeys(  # one token per distinct (sub, sid), in revocation order
            (family.subject or None, family.sid or None)
            for family in revoked
            if family.subject or family.sid
        )
        sends = [(client, sub, sid) for sub, sid in once]
        await send_backchannel_logouts(self.provider, sends, http=self.http)


class StoreConsentChecker:
    """``ConsentChecker``: a consent is active while its record is active and unexpired."""

    def __init__(self, store: ConsentStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    async def consent_active(self, redis: aioredis.Redis, consent_id: str) -> bool:
        """True while the consent ``consent_id`` stands."""
        try:
            record = await self.store.get(consent_id)
        except ConsentNotFound:
            return False
        return record.is_valid_at(int(self.clock()))


class LifecycleOffboarding:
    """``ClientOffboarding`` over the consent lifecycle (the actor is the client itself)."""

    def __init__(self, lifecycle: ConsentLifecycle) -> None:
        self.lifecycle = lifecycle

    async def offboard(self, redis: aioredis.Redis, client_id: str, *, reason: str) -> int:
        ended = await self.lifecycle.offboard_client(
            client_id, actor=f"client:{client_id}", reason=reason
        )
        return len(ended)
