"""What every self-service route uses (built per request from ``app.state``), and the end
of a sign-in: redeem the journey's code in-process and check the ID token."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

import redis.asyncio as aioredis
from fastapi import Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from consent.services import ConsentServices
from federation import cookies
from federation.oidc.errors import OAuthError, invalid_grant
from federation.oidc.http import BodyTooLarge, bounded_form
from federation.oidc.provider import OidcProvider
from federation.oidc.revocation import revoke
from federation.oidc.signing import TokenError
from federation.oidc.token import token_response
from federation.pages import FORM_CSRF, ErrorKind, Pages
from federation.selfservice import sessions
from federation.selfservice.client import BASE_PATH, CALLBACK_PATH, SELF_SERVICE_CLIENT_ID

MAX_FORM_BYTES = 4096


@dataclass(frozen=True, slots=True)
class SelfService:
    """The app's pieces the area needs."""

    redis: aioredis.Redis
    pages: Pages
    consent: ConsentServices
    provider: OidcProvider
    secure_cookies: bool

    @classmethod
    def of(cls, request: Request) -> SelfService:
        """From ``request.app.state`` (consent services exist once Redis is up)."""
        state = request.app.state
        return cls(
            redis=state.redis,
            pages=state.pages,
            consent=state.consent,
            provider=state.oidc,
            secure_cookies=cookies.secure_issuer(state.settings.issuer),
        )

    @property
    def issuer(self) -> str:
        """The bridge's issuer URL (no trailing slash)."""
        return self.provider.issuer

    def locale(self, request: Request) -> str:
        """The person's language (switcher, cookie, Accept-Language)."""
        return self.pages.locale_for(request)

    def error(
        self,
        request: Request,
        kind: ErrorKind,
        *,
        retry: bool = False,
        retry_url: str | None = None,
    ) -> Response:
        """A trilingual error page; ``retry`` offers signing in again."""
        again = retry_url or (BASE_PATH + "/login" if retry else None)
        return self.pages.render_error(kind, self.locale(request), request=request, retry_url=again)

    def cookie(self, request: Request, base: str) -> str | None:
        """The bridge cookie ``base`` of this request (:mod:`federation.cookies`)."""
        return cookies.read_cookie(request.cookies, base, self.secure_cookies)

    def set_cookie(self, response: Response, name: str, value: str, ttl: int) -> None:
        """An area cookie: HttpOnly, SameSite=Lax, ``Path=/`` (so that behind https it is a
        ``__Host-`` cookie nobody on a sibling host can plant; :mod:`federation.cookies`)."""
        cookies.set_cookie(response, name, value, secure=self.secure_cookies, max_age=ttl)

    def clear_cookie(self, response: Response, name: str) -> None:
        """Delete an area cookie."""
        cookies.clear_cookie(response, name, secure=self.secure_cookies)

    @staticmethod
    def download(body: bytes, filename: str, media_type: str) -> Response:
        """An attachment that is never cached."""
        return Response(
            body,
            media_type=media_type,
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def csrf_ok(self, request: Request, session: sessions.SelfServiceSession) -> bool:
        """The form's CSRF token is bound to this session. The form is read up to
        :data:`MAX_FORM_BYTES`; a larger one is refused unread: 413 (the app's handler
        answers people with the trilingual page)."""
        try:
            form = await bounded_form(request, MAX_FORM_BYTES)
        except BodyTooLarge as exc:
            raise StarletteHTTPException(413, "the form is too large") from exc
        except OAuthError:  # malformed: no form of ours, so no valid token
            return False
        return self.pages.check_csrf(str(form.get(FORM_CSRF) or ""), csrf_binding(session))


def csrf_binding(session: sessions.SelfServiceSession) -> str:
    """What the area's CSRF tokens are bound to."""
    return "selfservice:" + session.token


async def finish_login(
    service: SelfService, code: str, pending: sessions.PendingLogin
) -> sessions.SelfServiceSession:
    """Redeem ``code`` through the token endpoint's own logic (PKCE, expiry, single use,
    client binding), verify the ID token (our keys, ``aud``, ``nonce``) and open the
    session for its ``sub`` — the bridge subject (``Journey.first_party_clients``)."""
    provider = service.provider
    client = provider.clients.static[SELF_SERVICE_CLIENT_ID]
    body = await token_response(
        provider,
        service.redis,
        client,
        {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": pending.verifier,
            "redirect_uri": provider.issuer + CALLBACK_PATH,
        },
    )
    try:
        claims = provider.signer.verify(body["id_token"], [client.id_token_signed_response_alg])
    except TokenError as exc:
        raise invalid_grant("the ID token does not verify") from exc
    if claims.get("aud") != SELF_SERVICE_CLIENT_ID or not hmac.compare_digest(
        str(claims.get("nonce", "")), pending.nonce
    ):
        raise OAuthError("invalid_grant", "the ID token is not for this sign-in")
    await revoke(provider, service.redis, client, body["access_token"])  # never used
    return await sessions.open_session(
        service.redis, str(claims["sub"]), body["id_token"], str(claims.get("sid") or "")
    )
