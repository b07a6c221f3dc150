"""HTTP parsing helpers for the router: bounded bodies, strict form and query decoding, and
the JSON responses of OAuth 2 errors. No protocol logic lives here."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.responses import JSONResponse

from federation.logs import request_id_var
from federation.oidc.errors import OAuthError, invalid_request
from federation.oidc.params import MAX_PARAMS, ParamError, collect

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


async def body_bytes(request: Request) -> bytes:
    """The request body, refused beyond :data:`MAX_BODY`."""
    declared = request.headers.get("content-length")
    if declared and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise OAuthError("invalid_request", "the request body is too large", 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise OAuthError("invalid_request", "the request body is too large", 413)
        chunks.append(chunk)
    return b"".join(chunks)


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
