"""Token revocation (RFC 7009).

The client authenticates; a token it does not own, an unknown token or an unknown hint all
yield 200 (§2.2), so that the endpoint reveals nothing. Revoking a refresh token revokes
its whole family, access tokens included (§2.1: "SHOULD also invalidate all access tokens
based on the same authorization grant").
"""

from __future__ import annotations

import redis.asyncio as aioredis

from federation.oidc.clients import Client
from federation.oidc.provider import OidcProvider


async def revoke(
    provider: OidcProvider,
    redis: aioredis.Redis,
    client: Client,
    token: str,
    hint: str | None = None,
) -> None:
    """Revoke ``token`` if ``client`` owns it; silently do nothing otherwise."""
    store = provider.store(redis)
    order = ("access_token", "refresh_token")
    if hint == "refresh_token":
        order = ("refresh_token", "access_token")
    for kind in order:
        record = await (
            store.refresh_token(token) if kind == "refresh_token" else store.access_token(token)
        )
        if record is None:
            continue
        if record.get("client_id") != client.client_id:
            return
        if kind == "refresh_token":
            await store.revoke_family(record["family"])
        else:
            await store.delete_access_token(token)
        return
