"""Offboarding a relying party from the operator's side (``idbridge clients delete``).

The effect is the RFC 7592 §2.3 ``DELETE``'s (``federation.oidc.client_config.delete_client``,
the one function that deletes a registration), with the operator as the actor:

1. every active consent given to the client ends
   (``consent.lifecycle.ConsentLifecycle.offboard_client``: each revocation propagates as
   usual — the person's tokens at the client are revoked and a back-channel logout is sent
   where the client registered one — and ``client.offboarded`` is audited with the actor);
2. ``delete_client``: every remaining token family at the client is revoked (also grants
   whose consent had already ended), then the registration, its cached key set, its name
   claim and its ``Keys.DYNAMIC_CLIENTS`` entry go.

Static clients (``IDBRIDGE_CLIENTS_FILE``) are removed from that file instead. The provider
given here must carry no ``client_offboarding`` hook (the consents are ended in step 1 with
the operator as actor): the CLI builds its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis

from federation.oidc.client_config import delete_client
from federation.oidc.provider import OidcProvider


class ClientConsents(Protocol):
    """What offboarding needs of the consent layer (``ConsentLifecycle``)."""

    async def offboard_client(self, client_id: str, *, actor: str, reason: str) -> list[Any]:
        """End every active consent given to ``client_id``; audited."""
        ...


class StaticClient(ValueError):
    """The client comes from the clients file and cannot be deleted at run time."""


class UnknownClient(LookupError):
    """No such client."""


@dataclass(frozen=True, slots=True)
class Offboarded:
    """What offboarding ended."""

    client_id: str
    consents_revoked: int


async def offboard_client(
    provider: OidcProvider,
    redis: aioredis.Redis,
    consents: ClientConsents,
    client_id: str,
    *,
    actor: str,
    reason: str,
) -> Offboarded:
    """End the client's consents (audited as ``actor``) and delete it with
    :func:`~federation.oidc.client_config.delete_client`."""
    if client_id in provider.clients.static:
        raise StaticClient(f"{client_id} is defined in the clients file: remove it there")
    client = await provider.clients.get(redis, client_id)
    if client is None:
        raise UnknownClient(client_id)
    if not reason.strip():
        raise ValueError("a reason is required")
    revoked = await consents.offboard_client(client_id, actor=actor, reason=reason.strip())
    await delete_client(provider, redis, client)
    return Offboarded(client_id, len(revoked))


__all__ = ["ClientConsents", "Offboarded", "StaticClient", "UnknownClient", "offboard_client"]
