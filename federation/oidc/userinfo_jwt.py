"""Signed UserInfo responses (OIDC Core §5.3.2; OIDC Registration §2
``userinfo_signed_response_alg``: SM2SM3, ES256 or RS256).

A client that registered ``userinfo_signed_response_alg`` gets the UserInfo claims as a
JWS with ``Content-Type: application/jwt``; the claims then carry ``iss`` (this provider)
and ``aud`` (the client) as §5.3.2 requires. Any other client gets plain JSON.
"""

from __future__ import annotations

import redis.asyncio as aioredis
from fastapi.responses import Response

from federation.oidc.http import NO_STORE, json_no_store
from federation.oidc.provider import OidcProvider
from federation.oidc.userinfo import userinfo_and_client

MEDIA_TYPE = "application/jwt"


async def userinfo_response(provider: OidcProvider, redis: aioredis.Redis, token: str) -> Response:
    """The UserInfo response for ``token``: JSON, or a JWT for a client that asked."""
    claims, client_id = await userinfo_and_client(provider, redis, token)
    client = await provider.clients.get(redis, client_id)
    alg = client.userinfo_signed_response_alg if client is not None else None
    if alg is None:
        return json_no_store(claims)
    signed = provider.signer.sign({**claims, "iss": provider.issuer, "aud": client_id}, alg)
    return Response(signed, media_type=MEDIA_TYPE, headers=NO_STORE)
