"""Token introspection (RFC 7662).

The caller authenticates as a client; it learns about its own tokens only (others are
``{"active": false}``, §2.2 allows withholding). Withdrawn consent makes a token inactive.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from federation.oidc.clients import Client
from federation.oidc.provider import OidcProvider
from federation.oidc.userinfo import active_access_token


async def introspect(
    provider: OidcProvider,
    redis: aioredis.Redis,
    client: Client,
    token: str,
    hint: str | None = None,
) -> dict[str, Any]:
    """RFC 7662 §2.2 response for ``token``.

    ``hint`` (``token_type_hint``, §2.1) only decides which kind is looked up first; a
    wrong hint still finds the token. ``token_type`` is given for access tokens only
    (``Bearer``, RFC 6749 §7.1); a refresh token has no token type, so it is left out."""
    lookups = (_refresh_token, _access_token)
    if hint != "refresh_token":
        lookups = lookups[::-1]
    record, token_type = None, None
    for lookup in lookups:
        record, token_type = await lookup(provider, redis, token)
        if record is not None:
            break
    if record is None or record.get("client_id") != client.client_id:
        return {"active": False}
    body: dict[str, Any] = {
        "active": True,
        "scope": record.get("scope", ""),
        "client_id": record["client_id"],
        "exp": int(record["exp"]),
        "iat": int(record.get("iat") or 0),
        "sub": record.get("sub", ""),
        "aud": record["client_id"],
        "iss": provider.issuer,
    }
    if token_type:
        body["token_type"] = token_type
    return body


Found = tuple[dict[str, Any] | None, str | None]


async def _access_token(provider: OidcProvider, redis: aioredis.Redis, token: str) -> Found:
    record = await active_access_token(provider, redis, token)
    return record, "Bearer"


async def _refresh_token(provider: OidcProvider, redis: aioredis.Redis, token: str) -> Found:
    record = await provider.store(redis).refresh_token(token)
    if record is not None and (
        record.get("used") or int(record.get("exp", "0")) < provider.clock()
    ):
        record = None
    consent_id = (record or {}).get("consent_id")
    if consent_id and not await provider.consent_checker.consent_active(redis, consent_id):
        record = None
    return record, None
