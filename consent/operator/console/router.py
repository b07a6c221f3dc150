"""The console's routes for signing in and out, and :func:`install_console`, which mounts
every console router and its static files on the bridge (``federation/journey/wiring``).

``GET/POST /operator/login``, ``POST /operator/logout``, ``GET /operator/`` (the
dashboard, or sign-in). The screens are in ``routes_consents`` and ``routes_admin``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from starlette.staticfiles import StaticFiles

from consent.operator.console import routes_admin, routes_consents, routes_dashboard
from consent.operator.console.auth import (
    ConsoleRoute,
    SignInRequired,
    clear_session_cookie,
    csrf_for,
    current_session,
    idle_timeout,
    read_form,
    service_of,
    set_session_cookie,
)
from consent.operator.console.render import STATIC, STATIC_PATH, Console
from consent.operator.errors import OperatorError
from consent.operator.sessions import Session
from federation.pages import mount_static
from federation.pages.locale import normalise_locale, url_with_lang
from federation.ratelimit import client_address

router = APIRouter(prefix="/operator", route_class=ConsoleRoute, include_in_schema=False)
SessionDep = Annotated[Session, Depends(current_session)]


def _safe_next(value: Any) -> str:
    """Where to go after signing in: a console path only (never another origin)."""
    text = str(value or "")
    inside = text.startswith("/operator/") and not text.startswith("/operator/login")
    if inside and "//" not in text and "\\" not in text:
        return text
    return "/operator/dashboard"


def _login_page(request: Request, problem: str | None, status: int, username: str = "") -> Response:
    console: Console = request.app.state.console
    return console.render(
        request,
        "login.html",
        {
            "problem": problem,
            "username": username,
            "next": _safe_next(request.query_params.get("next")),
            "signed_out": request.query_params.get("signed_out") == "1",
        },
        csrf=csrf_for(request, None),
        status_code=status,
    )


@router.get("/")
async def home(request: Request) -> Response:
    """The dashboard when signed in, else the sign-in page."""
    try:
        await current_session(request)
    except SignInRequired:
        return RedirectResponse("/operator/login", status_code=303)
    return RedirectResponse("/operator/dashboard", status_code=303)


@router.get("/login")
async def login_form(request: Request) -> Response:
    """The sign-in form (username, password, the authenticator's 6-digit code)."""
    return _login_page(request, None, 200)


@router.post("/login")
async def login(request: Request) -> Response:
    """Check password + TOTP through the service (same limits and audit as the API)."""
    form = await read_form(request, None)
    username = str(form.get("username", ""))[:64]
    password = str(form.get("password", ""))[:1024]
    code = str(form.get("totp", "")).strip()[:12]
    settings = getattr(request.app.state, "settings", None)
    address = client_address(request, bool(getattr(settings, "trust_proxy_headers", False)))
    try:
        _operator, token, _ttl = await service_of(request).login(username, password, code, address)
    except OperatorError as exc:
        problem = "throttled" if exc.status == 429 else "credentials"
        return _login_page(request, problem, exc.status, username)
    sessions = request.app.state.consent.sessions
    session = await sessions.resolve(token)
    if session is not None:  # the console's idle timeout from the start, not the API's TTL
        await sessions.touch(session, idle_timeout(request))
    target = _safe_next(form.get("next"))
    lang = normalise_locale(request.query_params.get("lang"))
    if lang:
        target = url_with_lang(target, lang)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, token)
    return response


@router.post("/logout")
async def logout(request: Request, session: SessionDep) -> Response:
    """End the session (audited) and forget the cookie."""
    await read_form(request, session)
    await service_of(request).logout(session)
    response = RedirectResponse("/operator/login?signed_out=1", status_code=303)
    clear_session_cookie(response)
    return response


def install_console(app: FastAPI) -> None:
    """Mount the console (needs ``app.state.consent`` and ``app.state.pages`` at request
    time) and its static files at ``/operator/static``."""
    settings = getattr(app.state, "settings", None)
    secure = bool(settings and settings.issuer.startswith("https://"))
    app.state.console = Console(secure_cookies=secure)
    if not any(getattr(route, "name", None) == "static" for route in app.routes):
        mount_static(app)  # the shared stylesheet (the bridge mounts it already)
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC), name="operator-static")
    app.include_router(router)
    app.include_router(routes_consents.router)
    app.include_router(routes_admin.router)
    app.include_router(routes_dashboard.router)
