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
    """RFC 7662 §2.2 response for ``token``."""
    record = await active_access_token(provider, redis, token)
    token_type = "access_token"  # noqa: S105
    if record is None:
        record = await provider.store(redis).refresh_token(token)
        token_type = "refresh_token"  # noqa: S105
        if record is not None and (
            record.get("used") or int(record.get("exp", "0")) < provider.clock()
        ):
            record = None
        consent_id = (record or {}).get("consent_id")
        if consent_id and not await provider.consent_checker.consent_active(redis, consent_id):
            record = None
    if record is None or record.get("client_id") != client.client_id:
        return {"active": False}
    body: dict[str, Any] = {
        "active": True,
        "scope": record.get("scope", ""),
        "client_id": record["client_id"],
        "token_type": "Bearer" if token_type == "access_token" else "refresh_token",  # noqa: S105
        "exp": int(record["exp"]),
        "iat": int(record.get("iat") or 0),
        "sub": record.get("sub", ""),
        "aud": record["client_id"],
        "iss": provider.issuer,
    }
    return body
