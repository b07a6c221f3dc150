"""The upstream leg (DESIGN §3 steps 2–3): send the browser to the connector's login,
handle its callback, then ask for the attributes the client's mapping profile needs,
one approved request at a time (``docs/iamsmart.md`` "Using the connector").

Callback URL ``/upstream/<connector id>/callback`` (registered with iAM Smart):

- ``GET`` with ``code`` or ``error_code`` (and ``state``) — the login callback;
- ``POST`` — an encrypted attribute result, server to server: stored (sealed) in the
  journey waiting for its ticket, only if the connector authenticated it (iAM Smart: a
  CEK from ``getKey`` and our ``businessID``; ``docs/iamsmart.md`` "Result callbacks");
  anything else is answered 400 and changes nothing — the journey keeps waiting;
- ``GET`` with ``ticketID`` — the browser coming back after approving a request.

With the real service the person approves on the phone and the browser waits on the
hand-off page, whose Continue button (no JavaScript needed) moves on once the result POST
has arrived.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from connectors.base import AttributeConnector, CallbackConnector, UpstreamError
from federation.journey import failures
from federation.journey.acr_oidc import answered_acr
from federation.journey.consent_step import release_request, to_consent
from federation.journey.context import Journey
from federation.journey.record import JOURNEY_COOKIE, JourneyRecord
from federation.journey.sso import bridge_subject, open_session, set_session_cookie
from federation.oidc.authorize import error_redirect
from federation.oidc.http import BodyTooLarge, bounded_body
from federation.oidc.response_mode import authorization_response
from federation.pages import ErrorKind, HandoffPage

log = logging.getLogger("idbridge.journey.upstream")

MAX_RESULT_BODY = 64 * 1024
"""Bound of the result POST: the simulator's largest (every e-ME field) is about 2.3 KB."""
CONTINUE_PATH = "/journey/continue"
CANCEL_PATH = "/journey/cancel"
STATUS_PATH = "/journey/status"


def new_state() -> str:
    """A fresh upstream ``state`` (32 URL-safe characters; iAM Smart allows ≤ 36)."""
    return secrets.token_urlsafe(24)


async def go_upstream(journey: Journey, request: Request, record: JourneyRecord) -> Response:
    """Bind a new ``state`` to the journey and redirect to the upstream login."""
    connector = journey.connector
    if not isinstance(connector, CallbackConnector):
        return await failures.fail(
            journey,
            request,
            record,
            ErrorKind.UPSTREAM_UNAVAILABLE,
            "temporarily_unavailable",
            "no identity provider is configured",
        )
    state = new_state()
    redirect = connector.login_redirect(
        state=state, user_agent=record.user_agent, language=record.locale
    )
    await journey.store.bind_state(
        record, state, redirect.callback_window_seconds, stage="upstream"
    )
    return RedirectResponse(redirect.url, status_code=303)


async def login_callback(journey: Journey, request: Request, params: Mapping[str, str]) -> Response:
    """The upstream's login callback: the identity, the bridge session, then attributes."""
    state = params.get("state", "")
    journey_id = await journey.store.journey_for_state(state)
    record = await journey.store.load(journey_id) if journey_id else None
    if record is None or journey.cookie(request, JOURNEY_COOKIE) != record.id:
        return failures.expired(journey, request)
    if record.stage != "upstream" or record.state != state:
        return failures.expired(journey, request)
    try:
        identity = await journey.connector.handle_callback(params, expected_state=record.state)
    except UpstreamError as exc:
        return await failures.upstream_failed(journey, request, record, exc)
    person = bridge_subject(identity, journey.salt)
    session = None
    if journey.settings.session_ttl:
        ttl = journey.settings.session_ttl
        session = await open_session(journey.redis, journey.sealer, identity, person, ttl)
    sid = session.sid if session else ""  # the public sid; the cookie gets the secret
    journey.store.rotate(record)  # a journey id known before the login opens nothing after
    response = await after_login(
        journey, request, record, identity=identity, sid=sid, stage="attributes"
    )
    if record.stage != "ended":
        journey.set_cookie(response, JOURNEY_COOKIE, record.id, journey.settings.journey_ttl)
    if session:
        set_session_cookie(response, session, secure=journey.secure_cookies, ttl=ttl)
    return response


async def after_login(
    journey: Journey, request: Request, record: JourneyRecord, **fields: object
) -> Response:
    """Work out which attributes the client's profile needs, and fetch them. What changed
    (``fields``, e.g. the fresh identity, and ``wanted``) is written with the next step's
    write: every way out of :func:`next_request` writes or ends the journey."""
    profile = journey.profiles.for_client(record.authz.client)
    wanted = sorted(a.value for a in profile.required_attributes(release_request(record)))
    journey.store.defer(record, wanted=wanted, **fields)
    if answered_acr(record) is None:  # an essential acr the person cannot meet
        return await failures.assurance_unmet(journey, request, record)
    return await next_request(journey, request, record)


