"""Every way a journey can fail, as a clear trilingual page for the person and, where the
relying party can be told, the right OAuth error for it (DESIGN §3, PAGES.md "Error pages").

The page's "go back to the service" link carries the authorization error response
(``error``, ``state``, ``iss``) to the RP's registered redirect URI, so the RP learns what
happened as the person returns. Where no journey is known (expired, unknown state, cookie
missing) there is nobody to tell: the page alone, with the support contact.
"""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import Response

from connectors.base import UpstreamError
from federation import metrics
from federation.journey.acr import UNMET_ERROR
from federation.journey.context import Journey
from federation.journey.record import JourneyRecord
from federation.oidc.authorize import error_redirect
from federation.oidc.errors import (
    INVALID_CLIENT,
    INVALID_REDIRECT_URI,
    INVALID_REQUEST_OBJECT,
    MISSING_REDIRECT_URI,
    REQUEST_TOO_LARGE,
    UNAVAILABLE,
    UNVERIFIABLE_REDIRECT_URI,
    NonRedirectableError,
)
from federation.oidc.logout import CSRF_FAILED
from federation.oidc.response_mode import FORM_POST, added_params, authorization_response
from federation.pages import ErrorKind, ServiceLink

log = logging.getLogger("idbridge.journey")

UPSTREAM_CODES: dict[str, ErrorKind] = {
    "D40000": ErrorKind.UPSTREAM_CANCELLED,
    "D40001": ErrorKind.UPSTREAM_REJECTED,
    "D20001": ErrorKind.UPSTREAM_REJECTED,
    "D50001": ErrorKind.UPSTREAM_REJECTED,
    "D60001": ErrorKind.UPSTREAM_REJECTED,
    "D40003": ErrorKind.UPSTREAM_TIMEOUT,
    "D40004": ErrorKind.UPSTREAM_CODE_EXPIRED,
    "D60000": ErrorKind.UPSTREAM_CANCELLED,  # e-ME cancelled (connectors/iamsmart/codes.yaml)
    "D50003": ErrorKind.UPSTREAM_TIMEOUT,
    "D60003": ErrorKind.UPSTREAM_TIMEOUT,
}
"""iAM Smart D-codes with a page of their own; anything else is "unavailable"."""

RETRY_PATH = "/journey/retry"


def kind_for_upstream(error: UpstreamError) -> ErrorKind:
    """The page for an upstream failure: by D-code, else by the error's OIDC meaning."""
    if error.upstream_code in UPSTREAM_CODES:
        return UPSTREAM_CODES[error.upstream_code]
    if error.message_key == "upstream.state":
        return ErrorKind.JOURNEY_EXPIRED
    if error.oidc_error == "access_denied":
        return ErrorKind.UPSTREAM_REJECTED
    if error.oidc_error == "login_required":
        return ErrorKind.UPSTREAM_TIMEOUT
    return ErrorKind.UPSTREAM_UNAVAILABLE


def locale_of(journey: Journey, request: Request, record: JourneyRecord | None = None) -> str:
    """The person's language: the switcher's ``lang``, else the journey's, else negotiated."""
    if record is not None and not request.query_params.get("lang"):
        return record.locale
    return journey.pages.locale_for(request)


def service_link(record: JourneyRecord, error: str, description: str) -> ServiceLink:
    """ "Go back to <RP>", carrying ``error`` to the RP's redirect URI in the request's
    response mode: a link with the error in its query, or — for ``form_post`` (OAuth 2.0
    Form Post Response Mode §2) — a form whose button POSTs ``error``/``state``/``iss``."""
    authz = record.authz
    name = authz.client.client_name.model_dump(by_alias=True)
    url = error_redirect(authz, error, description)
    if authz.response_mode == FORM_POST:
        fields = added_params(authz.redirect_uri, url)
        return ServiceLink(name=name, url=authz.redirect_uri, post_fields=fields)
    return ServiceLink(name=name, url=url)


