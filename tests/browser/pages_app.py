"""A small app that renders every page from realistic view models, for the page tests.

It plays the journey's part only as far as the pages need: it issues and checks the CSRF
token, re-renders the consent form with the person's input when a check fails, and shows
the error pages. The real journey (routes and state) lives elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import replace

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from federation.pages import (
    CROSS_BOUNDARY_YES,
    DECISION_AGREE,
    FORM_CROSS_BOUNDARY,
    FORM_CSRF,
    FORM_DECISION,
    FORM_RELEASE,
    ErrorKind,
    Pages,
    RelyingPartyView,
    mount_static,
)
from federation.web import RequestContextMiddleware
from tests.federation.pages import samples

JOURNEY_ID = "journey-0123456789abcdef"
_PERMIT = re.compile(r"^[HM]\d{8}(\d{2})?$")

EVIL_RP = RelyingPartyView(
    name='<script>alert("rp")</script>Evil & Co',
    contact="<img src=x onerror=alert(1)>@example.cn",
    logo_url="javascript:alert(1)",
)


def create_pages_app() -> FastAPI:
    """The page test app; ``app.state.pages`` is its :class:`Pages`."""
    app = FastAPI()
    app.add_middleware(RequestContextMiddleware)
    mount_static(app)
    pages = Pages(support=samples.SUPPORT, csrf_secret=b"page-tests-secret-0123456789abcd")
    app.state.pages = pages
    app.state.polls = 0
    app.state.last_post = {}

    @app.exception_handler(StarletteHTTPException)
    async def not_found(request: Request, exc: StarletteHTTPException) -> Response:
        return pages.render_error(
            ErrorKind.NOT_FOUND,
            pages.locale_for(request),
            request=request,
            status_code=exc.status_code,
        )

    @app.get("/consent")
    async def consent(request: Request) -> Response:
        locale = pages.locale_for(request)
        view = samples.consent_page(locale, csrf_token=pages.issue_csrf(JOURNEY_ID))
        return pages.render(view, locale, request=request)

    @app.get("/consent/self-registered")
    async def consent_self_registered(request: Request) -> Response:
        locale = pages.locale_for(request)
        rp = samples.SELF_REGISTERED_RP
        view = samples.consent_page(locale, rp=rp, csrf_token=pages.issue_csrf(JOURNEY_ID))
        return pages.render(view, locale, request=request)

    @app.get("/consent/evil")
    async def consent_evil(request: Request) -> Response:
        locale = pages.locale_for(request)
        view = samples.consent_page(locale, rp=EVIL_RP, csrf_token=pages.issue_csrf(JOURNEY_ID))
        return pages.render(view, locale, request=request)

    @app.post("/consent")
    async def consent_post(request: Request) -> Response:
        locale = pages.locale_for(request)
        form = await request.form()
        app.state.last_post = {key: form.getlist(key) for key in form}
        if not pages.check_csrf(str(form.get(FORM_CSRF, "")), JOURNEY_ID):
            return pages.render_error(
                ErrorKind.CSRF_FAILED, locale, request=request, retry_url="/consent"
            )
        if form.get(FORM_DECISION) != DECISION_AGREE:
            return pages.render_error(
                ErrorKind.ACCESS_DENIED,
                locale,
                request=request,
                retry_url="/consent",
                service=samples.SERVICE,
            )
        permit = str(form.get("supplied_home_return_permit", "")).strip().upper()
        permit_ok = bool(_PERMIT.match(permit))
        cross_ok = form.get(FORM_CROSS_BOUNDARY) == CROSS_BOUNDARY_YES
        if not (permit_ok and cross_ok):
            view = samples.consent_page(
                locale,
                csrf_token=pages.issue_csrf(JOURNEY_ID),
                permit=str(form.get("supplied_home_return_permit", "")),
                permit_invalid=not permit_ok,
                cross_boundary_missing=not cross_ok,
                phone_selected="mobile_phone" in form.getlist(FORM_RELEASE),
            )
            return pages.render(view, locale, request=request, status_code=400)
        return RedirectResponse("/consent/done", status_code=303)

    @app.get("/consent/done")
    async def done(request: Request) -> Response:
        return pages.render(samples.done_page(), pages.locale_for(request), request=request)

    @app.get("/handoff")
    async def handoff(request: Request) -> Response:
        view = replace(
            samples.handoff_page(poll_url="/handoff/poll"),
            csrf_token=pages.issue_csrf(JOURNEY_ID),
        )
        return pages.render(view, pages.locale_for(request), request=request)

    @app.get("/handoff/continue")
    async def handoff_continue() -> Response:
        return RedirectResponse("/consent", status_code=303)

    @app.post("/handoff/cancel")
    async def handoff_cancel(request: Request) -> Response:
        locale = pages.locale_for(request)
        form = await request.form()
        app.state.last_post = {key: form.getlist(key) for key in form}
        if not pages.check_csrf(str(form.get(FORM_CSRF, "")), JOURNEY_ID):
            return pages.render_error(
                ErrorKind.CSRF_FAILED, locale, request=request, retry_url="/handoff"
            )
        return pages.render_error(
            ErrorKind.UPSTREAM_CANCELLED,
            pages.locale_for(request),
            request=request,
            retry_url="/handoff",
            service=samples.SERVICE,
        )

    @app.get("/handoff/poll")
    async def handoff_poll() -> Response:
        app.state.polls += 1
        if app.state.polls < 2:
            return JSONResponse({"status": "pending"})
        return JSONResponse({"status": "done", "next": "/consent"})

    @app.get("/error/{kind}")
    async def error(kind: str, request: Request) -> Response:
        locale = pages.locale_for(request)
        if kind not in {k.value for k in ErrorKind}:
            return pages.render_error(ErrorKind.NOT_FOUND, locale, request=request)
        return pages.render_error(
            kind, locale, request=request, retry_url="/consent", service=samples.SERVICE
        )

    @app.get("/error-bare/{kind}")
    async def error_bare(kind: ErrorKind, request: Request) -> Response:
        return pages.render_error(kind, pages.locale_for(request), request=request)

    return app