async def next_request(journey: Journey, request: Request, record: JourneyRecord) -> Response:
    """Start the next attribute request, or move on to consent when none is needed."""
    identity = record.identity
    assert identity is not None
    connector = journey.connector
    missing = [a for a in record.wanted if a not in identity.attributes]
    if not missing or not isinstance(connector, AttributeConnector):
        return await to_consent(journey, request, record)
    if "none" in record.authz.prompt:  # the person would have to approve in the app
        await journey.store.end(record)
        url = error_redirect(record.authz, "login_required", "the person must approve")
        return authorization_response(journey.pages, request, record.authz, url)
    try:
        ask = await connector.start_attribute_request(
            identity,
            missing,
            state=record.state or new_state(),
            user_agent=record.user_agent,
            language=record.locale,
        )
    except UpstreamError as exc:
        return await failures.upstream_failed(journey, request, record, exc)
    if ask is None:
        return await to_consent(journey, request, record)
    still = [a for a in record.wanted if a not in ask.unavailable]
    fields: dict[str, object] = {"wanted": still, "asked": list(ask.attributes)}
    if ask.unavailable:
        fields["identity"] = identity.with_attributes({a: None for a in ask.unavailable})
    await journey.store.bind_ticket(record, ask.ticket_id, **fields)
    if ask.browser_url:
        return RedirectResponse(ask.browser_url, status_code=303)
    # the waiting page at its own URL (it looks the "Open" link up again), never at the
    # login callback's: its language links would carry the one-time code and state
    return RedirectResponse(CONTINUE_PATH, status_code=303)


async def waiting_page_again(journey: Journey, request: Request, record: JourneyRecord) -> Response:
    """The waiting page for a request already pending (its "Open" link looked up again)."""
    lookup = getattr(journey.connector, "app_link", None)
    link = await lookup(record.ticket) if lookup is not None and record.ticket else None
    return waiting_page(journey, request, record, app_link=link)


def waiting_page(
    journey: Journey, request: Request, record: JourneyRecord, *, app_link: str | None = None
) -> Response:
    """ "Approve the request in your iAM Smart app", with a Continue button, and an "Open
    iAM Smart" button when the request can be opened in the app on this device
    (``AttributeRequest.app_url``: after an app-to-app login)."""
    view = HandoffPage(
        app_link=app_link,
        continue_url=CONTINUE_PATH,
        cancel_url=CANCEL_PATH,
        upstream=getattr(journey.connector, "id", "iamsmart"),
        poll_url=STATUS_PATH,
        expires_minutes=max(1, journey.settings.journey_ttl // 60),
        csrf_token=journey.pages.issue_csrf(record.id),
    )
    return journey.pages.render(view, failures.locale_of(journey, request, record), request=request)


async def result_post(journey: Journey, request: Request) -> Response:
    """The upstream POSTs an encrypted attribute result (server to server)."""
    connector = journey.connector
    if not isinstance(connector, AttributeConnector):
        return JSONResponse({"error": "not_found"}, status_code=404)
    try:
        body = await bounded_body(request, MAX_RESULT_BODY)
    except BodyTooLarge:
        too_large = {"error": "invalid_request", "error_description": "the body is too large"}
        return JSONResponse(too_large, status_code=413)
    try:
        result = await connector.complete_attribute_request(body, headers=request.headers)
    except UpstreamError as exc:
        log.warning("attribute result refused", extra={"fields": {"kind": type(exc).__name__}})
        return JSONResponse({"error": "invalid_request"}, status_code=400)
    journey_id = await journey.store.journey_for_ticket(result.ticket_id)
    if result.error is not None:
        outcome = {
            "error": {
                "upstream_code": result.error.upstream_code,
                "oidc_error": result.error.oidc_error,
                "message_key": result.error.message_key,
            }
        }
    else:
        outcome = {"attributes": dict(result.attributes)}
    stored = journey_id is not None and await journey.store.store_result(
        journey_id, result.ticket_id, outcome
    )
    if not stored:
        log.info("attribute result for no waiting journey")
    return JSONResponse(dict(result.acknowledgement))


async def resume(journey: Journey, request: Request) -> Response:
    """The browser is back (``ticketID`` return, or Continue on the waiting page)."""
    record = await journey.store.load(journey.cookie(request, JOURNEY_COOKIE))
    if record is None or record.stage != "attributes" or record.identity is None:
        return failures.expired(journey, request)
    ticket = request.query_params.get("ticketID")
    if ticket is not None and ticket != record.ticket:
        return failures.expired(journey, request)
    if record.result is None:
        return await waiting_page_again(journey, request, record)
    return await apply_result(journey, request, record)


async def apply_result(journey: Journey, request: Request, record: JourneyRecord) -> Response:
    """Merge the received attributes (or end on a refusal) and ask for the next ones."""
    result = record.result or {}
    error = result.get("error")
    if error:
        upstream = UpstreamError(
            "attribute request refused",
            upstream_code=error.get("upstream_code"),
            oidc_error=error.get("oidc_error") or "access_denied",
            retryable=False,
            message_key=error.get("message_key"),
        )
        return await failures.upstream_failed(journey, request, record, upstream)
    identity = record.identity
    assert identity is not None
    received = dict(result.get("attributes") or {})
    # asked but not approved (or not held): remembered as None, so that a reused session
    # does not ask again for what the person chose not to give
    absent = {name: None for name in record.asked if name not in received}
    identity = identity.with_attributes({**absent, **received})
    wanted = [a for a in record.wanted if a not in record.asked]
    journey.store.defer(
        record, identity=identity, wanted=wanted, asked=[], ticket="", drop=("result",)
    )
    return await next_request(journey, request, record)  # writes or ends the journey


async def status(journey: Journey, request: Request) -> Response:
    """JSON for the waiting page's optional polling script."""
    record = await journey.store.load(journey.cookie(request, JOURNEY_COOKIE))
    if record is None:
        return JSONResponse({"status": "expired"}, headers={"Cache-Control": "no-store"})
    done = record.stage != "attributes" or record.result is not None
    body = {"status": "done", "next": CONTINUE_PATH} if done else {"status": "pending"}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
