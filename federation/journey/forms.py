"""The people's forms of the journey (consent, cancel): read at most :data:`MAX_FORM_BODY`
bytes, then check the journey's CSRF token (DESIGN §8; ``federation.pages.csrf``).

Every refusal is a trilingual page that keeps the journey (``retry_url`` leads back):
413 ``request_too_large`` for a body over the bound, 400 ``invalid_request`` for a body no page
of ours sends (bad UTF-8, too many fields, a field other than ``release`` repeated),
403 ``csrf_failed`` for a missing, expired or foreign token.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import FormData, ImmutableMultiDict

from federation.journey import failures
from federation.journey.context import Journey
from federation.journey.record import JourneyRecord
from federation.oidc.errors import OAuthError
from federation.oidc.http import BodyTooLarge, bounded_form
from federation.pages import FORM_CSRF, FORM_RELEASE, ErrorKind

MAX_FORM_BODY = 64 * 1024
"""Bound of a form body: the consent form with every field is a few KiB."""


async def checked_form(
    journey: Journey, request: Request, record: JourneyRecord, retry_url: str | None
) -> FormData | ImmutableMultiDict[str, str] | Response:
    """The form if it is within bounds and carries this journey's CSRF token; else the
    page to answer with."""
    try:
        form = await bounded_form(request, MAX_FORM_BODY, frozenset({FORM_RELEASE}))
    except BodyTooLarge:
        return _refused(journey, request, record, ErrorKind.REQUEST_TOO_LARGE, retry_url, 413)
    except OAuthError:
        return _refused(journey, request, record, ErrorKind.INVALID_REQUEST, retry_url)
    if not journey.pages.check_csrf(str(form.get(FORM_CSRF) or ""), record.id):
        return _refused(journey, request, record, ErrorKind.CSRF_FAILED, retry_url)
    return form


def _refused(
    journey: Journey,
    request: Request,
    record: JourneyRecord,
    kind: ErrorKind,
    retry_url: str | None,
    status_code: int | None = None,
) -> Response:
    return journey.pages.render_error(
        kind,
        failures.locale_of(journey, request, record),
        request=request,
        retry_url=retry_url,
        status_code=status_code,
    )
