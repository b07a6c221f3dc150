"""The demo e-service's FastAPI app: thin routes over :class:`DemoRelyingParty`.

``GET /`` home (or the signed-in page), ``GET /login`` → the bridge, ``GET /callback``
(authorization response), ``GET /me`` the verified token and released claims,
``GET /logout`` → the bridge's RP-initiated logout, ``GET /logged-out``,
``POST /backchannel-logout`` (logout tokens from the bridge), ``GET /healthz``.
Run: ``uvicorn --factory federation.demo.app:create_app`` (``idbridge demo`` does).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from federation.demo import pages
from federation.demo.rp import (
    AuthorizationFailed,
    BridgeUnavailable,
    DemoRelyingParty,
    LoginRejected,
)
from federation.demo.sessions import PendingLogin, SignedIn, TtlStore, new_session_id
from federation.demo.settings import DemoServiceSettings
from federation.demo.verify import TokenRejected
from federation.logs import request_id_var
from federation.web import RequestContextMiddleware

log = logging.getLogger("idbridge.demo")

SESSION_COOKIE = "demo_session"
LOGIN_COOKIE = "demo_login"
PERMIT_CLAIMS = {
    "id_token": {"idcardtype": {"essential": True}, "idcardnumber": {"essential": True}},
    "userinfo": {"idcardtype": {"essential": True}, "idcardnumber": {"essential": True}},
}
"""The ``claims`` parameter (OIDC Core §5.5) of "sign in and give my Home Return Permit"."""
CSS = (Path(__file__).parent / "static" / "demo.css").read_text(encoding="utf-8")


class DemoState:
    """What the routes share (``app.state.demo``)."""

    def __init__(self, settings: DemoServiceSettings, rp: DemoRelyingParty) -> None:
        self.settings = settings
        self.rp = rp
        self.pending: TtlStore[PendingLogin] = TtlStore(900, 10_000)
        self.sessions: TtlStore[SignedIn] = TtlStore(3600, 10_000)
        self.secure_cookies = settings.public_url.startswith("https://")


def create_app(
    settings: DemoServiceSettings | None = None,
    transport: httpx2.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The e-service app; ``transport`` lets tests reach an in-process bridge."""
    settings = settings or DemoServiceSettings()
    state = DemoState(settings, DemoRelyingParty(settings, transport))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await state.rp.aclose()

    app = FastAPI(
        title="demo e-service", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.demo = state
    app.add_middleware(RequestContextMiddleware, hsts=state.secure_cookies)
    _routes(app, state)
    _error_pages(app, state)
    return app


def _locale(request: Request, state: DemoState) -> str:
    return pages.negotiate_locale(request, state.settings.default_locale)


def _message(
    request: Request,
    state: DemoState,
    *,
    text_key: str = "",
    text: str = "",
    status_code: int = 200,
    error_code: str = "",
    detail: str = "",
    show_next: bool = True,
) -> Response:
    locale = _locale(request, state)
    t = pages.catalogue(locale)
    return pages.render(
        request,
        "message.html",
        locale,
        status_code,
        title=t["error_title"],
        text=text or t[text_key],
        error_code=error_code,
        detail=detail,
        show_next=show_next,
        reference=request_id_var.get(),
    )


def _routes(app: FastAPI, state: DemoState) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/static/demo.css", include_in_schema=False)
    async def css() -> Response:
        return PlainTextResponse(
            CSS, media_type="text/css", headers={"Cache-Control": "max-age=300"}
        )

    @app.get("/")
    async def home(request: Request) -> Response:
        if state.sessions.get(request.cookies.get(SESSION_COOKIE)) is not None:
            return RedirectResponse(f"/me?lang={_locale(request, state)}", 303)
        return pages.render(request, "home.html", _locale(request, state))

    @app.get("/login")
    async def login(request: Request) -> Response:
        locale = _locale(request, state)
        claims = PERMIT_CLAIMS if request.query_params.get("permit") == "1" else None
        url, pending = await state.rp.start_login(locale, claims)
        state.pending.put(pending.state, pending)
        response = RedirectResponse(url, 303)
        response.set_cookie(
            LOGIN_COOKIE,
            pending.state,
            max_age=900,
            httponly=True,
            samesite="lax",
            secure=state.secure_cookies,
        )
        response.set_cookie(
            pages.LANG_COOKIE, locale, max_age=365 * 86400, httponly=True, samesite="lax"
        )
        return response

    @app.get("/callback")
    async def callback(request: Request) -> Response:
        params = {k: v for k, v in request.query_params.items() if len(v) <= 4096}
        state_value = params.get("state", "")
        pending = state.pending.pop(state_value) if state_value else None
        if pending is None or request.cookies.get(LOGIN_COOKIE) != state_value:
            return _message(request, state, text_key="error_expired", status_code=400)
        try:
            session = await state.rp.finish_login(params, pending)
        except AuthorizationFailed as exc:
            log.info("sign-in failed", extra={"fields": {"error": exc.error}})
            text = pages.error_text(_locale(request, state), exc.error)
            return _message(request, state, text=text, error_code=exc.error, detail=exc.description)
        except LoginRejected as exc:
            log.warning("bridge answer rejected", extra={"fields": {"check": exc.reason}})
            text = pages.catalogue(_locale(request, state))["error_rejected"]
            return _message(
                request,
                state,
                text=text.format(reason=exc.reason),
                error_code="rejected",
                status_code=400,
            )
        session_id = new_session_id()
        state.sessions.put(session_id, session)
        response = RedirectResponse(f"/me?lang={pending.locale}", 303)
        response.delete_cookie(LOGIN_COOKIE)
        response.set_cookie(
            SESSION_COOKIE,
            session_id,
            max_age=3600,
            httponly=True,
            samesite="lax",
            secure=state.secure_cookies,
        )
        return response

    @app.get("/me")
    async def me(request: Request) -> Response:
        session = state.sessions.get(request.cookies.get(SESSION_COOKIE))
        if session is None:
            return RedirectResponse(f"/?lang={_locale(request, state)}", 303)
        locale = _locale(request, state)
        context = pages.signed_in_context(session, locale, state.rp.issuer)
        return pages.render(request, "signed_in.html", locale, **context)

    @app.get("/logout")
    async def logout(request: Request) -> Response:
        session = state.sessions.pop(request.cookies.get(SESSION_COOKIE))
        url = await state.rp.logout_url(
            session.id_token if session else None, _locale(request, state)
        )
        response = RedirectResponse(url, 303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/logged-out")
    async def logged_out(request: Request) -> Response:
        locale = _locale(request, state)
        t = pages.catalogue(locale)
        return pages.render(
            request,
            "message.html",
            locale,
            title=t["logged_out_title"],
            text=t["logged_out_text"],
            error_code="",
            detail="",
            show_next=False,
            reference="",
        )

    @app.post("/backchannel-logout")
    async def backchannel_logout(request: Request) -> Response:
        form = await request.form()
        token = form.get("logout_token")
        if not isinstance(token, str) or len(token) > 8192:
            return _bcl_error("logout_token is required")
        try:
            verified = await state.rp.verify_logout(token)
        except TokenRejected as exc:
            log.warning("logout token rejected", extra={"fields": {"check": exc.reason}})
            return _bcl_error(f"logout token rejected: {exc.reason}")
        sid, sub = verified.claims.get("sid"), verified.claims.get("sub")
        ended = state.sessions.remove_where(
            lambda s: (sid is not None and s.sid == sid) or (sid is None and s.sub == sub)
        )
        log.info("back-channel logout", extra={"fields": {"sessions_ended": ended}})
        return Response(status_code=200, headers={"Cache-Control": "no-store"})


def _bcl_error(description: str) -> Response:
    """Back-Channel Logout 1.0 §2.8: 400 with an OAuth error JSON."""
    return JSONResponse(
        {"error": "invalid_request", "error_description": description},
        status_code=400,
        headers={"Cache-Control": "no-store"},
    )


def _error_pages(app: FastAPI, state: DemoState) -> None:
    @app.exception_handler(BridgeUnavailable)
    async def bridge_down(request: Request, exc: BridgeUnavailable) -> Response:
        log.warning("bridge unavailable", extra={"fields": {"error": str(exc)[:120]}})
        return _message(
            request,
            state,
            text_key="error_bridge_down",
            status_code=502,
            error_code="temporarily_unavailable",
        )

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        return _message(
            request, state, text_key="error_bad_request", status_code=400, show_next=False
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        key = "error_not_found" if exc.status_code == 404 else "error_bad_request"
        return _message(request, state, text_key=key, status_code=exc.status_code, show_next=False)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        log.error("unhandled error", exc_info=exc)
        return _message(request, state, text_key="error_bridge_down", status_code=502)
