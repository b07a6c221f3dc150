"""The client configuration endpoint (RFC 7592): ``GET``, ``PUT`` and ``DELETE`` on the
``registration_client_uri`` (``/register/<client_id>``) with the client's
``registration_access_token`` as a bearer token (:mod:`federation.oidc.registration_access`).

- Read (§2.1): the current metadata, as at registration, without any secret.
- Update (§2.2): the body is the client's whole metadata and replaces what is stored;
  it must carry the ``client_id`` (and a ``client_secret``, if sent, must be the current
  one); ``registration_access_token``, ``registration_client_uri``,
  ``client_secret_expires_at`` and ``client_id_issued_at`` must not be sent. It is checked
  exactly as a registration (:func:`federation.oidc.registration.validated_client`, and
  the new name must not be confusable with another client's: ``client_names``). The
  secret and the access token stay. A change of ``client_name``, ``purposes``,
  ``processing_method`` or ``contacts`` changes the consent notice's version
  (``federation.journey.consent_view.notice_for`` digests them), so no remembered consent
  matches and the next login asks the person again.
- Delete (§2.3): an offboarding — every consent given to the client ends (audited, with
  its tokens and a back-channel logout, through the consent layer's
  :class:`~federation.oidc.provider.ClientOffboarding` hook), every remaining token
  family at the client is revoked, then the registration, its cached key set and its name
  claim go; ``204``. ``idbridge clients delete`` does the same
  (:mod:`federation.oidc.offboarding`). Later calls with the old token are ``401``.

Static clients (YAML) are never managed here.
"""

from __future__ import annotations

import logging
from typing import Any

import redis.asyncio as aioredis
from fastapi.responses import Response

from federation import untrusted
from federation.oidc.client_names import ConfusableName, claim_client_name, release_client_name
from federation.oidc.clients import Client
from federation.oidc.errors import OAuthError
from federation.oidc.http import NO_STORE, json_no_store
from federation.oidc.provider import OidcProvider
from federation.oidc.registration import configuration_response, validated_client
from federation.oidc.registration_access import check_registration_token
from federation.oidc.store import TokenStore
from federation.storage.keys import Keys

log = logging.getLogger("idbridge.oidc.registration")

FORBIDDEN_IN_UPDATE = (
    "registration_access_token",
    "registration_client_uri",
    "client_secret_expires_at",
    "client_id_issued_at",
)
"""RFC 7592 §2.2: the client MUST NOT include these in an update."""
DELETE_REASON = "the relying party deleted its registration (RFC 7592)"


async def managed_client(
    provider: OidcProvider, redis: aioredis.Redis, client_id: str, authorization: str | None
) -> Client:
    """The dynamically registered client the bearer token manages, or 401."""
    dynamic = client_id not in provider.clients.static
    client = await provider.clients.get(redis, client_id) if dynamic else None
    return check_registration_token(provider, client, authorization)


def read_client(provider: OidcProvider, client: Client) -> dict[str, Any]:
    """RFC 7592 §3 client information response."""
    return configuration_response(provider, client)


async def update_client(
    provider: OidcProvider, redis: aioredis.Redis, client: Client, body: Any
) -> dict[str, Any]:
    """Replace the client's metadata with ``body`` (RFC 7592 §2.2)."""
    if not isinstance(body, dict):
        raise OAuthError("invalid_client_metadata", "the body must be a JSON object")
    if body.get("client_id") != client.client_id:
        raise OAuthError("invalid_request", "the body must carry this client_id")
    sent = [name for name in FORBIDDEN_IN_UPDATE if name in body]
    if sent:
        raise OAuthError("invalid_request", f"{sent[0]} must not be sent in an update")
    presented = body.pop("client_secret", None)
    if presented is not None and not (
        isinstance(presented, str) and provider.secrets.check(client, presented)
    ):
        raise OAuthError("invalid_request", "client_secret is not the current one")
    kept = {
        "registration_token_digest": client.registration_token_digest,
        "client_secret_digest": client.client_secret_digest,
    }
    metadata = {k: v for k, v in body.items() if k != "client_id"}
    updated, secret = validated_client(
        provider,
        metadata,
        client.client_id,
        server_fields={k: v for k, v in kept.items() if v},
    )
    try:
        await claim_client_name(redis, provider.clients.static.values(), updated, previous=client)
    except ConfusableName as exc:
        raise OAuthError("invalid_client_metadata", str(exc)) from exc
    await provider.clients.register(redis, updated)
    if updated.jwks_uri != client.jwks_uri:
        await redis.delete(Keys.client_jwks(client.client_id))
    log.info("client updated", extra={"fields": {"client_id": client.client_id}})
    return configuration_response(provider, updated, secret)


async def revoke_client_tokens(redis: aioredis.Redis, client_id: str) -> int:
    """Revoke every token family any person holds at the client
    (``Keys.grants_for(*, client_id)``); how many families."""
    store = TokenStore(redis)
    families = 0
    async for index in redis.scan_iter(match=Keys.grants_for("*", client_id), count=500):
        if not index.endswith(":" + client_id):
            continue
        for family in await redis.smembers(index):
            await store.revoke_family(family)
            families += 1
        await redis.delete(index)
    return families


async def delete_client(provider: OidcProvider, redis: aioredis.Redis, client: Client) -> int:
    """Offboard the client and delete its registration (RFC 7592 §2.3); the number of
    consents that ended."""
    ended = 0
    if provider.client_offboarding is not None:
        ended = await provider.client_offboarding.offboard(
            redis, client.client_id, reason=DELETE_REASON
        )
    await revoke_client_tokens(redis, client.client_id)  # also grants whose consent ended
    await redis.delete(Keys.client(client.client_id), Keys.client_jwks(client.client_id))
    await redis.hdel(Keys.DYNAMIC_CLIENTS, client.client_id)
    await release_client_name(redis, client)
    log.info("client deleted", extra={"fields": {"client_id": client.client_id, "consents": ended}})
    return ended


async def configuration_endpoint(
    provider: OidcProvider,
    redis: aioredis.Redis,
    method: str,
    client_id: str,
    authorization: str | None,
    body: bytes | None,
) -> Response:
    """``GET``/``PUT``/``DELETE`` on ``/register/<client_id>`` (the router's delegate)."""
    client = await managed_client(provider, redis, client_id, authorization)
    if method == "GET":
        return json_no_store(read_client(provider, client))
    if method == "DELETE":
        await delete_client(provider, redis, client)
        return Response(status_code=204, headers=NO_STORE)
    try:
        metadata = untrusted.loads(body or b"")
    except ValueError as exc:
        raise OAuthError("invalid_client_metadata", "the body is not JSON") from exc
    return json_no_store(await update_client(provider, redis, client, metadata))
