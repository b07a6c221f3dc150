"""UserInfo endpoint (OIDC Core §5.3) with bearer tokens per RFC 6750 §2.1 (header) and
§2.2 (form body of a POST); never more than one method, never the URI query (§2, §2.3).
Errors carry ``WWW-Authenticate`` (§3).

Returns ``sub`` and only the claims granted at consent (stored with the access token);
a token whose consent was withdrawn is ``invalid_token``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis

from federation.oidc.errors import OAuthError, bearer_error
from federation.oidc.params import split_spaces
from federation.oidc.provider import OidcProvider
from federation.oidc.sealing import unseal
from federation.oidc.store import digest
from federation.storage.keys import Keys


def bearer_token(
    authorization: str | None,
    form: Mapping[str, str] | None,
    query: Mapping[str, str] | None = None,
) -> str:
    """The access token from the header or the form body; exactly one method (RFC 6750 §2).

    - a token in more than one place (header, body, URI query) is ``invalid_request`` (400);
    - a token in the URI query alone (§2.3, which a server MAY support) is not accepted
      either (``invalid_request``): it ends up in logs and browser history;
    - no token, or an ``Authorization`` scheme other than Bearer (e.g. ``Basic``), is a 401
      challenge without an error code (§3.1: the client used an unsupported method);
    - ``Bearer`` without a value is malformed: ``invalid_request`` (400)."""
    from_header = None
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer":
            if not value.strip():
                raise bearer_error("invalid_request", "malformed Authorization header", 400)
            from_header = value.strip()
    from_body = (form or {}).get("access_token")
    from_query = (query or {}).get("access_token")
    if sum(1 for given in (from_header, from_body, from_query) if given) > 1:
        raise bearer_error("invalid_request", "token given in more than one way", 400)
    if from_query:
        raise bearer_error(
            "invalid_request", "send the access token in the Authorization header", 400
        )
    token = from_header or from_body
    if not token:
        raise bearer_error("", "", 401)
    if len(token) > 512:
        raise bearer_error("invalid_token", "the access token is invalid", 401)
    return token


async def active_access_token(
    provider: OidcProvider, redis: aioredis.Redis, token: str
) -> dict[str, str] | None:
    """The access token record if it exists, has not expired and its consent stands."""
    record = await provider.store(redis).access_token(token)
    if record is None or int(record.get("exp", "0")) < provider.clock():
        return None
    consent_id = record.get("consent_id")
    if consent_id and not await provider.consent_checker.consent_active(redis, consent_id):
        return None
    return record


async def userinfo(provider: OidcProvider, redis: aioredis.Redis, token: str) -> dict[str, Any]:
    """The UserInfo response for a valid access token with the ``openid`` scope."""
    return (await userinfo_and_client(provider, redis, token))[0]


async def userinfo_and_client(
    provider: OidcProvider, redis: aioredis.Redis, token: str
) -> tuple[dict[str, Any], str]:
    """(UserInfo claims, the client id the token was issued to): the signed form
    (:mod:`federation.oidc.userinfo_jwt`) needs the audience."""
    record = await active_access_token(provider, redis, token)
    if record is None:
        raise bearer_error("invalid_token", "the access token is invalid", 401)
    if "openid" not in split_spaces(record.get("scope")):
        raise bearer_error("insufficient_scope", "the openid scope is required", 403)
    claims = unseal(record["claims"], token, Keys.access_token(digest(token)))
    body = {**{k: v for k, v in claims.items() if k != "sub"}, "sub": record["sub"]}
    return body, record["client_id"]


__all__ = ["OAuthError", "active_access_token", "bearer_token", "userinfo"]
