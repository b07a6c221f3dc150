"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) and the back-channel logout
sender (OpenID Connect Back-Channel Logout 1.0).

``/logout`` accepts ``id_token_hint`` (verified against our keys; expiry ignored),
``client_id``, ``post_logout_redirect_uri`` (must be registered exactly for that client),
``state`` and ``ui_locales``. It ends the bridge session and sends a logout token to every
other RP of that session that registered a ``backchannel_logout_uri``.

Logout token (§2.4): ``iss``, ``aud``, ``iat``, ``exp``, ``jti``, ``sub`` and/or ``sid``,
``events`` = ``{"http://schemas.openid.net/event/backchannel-logout": {}}``, never a
``nonce``; header ``typ: logout+jwt``; signed with the client's ID token algorithm;
POSTed as ``logout_token`` form data with a timeout (§2.5).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
import redis.asyncio as aioredis

from federation.oidc.authorize import with_query
from federation.oidc.clients import Client
from federation.oidc.errors import OAuthError, invalid_request
from federation.oidc.provider import OidcProvider
from federation.oidc.session import end_session
from federation.oidc.signing import TokenError

log = logging.getLogger("idbridge.oidc.logout")

EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TTL = 120


def logout_token_claims(
    provider: OidcProvider, client: Client, *, sub: str | None, sid: str | None
) -> dict[str, object]:
    """Claims of a logout token (Back-Channel Logout 1.0 §2.4)."""
    if not sub and not sid:
        raise ValueError("a logout token needs sub or sid")
    now = provider.clock()
    claims: dict[str, object] = {
        "iss": provider.issuer,
        "aud": client.client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_TTL,
        "jti": secrets.token_urlsafe(16),
        "events": {EVENT: {}},
    }
    if sub:
        claims["sub"] = sub
    if sid:
        claims["sid"] = sid
    return claims


async def send_backchannel_logout(
    provider: OidcProvider,
    client: Client,
    *,
    sub: str | None,
    sid: str | None,
    http: httpx.AsyncClient | None = None,
) -> bool:
    """POST a logout token to the client's ``backchannel_logout_uri``; True on HTTP 2xx.

    Returns False (and logs the client id only) when the client registered no URI, the RP
    is unreachable, times out or answers with an error."""
    if not client.backchannel_logout_uri:
        return False
    claims = logout_token_claims(provider, client, sub=sub, sid=sid)
    token = provider.signer.sign(claims, client.id_token_signed_response_alg, typ="logout+jwt")
    timeout = provider.config.backchannel_timeout
    try:
        if http is None:
            async with httpx.AsyncClient(timeout=timeout) as own:
                response = await own.post(
                    client.backchannel_logout_uri, data={"logout_token": token}
                )
        else:
            response = await http.post(
                client.backchannel_logout_uri, data={"logout_token": token}, timeout=timeout
            )
    except httpx.HTTPError as exc:
        log.warning(
            "back-channel logout failed",
            extra={"fields": {"client_id": client.client_id, "error": type(exc).__name__}},
        )
        return False
    if not response.is_success:
        log.warning(
            "back-channel logout refused",
            extra={"fields": {"client_id": client.client_id, "status": response.status_code}},
        )
    return response.is_success


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
    notified: list[str] = []
    for rp_id, rp_sub in session.rp_subjects.items() if session else ():
        rp = await provider.clients.get(redis, rp_id)
        if rp is None or rp_id == (client.client_id if client else None):
            continue
        if await send_backchannel_logout(provider, rp, sub=rp_sub, sid=sid, http=http):
            notified.append(rp_id)
    return LogoutResult(redirect_to, session is not None, tuple(notified))
