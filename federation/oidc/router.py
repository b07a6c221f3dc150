"""The FastAPI adapter of the provider: each route parses the HTTP request, delegates to a
protocol module and turns the result (or a typed error) into a response.

Mount with :func:`install` (or include :func:`oidc_router` yourself). Two hooks let the
login journey take over the person-facing parts:

- ``journey`` — ``async (request, AuthorizationRequest) -> Response``, called after a
  successful ``/authorize`` validation (default: :func:`no_journey`);
- ``error_page`` — ``(request, NonRedirectableError) -> Response``, shown instead of a
  redirect for an unknown client or unregistered redirect URI, and for every refused
  ``/logout`` (default: :func:`plain_error_page`), and ``logged_out_page`` after a logout
  with no redirect.

``/logout`` renders its confirmation page itself (``federation.pages``, from
``app.state.pages``): a POST form with a CSRF token bound to the session's public ``sid``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import redis.asyncio as aioredis
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from redis.exceptions import RedisError

from federation import cookies, untrusted
from federation.oidc import par
from federation.oidc.authorize import error_redirect, validate_authorization_request
from federation.oidc.client_auth import authenticate_client
from federation.oidc.client_config import configuration_endpoint
from federation.oidc.discovery import metadata
from federation.oidc.errors import (
    INVALID_REQUEST,
    REQUEST_TOO_LARGE,
    UNAVAILABLE,
    NonRedirectableError,
    OAuthError,
    RedirectableError,
)
from federation.oidc.http import (
    body_bytes,
    error_json,
    form_dict,
    form_pairs,
    json_no_store,
    query_pairs,
)
from federation.oidc.introspection import introspect
from federation.oidc.logout import (
    CSRF_FAILED,
    LogoutRequest,
    end_session_request,
    validate_logout_request,
)
from federation.oidc.logout import refused as logout_refused
from federation.oidc.models import AuthorizationRequest
from federation.oidc.onboarding import (
    record_registration,
    registration_rate_limit,
    reserve_registration,
)
from federation.oidc.params import ParamError, collect
from federation.oidc.provider import OidcProvider
from federation.oidc.registration import register_client
from federation.oidc.response_mode import error_response
from federation.oidc.revocation import revoke
from federation.oidc.session import SESSION_COOKIE, Session, session_from_cookie
from federation.oidc.signing import split_jwks
from federation.oidc.token import token_response
from federation.oidc.userinfo import bearer_token
from federation.oidc.userinfo_jwt import userinfo_response
from federation.pages import Pages
from federation.pages.logout_views import (
    FORM_LOGOUT_CONFIRM,
    LOGOUT_CONFIRM_YES,
    LogoutConfirmPage,
)
from federation.pages.views import FORM_CSRF
from federation.ratelimit import check_client, claimed_client_id, install_rate_limits, per_address

log = logging.getLogger("idbridge.oidc")

JourneyStarter = Callable[[Request, AuthorizationRequest], Awaitable[Response]]
ErrorPage = Callable[[Request, NonRedirectableError], Response]
LoggedOutPage = Callable[[Request], Response]


async def no_journey(request: Request, authz: AuthorizationRequest) -> Response:
    """Stand-in until the login journey is installed: nobody can log in."""
    error = "login_required" if "none" in authz.prompt else "temporarily_unavailable"
    return RedirectResponse(error_redirect(authz, error, "no login journey is installed"), 302)


def plain_error_page(request: Request, error: NonRedirectableError) -> Response:
    """Neutral stand-in for the journey's trilingual error page (never a redirect)."""
    return error_json(error)


def plain_logged_out_page(request: Request) -> Response:
    """Neutral stand-in for the "you are logged out" page."""
    return JSONResponse({"logged_out": True}, headers={"Cache-Control": "no-store"})


def _redis(request: Request) -> aioredis.Redis:
    return request.app.state.redis


LOGOUT_PATH = "/logout"