async def fail(
    journey: Journey,
    request: Request,
    record: JourneyRecord,
    kind: ErrorKind,
    rp_error: str,
    description: str,
    *,
    retry: bool = False,
    upstream_code: str | None = None,
) -> Response:
    """End (or, for ``retry``, keep) the journey and show ``kind`` with the way back.
    The outcome is counted for the operator console (declined, or the upstream's code)."""
    metrics.LOGINS.labels(kind.value, metrics.code_label(upstream_code)).inc()
    log.info(
        "journey failed",
        extra={"fields": {"kind": kind.value, "client_id": record.authz.client_id}},
    )
    outcome = "declined" if kind is ErrorKind.ACCESS_DENIED else f"error:{kind.value}"
    await count_login(journey, record, f"upstream:{upstream_code}" if upstream_code else outcome)
    if not retry:
        await journey.store.end(record)
    return journey.pages.render_error(
        kind,
        locale_of(journey, request, record),
        request=request,
        retry_url=RETRY_PATH if retry else None,
        service=service_link(record, rp_error, description),
    )


async def upstream_failed(
    journey: Journey, request: Request, record: JourneyRecord, error: UpstreamError
) -> Response:
    """An :class:`UpstreamError` at login or while fetching attributes."""
    log.info(
        "upstream refused",
        extra={"fields": {"code": error.upstream_code or "-", "kind": type(error).__name__}},
    )
    retry = error.retryable and record.identity is None
    return await fail(
        journey,
        request,
        record,
        kind_for_upstream(error),
        error.oidc_error,
        "the identity provider ended the sign-in",
        retry=retry,
        upstream_code=error.upstream_code,
    )


async def count_login(journey: Journey, record: JourneyRecord, outcome: str) -> None:
    """Count one journey outcome (``consent.operator.stats``); never fails the journey."""
    try:
        await journey.consent.counters.login(record.authz.client_id, outcome)
    except Exception as exc:  # best effort: a counter must not break a login
        log.warning("login counter", extra={"fields": {"error": type(exc).__name__}})


async def assurance_unmet(journey: Journey, request: Request, record: JourneyRecord) -> Response:
    """An essential ``acr`` the person's iAM Smart level does not meet (OIDC Core
    §5.5.1.1): ``unmet_authentication_requirements`` to the RP, and a page saying that the
    service needs iAM Smart+ — or, with ``prompt=none``, straight back to the RP."""
    description = "the essential acr cannot be met"
    if "none" in record.authz.prompt:
        await journey.store.end(record)
        url = error_redirect(record.authz, UNMET_ERROR, description)
        return authorization_response(journey.pages, request, record.authz, url)
    return await fail(journey, request, record, ErrorKind.ASSURANCE_UNMET, UNMET_ERROR, description)


def expired(journey: Journey, request: Request) -> Response:
    """No journey (expired, unknown, cookie missing or from another browser)."""
    return journey.pages.render_error(
        ErrorKind.JOURNEY_EXPIRED, journey.pages.locale_for(request), request=request
    )


NOT_REDIRECTABLE_PAGES: dict[str, ErrorKind] = {
    INVALID_CLIENT: ErrorKind.INVALID_CLIENT,
    INVALID_REDIRECT_URI: ErrorKind.INVALID_REDIRECT_URI,
    MISSING_REDIRECT_URI: ErrorKind.MISSING_REDIRECT_URI,
    UNVERIFIABLE_REDIRECT_URI: ErrorKind.UNVERIFIABLE_REDIRECT_URI,
    INVALID_REQUEST_OBJECT: ErrorKind.INVALID_REQUEST_OBJECT,
    CSRF_FAILED: ErrorKind.CSRF_FAILED,
    UNAVAILABLE: ErrorKind.SERVER_ERROR,
    REQUEST_TOO_LARGE: ErrorKind.REQUEST_TOO_LARGE,
}
"""``NonRedirectableError.kind`` → page; any other kind is ``invalid_request``."""


def kind_for_not_redirectable(error: NonRedirectableError) -> ErrorKind:
    """The page for a request that must not be redirected, by the error's ``kind``."""
    return NOT_REDIRECTABLE_PAGES.get(error.kind, ErrorKind.INVALID_REQUEST)


def not_redirectable(journey: Journey, request: Request, error: NonRedirectableError) -> Response:
    """``/authorize`` with an unknown client, unregistered redirect URI or bad PAR URI:
    never redirect (DESIGN §8), explain."""
    kind = kind_for_not_redirectable(error)
    log.info("authorization request refused", extra={"fields": {"error": error.error}})
    locale = journey.pages.locale_for(request, request.query_params.get("ui_locales"))
    return journey.pages.render_error(kind, locale, request=request, status_code=error.status_code)
