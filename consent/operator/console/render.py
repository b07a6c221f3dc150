"""Rendering console pages: Jinja2 (autoescape, strict undefined) over the console's
templates, its own catalogues (same format and loader as ``federation.pages``), the
language switcher and Hong Kong dates with the zone shown (PAGES.md "Operator pages").

Every response carries the bridge's security headers (CSP ``default-src 'self'``: no
inline script or style), ``Cache-Control: no-store`` and ``Content-Language``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from consent.operator.roles import Permission, allows
from consent.operator.sessions import Session
from federation.logs import request_id_var
from federation.pages.catalogue import Catalogue, load_catalogue
from federation.pages.locale import (
    HTML_LANG,
    LANG_COOKIE,
    LANG_PARAM,
    LOCALES,
    negotiate_locale,
    normalise_locale,
    url_with_lang,
)
from federation.pages.static import static_url as shared_static_url
from federation.web import SECURITY_HEADERS

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
MESSAGES = HERE / "messages"
STATIC_PATH = "/operator/static"
HONG_KONG = ZoneInfo("Asia/Hong_Kong")


@lru_cache(maxsize=1)
def console_catalogues() -> dict[str, Catalogue]:
    """The console's catalogue per locale (read once)."""
    return {loc: load_catalogue(MESSAGES / f"{loc}.yaml", loc) for loc in LOCALES}


@lru_cache(maxsize=16)
def static_url(name: str) -> str:
    """``/operator/static/<name>?v=<content hash>``."""
    path = STATIC / name
    if path.parent != STATIC or not path.is_file():
        raise FileNotFoundError(name)
    return f"{STATIC_PATH}/{name}?v={hashlib.sha256(path.read_bytes()).hexdigest()[:12]}"


def hk_time(epoch: float | int | None, *, date_only: bool = False) -> str:
    """``2026-12-04 20:15`` in Hong Kong (the template adds the zone's name)."""
    if epoch is None:
        return ""
    moment = datetime.fromtimestamp(float(epoch), HONG_KONG)
    return moment.strftime("%Y-%m-%d" if date_only else "%Y-%m-%d %H:%M")


def locale_for(request: Request) -> str:
    """The ``lang`` parameter, else the ``idb_lang`` cookie, else ``Accept-Language``."""
    chosen = normalise_locale(request.query_params.get(LANG_PARAM))
    if chosen:
        return chosen
    return negotiate_locale(
        None, request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")
    )


class Console:
    """Renders console pages (one per app, ``app.state.console``)."""

    def __init__(self, *, secure_cookies: bool) -> None:
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals["static_url"] = static_url
        self.env.globals["shared_static_url"] = shared_static_url
        self.env.filters["hk"] = hk_time
        self.catalogues = console_catalogues()
        self.secure_cookies = secure_cookies

    def render(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any],
        *,
        session: Session | None = None,
        csrf: str = "",
        status_code: int = 200,
    ) -> HTMLResponse:
        """``template`` with ``context`` and the layout's context, in the request's locale."""
        locale = locale_for(request)
        catalogue = self.catalogues[locale]
        current = request.url.path + (f"?{request.url.query}" if request.url.query else "")

        def url(path: str, **params: Any) -> str:
            """A same-origin console URL in the shown language."""
            clean = {k: v for k, v in params.items() if v not in (None, "")}
            target = path + ("?" + urlencode(clean) if clean else "")
            return url_with_lang(target, locale)

        def can(permission: str) -> bool:
            return session is not None and allows(session.operator.role, Permission(permission))

        switcher = [
            {
                "html_lang": HTML_LANG[other],
                "short": catalogue.text(f"layout.lang_{other.replace('-', '_').lower()}_short"),
                "name": catalogue.text(f"layout.lang_{other.replace('-', '_').lower()}_name"),
                "href": url_with_lang(current, other),
                "current": other == locale,
            }
            for other in LOCALES
        ]
        reference = request_id_var.get()
        full = {
            **context,
            "t": catalogue.text,
            "has_text": catalogue.has,
            "locale": locale,
            "html_lang": HTML_LANG[locale],
            "switcher": switcher,
            "me": session.operator if session else None,
            "can": can,
            "csrf": csrf,
            "url": url,
            "path": request.url.path,
            "reference": reference if reference != "-" else "",
        }
        body = self.env.get_template(template).render(full)
        response = HTMLResponse(body, status_code=status_code)
        for name, value in SECURITY_HEADERS:
            response.headers.setdefault(name.decode(), value.decode())
        response.headers["cache-control"] = "no-store"
        response.headers["content-language"] = locale
        chosen = normalise_locale(request.query_params.get(LANG_PARAM))
        if chosen:
            response.set_cookie(
                LANG_COOKIE,
                chosen,
                max_age=365 * 24 * 3600,
                path="/",
                secure=self.secure_cookies,
                httponly=True,
                samesite="lax",
            )
        return response
