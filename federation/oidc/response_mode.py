"""How the authorization response reaches the client (OAuth 2.0 Multiple Response Type
Encoding Practices §2.1, OAuth 2.0 Form Post Response Mode §2).

- ``query`` (the default): a redirect with the parameters in the redirect URI's query;
- ``form_post``: a page whose form POSTs them (``application/x-www-form-urlencoded``) to
  the redirect URI, so that the code never sits in a URL or the browser's history. The
  page (:class:`~federation.pages.form_post_views.FormPostPage`) posts itself with a
  same-origin script and shows a Continue button for browsers without JavaScript; the CSP's
  ``form-action`` already allows the RP's https (or loopback http) origin.

Every way the journey and the router end an authorization request goes through
:func:`authorization_response` (success or error) or :func:`error_response`.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from federation.oidc.authorize import redirect_for
from federation.oidc.errors import RedirectableError
from federation.oidc.models import AuthorizationRequest
from federation.pages import Pages
from federation.pages.form_post_views import FormPostPage

FORM_POST = "form_post"


def added_params(redirect_uri: str, url: str) -> tuple[tuple[str, str], ...]:
    """The parameters ``url`` carries beyond those already in ``redirect_uri``."""
    own = parse_qsl(urlsplit(redirect_uri).query, keep_blank_values=True)
    every = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    return tuple(every[len(own) :])


def _form_post(
    pages: Pages,
    request: Request,
    redirect_uri: str,
    url: str,
    ui_locales: str | None,
    service: dict[str, str] | None,
) -> Response:
    view = FormPostPage(
        action_url=redirect_uri, fields=added_params(redirect_uri, url), service=service
    )
    response = pages.render(view, pages.locale_for(request, ui_locales), request=request)
    response.headers["Cache-Control"] = "no-store"
    return response


def authorization_response(
    pages: Pages, request: Request, authz: AuthorizationRequest, url: str
) -> Response:
    """The response that delivers ``url`` (a redirect to ``authz.redirect_uri`` with the
    authorization response in its query) in the request's response mode."""
    if authz.response_mode != FORM_POST:
        return RedirectResponse(url, status_code=303)
    name = authz.client.client_name.model_dump(by_alias=True)
    return _form_post(
        pages, request, authz.redirect_uri, url, " ".join(authz.ui_locales) or None, name
    )


def error_response(
    pages: Pages, request: Request, error: RedirectableError, issuer: str
) -> Response:
    """A :class:`RedirectableError` raised while validating, in its response mode."""
    url = redirect_for(error, issuer)
    if error.response_mode != FORM_POST:
        return RedirectResponse(url, status_code=302)
    return _form_post(pages, request, error.redirect_uri, url, None, None)
