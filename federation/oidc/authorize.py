"""Authorization endpoint (OIDC Core §3.1.2, RFC 6749 §4.1, RFC 7636, RFC 9126, RFC 9207).

:func:`validate_authorization_request` turns query (or pushed) parameters into an
:class:`~federation.oidc.models.AuthorizationRequest` or raises a typed error:

- :class:`NonRedirectableError` for an unknown client, a missing or unregistered
  ``redirect_uri`` or an unusable PAR ``request_uri`` — the person gets a page;
- :class:`RedirectableError` for anything else — the RP gets ``error``, ``state`` and
  ``iss`` at its redirect URI (:func:`error_redirect`).

Code flow only; PKCE S256 required (``plain`` and a missing method are refused); exact
redirect URI match; request objects by value or by a registered ``request_uri``
(:mod:`federation.oidc.request_object`, RFC 9101) are applied before anything else is
judged, so their parameters win (OIDC Core §6.3.3); pushed ``request_uri`` values
(RFC 9126) are taken first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

import redis.asyncio as aioredis

from federation import untrusted
from federation.oidc import par, request_object
from federation.oidc.clients import SCOPES, Client
from federation.oidc.errors import (
    INVALID_CLIENT,
    INVALID_REDIRECT_URI,
    INVALID_REQUEST,
    INVALID_REQUEST_OBJECT,
    MISSING_REDIRECT_URI,
    NonRedirectableError,
    OAuthError,
    RedirectableError,
)
from federation.oidc.models import AuthorizationRequest
from federation.oidc.params import ParamError, collect, first_of, split_spaces
from federation.oidc.provider import OidcProvider
from federation.oidc.signing import TokenError
from federation.pages.locale import LOCALES, normalise_locale

Fail = Callable[[str, str], RedirectableError]
"""Builds the redirectable error of the request being validated."""

PROMPTS = frozenset({"none", "login", "consent", "select_account"})
RESPONSE_MODES = ("query", "form_post")
"""OAuth 2.0 Multiple Response Type Encoding Practices §2.1 and Form Post Response Mode;
``fragment`` is for the implicit and hybrid flows, which are refused."""
UI_LOCALES = LOCALES
"""Locales the pages are shown in (:mod:`federation.pages.locale`)."""
_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
MAX_STATE = 1024
"""Longest ``state`` kept (characters): the journey stores it until the code is issued, so
an anonymous request may not make it large (issue 24; ``federation.journey.budget``)."""
MAX_CLAIMS = 2048
"""Longest ``claims`` parameter (characters), for the same reason."""
MAX_NONCE = 512


def with_query(uri: str, params: dict[str, str | None]) -> str:
    """``uri`` with ``params`` (``None`` values dropped) appended to its query."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{uri}{'&' if '?' in uri else '?'}{query}"


def error_redirect(request: AuthorizationRequest, error: str, description: str = "") -> str:
    """The redirect URL that ends a request with ``error`` (access_denied, login_required,
    consent_required, temporarily_unavailable, …), ``state`` and ``iss`` (RFC 9207)."""
    return with_query(
        request.redirect_uri,
        {
            "error": error,
            "error_description": description or None,
            "state": request.state,
            "iss": request.issuer,
        },
    )


def redirect_for(error: RedirectableError, issuer: str) -> str:
    """The redirect URL for a :class:`RedirectableError` raised during validation."""
    return with_query(
        error.redirect_uri,
        {
            "error": error.error,
            "error_description": error.description or None,
            "state": error.state,
            "iss": issuer,
        },
    )


