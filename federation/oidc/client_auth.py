"""Client authentication at the token, PAR, revocation and introspection endpoints.

- ``client_secret_basic`` (RFC 6749 §2.3.1; id and secret form-urlencoded before Basic);
- ``client_secret_post`` (RFC 6749 §2.3.1, body parameters);
- ``private_key_jwt`` (OIDC Core §9, RFC 7523 §2.2, §3): a JWT signed with a key of the
  client's registered ``jwks`` or ``jwks_uri`` set (:mod:`federation.oidc.client_keys`:
  selected by ``kid``/``kty``/``alg``/``use``; ``SM2SM3``, ``ES256``, ``RS256`` or
  ``PS256``, or only the registered ``token_endpoint_auth_signing_alg``; ``none``, HMAC and
  any other alg fail before a key is used; a ``jwks_uri`` that cannot be fetched is
  ``invalid_client``, never a 500), ``iss`` = ``sub`` = client id, ``aud`` exactly the
  issuer (one string, or an array of just it) — not an endpoint URL, per the OpenID
  Foundation's 2025 private_key_jwt audience advisory and draft-ietf-oauth-rfc7523bis —,
  a bounded ``exp``, and a ``jti`` never seen before (replay guard in Redis,
  ``Keys.nonce_seen``, until the assertion expires).

A client may use only the method it registered. Every failure is ``invalid_client``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from urllib.parse import unquote_plus

import redis.asyncio as aioredis

from federation import untrusted
from federation.oidc.client_keys import ClientJWTError, allowed_algorithms
from federation.oidc.clients import Client
from federation.oidc.errors import OAuthError, invalid_client, invalid_request
from federation.oidc.jwks_cache import KeysUnavailable, verify_with_client_keys
from federation.oidc.provider import OidcProvider
from federation.oidc.store import digest
from federation.storage.keys import Keys

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 300


def parse_basic(authorization: str | None) -> tuple[str, str] | None:
    """(client_id, secret) from an ``Authorization: Basic`` header, or ``None``."""
    if not authorization or authorization[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except ValueError as exc:  # binascii.Error, UnicodeDecodeError, non-ASCII input
        raise invalid_client("malformed Basic credentials", basic=True) from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise invalid_client("malformed Basic credentials", basic=True)
    return unquote_plus(client_id), unquote_plus(secret)


async def authenticate_client(
    provider: OidcProvider,
    redis: aioredis.Redis,
    form: Mapping[str, str],
    authorization: str | None,
    audience: str,
) -> Client:
    """The authenticated client, or raise ``invalid_client`` (401).

    ``audience`` (the URL of the endpoint being called) is ignored: it is no longer an
    acceptable assertion ``aud``, only the issuer is. It stays in the signature until the
    router stops passing it."""
    del audience
    basic = parse_basic(authorization)
    has_assertion = "client_assertion" in form or "client_assertion_type" in form
    used = [basic is not None, "client_secret" in form, has_assertion]
    if sum(used) > 1:
        raise invalid_request("use exactly one client authentication method")
    if basic is not None:
        return await _by_secret(
            provider, redis, basic[0], basic[1], "client_secret_basic", form.get("client_id")
        )
    if "client_secret" in form:
        return await _by_secret(
            provider,
            redis,
            form.get("client_id", ""),
            form["client_secret"],
            "client_secret_post",
            None,
        )
    if has_assertion:
        return await _by_assertion(provider, redis, form)
    raise invalid_client("client authentication is required", basic=True)


async def _by_secret(
    provider: OidcProvider,
    redis: aioredis.Redis,
    client_id: str,
    secret: str,
    method: str,
    form_client_id: str | None,
) -> Client:
    basic = method == "client_secret_basic"
    if form_client_id is not None and form_client_id != client_id:
        raise invalid_client("client_id does not match the credentials", basic=basic)
    client = await provider.clients.get(redis, client_id)
    if (
        client is None
        or client.token_endpoint_auth_method != method
        or not provider.secrets.check(client, secret)
    ):
        raise invalid_client("client authentication failed", basic=basic)
    return client


async def _by_assertion(
    provider: OidcProvider, redis: aioredis.Redis, form: Mapping[str, str]
) -> Client:
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        raise invalid_client("unsupported client_assertion_type")
    assertion = form.get("client_assertion", "")
    client_id = _unverified_issuer(assertion, form.get("client_id"))
    client = await provider.clients.get(redis, client_id)
    if client is None or client.token_endpoint_auth_method != "private_key_jwt":  # noqa: S105
        raise invalid_client("client authentication failed")
    try:
        _, claims = await verify_with_client_keys(
            provider.config,
            redis,
            client,
            assertion,
            allowed_algorithms(client.token_endpoint_auth_signing_alg),
        )
    except ClientJWTError as exc:
        raise invalid_client("client assertion does not verify") from exc
    except KeysUnavailable as exc:
        raise invalid_client("the client's jwks_uri could not be fetched") from exc
    _check_assertion_claims(provider, client, claims)
    jti = str(claims["jti"])
    fresh = await redis.set(
        Keys.nonce_seen(client.client_id, digest(jti)),
        "1",
        nx=True,
        ex=max(1, int(claims["exp"]) - provider.clock() + 1),
    )
    if not fresh:
        raise invalid_client("client assertion was already used")
    return client


def _unverified_issuer(assertion: str, form_client_id: str | None) -> str:
    """The ``iss`` of an assertion before verification, only to find the client's keys."""
    try:
        payload = assertion.split(".")[1]
        claims = untrusted.loads_b64url(payload)
        issuer = claims["iss"] if isinstance(claims, dict) else None
    except (IndexError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise invalid_client("malformed client assertion") from exc
    if not isinstance(issuer, str) or (form_client_id and form_client_id != issuer):
        raise invalid_client("client assertion issuer does not match client_id")
    return issuer


def _check_assertion_claims(
    provider: OidcProvider, client: Client, claims: Mapping[str, object]
) -> None:
    """RFC 7523 §3 claim checks; ``aud`` must be the issuer alone (rfc7523bis)."""
    now = provider.clock()
    aud = claims.get("aud")
    exp, jti = claims.get("exp"), claims.get("jti")
    problems = [
        claims.get("iss") != client.client_id or claims.get("sub") != client.client_id,
        aud != provider.issuer and aud != [provider.issuer],
        not isinstance(exp, int) or exp < now or exp > now + MAX_ASSERTION_LIFETIME,
        not isinstance(jti, str) or not 8 <= len(jti) <= 256,
        isinstance(claims.get("nbf"), int) and int(claims["nbf"]) > now + 30,  # type: ignore[arg-type]
    ]
    if any(problems):
        raise invalid_client("client assertion claims are not acceptable")


__all__ = ["ASSERTION_TYPE", "OAuthError", "authenticate_client", "parse_basic"]
