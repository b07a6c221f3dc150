"""The ``/authorize`` hook (DESIGN §3 step 1): after the OIDC layer validated the request,
decide whether the bridge session can be reused (``prompt``, ``max_age``,
``id_token_hint``: :func:`federation.oidc.seam.session_decision`), open the journey record
and its cookie, and go upstream — or, with a reusable session, straight on to attributes
and consent.

The session cookie holds the session's secret; the session is found from it with
:func:`federation.oidc.session.session_from_cookie`, and only its public ``sid`` goes on
into the journey record (and so into the grant and the ID token).
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from federation.journey.context import Journey
from federation.journey.record import JOURNEY_COOKIE, JourneyRecord
from federation.journey.sso import identity_of
from federation.journey.upstream import after_login, go_upstream
from federation.oidc.authorize import error_redirect
from federation.oidc.errors import RedirectableError
from federation.oidc.models import AuthorizationRequest
from federation.oidc.response_mode import authorization_response
from federation.oidc.seam import session_decision
from federation.oidc.session import SESSION_COOKIE, session_from_cookie
from federation.ratelimit import RateLimited, client_bucket, rate_limited_response


def set_journey_cookie(journey: Journey, response: Response, record: JourneyRecord) -> None:
    """The journey cookie: opaque id, HttpOnly, SameSite=Lax; ``__Host-`` and Secure
    behind https (:mod:`federation.cookies`)."""
    journey.set_cookie(response, JOURNEY_COOKIE, record.id, journey.settings.journey_ttl)


async def start_journey(request: Request, authz: AuthorizationRequest) -> Response:
    """``JourneyStarter`` for :func:`federation.oidc.router.oidc_router`."""
    journey: Journey = request.app.state.journey
    session = await session_from_cookie(journey.redis, journey.cookie(request, SESSION_COOKIE))
    try:
        decision = session_decision(authz, session, journey.provider.clock())
    except RedirectableError as exc:
        url = error_redirect(authz, exc.error, exc.description)
        return authorization_response(journey.pages, request, authz, url)
    locale = journey.pages.locale_for(request, " ".join(authz.ui_locales) or None)
    user_agent = request.headers.get("user-agent", "")
    record = await journey.store.create(authz, locale=locale, user_agent=user_agent)
    identity = None
    if decision == "reuse" and session is not None:
        identity = await identity_of(journey.redis, journey.sealer, session)
    if identity is not None and session is not None:
        response = await after_login(
            journey, request, record, identity=identity, sid=session.session_id, stage="attributes"
        )
    elif "none" in authz.prompt:
        await journey.store.end(record)
        url = error_redirect(authz, "login_required", "the person is not logged in")
        return authorization_response(journey.pages, request, authz, url)
    else:
        bucket = client_bucket(request, journey.settings)
        if journey.admission is not None and not await journey.admission.admit(bucket, record.id):
            # this address has its cap of journeys before login open: store nothing more
            retry = RateLimited(journey.settings.journey_prelogin_ttl, error=None)
            return rate_limited_response(request, retry)
        journey.store.defer(record, addr=bucket)  # written with the state binding
        response = await go_upstream(journey, request, record)
    if record.stage != "ended":  # e.g. a remembered consent already sent the code
        set_journey_cookie(journey, response, record)
    return response


__all__ = ["set_journey_cookie", "start_journey"]
