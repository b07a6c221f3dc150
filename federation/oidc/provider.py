""":class:`OidcProvider`: the provider's configuration, keys, client registry, clock and
hooks in one object, built once per process and shared by every request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import redis.asyncio as aioredis

from federation.identity import now
from federation.oidc.clients import (
    ClientRegistry,
    ClientSecrets,
    load_hex_secret,
    load_static_clients,
)
from federation.oidc.config import OidcConfig
from federation.oidc.signing import KeySetSigner, TokenSigner, load_or_create_keyset
from federation.oidc.store import TokenStore
from federation.settings import Settings

ENDPOINTS = {
    "authorization_endpoint": "/authorize",
    "pushed_authorization_request_endpoint": "/par",
    "token_endpoint": "/token",
    "userinfo_endpoint": "/userinfo",
    "jwks_uri": "/jwks",
    "sm2_jwks_uri": "/jwks/sm2",
    "registration_endpoint": "/register",
    "revocation_endpoint": "/revoke",
    "introspection_endpoint": "/introspect",
    "end_session_endpoint": "/logout",
}
"""Discovery metadata name → path under the issuer."""


class ConsentChecker(Protocol):
    """Hook of the consent layer: is the consent a grant rests on still active?

    Called before serving ``/userinfo``, introspection, a refresh and a code redemption,
    for tokens whose grant names a ``consent_id``. A withdrawn consent makes them fail.
    """

    async def consent_active(self, redis: aioredis.Redis, consent_id: str) -> bool:
        """True while the consent ``consent_id`` is active."""
        ...


class AllConsentsActive:
    """Default :class:`ConsentChecker` until the consent layer installs its own."""

    async def consent_active(self, redis: aioredis.Redis, consent_id: str) -> bool:
        return True


class ClientOffboarding(Protocol):
    """Hook of the consent layer: a relying party leaves (RFC 7592 delete). Every active
    consent given to it ends (audited), and with each the person's tokens and a
    back-channel logout; the offboarding itself is audited."""

    async def offboard(self, redis: aioredis.Redis, client_id: str, *, reason: str) -> int:
        """End what ``client_id`` holds; the number of consents ended."""
        ...


@dataclass
class OidcProvider:
    """Everything the protocol modules need besides the Redis client."""

    issuer: str
    config: OidcConfig
    clients: ClientRegistry
    secrets: ClientSecrets
    signer: TokenSigner
    pairwise_salt: bytes
    initial_access_token: str | None = None
    consent_checker: ConsentChecker = field(default_factory=AllConsentsActive)
    client_offboarding: ClientOffboarding | None = None
    clock: Callable[[], int] = now
    _stores: dict[int, TokenStore] = field(default_factory=dict, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, config: OidcConfig | None = None) -> OidcProvider:
        """Build the provider from the bridge settings and the ``IDBRIDGE_*`` OIDC config."""
        config = config or OidcConfig()
        secret_key = (
            config.client_secret_key.get_secret_value() if config.client_secret_key else None
        )
        salt = settings.pairwise_salt.get_secret_value() if settings.pairwise_salt else None
        token = settings.initial_access_token
        return cls(
            issuer=settings.issuer.rstrip("/"),
            config=config,
            clients=ClientRegistry(load_static_clients(config.clients_file)),
            secrets=ClientSecrets(
                load_hex_secret(secret_key, settings.data_dir / "client-secret.key")
            ),
            signer=KeySetSigner(load_or_create_keyset(settings.signing_keys, settings.data_dir)),
            pairwise_salt=salt.encode("utf-8")
            if salt
            else load_hex_secret(None, settings.data_dir / "pairwise-salt.key"),
            initial_access_token=token.get_secret_value() if token else None,
        )

    def __post_init__(self) -> None:
        """Refuse to start with a static client whose ID token alg has no signing key."""
        have = set(self.signer.algorithms())
        for client in self.clients.static.values():
            if client.id_token_signed_response_alg not in have:
                raise ValueError(
                    f"client {client.client_id}: no signing key for "
                    f"{client.id_token_signed_response_alg}"
                )

    def url(self, name: str) -> str:
        """Absolute URL of an endpoint by its discovery metadata name."""
        return self.issuer + ENDPOINTS[name]

    def store(self, redis: aioredis.Redis) -> TokenStore:
        """The :class:`TokenStore` for ``redis`` (scripts registered once per client)."""
        store = self._stores.get(id(redis))
        if store is None or store.redis is not redis:
            store = self._stores[id(redis)] = TokenStore(redis)
        return store
