"""The API the login journey and the consent layer use (documented in ``docs/oidc.md``).

Journey: ``/authorize`` validates the request (:func:`validate_authorization_request`) and
hands the :class:`AuthorizationRequest` to the journey; the journey decides with
:func:`session_decision` / :func:`consent_decision`, runs login and consent, and ends with
either :func:`issue_authorization_code` or :func:`error_redirect` — both return the URL to
redirect the browser to.

Consent layer: :func:`revoke_grants_for` revokes a person's tokens at an RP;
:func:`federation.oidc.logout.send_backchannel_logout` tells the RP; the
:class:`~federation.oidc.provider.ConsentChecker` hook makes tokens resting on a withdrawn
consent fail at ``/userinfo``, refresh and introspection.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import Literal

import redis.asyncio as aioredis

from federation.identity import now as wall_clock
from federation.oidc.authorize import error_redirect, validate_authorization_request, with_query
from federation.oidc.errors import RedirectableError
from federation.oidc.models import AuthorizationRequest, Grant
from federation.oidc.provider import OidcProvider
from federation.oidc.sealing import seal
from federation.oidc.session import Session
from federation.oidc.session_tokens import outlives_session
from federation.oidc.store import Revoked, TokenStore, digest, new_secret
from federation.storage.keys import Keys

CODE_TTL = 60
"""Authorization code lifetime (DESIGN §8: ≤ 60 s)."""
GRANTS_INDEX_TTL = 30 * 24 * 3600
"""How long the per-person-per-RP index of token families is kept (refresh lifetime)."""

__all__ = [
    "AuthorizationRequest",
    "Grant",
    "consent_decision",
    "error_redirect",
    "issue_authorization_code",
    "revoke_grants_for",
    "session_decision",
    "validate_authorization_request",
]


async def issue_authorization_code(
    redis: aioredis.Redis,
    request: AuthorizationRequest,
    grant: Grant,
    *,
    clock: Callable[[], int] = wall_clock,
    code_ttl: int = CODE_TTL,
    provider: OidcProvider | None = None,
    discard: Sequence[str] = (),
) -> str:
    """Store a single-use code for ``grant`` and return the redirect URL with ``code``,
    ``state`` and ``iss`` (RFC 6749 §4.1.2, RFC 9207). One Redis round trip, which also
    deletes the keys in ``discard`` (the caller's journey records).

    Raises ``ValueError`` if the grant is not within the request (scopes, ``openid``).
    """
    if "openid" not in grant.scopes or set(grant.scopes) - set(request.scopes):
        raise ValueError("granted scopes must include openid and be among those requested")
    code = new_secret()
    family = secrets.token_urlsafe(16)
    if provider is not None:
        clock, code_ttl = provider.clock, provider.config.code_ttl
    code_ttl = min(code_ttl, CODE_TTL)
    key = Keys.auth_code(digest(code))
    fields = {
        "client_id": request.client_id,
        "redirect_uri": request.redirect_uri,
        "code_challenge": request.code_challenge,
        "nonce": request.nonce or "",
        "family": family,
        "exp": str(clock() + code_ttl),
        "grant": seal(grant.to_dict(), code, key),
    }
    await TokenStore(redis).save_code(
        code,
        fields,
        code_ttl,
        grant.person,
        request.client_id,
        GRANTS_INDEX_TTL,
        grant.sid,
        grant.subject,
        discard,
        session_bound=not outlives_session(grant),
    )
    return with_query(
        request.redirect_uri, {"code": code, "state": request.state, "iss": request.issuer}
    )


def session_decision(
    request: AuthorizationRequest, session: Session | None, now: int
) -> Literal["login", "reuse"]:
    """Whether the person must (re)authenticate (OIDC Core §3.1.2.1 ``prompt``, ``max_age``,
    ``id_token_hint``). With ``prompt=none`` a needed login raises ``login_required``.

    A session is reusable unless ``prompt`` has ``login`` or ``select_account``, it is
    older than ``max_age``, or an ``id_token_hint`` names someone else at this RP."""
    reusable = session is not None and not {"login", "select_account"} & set(request.prompt)
    if session is not None and request.max_age is not None:
        reusable = reusable and now - session.auth_time <= request.max_age
    if session is not None and request.id_token_hint_subject is not None:
        known = session.rp_subjects.get(request.client_id)
        reusable = reusable and known == request.id_token_hint_subject
    if "none" in request.prompt and not reusable:
        raise RedirectableError(
            "login_required",
            "the person is not logged in",
            redirect_uri=request.redirect_uri,
            state=request.state,
        )
    return "reuse" if reusable else "login"


def consent_decision(request: AuthorizationRequest, remembered: bool) -> Literal["show", "skip"]:
    """Whether to show the consent page: always for ``prompt=consent``, else unless a valid
    consent is remembered; ``prompt=none`` with consent needed raises ``consent_required``."""
    if "consent" in request.prompt:
        return "show"
    if remembered:
        return "skip"
    if "none" in request.prompt:
        raise RedirectableError(
            "consent_required",
            "consent is needed",
            redirect_uri=request.redirect_uri,
            state=request.state,
        )
    return "show"


async def revoke_grants_for(redis: aioredis.Redis, subject: str, client_id: str) -> list[Revoked]:
    """Revoke every access and refresh token (and pending code) a person holds at an RP.

    ``subject`` is the person's bridge subject (``Grant.person``). Returns, per token
    family, how many tokens went and the RP-facing ``sub``/``sid`` to put in a back-channel
    logout token."""
    store = TokenStore(redis)
    families = await store.families_for(subject, client_id)
    return [await store.revoke_family(family) for family in families]
