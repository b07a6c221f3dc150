"""Typed protocol errors.

Every error carries an OAuth 2 ``error`` code (RFC 6749 §4.1.2.1, §5.2; OIDC Core §3.1.2.6;
RFC 6750 §3.1) and a human-readable description with no personal data. The authorization
endpoint distinguishes errors that may be sent back to the RP's redirect URI from those that
must not (RFC 6749 §4.1.2.1: an unknown client or an unregistered redirect URI must never
cause a redirect; the person sees a page instead).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(eq=False)
class OAuthError(Exception):
    """An OAuth 2 / OIDC error response."""

    error: str
    description: str = ""
    status_code: int = 400
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(f"{self.error}: {self.description}")

    def to_json(self) -> dict[str, str]:
        """The JSON body of RFC 6749 §5.2."""
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


@dataclass(eq=False)
class NonRedirectableError(OAuthError):
    """Authorization request error that must be shown to the person, never redirected:
    an unknown ``client_id`` or a ``redirect_uri`` not registered for the client.

    ``kind`` says which, for the page (the ``error`` code alone does not: a missing
    ``client_id`` and an unregistered ``redirect_uri`` are both ``invalid_request``):
    :data:`INVALID_CLIENT`, :data:`INVALID_REDIRECT_URI` or :data:`INVALID_REQUEST`."""

    kind: str = "invalid_request"


INVALID_CLIENT = "invalid_client"
"""``NonRedirectableError.kind``: the client is unknown (or the ``client_id`` unusable)."""
INVALID_REDIRECT_URI = "invalid_redirect_uri"
"""``NonRedirectableError.kind``: the ``redirect_uri`` is not registered."""
MISSING_REDIRECT_URI = "missing_redirect_uri"
"""``NonRedirectableError.kind``: the request names no ``redirect_uri`` (or repeats it)."""
UNVERIFIABLE_REDIRECT_URI = "unverifiable_redirect_uri"
"""``NonRedirectableError.kind``: a logout ``post_logout_redirect_uri`` with neither
``id_token_hint`` nor ``client_id``: whose address it is cannot be checked."""
ASSURANCE_UNMET = "assurance_unmet"
"""``NonRedirectableError.kind`` / page: an essential ``acr`` the person cannot meet."""
INVALID_REQUEST_OBJECT = "invalid_request_object"
"""``NonRedirectableError.kind``: a request object (RFC 9101) that does not verify."""
INVALID_REQUEST = "invalid_request"
"""``NonRedirectableError.kind``: anything else (e.g. an unusable PAR ``request_uri``)."""
REQUEST_TOO_LARGE = "request_too_large"
"""``NonRedirectableError.kind``: the request's body is over its bound (413)."""
UNAVAILABLE = "unavailable"
"""``NonRedirectableError.kind``: the bridge's storage did not answer (503)."""


@dataclass(eq=False)
class RedirectableError(OAuthError):
    """Authorization request error to be sent to the RP's (already validated) redirect URI
    with ``state`` and ``iss`` (RFC 6749 §4.1.2.1, RFC 9207 §2)."""

    redirect_uri: str = ""
    state: str | None = None
    response_mode: str = "query"
    """How the RP asked to get the answer (``query`` or ``form_post``)."""


def invalid_request(description: str) -> OAuthError:
    """``invalid_request`` (400)."""
    return OAuthError("invalid_request", description)


def invalid_client(description: str, *, basic: bool = False) -> OAuthError:
    """``invalid_client`` (401, with a Basic challenge when Basic auth was tried)."""
    headers = {"WWW-Authenticate": 'Basic realm="idbridge"'} if basic else {}
    return OAuthError("invalid_client", description, 401, headers)


def invalid_grant(description: str) -> OAuthError:
    """``invalid_grant`` (400)."""
    return OAuthError("invalid_grant", description)


def bearer_error(error: str, description: str, status_code: int) -> OAuthError:
    """A protected-resource error with an RFC 6750 §3 ``WWW-Authenticate`` header."""
    challenge = 'Bearer realm="idbridge"'
    if error:
        challenge += f', error="{error}", error_description="{description}"'
    return OAuthError(
        error or "invalid_token", description, status_code, {"WWW-Authenticate": challenge}
    )
