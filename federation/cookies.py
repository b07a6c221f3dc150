"""The bridge's own cookies: their names and their one set of flags (RFC 6265bis §4.1.3.2,
OWASP Session Management "Cookies").

Behind https every bridge cookie is named with the ``__Host-`` prefix and set ``Secure``,
``Path=/``, without ``Domain``: a browser then refuses the same name from a sibling
subdomain or from a plain-http response on the bridge's host (cookie tossing), so nobody can
plant a journey or session id in a visitor's browser. The plain-http demo (an ``http://``
issuer) uses the plain names, which a browser would refuse with the prefix and no
``Secure``. Every cookie is HttpOnly and SameSite=Lax.

Layer 1: imports nothing of ours.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

HOST_PREFIX = "__Host-"

JOURNEY = "idb_journey"
"""The journey id (``federation.journey.record``); rotated when the upstream login
completes and when consent is given."""
SESSION = "idb_session"
"""The bridge session's cookie secret (``federation.oidc.session``)."""
SELF_LOGIN = "idb_self_login"
"""A self-service sign-in under way (``federation.selfservice.sessions``)."""
SELF_SESSION = "idb_self"
"""A signed-in self-service session (``federation.selfservice.sessions``)."""

SIGN_OUT = (SESSION, SELF_SESSION, SELF_LOGIN, JOURNEY)
"""Cookies the signed-out page clears (the bridge's logout ends what they name)."""


def secure_issuer(issuer: str) -> bool:
    """Whether cookies are ``Secure`` (and ``__Host-``): the bridge is served over https."""
    return issuer.startswith("https://")


def cookie_name(base: str, secure: bool) -> str:
    """The cookie's name as sent: ``__Host-<base>`` behind https, else ``<base>``."""
    return HOST_PREFIX + base if secure else base


def read_cookie(cookies: Mapping[str, str], base: str, secure: bool) -> str | None:
    """The cookie's value under the name :func:`cookie_name` gives (only that name: behind
    https a plain-named cookie, which anyone on a sibling host can set, is ignored)."""
    return cookies.get(cookie_name(base, secure))


def set_cookie(response: Response, base: str, value: str, *, secure: bool, max_age: int) -> None:
    """Set a bridge cookie: HttpOnly, SameSite=Lax, ``Path=/``, no ``Domain``; ``Secure``
    and ``__Host-`` behind https."""
    response.set_cookie(
        cookie_name(base, secure),
        value,
        max_age=max_age,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )


def clear_cookie(response: Response, base: str, *, secure: bool) -> None:
    """Delete a bridge cookie (with the flags it was set with, else a browser keeps it)."""
    response.delete_cookie(
        cookie_name(base, secure), path="/", secure=secure, httponly=True, samesite="lax"
    )


__all__ = [
    "HOST_PREFIX",
    "JOURNEY",
    "SELF_LOGIN",
    "SELF_SESSION",
    "SESSION",
    "SIGN_OUT",
    "clear_cookie",
    "cookie_name",
    "read_cookie",
    "secure_issuer",
    "set_cookie",
]
