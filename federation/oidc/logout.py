"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

``/logout`` accepts ``id_token_hint`` (verified against our keys; expiry ignored),
``client_id``, ``post_logout_redirect_uri`` (must be registered exactly for that client),
``state`` and ``ui_locales``. It ends the bridge session and sends a logout token to every
other RP of that session that registered a ``backchannel_logout_uri``, all at once
(:mod:`federation.oidc.backchannel`: the sender and its egress guard, Back-Channel Logout
1.0 §2.4–§2.5; re-exported here).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx
import redis.asyncio as aioredis

from federation.oidc.authorize import with_query
from federation.oidc.backchannel import (
    EVENT,
    LOGOUT_TOKEN_TTL,
    logout_token_claims,
    send_backchannel_logout,
    send_backchannel_logouts,
)
from federation.oidc.errors import OAuthError, invalid_request
from federation.oidc.provider import OidcProvider
from federation.oidc.session import end_session
from federation.oidc.signing import TokenError

__all__ = [
    "EVENT",
    "LOGOUT_TOKEN_TTL",
    "LogoutResult",
    "end_session_request",
    "logout_token_claims",
    "send_backchannel_logout",
]


@dataclass(frozen=True, slots=True)
class LogoutResult:
    """What ``/logout`` did: where to send the browser (or ``None``: show a page)."""

    redirect_to: str | None
    session_ended: bool
    notified: tuple[str, ...]
    """Client ids that acknowledged a back-channel logout."""


async def end_session_request(
    provider: OidcProvider,
    redis: aioredis.Redis,
    params: Mapping[str, str],
    session_id: str | None,
    http: httpx.AsyncClient | None = None,
) -> LogoutResult:
    """Handle an RP-initiated logout request (RP-Initiated Logout 1.0 §2, §3)."""
    hint_claims: dict[str, object] = {}
    if "id_token_hint" in params:
        try:
            hint_claims = provider.signer.verify(
                params["id_token_hint"], provider.signer.algorithms()
            )
        except TokenError as exc:
            raise invalid_request("id_token_hint does not verify") from exc
        if hint_claims.get("iss") != provider.issuer:
            raise invalid_request("id_token_hint was not issued by this provider")
    aud = hint_claims.get("aud")
    client_id = params.get("client_id") or (aud[0] if isinstance(aud, list) else aud)
    if (
        params.get("client_id")
        and aud
        and params["client_id"] not in (aud if isinstance(aud, list) else [aud])
    ):
        raise invalid_request("client_id does not match id_token_hint")
    client = await provider.clients.get(redis, str(client_id)) if client_id else None
    redirect_to = None
    target = params.get("post_logout_redirect_uri")
    if target:
        if client is None or target not in client.post_logout_redirect_uris:
            raise OAuthError("invalid_request", "post_logout_redirect_uri is not registered")
        redirect_to = with_query(target, {"state": params.get("state")})
    sid = str(hint_claims.get("sid") or session_id or "")
    session = await end_session(redis, sid) if sid else None
    sends = []
    for rp_id, rp_sub in session.rp_subjects.items() if session else ():
        rp = await provider.clients.get(redis, rp_id)
        if rp is None or rp_id == (client.client_id if client else None):
            continue
        sends.append((rp, rp_sub, sid))
    notified = await send_backchannel_logouts(provider, sends, http=http)
    return LogoutResult(redirect_to, session is not None, notified)
