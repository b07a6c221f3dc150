"""The bridge's cookie names and flags (RFC 6265bis §4.1.3.2): ``__Host-`` with Secure,
Path=/ and no Domain behind https; plain names for the http demo; behind https a plain
name (which a sibling host could plant) is never read."""

from __future__ import annotations

from starlette.responses import Response

from federation import cookies


def test_host_prefix_behind_https_only() -> None:
    secure, plain = Response(), Response()
    cookies.set_cookie(secure, cookies.JOURNEY, "J1", secure=True, max_age=60)
    cookies.set_cookie(plain, cookies.JOURNEY, "J1", secure=False, max_age=60)
    header = secure.headers["set-cookie"]
    assert header.startswith("__Host-idb_journey=J1;")
    assert "Secure" in header and "Path=/" in header and "Domain" not in header
    assert "HttpOnly" in header and "SameSite=lax" in header
    assert plain.headers["set-cookie"].startswith("idb_journey=J1;")
    assert "Secure" not in plain.headers["set-cookie"]


def test_behind_https_a_plain_name_is_ignored() -> None:
    jar = {"idb_session": "planted", "__Host-idb_journey": "mine"}
    assert cookies.read_cookie(jar, cookies.SESSION, secure=True) is None
    assert cookies.read_cookie(jar, cookies.JOURNEY, secure=True) == "mine"
    assert cookies.read_cookie(jar, cookies.SESSION, secure=False) == "planted"


def test_clearing_uses_the_same_name_and_flags() -> None:
    response = Response()
    cookies.clear_cookie(response, cookies.SELF_SESSION, secure=True)
    header = response.headers["set-cookie"]
    assert header.startswith('__Host-idb_self="";') and "Max-Age=0" in header
    assert "Secure" in header and "Path=/" in header
