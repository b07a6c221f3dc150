"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2–§3).

``/logout`` (GET or POST form) accepts ``id_token_hint`` (verified against our keys and
issued by us; expiry ignored, §2), ``client_id`` (must be an audience of the hint),
``post_logout_redirect_uri`` (registered exactly for that client, §3), ``state`` and
``ui_locales``. :func:`validate_logout_request` checks them; a bad one raises
:class:`~federation.oidc.errors.NonRedirectableError`: the person sees the error page, never
JSON and never a redirect to a URI that was not validated.

Then, by the bridge session in the cookie (:func:`end_session_request`):

- no session: nothing to end; on to the validated redirect (or the signed-out page);
- a hint whose ``sid`` is that session's: the session ends at once;
- otherwise (no hint, or a hint of another session): the OP MUST ask the person (§2), so
  the result asks for confirmation; only a confirmed POST carrying a valid CSRF token
  (checked by the router) ends the session.

When a session ends, the token families bound to it are revoked (all but those granted
with ``offline_access``: :mod:`federation.oidc.session_tokens`), and every RP of it that
registered a ``backchannel_logout_uri`` gets a logout token, concurrently
(:mod:`federation.oidc.backchannel`) — except the RP that asked with a matching hint,
which is logging the person out itself.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

import redis.asyncio as aioredis

from federation.oidc.authorize import with_query
from federation.oidc.backchannel import (
    EVENT,
    LOGOUT_TOKEN_TTL,
    logout_token_claims,
    send_backchannel_logout,
    send_backchannel_logouts,
)
from federation.oidc.clients import Client
from federation.oidc.errors import (
    INVALID_CLIENT,
    INVALID_REDIRECT_URI,
    INVALID_REQUEST,
    REQUEST_TOO_LARGE,
    UNVERIFIABLE_REDIRECT_URI,
    NonRedirectableError,
)
from federation.oidc.provider import OidcProvider
from federation.oidc.session import Session, end_session
from federation.oidc.session_tokens import revoke_session_tokens
from federation.oidc.signing import TokenError
from federation.outbound import Poster

__all__ = [
    "CSRF_FAILED",
    "EVENT",
    "LOGOUT_TOKEN_TTL",
    "LogoutRequest",
    "LogoutResult",
    "end_session_request",
    "logout_token_claims",
    "send_backchannel_logout",
    "validate_logout_request",
]

CSRF_FAILED = "csrf_failed"
"""``NonRedirectableError.kind`` of a confirmation POST whose CSRF token is missing, expired
or bound to another session."""


def refused(description: str, kind: str = INVALID_REQUEST) -> NonRedirectableError:
    """A logout error shown to the person as a page (never redirected)."""
    status = {CSRF_FAILED: 403, REQUEST_TOO_LARGE: 413}.get(kind, 400)
    return NonRedirectableError("invalid_request", description, status, kind=kind)


@dataclass(frozen=True, slots=True)
class LogoutRequest:
    """A validated logout request."""

    client_id: str | None = None
    """The client named by ``client_id`` or the hint's ``aud`` (registered)."""
    post_logout_redirect_uri: str | None = None
    """Registered exactly for ``client_id``."""
    state: str | None = None
    ui_locales: str | None = None
    hint_sid: str | None = None
    """The ``sid`` of a verified ``id_token_hint`` (``None``: no hint, or it had none)."""

    @property
    def redirect_to(self) -> str | None:
        """Where to send the browser afterwards (§3: with ``state``), or ``None``."""
        if not self.post_logout_redirect_uri or not self.state:
            return self.post_logout_redirect_uri
        return with_query(self.post_logout_redirect_uri, {"state": self.state})

    def confirmation_fields(self) -> tuple[tuple[str, str], ...]:
        """The validated parameters for the confirmation form's hidden fields (never the
        ID token: the form re-validates ``client_id`` and the redirect URI)."""
        fields = (
            ("client_id", self.client_id),
            ("post_logout_redirect_uri", self.post_logout_redirect_uri),
            ("state", self.state),
            ("ui_locales", self.ui_locales),
        )
        return tuple((name, value) for name, value in fields if value)


