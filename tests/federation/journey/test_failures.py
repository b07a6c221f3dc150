"""Which page a request that must never be redirected gets: chosen by the error's
``kind`` (set where the error is raised), not by the wording of its description."""

from __future__ import annotations

import pytest

from federation.journey.failures import kind_for_not_redirectable
from federation.oidc.errors import (
    INVALID_CLIENT,
    INVALID_REDIRECT_URI,
    INVALID_REQUEST,
    MISSING_REDIRECT_URI,
    UNVERIFIABLE_REDIRECT_URI,
    NonRedirectableError,
)
from federation.pages import ErrorKind


@pytest.mark.parametrize(
    ("error", "page"),
    [
        (
            NonRedirectableError("invalid_client", "unknown client", kind=INVALID_CLIENT),
            ErrorKind.INVALID_CLIENT,
        ),
        (
            NonRedirectableError("invalid_request", "not registered", kind=INVALID_REDIRECT_URI),
            ErrorKind.INVALID_REDIRECT_URI,
        ),
        (
            NonRedirectableError("invalid_request", "missing", kind=MISSING_REDIRECT_URI),
            ErrorKind.MISSING_REDIRECT_URI,
        ),
        (
            NonRedirectableError("invalid_request", "no hint", kind=UNVERIFIABLE_REDIRECT_URI),
            ErrorKind.UNVERIFIABLE_REDIRECT_URI,
        ),
        # the description mentions redirect_uri, the kind says otherwise: the kind wins
        (
            NonRedirectableError(
                "invalid_client", "redirect_uri host unknown", kind=INVALID_CLIENT
            ),
            ErrorKind.INVALID_CLIENT,
        ),
        (
            NonRedirectableError("invalid_request_uri", "redirect_uri gone", kind=INVALID_REQUEST),
            ErrorKind.INVALID_REQUEST,
        ),
    ],
)
def test_page_follows_the_kind(error: NonRedirectableError, page: ErrorKind) -> None:
    assert kind_for_not_redirectable(error) is page