async def validate_authorization_request(
    provider: OidcProvider,
    redis: aioredis.Redis,
    pairs: Sequence[tuple[str, str]],
    *,
    pushed_by: Client | None = None,
) -> AuthorizationRequest:
    """Validate an authentication request given as ``(name, value)`` pairs.

    ``pushed_by`` is the authenticated client when validating a PAR body (RFC 9126 §2.1);
    then no ``request_uri`` is accepted and every error is an ``OAuthError`` for JSON.
    """
    client_id, unique = first_of(pairs, "client_id")
    if not client_id or not unique or len(client_id) > 128:
        raise NonRedirectableError(
            "invalid_request", "client_id is missing or repeated", kind=INVALID_REQUEST
        )
    client = await provider.clients.get(redis, client_id)
    if client is None or (pushed_by is not None and pushed_by.client_id != client.client_id):
        raise NonRedirectableError("invalid_client", "unknown client", kind=INVALID_CLIENT)
    from_par = False
    request_uri, _ = first_of(pairs, "request_uri")
    if pushed_by is None and request_uri and par.is_pushed(request_uri):
        stored = await par.take(redis, request_uri, client.client_id)
        if stored is None:
            raise NonRedirectableError(
                "invalid_request_uri", "request_uri is unknown or used", kind=INVALID_REQUEST
            )
        pairs, from_par = stored, True
    if pushed_by is not None and first_of(pairs, "request_uri")[0]:  # RFC 9126 §2.1
        raise OAuthError("invalid_request", "request_uri must not be sent in a pushed request")
    try:
        pairs = await request_object.resolve(provider, redis, client, pairs) or pairs
    except request_object.RequestObjectError as exc:
        raise _object_failure(client, pairs, exc) from exc
    redirect_uri, unique = first_of(pairs, "redirect_uri")
    if not redirect_uri or not unique:
        raise NonRedirectableError(
            "invalid_request", "redirect_uri is missing or repeated", kind=MISSING_REDIRECT_URI
        )
    if redirect_uri not in client.redirect_uris:
        raise NonRedirectableError(
            "invalid_request", "redirect_uri is not registered", kind=INVALID_REDIRECT_URI
        )
    state, unique = first_of(pairs, "state")
    state = state if unique and state and len(state) <= MAX_STATE else None

    mode, _ = first_of(pairs, "response_mode")
    mode = mode if mode in RESPONSE_MODES else "query"

    def fail(error: str, description: str) -> RedirectableError:
        return RedirectableError(
            error, description, redirect_uri=redirect_uri, state=state, response_mode=mode
        )

    try:
        params = collect(pairs)
    except ParamError as exc:
        raise fail("invalid_request", str(exc)) from exc
    if len(params.get("state", "")) > MAX_STATE:
        raise fail("invalid_request", "state is too long")
    if len(params.get("claims", "")) > MAX_CLAIMS:
        raise fail("invalid_request", "claims is too long")
    if (
        pushed_by is None
        and not from_par
        and (
            client.require_pushed_authorization_requests
            or provider.config.require_pushed_authorization_requests
        )
    ):
        raise fail("invalid_request", "this client must use pushed authorization requests")
    return _build(provider, client, redirect_uri, state, params, fail)


def _object_failure(
    client: Client, pairs: Sequence[tuple[str, str]], exc: request_object.RequestObjectError
) -> OAuthError:
    """A request object that cannot be used: redirected to the query's redirect URI when
    the client registered it (RFC 9101 §6.3), else the person's page."""
    redirect_uri, unique = first_of(pairs, "redirect_uri")
    if redirect_uri and unique and redirect_uri in client.redirect_uris:
        state, unique = first_of(pairs, "state")
        state = state if unique and state and len(state) <= MAX_STATE else None
        return RedirectableError(exc.error, exc.description, redirect_uri=redirect_uri, state=state)
    return NonRedirectableError(exc.error, exc.description, kind=INVALID_REQUEST_OBJECT)