@dataclass(frozen=True, slots=True)
class LogoutResult:
    """What ``/logout`` did: where to send the browser (or ``None``: show a page)."""

    redirect_to: str | None
    session_ended: bool
    notified: tuple[str, ...]
    """Client ids that acknowledged a back-channel logout."""
    confirm: LogoutRequest | None = None
    """Set when the person must confirm first (§2): show the confirmation page."""


async def validate_logout_request(
    provider: OidcProvider, redis: aioredis.Redis, params: Mapping[str, str]
) -> LogoutRequest:
    """Check a logout request's parameters (RP-Initiated Logout 1.0 §2, §3)."""
    hint_claims: dict[str, object] = {}
    if "id_token_hint" in params:
        try:
            hint_claims = provider.signer.verify(
                params["id_token_hint"], provider.signer.algorithms()
            )
        except TokenError as exc:
            raise refused("id_token_hint does not verify") from exc
        if hint_claims.get("iss") != provider.issuer:
            raise refused("id_token_hint was not issued by this provider")
    aud = hint_claims.get("aud")
    audiences = [str(a) for a in (aud if isinstance(aud, list) else [aud] if aud else [])]
    client_id = params.get("client_id") or (audiences[0] if audiences else None)
    if params.get("client_id") and audiences and params["client_id"] not in audiences:
        raise refused("client_id does not match id_token_hint")
    client: Client | None = await provider.clients.get(redis, client_id) if client_id else None
    target = params.get("post_logout_redirect_uri")
    if target and client_id and client is None:
        raise refused("unknown client_id", INVALID_CLIENT)
    if target and client is None:
        # neither id_token_hint nor client_id: nothing says whose address this is
        raise refused(
            "post_logout_redirect_uri needs id_token_hint or client_id",
            UNVERIFIABLE_REDIRECT_URI,
        )
    if target and (client is None or target not in client.post_logout_redirect_uris):
        # §3: no redirection unless it exactly matches one the identified client registered
        raise refused("post_logout_redirect_uri is not registered", INVALID_REDIRECT_URI)
    sid = hint_claims.get("sid")
    return LogoutRequest(
        client_id=client.client_id if client else None,
        post_logout_redirect_uri=target,
        state=params.get("state"),
        ui_locales=params.get("ui_locales"),
        hint_sid=str(sid) if sid else None,
    )


def hint_matches(request: LogoutRequest, session: Session) -> bool:
    """Whether the request's ``id_token_hint`` belongs to ``session`` (same ``sid``)."""
    return request.hint_sid is not None and hmac.compare_digest(
        request.hint_sid.encode(), session.session_id.encode()
    )


async def end_session_request(
    provider: OidcProvider,
    redis: aioredis.Redis,
    request: LogoutRequest,
    session: Session | None,
    *,
    confirmed: bool = False,
    http: Poster | None = None,
) -> LogoutResult:
    """Act on a validated logout request for the cookie's ``session`` (§2): nothing to end,
    ask first (``confirm``), or end it and tell its RPs (Back-Channel Logout 1.0 §2.5).

    ``confirmed`` means the person said yes on the confirmation page and the router
    checked the form's CSRF token against this session."""
    if session is None:
        return LogoutResult(request.redirect_to, False, ())
    matching = hint_matches(request, session)
    if not matching and not confirmed:
        return LogoutResult(None, False, (), confirm=request)
    ended = await end_session(redis, session.session_id)
    if ended is None:  # gone meanwhile (expired, or another logout that tells the RPs)
        return LogoutResult(request.redirect_to, False, ())
    await revoke_session_tokens(redis, ended.session_id)  # unless offline_access
    asking = request.client_id if matching else None
    sends = []
    for rp_id, rp_sub in ended.rp_subjects.items():
        rp = await provider.clients.get(redis, rp_id) if rp_id != asking else None
        if rp is not None and rp.backchannel_logout_uri:
            sends.append((rp, rp_sub, ended.session_id))
    notified = await send_backchannel_logouts(provider, sends, http=http)
    return LogoutResult(request.redirect_to, True, notified)
