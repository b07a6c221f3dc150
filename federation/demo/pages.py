"""Pages of the demo e-service: zh-CN by default (a Guangdong service), zh-HK and en by
the switcher. Conventions of ``PAGES.md``: one message catalogue per language
(``messages/<locale>.yaml``), a switcher on every page that keeps the path, semantic HTML,
no JavaScript and no external assets.

Language order: ``?lang=``, then the ``demo_lang`` cookie, then ``Accept-Language``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import yaml
from starlette.requests import Request
from starlette.responses import HTMLResponse

from federation.demo.sessions import SignedIn

HERE = Path(__file__).parent
LOCALES = ("zh-CN", "zh-HK", "en")
SWITCHER = (("zh-HK", "繁"), ("zh-CN", "简"), ("en", "EN"))
LANG_COOKIE = "demo_lang"
_ALIASES = {
    "zh-cn": "zh-CN",
    "zh-hans": "zh-CN",
    "zh-sg": "zh-CN",
    "zh": "zh-CN",
    "zh-hk": "zh-HK",
    "zh-hant": "zh-HK",
    "zh-tw": "zh-HK",
    "zh-mo": "zh-HK",
    "en": "en",
}
HTML_LANG = {"zh-CN": "zh-Hans-CN", "zh-HK": "zh-Hant-HK", "en": "en"}


def normalise_locale(value: str | None) -> str | None:
    """A supported locale for a tag like ``zh-Hant-HK``, ``en-GB`` or ``zh_CN``; else None."""
    if not value:
        return None
    tag = value.strip().replace("_", "-").lower()[:35]
    while tag:
        if tag in _ALIASES:
            return _ALIASES[tag]
        if tag.startswith("en-"):
            return "en"
        tag = tag.rpartition("-")[0]
    return None


def negotiate_locale(request: Request, default: str) -> str:
    """The page language for ``request`` (see module docstring)."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        found = normalise_locale(candidate)
        if found:
            return found
    for part in request.headers.get("accept-language", "").split(",")[:10]:
        found = normalise_locale(part.split(";")[0])
        if found:
            return found
    return default


@cache
def catalogue(locale: str) -> dict[str, Any]:
    """The message catalogue of ``locale``."""
    return yaml.safe_load((HERE / "messages" / f"{locale}.yaml").read_text(encoding="utf-8"))


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def render(
    request: Request, template: str, locale: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render ``template`` in ``locale``; remembers the language in a cookie."""
    html = (
        _environment()
        .get_template(template)
        .render(
            t=catalogue(locale),
            locale=locale,
            html_lang=HTML_LANG[locale],
            switcher=SWITCHER,
            path=request.url.path if request.url.path in _SWITCHABLE else "/",
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})
    response.set_cookie(LANG_COOKIE, locale, max_age=365 * 86400, httponly=True, samesite="lax")
    return response


_SWITCHABLE = frozenset({"/", "/me", "/logged-out"})
"""Paths the switcher links back to; others (callback, login) fall back to the home page."""


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


def _display(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def signed_in_context(session: SignedIn, locale: str, issuer: str) -> dict[str, Any]:
    """What ``signed_in.html`` shows: released claims (labelled), the checks that passed,
    the decoded header and claims, the raw token and the UserInfo answer."""
    t = catalogue(locale)
    labels: dict[str, str] = t["claim_labels"]
    protocol = {
        "iss",
        "aud",
        "exp",
        "iat",
        "nonce",
        "at_hash",
        "auth_time",
        "acr",
        "amr",
        "sid",
        "azp",
        "jti",
        "c_hash",
    }
    released: dict[str, Any] = {}
    for source in (session.claims, session.userinfo):
        for name, value in source.items():
            if name not in protocol:
                released.setdefault(name, value)
    values = {
        "alg": session.header.get("alg", ""),
        "kid": session.header.get("kid", ""),
        "issuer": issuer,
    }
    checks = [{"name": c, "text": t[f"check_{c}"].format(**values)} for c in session.checks]
    return {
        "released": [(n, labels.get(n, n), _display(v)) for n, v in sorted(released.items())],
        "checks": checks,
        "header_json": _pretty(session.header),
        "claims_json": _pretty(session.claims),
        "userinfo_json": _pretty(session.userinfo),
        "raw_token": session.id_token,
    }


def error_text(locale: str, code: str, description: str = "") -> str:
    """The person's sentence for an OAuth error code from the bridge."""
    t = catalogue(locale)
    key = f"error_{code}"
    if key in t and code in {"access_denied", "login_required", "temporarily_unavailable"}:
        return str(t[key])
    return str(t["error_generic"]).format(code=code)
