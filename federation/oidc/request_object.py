"""Request objects (RFC 9101, OIDC Core §6): authorization parameters in a JWT, sent by
value (``request``) or by reference (``request_uri``).

- By reference, only a URI the client registered in ``request_uris`` (exactly; OIDC
  Registration §2, and so ``require_request_uri_registration``), fetched through the
  egress guard (:mod:`federation.oidc.fetch`: public addresses, no redirects, size and
  time limits). PAR's ``urn:ietf:params:oauth:request_uri:`` values are not request
  objects: :mod:`federation.oidc.par` takes them before this module is asked.
- Signed with one of the client's registered keys (``jwks`` or ``jwks_uri``,
  :mod:`federation.oidc.client_keys`): SM2SM3, ES256, RS256 or PS256, or only the
  client's ``request_object_signing_alg``. A signed object must name the client as
  ``iss`` and this provider as ``aud`` (RFC 9101 §4, §6.2) and may not be expired or not
  yet valid.
- Unsigned objects (``alg: none``) are accepted only for a client whose
  ``require_signed_request_object`` is off (RFC 9101 §10.5) and whose
  ``request_object_signing_alg`` is unset or ``none``; a client that set it must send
  every request as a signed object.
- The object's parameters win over the query's (OIDC Core §6.3.3); ``request`` and
  ``request_uri`` inside an object are refused (RFC 9101 §4), and so is a ``client_id``
  that is not the client's (§5).

Failures are :class:`RequestObjectError` with the RFC 9101 §7 error code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis

from federation import untrusted
from federation.oidc.client_keys import (
    CLIENT_JWS_ALGS,
    ClientJWTError,
    allowed_algorithms,
    unverified_header,
)
from federation.oidc.clients import Client
from federation.oidc.fetch import FetchError, fetch
from federation.oidc.jwks_cache import KeysUnavailable, verify_with_client_keys
from federation.oidc.params import MAX_LONG_VALUE
from federation.oidc.provider import OidcProvider

SIGNING_ALGS = (*CLIENT_JWS_ALGS, "none")
"""``request_object_signing_alg_values_supported``."""
MEDIA_TYPES = "application/oauth-authz-req+jwt, application/jwt"
_JWT_CLAIMS = frozenset({"iss", "aud", "exp", "iat", "nbf", "jti", "sub"})
_SKEW = 30


class RequestObjectError(Exception):
    """An unusable request object; ``error`` is ``invalid_request_object``,
    ``invalid_request_uri`` or ``invalid_request``."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def registrable_request_uris(value: Any) -> list[str]:
    """The ``request_uris`` of a registration that can be used: absolute http(s) URIs.
    Others (pyoidc registers a relative ``requests/<hash>`` when its ``base_url`` is unset)
    are left out, as RFC 7591 §2 lets a server replace requested values; the response
    shows the client what was kept, and an unregistered ``request_uri`` is refused later."""
    if not isinstance(value, list):
        return []
    kept = []
    for uri in value:
        parts = urlsplit(uri) if isinstance(uri, str) else None
        if parts is not None and parts.scheme in ("https", "http") and parts.netloc:
            kept.append(uri)
    return kept


