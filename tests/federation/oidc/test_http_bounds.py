"""``federation.oidc.http.bounded_body`` / ``bounded_form`` (DESIGN §8: bad input gets a
clear error, never a 500): a declared ``Content-Length`` over the bound, or one that is not
a plain decimal number, is refused before the body is read; a body without one is read only
until it passes the bound."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.requests import Request

from federation.oidc.errors import OAuthError
from federation.oidc.http import BodyTooLarge, bounded_body, bounded_form


def _request(headers: dict[str, str], chunks: list[bytes]) -> tuple[Request, list[int]]:
    """A Starlette request over an ASGI ``receive`` that counts how often it is called."""
    calls: list[int] = []
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks or [b""])
    ]

    async def receive() -> dict[str, Any]:
        calls.append(1)
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "query_string": b"",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
    }
    return Request(scope, receive), calls


@pytest.mark.parametrize("declared", ["65", "9" * 30, "²", "1e3", "-1", "0x10", ""])
async def test_a_bad_or_too_large_declared_length_is_refused_unread(declared: str) -> None:
    request, calls = _request({"content-length": declared}, [b"x" * 10])
    with pytest.raises(BodyTooLarge):
        await bounded_body(request, 64)
    assert calls == []  # not one byte read


async def test_a_chunked_body_is_read_only_until_it_passes_the_bound() -> None:
    request, calls = _request({}, [b"x" * 40, b"x" * 40, b"x" * 40, b"x" * 40])
    with pytest.raises(BodyTooLarge):
        await bounded_body(request, 64)
    assert len(calls) == 2  # stopped at the chunk that passed 64 bytes


async def test_a_body_within_the_bound_is_read_whole() -> None:
    request, _ = _request({"content-length": "64"}, [b"a=1&", b"b=" + b"x" * 58])
    assert await bounded_body(request, 64) == b"a=1&b=" + b"x" * 58


async def test_bounded_form_reads_urlencoded_forms_only() -> None:
    form = "application/x-www-form-urlencoded; charset=utf-8"
    request, _ = _request({"content-type": form}, [b"release=a&release=b&csrf_token=t"])
    parsed = await bounded_form(request, 1024, repeatable=frozenset({"release"}))
    assert parsed.getlist("release") == ["a", "b"] and parsed.get("csrf_token") == "t"
    twice, _ = _request({"content-type": form}, [b"release=a&release=b"])
    with pytest.raises(OAuthError):
        await bounded_form(twice, 1024)  # a repeated field that is not a checkbox group
    multipart, _ = _request({"content-type": "multipart/form-data; boundary=x"}, [b"--x--"])
    assert len(await bounded_form(multipart, 1024)) == 0
    bad, _ = _request({"content-type": form}, [b"a=%FF"])
    with pytest.raises(OAuthError):
        await bounded_form(bad, 1024)


async def test_token_endpoint_answers_413_for_a_non_ascii_length(http: httpx.AsyncClient) -> None:
    """``"²".isdigit()`` is true but ``int("²")`` fails: once a 500, now 413."""
    response = await http.post(
        "/token",
        content=b"grant_type=x",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Content-Length": b"\xb2"},
    )
    assert response.status_code == 413 and response.json()["error"] == "invalid_request"
