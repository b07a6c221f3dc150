"""A client's key set for verifying its JWTs: the registered ``jwks``, or the document at
its ``jwks_uri`` (OIDC Registration §2; the usual way to rotate keys, OIDC Core §10.1.1).

A fetched set (:mod:`federation.oidc.fetch`, the egress guard) is cached in Redis
(``Keys.client_jwks``) for its ``Cache-Control`` max-age kept within
``IDBRIDGE_JWKS_CACHE_MIN_SECONDS`` … ``IDBRIDGE_JWKS_CACHE_MAX_SECONDS`` (five minutes
when it says nothing), so every worker shares one copy. A JWT naming a ``kid`` the cached
set does not hold triggers one re-fetch, at most once per
``IDBRIDGE_JWKS_REFETCH_INTERVAL_SECONDS`` per client (``Keys.client_jwks_refetch``,
``SET NX``): a storm of made-up ``kid`` values costs one fetch per interval.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

import redis.asyncio as aioredis

from federation import untrusted
from federation.oidc.client_keys import ClientJWTError, check_public_jwks, verify_client_jwt
from federation.oidc.clients import Client
from federation.oidc.config import OidcConfig
from federation.oidc.fetch import FetchError, fetch
from federation.storage.keys import Keys

log = logging.getLogger("idbridge.oidc.jwks")

DEFAULT_CACHE_SECONDS = 300
JWKS_MEDIA = "application/jwk-set+json, application/json"


class KeysUnavailable(Exception):
    """The client's ``jwks_uri`` could not be fetched or holds no usable key set."""


async def fetch_jwks(config: OidcConfig, uri: str) -> tuple[dict[str, Any], int]:
    """(key set, seconds to cache it) fetched from ``uri``; :class:`KeysUnavailable`."""
    try:
        fetched = await fetch(uri, config, accept=JWKS_MEDIA)
        jwks = untrusted.loads(fetched.body, max_bytes=untrusted.MAX_UPSTREAM)
        check_public_jwks(jwks)
    except FetchError as exc:
        raise KeysUnavailable(exc.reason) from exc
    except (ValueError, RecursionError) as exc:
        raise KeysUnavailable("not a public JWK Set") from exc
    age = DEFAULT_CACHE_SECONDS if fetched.max_age is None else fetched.max_age
    return jwks, max(config.jwks_cache_min_seconds, min(age, config.jwks_cache_max_seconds))


async def client_key_set(
    config: OidcConfig, redis: aioredis.Redis, client: Client, *, refresh: bool = False
) -> dict[str, Any]:
    """The client's key set; ``refresh`` bypasses the cache (the caller rate-limits)."""
    if client.jwks is not None or client.jwks_uri is None:
        return client.jwks or {"keys": []}
    key = Keys.client_jwks(client.client_id)
    if not refresh:
        cached = await redis.get(key)
        if cached is not None:
            return json.loads(cached)
    try:
        jwks, ttl = await fetch_jwks(config, client.jwks_uri)
    except KeysUnavailable as exc:
        log.warning(
            "client jwks_uri not fetched",
            extra={"fields": {"client_id": client.client_id, "reason": str(exc)}},
        )
        raise
    if ttl > 0:
        await redis.set(key, json.dumps(jwks), ex=ttl)
    return jwks


async def verify_with_client_keys(
    config: OidcConfig,
    redis: aioredis.Redis,
    client: Client,
    token: str,
    algorithms: Iterable[str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of a JWT the client signed. Raises :class:`ClientJWTError` or
    :class:`KeysUnavailable`; one rate-limited re-fetch of a ``jwks_uri`` on an unknown
    ``kid`` (see the module docstring)."""
    allowed = tuple(algorithms)
    jwks = await client_key_set(config, redis, client)
    try:
        return verify_client_jwt(token, jwks, allowed)
    except ClientJWTError as exc:
        if not (exc.unknown_kid and client.jwks_uri and client.jwks is None):
            raise
        first = await redis.set(
            Keys.client_jwks_refetch(client.client_id),
            "1",
            nx=True,
            ex=config.jwks_refetch_interval_seconds,
        )
        if not first:
            raise
    jwks = await client_key_set(config, redis, client, refresh=True)
    return verify_client_jwt(token, jwks, allowed)