def _first(pairs: Sequence[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in pairs if key == name and value != ""]


async def resolve(
    provider: OidcProvider,
    redis: aioredis.Redis,
    client: Client,
    pairs: Sequence[tuple[str, str]],
) -> list[tuple[str, str]] | None:
    """The request's parameters with its request object applied, or ``None`` when it has
    none (then a client with ``require_signed_request_object`` is refused)."""
    by_value, by_reference = _first(pairs, "request"), _first(pairs, "request_uri")
    if not by_value and not by_reference:
        if client.require_signed_request_object:
            raise RequestObjectError(
                "invalid_request", "this client must send a signed request object"
            )
        return None
    if len(by_value) + len(by_reference) > 1:
        raise RequestObjectError("invalid_request", "use one request or request_uri")
    if by_value:
        token = by_value[0]
    else:
        token = await _fetch(provider, client, by_reference[0])
    if len(token) > MAX_LONG_VALUE:
        raise RequestObjectError("invalid_request_object", "the request object is too large")
    claims = await verify(provider, redis, client, token.strip())
    return merge(pairs, claims, client)


async def _fetch(provider: OidcProvider, client: Client, uri: str) -> str:
    """The request object at a registered ``request_uri`` (RFC 9101 §5.2)."""
    if uri not in client.request_uris:
        raise RequestObjectError("invalid_request_uri", "request_uri is not registered")
    try:
        fetched = await fetch(uri.split("#", 1)[0], provider.config, accept=MEDIA_TYPES)
        return fetched.body.decode("ascii")
    except FetchError as exc:
        raise RequestObjectError("invalid_request_uri", "request_uri could not be fetched") from exc
    except UnicodeDecodeError as exc:
        raise RequestObjectError("invalid_request_uri", "request_uri is not a JWT") from exc


async def verify(
    provider: OidcProvider, redis: aioredis.Redis, client: Client, token: str
) -> dict[str, Any]:
    """The claims of a request object (signature, ``iss``, ``aud``, lifetime)."""
    if token.count(".") != 2:
        raise RequestObjectError("invalid_request_object", "not a JWT")
    try:
        alg = unverified_header(token).get("alg")
    except ClientJWTError as exc:
        raise RequestObjectError("invalid_request_object", "malformed header") from exc
    registered = client.request_object_signing_alg
    if alg == "none":
        if client.require_signed_request_object or registered not in (None, "none"):
            raise RequestObjectError("invalid_request_object", "the request must be signed")
        return _unsigned_claims(token)
    if registered == "none":
        raise RequestObjectError("invalid_request_object", "alg is not the registered one")
    try:
        _, claims = await verify_with_client_keys(
            provider.config, redis, client, token, allowed_algorithms(registered)
        )
    except ClientJWTError as exc:
        raise RequestObjectError("invalid_request_object", "signature does not verify") from exc
    except KeysUnavailable as exc:
        raise RequestObjectError("invalid_request_object", "client keys unavailable") from exc
    _check_claims(provider, client, claims)
    return claims


def _unsigned_claims(token: str) -> dict[str, Any]:
    _, payload, signature = token.split(".")
    if signature:
        raise RequestObjectError("invalid_request_object", "alg none with a signature")
    try:
        claims = untrusted.loads_b64url(payload)
    except (ValueError, RecursionError) as exc:
        raise RequestObjectError("invalid_request_object", "payload is not JSON") from exc
    if not isinstance(claims, dict):
        raise RequestObjectError("invalid_request_object", "payload is not a JSON object")
    return claims


def _check_claims(provider: OidcProvider, client: Client, claims: Mapping[str, Any]) -> None:
    now = provider.clock()
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if claims.get("iss") != client.client_id:
        raise RequestObjectError("invalid_request_object", "iss must be the client_id")
    if provider.issuer not in audiences:
        raise RequestObjectError("invalid_request_object", "aud must be the issuer")
    if exp is not None and (not isinstance(exp, int) or exp < now - _SKEW):
        raise RequestObjectError("invalid_request_object", "the request object has expired")
    if nbf is not None and (not isinstance(nbf, int) or nbf > now + _SKEW):
        raise RequestObjectError("invalid_request_object", "the request object is not yet valid")


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def merge(
    pairs: Sequence[tuple[str, str]], claims: Mapping[str, Any], client: Client
) -> list[tuple[str, str]]:
    """The query's parameters overridden by the object's (OIDC Core §6.3.3)."""
    if "request" in claims or "request_uri" in claims:
        raise RequestObjectError("invalid_request_object", "request objects may not nest")
    if claims.get("client_id", client.client_id) != client.client_id:
        raise RequestObjectError("invalid_request_object", "client_id does not match")
    inner = [
        (str(name), _as_text(value))
        for name, value in claims.items()
        if name not in _JWT_CLAIMS and value is not None
    ]
    overridden = {name for name, _ in inner} | {"request", "request_uri"}
    return [(k, v) for k, v in pairs if k not in overridden] + inner
