"""The journey's FastAPI adapter: each route finds the journey (cookie) and delegates.

=====================================  ==============================================
``GET  /upstream/{id}/callback``       login callback (``code``/``error_code``), or the
                                       browser back from an approval (``ticketID``)
``POST /upstream/{id}/callback``       encrypted attribute result (server to server)
``GET  /journey/continue``             waiting page's Continue (works without JS)
``GET  /journey/status``               JSON for the waiting page's optional polling
``POST /journey/cancel``               the person gives up while waiting (CSRF form)
``GET  /journey/cancel``               changes nothing: the page with the Cancel form
``GET  /journey/retry``                sign in at the upstream again (same journey)
``GET  /journey/consent``              the consent page (also the language switcher)
``POST /journey/consent``              the consent form
``GET  /journey/done``                 after Agree (Post/Redirect/Get): receipt, reference
``GET  /journey/receipt``              the signed consent receipt (download)
``GET  /journey/finish``               issue the code, back to the RP
=====================================  ==============================================

The ``/authorize`` hook is :func:`federation.journey.start.start_journey`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from federation.journey import consent_step, failures, finish, steps, upstream
from federation.journey.context import Journey
from federation.journey.record import JOURNEY_COOKIE, JourneyRecord
from federation.pages import ErrorKind
from federation.ratelimit import per_address

Step = Callable[[Journey, Request, JourneyRecord], Awaitable[Response]]


def _journey(request: Request) -> Journey:
    return request.app.state.journey


async def _with_record(request: Request, step: Step, *stages: str) -> Response:
    journey = _journey(request)
    record = await journey.store.load(journey.cookie(request, JOURNEY_COOKIE))
    if record is None:
        finished = await finish.finished_page(journey, request)
        return finished if finished is not None else failures.expired(journey, request)
    if record.identity is not None and record.stage == "granted" and "granted" not in stages:
        # Back or a reload of the consent form after Agree: the done page (Post/Redirect/Get)
        return RedirectResponse(consent_step.DONE_PATH, status_code=303)
    if record.identity is None or (stages and record.stage not in stages):
        return failures.expired(journey, request)
    return await step(journey, request, record)


def journey_router() -> APIRouter:
    """The routes above."""
    router = APIRouter(include_in_schema=False)

    @router.get(
        "/upstream/{connector_id}/callback", dependencies=[Depends(per_address("callback"))]
    )
    async def callback(connector_id: str, request: Request) -> Response:
        journey = _journey(request)
        if journey.connector is None or connector_id != journey.connector.id:
            return journey.pages.render_error(
                ErrorKind.NOT_FOUND, journey.pages.locale_for(request), request=request
            )
        params = dict(request.query_params)
        if "ticketID" in params:
            return await upstream.resume(journey, request)
        return await upstream.login_callback(journey, request, params)

    @router.post(
        "/upstream/{connector_id}/callback",
        dependencies=[Depends(per_address("callback-post", error="rate_limited"))],
    )
    async def result(connector_id: str, request: Request) -> Response:
        journey = _journey(request)
        if journey.connector is None or connector_id != journey.connector.id:
            return JSONResponse({"error": "not_found"}, status_code=404)
        return await upstream.result_post(journey, request)

    @router.get("/journey/continue")
    async def resume(request: Request) -> Response:
        return await upstream.resume(_journey(request), request)

    @router.get("/journey/status", dependencies=[Depends(per_address("status", error="slow_down"))])
    async def status(request: Request) -> Response:
        return await upstream.status(_journey(request), request)

    @router.post(upstream.CANCEL_PATH, dependencies=[Depends(per_address("consent"))])
    async def cancel(request: Request) -> Response:
        return await _with_record(request, steps.cancel)

    @router.get(upstream.CANCEL_PATH)
    async def cancel_get(request: Request) -> Response:
        return await _with_record(request, steps.cancel_page)

    @router.get("/journey/retry")
    async def retry(request: Request) -> Response:
        journey = _journey(request)
        record = await journey.store.load(journey.cookie(request, JOURNEY_COOKIE))
        if record is None or record.stage != "upstream":
            return failures.expired(journey, request)
        return await upstream.go_upstream(journey, request, record)

    @router.get(consent_step.CONSENT_PATH)
    async def consent_page(request: Request) -> Response:
        return await _with_record(request, consent_step.show_page, "consent")

    @router.post(consent_step.CONSENT_PATH, dependencies=[Depends(per_address("consent"))])
    async def consent_form(request: Request) -> Response:
        return await _with_record(request, consent_step.submit, "consent")

    @router.get(consent_step.DONE_PATH)
    async def done(request: Request) -> Response:
        return await _with_record(request, consent_step.done_page, "granted")

    @router.get(consent_step.FINISH_PATH)
    async def finish_route(request: Request) -> Response:
        return await _with_record(request, consent_step.finish, "granted")

    @router.get(consent_step.RECEIPT_PATH)
    async def receipt(request: Request) -> Response:
        return await _with_record(request, steps.download_receipt, "granted")

    return router
