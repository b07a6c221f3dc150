"""Token endpoint (RFC 6749 §3.2, §4.1.3, §6; RFC 7636 §4.6; OIDC Core §3.1.3, §12).

Implemented directly rather than through authlib's ``AuthorizationServer``: authlib's grant
hooks are synchronous and expect to look records up themselves, whereas DESIGN §10 wants
every Redis access async and atomic (a code is consumed by one Lua script, tokens written
by another). The protocol rules are the same; ``docs/oidc.md`` explains the choice.

- ``authorization_code``: client authenticated; code consumed atomically; a replayed code
  revokes its whole token family; ``exp`` (≤ 60 s), ``client_id`` and ``redirect_uri``
  checked; PKCE S256 verified; consent still active.
- ``refresh_token``: rotation (a new refresh token each time, the old one marked used);
  reuse of a used one revokes the family; a request refused for its ``scope`` leaves the
  token unused (§6: a refused grant request changes nothing); scope may only narrow, and
  only for the new access token: the new refresh token keeps the original grant's scope
  (§6: the refreshed grant is the original one), so a later refresh may ask for all of it
  again; without ``offline_access`` only while the grant's bridge session lives
  (:mod:`federation.oidc.session_tokens`).

Access and refresh tokens are opaque random strings stored by SM3 digest (why: see
``docs/oidc.md``). Responses carry ``Cache-Control: no-store``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis

from federation import metrics
from federation.oidc.clients import Client
from federation.oidc.errors import OAuthError, invalid_grant, invalid_request
from federation.oidc.idtoken import issue_id_token
from federation.oidc.models import Grant
from federation.oidc.params import split_spaces
from federation.oidc.provider import OidcProvider
from federation.oidc.sealing import seal, unseal
from federation.oidc.session_tokens import session_alive
from federation.oidc.store import Consumed, digest, new_secret
from federation.storage.keys import Keys

_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")


def s256(verifier: str) -> str:
    """RFC 7636 §4.2: ``BASE64URL(SHA256(ASCII(code_verifier)))``."""
    digest_ = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest_).rstrip(b"=").decode("ascii")


async def token_response(
    provider: OidcProvider, redis: aioredis.Redis, client: Client, form: Mapping[str, str]
) -> dict[str, Any]:
    """Dispatch on ``grant_type`` for an authenticated client."""
    grant_type = form.get("grant_type")
    if not grant_type:
        raise invalid_request("grant_type is required")
    if grant_type not in client.grant_types:
        raise OAuthError(
            "unauthorized_client"
            if grant_type in ("authorization_code", "refresh_token")
            else "unsupported_grant_type",
            "grant_type not allowed for this client",
        )
    if grant_type == "authorization_code":
        answer = await _authorization_code(provider, redis, client, form)
    else:
        answer = await _refresh_token(provider, redis, client, form)
    metrics.TOKENS_ISSUED.labels(grant_type).inc()
    return answer


async def _authorization_code(
    provider: OidcProvider, redis: aioredis.Redis, client: Client, form: Mapping[str, str]
) -> dict[str, Any]:
    code, verifier = form.get("code"), form.get("code_verifier")
    if not code:
        raise invalid_request("code is required")
    if not verifier or not _VERIFIER.match(verifier):
        raise invalid_request("code_verifier is required (PKCE)")
    store = provider.store(redis)
    consumed = await store.consume_code(code, provider.config.refresh_token_ttl)
    if consumed.status == "used":
        await store.revoke_family(consumed.family)
        raise invalid_grant("code was already used; the tokens it issued are revoked")
    record = _usable_code(provider, consumed, client, form.get("redirect_uri"))
    if not hmac.compare_digest(s256(verifier), record["code_challenge"]):
        raise invalid_grant("code_verifier does not match the code_challenge")
    grant = Grant.from_dict(unseal(record["grant"], code, Keys.auth_code(digest(code))))
    await _require_consent(provider, redis, grant)
    return await _issue(
        provider,
        redis,
        client,
        grant,
        consumed.family,
        record["nonce"] or None,
        " ".join(grant.scopes),
    )


def _usable_code(
    provider: OidcProvider, consumed: Consumed, client: Client, redirect_uri: str | None
) -> dict[str, str]:
    record = consumed.fields
    if consumed.status != "ok" or record is None:
        raise invalid_grant("code is invalid")
    if record["client_id"] != client.client_id:
        raise invalid_grant("code was issued to another client")
    if int(record["exp"]) < provider.clock():
        raise invalid_grant("code has expired")
    if redirect_uri != record["redirect_uri"]:
        raise invalid_grant("redirect_uri does not match the authorization request")
    return record


async def _refresh_token(
    provider: OidcProvider, redis: aioredis.Redis, client: Client, form: Mapping[str, str]
) -> dict[str, Any]:
    presented = form.get("refresh_token")
    if not presented:
        raise invalid_request("refresh_token is required")
    store = provider.store(redis)
    asked = split_spaces(form.get("scope"))
    # the scope is checked before the token is consumed: a refused request changes nothing
    consumed = await store.use_refresh(presented, client.client_id, asked)
    if consumed.status == "invalid_scope":
        raise OAuthError("invalid_scope", "scope exceeds the original grant")
    if consumed.status == "used":
        await store.revoke_family(consumed.family)
        raise invalid_grant("refresh_token was already used; its token family is revoked")
    if consumed.status != "ok" or consumed.fields is None:
        raise invalid_grant("refresh_token is invalid")
    record = consumed.fields
    if record["client_id"] != client.client_id:  # a leaked token: end the family
        await store.revoke_family(consumed.family)
        raise invalid_grant("refresh_token is invalid")
    if int(record["exp"]) < provider.clock():
        raise invalid_grant("refresh_token has expired")
    grant = Grant.from_dict(
        unseal(record["grant"], presented, Keys.refresh_token(digest(presented)))
    )
    granted = split_spaces(record["scope"])
    requested = asked or granted
    if set(requested) - set(granted):  # checked by use_refresh already; kept as a guard
        raise OAuthError("invalid_scope", "scope exceeds the original grant")
    try:
        await _require_consent(provider, redis, grant)
    except OAuthError:
        await store.revoke_family(consumed.family)
        raise
    if not await session_alive(redis, grant):  # bound to a session that has ended
        await store.revoke_family(consumed.family)
        raise invalid_grant("the session behind this grant has ended (no offline_access)")
    return await _issue(
        provider,
        redis,
        client,
        grant,
        consumed.family,
        None,
        " ".join(requested),
        refresh_scope=" ".join(granted),
    )


async def _require_consent(provider: OidcProvider, redis: aioredis.Redis, grant: Grant) -> None:
    if grant.consent_id and not await provider.consent_checker.consent_active(
        redis, grant.consent_id
    ):
        raise invalid_grant("the consent behind this grant was withdrawn")


async def _issue(
    provider: OidcProvider,
    redis: aioredis.Redis,
    client: Client,
    grant: Grant,
    family: str,
    nonce: str | None,
    scope: str,
    *,
    refresh_scope: str | None = None,
) -> dict[str, Any]:
    """Mint access (+ refresh) token and ID token; store them in the family in one trip.

    The access token carries ``scope``; the refresh token ``refresh_scope`` (default
    ``scope``): on a narrowing refresh, the original grant's scope (RFC 6749 §6)."""
    config, now = provider.config, provider.clock()
    released = grant.narrowed(split_spaces(scope))  # what this access token may see
    access = new_secret()
    access_key = Keys.access_token(digest(access))
    common = {
        "client_id": client.client_id,
        "sub": grant.subject,
        "sid": grant.sid or "",
        "scope": scope,
        "family": family,
        "iat": str(now),
        "consent_id": grant.consent_id or "",
    }
    tokens = [
        (
            access_key,
            {
                **common,
                "exp": str(now + config.access_token_ttl),
                "claims": seal(dict(released.userinfo_claims), access, access_key),
            },
            config.access_token_ttl,
        )
    ]
    refresh = None
    if "refresh_token" in client.grant_types:
        refresh = new_secret()
        refresh_key = Keys.refresh_token(digest(refresh))
        tokens.append(
            (
                refresh_key,
                {
                    **common,
                    "scope": refresh_scope or scope,
                    "exp": str(now + config.refresh_token_ttl),
                    "grant": seal(grant.to_dict(), refresh, refresh_key),
                },
                config.refresh_token_ttl,
            )
        )
    body: dict[str, Any] = {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": config.access_token_ttl,
        "scope": scope,
        "id_token": issue_id_token(provider, client, released, nonce=nonce, access_token=access),
    }
    if refresh:
        body["refresh_token"] = refresh
    if not await provider.store(redis).store_tokens(family, config.refresh_token_ttl, tokens):
        raise invalid_grant("this grant has been revoked")
    return body