def _build(
    provider: OidcProvider,
    client: Client,
    redirect_uri: str,
    state: str | None,
    params: dict[str, str],
    fail: Fail,
) -> AuthorizationRequest:
    response_type = params.get("response_type")
    if not response_type:
        raise fail("invalid_request", "response_type is required")
    if response_type != "code":
        raise fail("unsupported_response_type", "only response_type=code is supported")
    response_mode = params.get("response_mode", "query")
    if response_mode not in RESPONSE_MODES:
        raise fail("invalid_request", "response_mode must be query or form_post")
    requested = split_spaces(params.get("scope"))
    if "openid" not in requested:
        raise fail("invalid_scope", "scope must include openid")
    scopes = tuple(s for s in requested if s in SCOPES and s in client.scopes)
    challenge = params.get("code_challenge")
    if not challenge:
        raise fail("invalid_request", "code_challenge is required (PKCE)")
    if params.get("code_challenge_method") != "S256":
        raise fail("invalid_request", "code_challenge_method must be S256")
    if not _CHALLENGE.match(challenge):
        raise fail("invalid_request", "code_challenge is not a base64url SHA-256 digest")
    nonce = params.get("nonce")
    if nonce is not None and len(nonce) > MAX_NONCE:
        raise fail("invalid_request", "nonce is too long")
    hint_sub, hint_sid = _id_token_hint(provider, client, params.get("id_token_hint"), fail)
    return AuthorizationRequest(
        client=client,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=state,
        nonce=nonce,
        code_challenge=challenge,
        issuer=provider.issuer,
        prompt=_prompt(params.get("prompt"), fail),
        max_age=_max_age(params.get("max_age"), fail),
        claims=_claims(params.get("claims"), fail),
        ui_locales=ui_locales(params.get("ui_locales")),
        acr_values=split_spaces(params.get("acr_values")),
        login_hint=params.get("login_hint"),
        id_token_hint_subject=hint_sub,
        id_token_hint_sid=hint_sid,
        response_mode=response_mode,
    )


def _prompt(value: str | None, fail: Fail) -> tuple[str, ...]:
    prompt = split_spaces(value)
    if set(prompt) - PROMPTS:
        raise fail("invalid_request", "unknown prompt value")
    if "none" in prompt and len(prompt) > 1:
        raise fail("invalid_request", "prompt=none cannot be combined with other values")
    return prompt


def _max_age(value: str | None, fail: Fail) -> int | None:
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        raise fail("invalid_request", "max_age must be a non-negative integer")
    return int(value)


def _claims(value: str | None, fail: Fail) -> dict[str, Any] | None:
    """OIDC Core §5.5: a JSON object with optional ``userinfo`` and ``id_token`` members,
    each mapping claim names to ``null`` or an object."""
    if value is None:
        return None
    try:
        claims = untrusted.loads(value)
    except ValueError as exc:
        raise fail("invalid_request", "claims is not valid JSON") from exc
    if not isinstance(claims, dict):
        raise fail("invalid_request", "claims must be a JSON object")
    for target in ("userinfo", "id_token"):
        members = claims.get(target, {})
        if not isinstance(members, dict) or any(
            spec is not None and not isinstance(spec, dict) for spec in members.values()
        ):
            raise fail("invalid_request", f"claims.{target} must map names to null or objects")
    return {k: v for k, v in claims.items() if k in ("userinfo", "id_token")}


def ui_locales(value: str | None) -> tuple[str, ...]:
    """The requested locales the bridge supports, normalised, in the RP's order."""
    out: list[str] = []
    for tag in split_spaces(value):
        locale = normalise_locale(tag)
        if locale and locale not in out:
            out.append(locale)
    return tuple(out)


def _id_token_hint(
    provider: OidcProvider, client: Client, hint: str | None, fail: Fail
) -> tuple[str | None, str | None]:
    """(sub, sid) of an ID token we issued to this client; expiry is not checked
    (OIDC Core §3.1.2.1 allows an expired hint)."""
    if hint is None:
        return None, None
    try:
        claims = provider.signer.verify(hint, provider.signer.algorithms())
    except TokenError as exc:
        raise fail("invalid_request", "id_token_hint does not verify") from exc
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if claims.get("iss") != provider.issuer or client.client_id not in audiences:
        raise fail("invalid_request", "id_token_hint was not issued to this client")
    sub, sid = claims.get("sub"), claims.get("sid")
    return (str(sub) if sub else None), (str(sid) if sid else None)
