"""Rendering: a view model + a locale → an ``HTMLResponse``.

:class:`Pages` is made once per app (``app.state.pages = Pages(settings)``) and holds the
Jinja2 environment (autoescape on, strict undefined), the catalogues, the support contact
and the CSRF key. Output has no inline script or style, so it runs under the bridge's CSP
(``federation.web.SECURITY_HEADERS``), which every page response also carries itself.

Imports ``federation.settings``, ``federation.logs``, ``federation.web``, its own package,
Jinja2 and Starlette.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from federation.logs import request_id_var
from federation.pages import csrf as _csrf
from federation.pages.catalogue import Catalogue, catalogues
from federation.pages.errors import ErrorKind, status_for
from federation.pages.locale import (
    HTML_LANG,
    LANG_COOKIE,
    LANG_PARAM,
    LOCALES,
    negotiate_locale,
    normalise_locale,
    url_with_lang,
)
from federation.pages.static import static_url
from federation.pages.views import ErrorPage, Localised, ServiceLink, SupportContact, pick
from federation.settings import Settings
from federation.web import SECURITY_HEADERS, new_request_id

TEMPLATES_DIR = Path(__file__).with_name("templates")
_COOKIE_MAX_AGE = 365 * 24 * 3600
_UNSAFE_SCHEMES = ("javascript:", "data:", "vbscript:", "file:")
_IMAGE_DATA = (
    "data:image/png;",
    "data:image/jpeg;",
    "data:image/gif;",
    "data:image/webp;",
    "data:image/svg+xml;base64,",  # scripts never run in an SVG loaded by <img>
)


class PageView(Protocol):
    """Any view model of :mod:`federation.pages.views`: it names its template."""

    template: str


def make_environment() -> Environment:
    """The Jinja2 environment: autoescape for HTML, undefined variables are errors."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["safe_href"] = safe_href
    env.filters["safe_img"] = safe_img
    env.globals["static_url"] = static_url
    return env


def safe_href(url: str | None) -> str:
    """``url`` for an ``href``, or ``#`` if its scheme could run script."""
    cleaned = "".join(ch for ch in (url or "") if ch > " ").lower()
    if not cleaned or cleaned.startswith(_UNSAFE_SCHEMES):
        return "#"
    return url or "#"


def safe_img(url: str | None) -> str:
    """``url`` for an ``<img src>``: a ``data:`` image (PNG, JPEG, GIF, WebP, base64 SVG)
    or a same-origin path; anything else gives no image."""
    if not url:
        return ""
    if url.startswith(_IMAGE_DATA) or (url.startswith("/") and not url.startswith("//")):
        return url
    return ""


def mask_value(value: str) -> str:
    """Hide the middle of an identifier: ``A123456(3)`` → ``A1•••••(3)``. Punctuation is
    kept so the shape stays recognisable."""
    keep_head, keep_tail = (2, 2) if len(value) >= 8 else (1, 1) if len(value) >= 4 else (1, 0)
    chars = list(value)
    for index in range(keep_head, len(chars) - keep_tail):
        if chars[index].isalnum():
            chars[index] = "•"
    return "".join(chars)


def _support_from(settings: Settings | None) -> SupportContact:
    """Support contact from settings fields ``support_email``/``support_phone``/
    ``support_url`` when the settings have them."""
    return SupportContact(
        email=getattr(settings, "support_email", None),
        phone=getattr(settings, "support_phone", None),
        url=getattr(settings, "support_url", None),
    )


