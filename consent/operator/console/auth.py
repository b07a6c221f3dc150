"""Signing in to the console and keeping the session (issue 10 "Sign-in").

The password + TOTP check, the login limits and their auditing are the operator service's
(:meth:`OperatorService.login`, the same call the API's ``POST /operator/api/login``
makes). The console keeps the session token in a cookie (``Secure``, ``HttpOnly``,
``SameSite=Strict``, path ``/operator``); Redis holds only its SM3 digest. Idle timeout:
each request restarts the session's lifetime (``IDBRIDGE_OPERATOR_IDLE_SECONDS``, 15 min);
absolute timeout: ``IDBRIDGE_OPERATOR_ABSOLUTE_SECONDS`` (8 h) after sign-in, whatever
the activity. Every form carries a CSRF token
(``federation.pages.csrf``) bound to the session (or, on the sign-in form, to a random
pre-session cookie), and every POST is refused without it.

:class:`ConsoleRoute` turns the service's errors into pages: a missing or expired session
sends the browser to sign-in, a forbidden action is the 403 page, and so on.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from redis.exceptions import RedisError
from starlette.datastructures import FormData

from consent.lifecycle import ReasonRequired
from consent.operator.accounts import AccountError
from consent.operator.errors import OperatorError
from consent.operator.service import OperatorService
from consent.operator.sessions import SESSION_SECONDS, Session
from consent.store import ConsentConflict, ConsentNotFound, InvalidCursor

log = logging.getLogger("idbridge.consent.operator.console")

SESSION_COOKIE = "idb_operator"
PRE_COOKIE = "idb_operator_pre"
COOKIE_PATH = "/operator"
IDLE_SECONDS = SESSION_SECONDS
ABSOLUTE_SECONDS = 8 * 3600
"""Defaults; ``IDBRIDGE_OPERATOR_IDLE_SECONDS`` / ``_ABSOLUTE_SECONDS`` set them."""


def idle_timeout(request: Request) -> int:
    """The configured idle timeout, seconds."""
    return _timeouts(request)[0]


def _timeouts(request: Request) -> tuple[int, int]:
    settings = getattr(request.app.state, "settings", None)
    idle = getattr(settings, "operator_idle_seconds", IDLE_SECONDS)
    return int(idle), int(getattr(settings, "operator_absolute_seconds", ABSOLUTE_SECONDS))


FORM_CSRF = "csrf_token"
MAX_FORM_FIELDS = 20


class SignInRequired(Exception):
    """No live session: go to the sign-in page (and come back)."""


class CsrfRefused(Exception):
    """A POST without a valid CSRF token."""


def service_of(request: Request) -> OperatorService:
    """The service over ``app.state.consent`` (the API's dependency makes the same)."""
    return OperatorService(request.app.state.consent)


def _bind(value: str) -> str:
    return f"operator-console:{value}"


def csrf_for(request: Request, session: Session | None) -> str:
    """A CSRF token for this session's forms (or the sign-in form's pre-session)."""
    pages = request.app.state.pages
    if session is not None:
        return pages.issue_csrf(_bind(session.token_hash))
    return pages.issue_csrf(_bind("pre:" + request.state.pre_session))


def pre_session(request: Request) -> str:
    """The pre-session value binding the sign-in form's CSRF token (made if missing)."""
    value = request.cookies.get(PRE_COOKIE) or ""
    if not (16 <= len(value) <= 64 and value.replace("-", "").replace("_", "").isalnum()):
        value = secrets.token_urlsafe(24)
        request.state.new_pre_session = True
    request.state.pre_session = value
    return value


def set_pre_cookie(request: Request, response: Response) -> None:
    """Send the pre-session cookie if this request made one."""
    if getattr(request.state, "new_pre_session", False):
        response.set_cookie(
            PRE_COOKIE,
            request.state.pre_session,
            path=COOKIE_PATH,
            secure=True,
            httponly=True,
            samesite="strict",
        )


async def read_form(request: Request, session: Session | None) -> FormData:
    """The POSTed form (bounded), after checking its CSRF token."""
    form = await request.form(max_fields=MAX_FORM_FIELDS, max_files=0, max_part_size=8192)
    token = form.get(FORM_CSRF)
    pages = request.app.state.pages
    bound = _bind(session.token_hash) if session else _bind("pre:" + request.state.pre_session)
    if not isinstance(token, str) or not pages.check_csrf(token, bound):
        raise CsrfRefused
    return form


async def current_session(request: Request) -> Session:
    """The live console session from the cookie; restarts the idle timeout. Raises
    :class:`SignInRequired` when missing, expired (idle or absolute) or revoked."""
    token = request.cookies.get(SESSION_COOKIE)
    sessions = request.app.state.consent.sessions
    session = await sessions.resolve(token) if token else None
    if session is None:
        raise SignInRequired
    idle, absolute = _timeouts(request)
    if session.issued_at and time.time() - session.issued_at > absolute:
        await sessions.end(session)
        raise SignInRequired
    await sessions.touch(session, idle)
    request.state.session = session
    return session


def set_session_cookie(response: Response, token: str) -> None:
    """The session cookie: ``Secure``, ``HttpOnly``, ``SameSite=Strict``, no ``Max-Age``
    (the browser forgets it when closed; the server times it out in any case)."""
    response.set_cookie(
        SESSION_COOKIE, token, path=COOKIE_PATH, secure=True, httponly=True, samesite="strict"
    )


def clear_session_cookie(response: Response) -> None:
    """Forget the session cookie."""
    response.delete_cookie(
        SESSION_COOKIE, path=COOKIE_PATH, secure=True, httponly=True, samesite="strict"
    )


_ERROR_PAGES: dict[type[Exception], tuple[int, str]] = {
    ConsentNotFound: (404, "not_found"),
    ConsentConflict: (409, "consent_not_active"),
    InvalidCursor: (400, "invalid_request"),
    ReasonRequired: (400, "reason_required"),
    AccountError: (400, "account_error"),
    CsrfRefused: (403, "csrf_failed"),
}


class ConsoleRoute(APIRoute):
    """Domain errors become console pages; a Redis outage is a 503 page, never a 500."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            pre_session(request)
            try:
                response = await handler(request)
            except SignInRequired:
                back = request.url.path if request.method == "GET" else "/operator/"
                response = RedirectResponse(
                    f"/operator/login?next={quote(back, safe='/')}", status_code=303
                )
                clear_session_cookie(response)
            except OperatorError as exc:
                response = error_page(request, exc.status, exc.code)
            except tuple(_ERROR_PAGES) as exc:
                status, code = _ERROR_PAGES[type(exc)]
                response = error_page(request, status, code)
            except RedisError as exc:
                log.warning("redis unavailable", extra={"fields": {"error": type(exc).__name__}})
                response = error_page(request, 503, "temporarily_unavailable")
            set_pre_cookie(request, response)
            return response

        return guarded


def error_page(request: Request, status: int, code: str) -> Response:
    """The console's error page: what happened, what to do, the reference."""
    session = getattr(request.state, "session", None)
    console = request.app.state.console
    known = console.catalogues["en"].has(f"error.{code}.title")
    return console.render(
        request,
        "error.html",
        {"code": code if known else "generic", "status": status},
        session=session,
        csrf=csrf_for(request, session) if session else "",
        status_code=status,
    )
