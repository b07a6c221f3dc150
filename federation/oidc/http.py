"""HTTP parsing helpers for the router: bounded bodies, strict form and query decoding, and
the JSON responses of OAuth 2 errors. No protocol logic lives here.

:func:`bounded_body` and :func:`bounded_form` are shared with the journey and the
self-service area (layer 3 beside this package): the bodies those read go through them,
with a bound that fits what the route can legitimately receive. Every other body (the
operator API's JSON) is capped by the app itself (``federation.web.MAX_REQUEST_BODY``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.datastructures import ImmutableMultiDict

from federation.logs import request_id_var
from federation.oidc.errors import OAuthError, invalid_request
from federation.oidc.params import MAX_PARAMS, ParamError, collect
from federation.web import declared_length_within

MAX_BODY = 64 * 1024
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def parse_pairs(raw: bytes) -> list[tuple[str, str]]:
    """``application/x-www-form-urlencoded`` pairs; bad UTF-8 or too many fields → 400."""
    try:
        text = raw.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_PARAMS, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise invalid_request("malformed parameters") from exc


def query_pairs(request: Request) -> list[tuple[str, str]]:
    """The query string as pairs, strictly decoded."""
    raw = request.scope.get("query_string", b"")
    if len(raw) > MAX_BODY:
        raise invalid_request("the request is too large")
    return parse_pairs(raw)


class BodyTooLarge(Exception):
    """The request body is over the caller's bound: answer 413 (RFC 9110 §15.5.14)."""


async def bounded_body(request: Request, limit: int) -> bytes:
    """At most ``limit`` bytes of the body, or :class:`BodyTooLarge`: a ``Content-Length``
    over the bound (or not a decimal number) is refused before anything is read, and a
    body without one (chunked) is read only until it passes the bound."""
    declared = request.headers.get("content-length")
    if declared is not None and not declared_length_within(declared, limit):
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


async def bounded_form(
    request: Request, limit: int, repeatable: frozenset[str] = frozenset()
) -> ImmutableMultiDict[str, str]:
    """A browser form (``application/x-www-form-urlencoded``, what HTML forms send by
    default) read with :func:`bounded_body`; any other content type gives an empty form.
    Raises :class:`BodyTooLarge`, or ``invalid_request`` for bad UTF-8, too many fields or a
    field given twice that is not in ``repeatable`` (a form's checkboxes): no page of ours
    sends ``decision=decline&decision=agree``, and reading either value would be a guess."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await bounded_body(request, limit)
    if content_type != "application/x-www-form-urlencoded":
        return ImmutableMultiDict()
    pairs = parse_pairs(raw)
    names = [name for name, _ in pairs if name not in repeatable]
    if len(names) != len(set(names)):
        raise invalid_request("a form field is repeated")
    return ImmutableMultiDict(pairs)


async def body_bytes(request: Request) -> bytes:
    """The request body, refused beyond :data:`MAX_BODY`."""
    try:
        return await bounded_body(request, MAX_BODY)
    except BodyTooLarge as exc:
        raise OAuthError("invalid_request", "the request body is too large", 413) from exc


async def form_pairs(request: Request) -> list[tuple[str, str]]:
    """Pairs of a form-encoded POST body (RFC 6749 §3.2 requires that content type)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise invalid_request("the body must be application/x-www-form-urlencoded")
    return parse_pairs(await body_bytes(request))


async def form_dict(request: Request) -> dict[str, str]:
    """A form body as a dict; duplicates, oversized or control characters → 400."""
    try:
        return collect(await form_pairs(request))
    except ParamError as exc:
        raise invalid_request(str(exc)) from exc


def error_json(error: OAuthError) -> JSONResponse:
    """The JSON response of an OAuth 2 error, with its status and headers."""
    body: dict[str, Any] = error.to_json()
    body["reference"] = request_id_var.get()
    return JSONResponse(body, status_code=error.status_code, headers={**NO_STORE, **error.headers})


def json_no_store(body: dict[str, Any], status_code: int = 200) -> JSONResponse:
    """A JSON response that caches must not keep (RFC 6749 §5.1)."""
    return JSONResponse(body, status_code=status_code, headers=NO_STORE)