class Pages:
    """Renders every page people see. One instance per app."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        support: SupportContact | None = None,
        csrf_secret: bytes | None = None,
        csrf_ttl_seconds: int = _csrf.DEFAULT_TTL_SECONDS,
    ) -> None:
        self.settings = settings
        self.support = support or _support_from(settings)
        self.env = make_environment()
        self.catalogues: Mapping[str, Catalogue] = catalogues()
        if csrf_secret is None:
            csrf_secret = _csrf.csrf_secret_from_settings(settings or Settings())
        self._csrf_secret = csrf_secret
        self._csrf_ttl = csrf_ttl_seconds
        self._secure_cookie = bool(settings and settings.issuer.startswith("https://"))

    # -- language -------------------------------------------------------------------------

    def locale_for(self, request: Request, ui_locales: str | None = None) -> str:
        """The locale for this request: the switcher's ``lang`` query parameter, then
        :func:`negotiate_locale` (``ui_locales``, the ``idb_lang`` cookie,
        ``Accept-Language``)."""
        chosen = normalise_locale(request.query_params.get(LANG_PARAM))
        if chosen:
            return chosen
        return negotiate_locale(
            ui_locales, request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")
        )

    # -- CSRF -----------------------------------------------------------------------------

    def issue_csrf(self, bound_to: str) -> str:
        """A CSRF token for the forms of journey ``bound_to``."""
        return _csrf.issue_csrf(bound_to, secret=self._csrf_secret, ttl_seconds=self._csrf_ttl)

    def check_csrf(self, token: str | None, bound_to: str | None) -> bool:
        """Whether ``token`` is valid for journey ``bound_to`` (constant-time, expiring)."""
        return _csrf.check_csrf(token, bound_to, secret=self._csrf_secret)

    # -- rendering ------------------------------------------------------------------------

    def render_html(self, view: PageView, locale: str, *, current_url: str = "/") -> str:
        """The page as a string (what :meth:`render` sends)."""
        if locale not in LOCALES:
            locale = normalise_locale(locale) or LOCALES[0]
        template = self.env.get_template(view.template)
        return template.render(self._context(view, locale, current_url))

    def render(
        self,
        view: PageView,
        locale: str,
        *,
        request: Request | None = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        """Render ``view`` (its template is ``view.template``) in ``locale``.

        Give ``request`` so that the language switcher keeps the current path and query
        and so that a ``lang`` choice is remembered in the ``idb_lang`` cookie.
        """
        current = "/"
        if request is not None:
            current = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        body = self.render_html(view, locale, current_url=current)
        response = HTMLResponse(body, status_code=status_code)
        for name, value in SECURITY_HEADERS:
            response.headers.setdefault(name.decode(), value.decode())
        response.headers["cache-control"] = "no-store"
        response.headers["content-language"] = locale
        for name, value in (headers or {}).items():
            response.headers[name] = value
        if request is not None:
            chosen = normalise_locale(request.query_params.get(LANG_PARAM))
            if chosen:
                response.set_cookie(
                    LANG_COOKIE,
                    chosen,
                    max_age=_COOKIE_MAX_AGE,
                    path="/",
                    secure=self._secure_cookie,
                    httponly=True,
                    samesite="lax",
                )
        return response

    def render_error(
        self,
        kind: ErrorKind | str,
        locale: str,
        *,
        reference: str | None = None,
        retry_url: str | None = None,
        service: ServiceLink | None = None,
        status_code: int | None = None,
        request: Request | None = None,
    ) -> HTMLResponse:
        """The error page of ``kind`` (:class:`ErrorKind`): what happened, what to do next,
        a reference to quote (default: the request id) and the support contact.

        ``retry_url`` adds "Try again"; ``service`` adds "Go back to <service>"; the status
        defaults to :data:`federation.pages.errors.STATUS_CODES`.
        """
        kind = ErrorKind(kind)
        view = ErrorPage(
            kind=kind.value,
            reference=reference or _current_reference(),
            retry_url=retry_url,
            service=service,
            manage_url=getattr(self.settings, "consent_manage_url", None) or "/consents",
        )
        return self.render(
            view, locale, request=request, status_code=status_code or status_for(kind)
        )

    def _context(self, view: PageView, locale: str, current_url: str) -> dict[str, Any]:
        catalogue = self.catalogues[locale]

        def attr_label(attribute: str, label: Localised | None = None) -> str:
            if label:
                return pick(label, locale)
            key = f"attr.{attribute}"
            return catalogue.text(key) if catalogue.has(key) else attribute

        def form_action(url: str) -> str:
            """A same-origin form action carries the shown language, so that the answer
            (a re-render or an error page) stays in it."""
            if url.startswith("/") and not url.startswith(("//", "/\\")):
                return url_with_lang(url, locale)
            return safe_href(url)

        def optional_text(key: str, fallback: str | None = None) -> str:
            if catalogue.has(key):
                return catalogue.text(key)
            return catalogue.text(fallback) if fallback else ""

        switcher = [
            {
                "locale": other,
                "html_lang": HTML_LANG[other],
                "short": catalogue.text(f"layout.lang_{other.replace('-', '_').lower()}_short"),
                "name": catalogue.text(f"layout.lang_{other.replace('-', '_').lower()}_name"),
                "href": url_with_lang(current_url, other),
                "current": other == locale,
            }
            for other in LOCALES
        ]
        reference = request_id_var.get()
        return {
            "view": view,
            "locale": locale,
            "html_lang": HTML_LANG[locale],
            "t": catalogue.text,
            "pick": lambda text: pick(text, locale),
            "attr_label": attr_label,
            "optional_text": optional_text,
            "form_action": form_action,
            "mask": mask_value,
            "switcher": switcher,
            "support": self.support,
            "footer_reference": reference if reference != "-" else None,
        }


def _current_reference() -> str:
    """The request id set by the app's middleware, or a fresh one."""
    reference = request_id_var.get()
    return reference if reference != "-" else new_request_id()
