"""Which language a page is shown in, and the links of the language switcher.

Three languages (``PAGES.md`` "Language"): ``zh-HK`` (Traditional Chinese, the default),
``zh-CN`` (Simplified Chinese) and ``en``. The choice is made, in order, from the OIDC
``ui_locales`` request parameter (OIDC Core 1.0 §3.1.2.1), then the ``idb_lang`` cookie set
by the switcher, then the browser's ``Accept-Language`` header (RFC 9110 §12.5.4).

Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

LOCALES: tuple[str, ...] = ("zh-HK", "zh-CN", "en")
DEFAULT_LOCALE = "zh-HK"
LANG_COOKIE = "idb_lang"
LANG_PARAM = "lang"

HTML_LANG: dict[str, str] = {"zh-HK": "zh-Hant-HK", "zh-CN": "zh-Hans-CN", "en": "en"}
"""BCP 47 tags for ``<html lang>``: the script subtag makes browsers pick the right CJK font."""

_TRADITIONAL = {"zh-hk", "zh-tw", "zh-mo", "zh-hant", "yue", "yue-hk", "yue-hant"}
_SIMPLIFIED = {"zh", "zh-cn", "zh-sg", "zh-hans", "zh-my"}
_MAX_HEADER = 512


def normalise_locale(tag: str | None) -> str | None:
    """Map one language tag onto a supported locale, or ``None`` if none fits.

    ``zh-TW``, ``zh-Hant``, ``zh-MO`` (and ``zh-Hant-*``) → ``zh-HK``; ``zh``, ``zh-Hans``,
    ``zh-SG`` (and ``zh-Hans-*``) → ``zh-CN``; ``en`` and ``en-*`` → ``en``.
    """
    if not tag:
        return None
    tag = tag.strip().replace("_", "-").lower()
    if not tag or len(tag) > 35:
        return None
    if tag in _TRADITIONAL or tag.startswith(("zh-hant-", "yue-")):
        return "zh-HK"
    if tag in _SIMPLIFIED or tag.startswith("zh-hans-"):
        return "zh-CN"
    if tag == "en" or tag.startswith("en-"):
        return "en"
    if tag.startswith("zh-"):
        return "zh-CN"
    return None


def _ui_locales(value: str) -> Iterator[str]:
    """Space-separated tags, in order of preference (OIDC Core §3.1.2.1)."""
    yield from value[:_MAX_HEADER].split()


def _accept_language(value: str) -> list[str]:
    """Tags from ``Accept-Language`` sorted by quality, highest first; ``q=0`` dropped."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(value[:_MAX_HEADER].split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                continue
        if tag and quality > 0:
            ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate_locale(
    ui_locales: str | None, cookie: str | None, accept_language: str | None
) -> str:
    """The locale to show: the first supported tag of ``ui_locales``, else the cookie, else
    the best supported ``Accept-Language`` tag, else :data:`DEFAULT_LOCALE`."""
    for tag in _ui_locales(ui_locales or ""):
        if found := normalise_locale(tag):
            return found
    if found := normalise_locale(cookie):
        return found
    for tag in _accept_language(accept_language or ""):
        if found := normalise_locale(tag):
            return found
    return DEFAULT_LOCALE


def url_with_lang(url: str, locale: str) -> str:
    """``url`` (path and query, or absolute) with its ``lang`` query parameter set to
    ``locale``; every other parameter is kept, so the person stays where they are."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != LANG_PARAM]
    query.append((LANG_PARAM, locale))
    # never "//host" or "/\\host" (browsers read both as another origin)
    path = "/" + parts.path.replace("\\", "%5C").lstrip("/")
    return urlunsplit(("", "", path, urlencode(query), ""))