async def _logout_params(request: Request) -> dict[str, str]:
    """``/logout``'s parameters (query for GET, form for POST). A logout request comes
    from a browser, so malformed input is the error page, never JSON."""
    try:
        pairs = query_pairs(request) if request.method == "GET" else await form_pairs(request)
        return collect(pairs)
    except ParamError as exc:
        raise logout_refused(str(exc)) from exc
    except OAuthError as exc:
        kind = REQUEST_TOO_LARGE if exc.status_code == 413 else INVALID_REQUEST
        raise logout_refused(exc.description, kind) from exc


def _pages(request: Request) -> Pages:
    """The app's pages (``app.state.pages``; made from the settings if the app has none)."""
    pages = getattr(request.app.state, "pages", None)
    if pages is None:
        pages = request.app.state.pages = Pages(getattr(request.app.state, "settings", None))
    return pages


def _csrf_binding(session: Session) -> str:
    """What the logout confirmation's CSRF token is bound to: this session's public sid."""
    return "logout:" + session.session_id


def oidc_router(
    provider: OidcProvider,
    *,
    journey: JourneyStarter = no_journey,
    error_page: ErrorPage = plain_error_page,
    logged_out_page: LoggedOutPage = plain_logged_out_page,
) -> APIRouter:
    """The provider's routes (discovery, JWKS, authorize, PAR, token, userinfo, revoke,
    introspect, register, logout)."""
    router = APIRouter()

    async def guarded(
        request: Request, handler: Callable[[], Awaitable[Response]], *, browser: bool = False
    ) -> Response:
        """Run ``handler``; errors become JSON, or on the endpoints people reach
        (``browser``: /authorize, /logout) the error page, also for a storage outage."""
        try:
            return await handler()
        except NonRedirectableError as exc:
            return error_page(request, exc)
        except RedirectableError as exc:
            return error_response(_pages(request), request, exc, provider.issuer)
        except OAuthError as exc:
            return error_json(exc)
        except ParamError as exc:
            return error_json(OAuthError("invalid_request", str(exc)))
        except RedisError:
            log.error("redis unavailable")
            if browser:
                unavailable = NonRedirectableError(
                    "temporarily_unavailable", "try again later", 503, kind=UNAVAILABLE
                )
                return error_page(request, unavailable)
            retry = {"Retry-After": "5"}
            return error_json(OAuthError("temporarily_unavailable", "try again later", 503, retry))

    @router.get("/.well-known/openid-configuration", include_in_schema=False)
    @router.get("/.well-known/oauth-authorization-server", include_in_schema=False)
    async def discovery() -> JSONResponse:
        # one document for OIDC Discovery 1.0 §4 and RFC 8414 §3 (issuer without a path)
        return JSONResponse(metadata(provider), headers={"Cache-Control": "max-age=300"})

    @router.get("/jwks", include_in_schema=False)
    async def jwks() -> JSONResponse:
        standard, _ = split_jwks(provider.signer.public_jwks())
        return JSONResponse(standard, headers={"Cache-Control": "max-age=300"})

    @router.get("/jwks/sm2", include_in_schema=False)
    async def jwks_sm2() -> JSONResponse:
        _, sm2 = split_jwks(provider.signer.public_jwks())
        return JSONResponse(sm2, headers={"Cache-Control": "max-age=300"})

    @router.api_route(
        "/authorize",
        methods=["GET", "POST"],
        include_in_schema=False,
        dependencies=[Depends(per_address("authorize"))],
    )
    async def authorize(request: Request) -> Response:
        async def handle() -> Response:
            pairs = query_pairs(request) if request.method == "GET" else await form_pairs(request)
            authz = await validate_authorization_request(provider, _redis(request), pairs)
            return await journey(request, authz)

        return await guarded(request, handle, browser=True)

    async def client_of(request: Request, form: dict[str, str], endpoint: str) -> Any:
        # RFC 9126 §2.3 lets PAR answer like the authorization endpoint (429 included)
        error = "temporarily_unavailable" if endpoint.startswith("pushed") else "rate_limited"
        claimed = claimed_client_id(form, request.headers.get("authorization"))
        await check_client(request, "client-api", claimed, error=error)
        return await authenticate_client(
            provider,
            _redis(request),
            form,
            request.headers.get("authorization"),
            provider.url(endpoint),
        )

    @router.post("/par", include_in_schema=False)
    async def pushed(request: Request) -> Response:
        async def handle() -> Response:
            pairs = await form_pairs(request)
            form = collect(pairs)
            client = await client_of(request, form, "pushed_authorization_request_endpoint")
            params = [(k, v) for k, v in pairs if not k.startswith("client_") or k == "client_id"]
            if not any(k == "client_id" for k, _ in params):
                params.append(("client_id", client.client_id))
            try:
                await validate_authorization_request(
                    provider, _redis(request), params, pushed_by=client
                )
            except OAuthError as exc:  # PAR errors are JSON (RFC 9126 §2.3)
                raise OAuthError(exc.error, exc.description) from exc
            uri = await par.push(_redis(request), client.client_id, params, provider.config.par_ttl)
            return json_no_store({"request_uri": uri, "expires_in": provider.config.par_ttl}, 201)

        return await guarded(request, handle)

    @router.post("/token", include_in_schema=False)
    async def token(request: Request) -> Response:
        async def handle() -> Response:
            form = await form_dict(request)
            client = await client_of(request, form, "token_endpoint")
            return json_no_store(await token_response(provider, _redis(request), client, form))

        return await guarded(request, handle)

    @router.api_route(
        "/userinfo",
        methods=["GET", "POST"],
        include_in_schema=False,
        dependencies=[Depends(per_address("userinfo", error="rate_limited"))],
    )
    async def userinfo_endpoint(request: Request) -> Response:
        async def handle() -> Response:
            form = None
            if request.method == "POST" and request.headers.get("content-type", "").startswith(
                "application/x-www-form-urlencoded"
            ):
                form = await form_dict(request)
            token_value = bearer_token(
                request.headers.get("authorization"), form, request.query_params
            )
            return await userinfo_response(provider, _redis(request), token_value)

        return await guarded(request, handle)

    @router.post("/revoke", include_in_schema=False)
    async def revocation(request: Request) -> Response:
        async def handle() -> Response:
            form = await form_dict(request)
            client = await client_of(request, form, "revocation_endpoint")
            if "token" not in form:
                raise OAuthError("invalid_request", "token is required")
            await revoke(
                provider, _redis(request), client, form["token"], form.get("token_type_hint")
            )
            return Response(status_code=200, headers={"Cache-Control": "no-store"})

        return await guarded(request, handle)

    @router.post("/introspect", include_in_schema=False)
    async def introspection(request: Request) -> Response:
        async def handle() -> Response:
            form = await form_dict(request)
            client = await client_of(request, form, "introspection_endpoint")
            if "token" not in form:
                raise OAuthError("invalid_request", "token is required")
            return json_no_store(
                await introspect(
                    provider, _redis(request), client, form["token"], form.get("token_type_hint")
                )
            )

        return await guarded(request, handle)

    @router.post(
        "/register",
        include_in_schema=False,
        dependencies=[
            Depends(per_address("register", error="rate_limited")),
            Depends(registration_rate_limit),
        ],
    )
    async def registration(request: Request) -> Response:
        async def handle() -> Response:
            redis = _redis(request)
            token = request.headers.get("authorization")
            quota = request.app.state.settings.initial_access_token_quota
            async with reserve_registration(provider, redis, token, quota) as onboarding:
                try:
                    body = untrusted.loads(await body_bytes(request))
                except ValueError as exc:
                    raise OAuthError(
                        "invalid_client_metadata", f"the body is not JSON: {exc}"
                    ) from exc
                registered = await register_client(provider, redis, body)
                now = provider.clock()
                await record_registration(redis, registered["client_id"], onboarding, now)
            return json_no_store(registered, 201)

        return await guarded(request, handle)

    @router.api_route(
        "/register/{client_id}",
        methods=["GET", "PUT", "DELETE"],
        include_in_schema=False,
        dependencies=[Depends(per_address("register", error="rate_limited"))],
    )
    async def client_configuration(request: Request, client_id: str) -> Response:
        async def handle() -> Response:
            body = await body_bytes(request) if request.method == "PUT" else None
            auth = request.headers.get("authorization")
            return await configuration_endpoint(
                provider, _redis(request), request.method, client_id, auth, body
            )

        return await guarded(request, handle)

    @router.api_route(
        LOGOUT_PATH,
        methods=["GET", "POST"],
        include_in_schema=False,
        dependencies=[Depends(per_address("logout"))],
    )
    async def logout(request: Request) -> Response:
        async def handle() -> Response:
            redis = _redis(request)
            params = await _logout_params(request)
            logout_request = await validate_logout_request(provider, redis, params)
            confirmed = (
                request.method == "POST" and params.get(FORM_LOGOUT_CONFIRM) == LOGOUT_CONFIRM_YES
            )
            secure = cookies.secure_issuer(provider.issuer)
            session_cookie = cookies.read_cookie(request.cookies, SESSION_COOKIE, secure)
            if request.method == "POST" and not confirmed and session_cookie is None:
                # an RP's form POST arrives cross-site without the SameSite=Lax cookie; the
                # same request as a top-level GET carries it (RP-Initiated Logout 1.0 §2
                # allows both methods)
                return RedirectResponse(LOGOUT_PATH + "?" + urlencode(params), 303)
            session = await session_from_cookie(redis, session_cookie)
            pages = _pages(request)
            # the person said yes on our page: only with its token, bound to this session
            token = params.get(FORM_CSRF)
            if confirmed and session and not pages.check_csrf(token, _csrf_binding(session)):
                raise logout_refused("the confirmation form is not valid", CSRF_FAILED)
            result = await end_session_request(
                provider,
                redis,
                logout_request,
                session,
                confirmed=confirmed,
                http=getattr(request.app.state, "http", None),
            )
            if result.confirm is not None and session is not None:
                return await _confirmation_page(request, pages, result.confirm, session)
            response = (
                RedirectResponse(result.redirect_to, 302)
                if result.redirect_to
                else logged_out_page(request)
            )
            # the same flags they were set with (Secure only behind https), else a browser
            # on the plain-http demo ignores the deletion and keeps the session; the
            # self-service area's cookies too (its session ended with this one)
            for name in cookies.SIGN_OUT:
                cookies.clear_cookie(response, name, secure=secure)
            return response

        return await guarded(request, handle, browser=True)

    async def _confirmation_page(
        request: Request, pages: Pages, logout_request: LogoutRequest, session: Session
    ) -> Response:
        """RP-Initiated Logout 1.0 §2: ask before ending the session (POST form + CSRF)."""
        client = (
            await provider.clients.get(_redis(request), logout_request.client_id)
            if logout_request.client_id and logout_request.post_logout_redirect_uri
            else None
        )
        view = LogoutConfirmPage(
            action_url=LOGOUT_PATH,
            csrf_token=pages.issue_csrf(_csrf_binding(session)),
            hidden_fields=logout_request.confirmation_fields(),
            return_to=client.client_name.model_dump(by_alias=True) if client else None,
        )
        locale = pages.locale_for(request, logout_request.ui_locales)
        return pages.render(view, locale, request=request)

    return router


def install(
    app: FastAPI,
    provider: OidcProvider | None = None,
    *,
    journey: JourneyStarter = no_journey,
    error_page: ErrorPage = plain_error_page,
    logged_out_page: LoggedOutPage = plain_logged_out_page,
) -> OidcProvider:
    """Mount the provider on ``app`` (built from ``app.state.settings`` unless given) and
    keep it as ``app.state.oidc`` for the journey and the consent layer."""
    provider = provider or OidcProvider.from_settings(app.state.settings)
    app.state.oidc = provider
    install_rate_limits(app)
    app.include_router(
        oidc_router(
            provider, journey=journey, error_page=error_page, logged_out_page=logged_out_page
        )
    )
    return provider
