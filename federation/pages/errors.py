"""The kinds of error page a person can see, and their HTTP status codes.

Every kind has, in each catalogue, ``error.<kind>.title`` (what happened, short),
``error.<kind>.what`` (what happened, in plain words) and ``error.<kind>.next`` (what to do
now). The page always adds a reference id and the support contact, and offers "try again"
and "start again at the service" when the caller gives their URLs, and "Manage your
consents" when no service is known (PAGES.md "Error pages"; ``domain-facts.md`` §5.3:
never a blank page or a dead end).

Standard library only.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    """Why the journey stopped. The upstream kinds follow iAM Smart's D-series codes."""

    ACCESS_DENIED = "access_denied"
    """The person declined on the consent page."""
    UPSTREAM_CANCELLED = "upstream_cancelled"
    """iAM Smart D40000: cancelled in the app."""
    UPSTREAM_REJECTED = "upstream_rejected"
    """iAM Smart D40001 (or D20001): rejected in the app."""
    UPSTREAM_TIMEOUT = "upstream_timeout"
    """iAM Smart D40003: not approved in time."""
    UPSTREAM_CODE_EXPIRED = "upstream_code_expired"
    """iAM Smart D40004: the one-time code expired before it was exchanged."""
    UPSTREAM_UNAVAILABLE = "upstream_unavailable"
    """iAM Smart did not answer, or answered with an error."""
    JOURNEY_EXPIRED = "journey_expired"
    """The journey record is gone (TTL) or the cookie is missing."""
    INVALID_CLIENT = "invalid_client"
    INVALID_REDIRECT_URI = "invalid_redirect_uri"
    """Not a registered redirect URI: never redirect, show this page (DESIGN §8)."""
    MISSING_REDIRECT_URI = "missing_redirect_uri"
    """The service did not say where to send the person back."""
    UNVERIFIABLE_REDIRECT_URI = "unverifiable_redirect_uri"
    """A logout return address with nothing naming the service: it cannot be checked."""
    ASSURANCE_UNMET = "assurance_unmet"
    """The service requires iAM Smart+ (essential ``acr``) and the person has iAM Smart."""
    INVALID_REQUEST_OBJECT = "invalid_request_object"
    """The service's signed request (RFC 9101) could not be verified."""
    INVALID_REQUEST = "invalid_request"
    REQUEST_TOO_LARGE = "request_too_large"
    """A body over the route's bound (or the app's cap): 413."""
    MAPPING_INVALID_VALUE = "mapping_invalid_value"
    """An upstream value failed the mapping profile's validation."""
    CSRF_FAILED = "csrf_failed"
    CONSENT_REQUIRED = "consent_required"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    """A page asked for with the wrong method (a form reloaded as GET, a link POSTed): 405."""


STATUS_CODES: dict[ErrorKind, int] = {
    ErrorKind.ACCESS_DENIED: 403,
    ErrorKind.UPSTREAM_CANCELLED: 400,
    ErrorKind.UPSTREAM_REJECTED: 403,
    ErrorKind.UPSTREAM_TIMEOUT: 400,
    ErrorKind.UPSTREAM_CODE_EXPIRED: 400,
    ErrorKind.UPSTREAM_UNAVAILABLE: 503,
    ErrorKind.JOURNEY_EXPIRED: 400,
    ErrorKind.INVALID_CLIENT: 400,
    ErrorKind.INVALID_REDIRECT_URI: 400,
    ErrorKind.MISSING_REDIRECT_URI: 400,
    ErrorKind.UNVERIFIABLE_REDIRECT_URI: 400,
    ErrorKind.ASSURANCE_UNMET: 403,
    ErrorKind.INVALID_REQUEST_OBJECT: 400,
    ErrorKind.INVALID_REQUEST: 400,
    ErrorKind.REQUEST_TOO_LARGE: 413,
    ErrorKind.MAPPING_INVALID_VALUE: 422,
    ErrorKind.CSRF_FAILED: 403,
    ErrorKind.CONSENT_REQUIRED: 403,
    ErrorKind.RATE_LIMITED: 429,
    ErrorKind.SERVER_ERROR: 500,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.METHOD_NOT_ALLOWED: 405,
}
"""Default status per kind (408 is avoided: browsers silently retry it)."""


def status_for(kind: ErrorKind | str) -> int:
    """The default HTTP status of ``kind``."""
    return STATUS_CODES[ErrorKind(kind)]
