"""The wire format of :mod:`connectors.iamsmart.http11`: reading one HTTP/1.1 answer from a
stream (RFC 9112) strictly and within bounds, and checking the fields a caller sends.

Answers (RFC 9112 §4-§7, RFC 9110 §5.5, §15):

* status line ``HTTP/1.0`` or ``HTTP/1.1``, SP, a code 100-599, optional reason; field lines
  ``token ":" OWS value OWS`` with no whitespace before the colon (§5.1) and no control
  character but HTAB in the value (RFC 9110 §5.5: CR, LF, NUL are refused, not replaced);
  obs-fold is replaced by SP (§5.2), a folded line before the first field is refused (§2.2);
* framing (§6.3): 1xx, 204 and 304 have no body; ``Transfer-Encoding`` must be exactly
  ``chunked``, once, in an HTTP/1.1 answer, and never together with ``Content-Length``
  (refused as a smuggling sign); several ``Content-Length`` fields must agree; without
  either the body runs to the close of the connection (never reused);
* chunked (§7.1): sizes of 1-16 hex digits, extensions ignored, trailer fields checked and
  discarded; ``Connection: close`` anywhere in the list, or HTTP/1.0, ends reuse (§9.3, §9.6);
* 1xx interim answers are skipped (at most :data:`MAX_INTERIM`); 101 is refused (we never
  ask for an upgrade).

Limits (a hostile peer cannot make us hold more): :data:`MAX_HEAD` per head or trailer
section, :data:`MAX_LINE` per line, :data:`MAX_FIELDS` field lines, :data:`MAX_BODY` of
body, chunk framing at most ``MAX_HEAD`` beyond the data it frames. Time is bounded by the
caller's timeout.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from federation import untrusted

MAX_HEAD = 64 * 1024
"""Largest status line + field lines of one head (also of one trailer section)."""
MAX_LINE = 8 * 1024
"""Largest status line, field value or chunk-size line."""
MAX_FIELDS = 100
"""Most field lines in one head or trailer section."""
MAX_BODY = 4 * 1024 * 1024
"""Largest body accepted."""
MAX_INTERIM = 8
"""Most 1xx answers skipped before the final one."""


class HttpFailure(Exception):
    """A POST that did not produce a complete answer."""


class ConnectFailed(HttpFailure):
    """The request never reached the server: safe to retry."""


class TlsFailed(ConnectFailed):
    """The TLS handshake failed (certificate not trusted, wrong host name, old protocol):
    nothing was sent."""


class ResponseFailed(HttpFailure):
    """The request may have reached the server, but no usable answer came back."""


class ResponseTimeout(ResponseFailed):
    """No complete answer within the read timeout."""


class ConnectionLost(ResponseFailed):
    """The connection closed or broke before a complete answer."""


class MalformedResponse(ResponseFailed):
    """The answer breaks HTTP/1.1 message syntax or framing (RFC 9112)."""


class ResponseTooLarge(ResponseFailed):
    """The answer exceeds one of this module's limits."""


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """Status and body of an answer."""

    status_code: int
    content: bytes

    def json(self) -> Any:
        """The body as JSON (``ValueError`` / ``RecursionError`` if it is not)."""
        return untrusted.loads(self.content, max_bytes=untrusted.MAX_UPSTREAM)


CHUNKED = -1
UNTIL_CLOSE = -2
_TCHAR = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]"
_VCHAR = r"[^\x00-\x08\x0a-\x1f\x7f]"  # VCHAR, obs-text, SP, HTAB (RFC 9110 §5.5)
_STATUS_P = rf"HTTP/1\.[01] [1-5][0-9][0-9](?: {_VCHAR}{{0,{MAX_LINE}}})?"
_FIELD_P = rf"{_TCHAR}{{1,256}}:{_VCHAR}{{0,{MAX_LINE}}}"
_HEAD = re.compile(rf"{_STATUS_P}\r\n(?:{_FIELD_P}\r\n){{0,{MAX_FIELDS}}}\r\n".encode())
_STATUS = re.compile(_STATUS_P.encode())
_FIELD = re.compile(_FIELD_P.encode())
_FOLD = re.compile(rf"[ \t]{_VCHAR}*".encode())  # one blank first: no backtracking
_NAME = re.compile(rf"{_TCHAR}+")
# Framing fields and their values (the caller strips trailing blanks). Every pattern here is
# linear: one that backtracks over a run of blanks (a lazy value, then blanks, then a
# lookahead for CR) holds the event loop for seconds, which no timeout can interrupt.
_FRAMING = re.compile(rb"\r\n(content-length|transfer-encoding|connection):[ \t]*([^\r]*)")
_CHUNK = re.compile(rf"([0-9A-Fa-f]{{1,16}})[ \t]*(?:;{_VCHAR}*)?\r\n".encode())
_CTL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_RESERVED = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "te"}
    | {"trailer", "upgrade", "expect", "user-agent"}
)
_GOOD_NAMES: set[str] = set()


async def read_response(reader: asyncio.StreamReader) -> tuple[HttpResponse, bool]:
    """One final answer (1xx skipped) and whether the connection may be reused."""
    for _ in range(MAX_INTERIM + 1):
        status, keep, framing = parse_head(await reader.readuntil(b"\r\n\r\n"))
        if status >= 200:
            break
        if status == 101:
            raise MalformedResponse("101 Switching Protocols, but no upgrade was asked for")
    else:
        raise MalformedResponse("too many 1xx interim answers")
    if framing > 0:
        body = await reader.readexactly(framing)
    elif framing == 0:
        body = b""
    elif framing == CHUNKED:
        body = await _read_chunked(reader)
    else:
        body = await _read_to_close(reader)
    return HttpResponse(status, body), keep


def parse_head(head: bytes) -> tuple[int, bool, int]:
    """Status, reusable, and framing (a length, :data:`CHUNKED` or :data:`UNTIL_CLOSE`) of
    a head ending in CRLF CRLF."""
    if _HEAD.fullmatch(head) is None:
        head = _normalise(head)
    status = int(head[9:12])
    close = head[7:8] != b"1"  # HTTP/1.0: no keep-alive negotiation, close after
    length = coding = None
    for name, raw_value in _FRAMING.findall(head.lower()):
        value = raw_value.rstrip(b" \t")
        if name == b"connection":
            close = close or b"close" in [token.strip() for token in value.split(b",")]
        elif name == b"content-length":
            if length is not None and value != length:
                raise MalformedResponse("conflicting Content-Length fields")
            length = value
        elif coding is not None:
            raise MalformedResponse("more than one Transfer-Encoding field")
        else:
            coding = value
    if status < 200 or status in (204, 304):
        return status, not close, 0
    if coding is not None:
        if length is not None:
            raise MalformedResponse("both Transfer-Encoding and Content-Length (RFC 9112 §6.3)")
        if head[7:8] != b"1":
            raise MalformedResponse("Transfer-Encoding in an HTTP/1.0 answer (RFC 9112 §6.1)")
        if coding != b"chunked":
            raise MalformedResponse("unsupported transfer coding (only chunked)")
        return status, not close, CHUNKED
    if length is not None:
        if not (len(length) <= 16 and length.isdigit()):
            raise MalformedResponse("malformed Content-Length")
        if int(length) > MAX_BODY:
            raise ResponseTooLarge("Content-Length beyond the body limit")
        return status, not close, int(length)
    return status, False, UNTIL_CLOSE


def _normalise(head: bytes) -> bytes:
    """The head with obs-fold replaced by SP, or the precise reason it is refused."""
    lines = head[:-4].split(b"\r\n")
    status, fields = lines[0], []
    if len(status) > MAX_LINE:
        raise ResponseTooLarge("status line too long")
    if _STATUS.fullmatch(status) is None:
        raise MalformedResponse("malformed status line")
    if len(lines) - 1 > MAX_FIELDS:
        raise ResponseTooLarge("too many header lines")
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t"):
            if not fields:
                raise MalformedResponse("whitespace before the first header field")
            fields[-1] += b" " + line.lstrip(b" \t")
        else:
            fields.append(line)
    for line in fields:
        if len(line) > MAX_LINE:
            raise ResponseTooLarge("header line too long")
        if _FIELD.fullmatch(line) is None:
            raise MalformedResponse(_why(line))
    normal = b"\r\n".join([status, *fields, b"", b""])
    if _HEAD.fullmatch(normal) is None:
        raise MalformedResponse("malformed head")
    return normal


def _why(line: bytes) -> str:
    name, colon, _ = line.partition(b":")
    if not colon:
        return "header line without a colon"
    if name and name[-1:] in (b" ", b"\t"):
        return "whitespace between a header name and its colon (RFC 9112 §5.1)"
    if not _NAME.fullmatch(name.decode("latin-1")):
        return "invalid header name"
    return "control character in a header value (RFC 9110 §5.5)"


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    size = overhead = 0
    while True:
        line = await reader.readuntil(b"\r\n")
        if len(line) > MAX_LINE:
            raise ResponseTooLarge("chunk size line too long")
        match = _CHUNK.fullmatch(line)
        if match is None:
            raise MalformedResponse("malformed chunk size line")
        chunk = int(match[1], 16)
        size += chunk
        overhead += len(line) + 2
        if size > MAX_BODY:
            raise ResponseTooLarge("chunked body beyond the body limit")
        if overhead > MAX_HEAD + size:
            raise ResponseTooLarge("chunk framing out of proportion to its data")
        if chunk == 0:
            break
        parts.append(await reader.readexactly(chunk))
        if await reader.readexactly(2) != b"\r\n":
            raise MalformedResponse("chunk data longer than its size")
    total = count = 0
    while (line := await reader.readuntil(b"\r\n")) != b"\r\n":  # trailer section, §7.1.2
        total += len(line)
        count += 1
        if total > MAX_HEAD or count > MAX_FIELDS:
            raise ResponseTooLarge("trailer section too large")
        field = line[:-2]
        if _FIELD.fullmatch(field) is None and not (count > 1 and _FOLD.fullmatch(field)):
            raise MalformedResponse("malformed trailer field")
    return b"".join(parts)


async def _read_to_close(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    size = 0
    while more := await reader.read(65536):
        size += len(more)
        if size > MAX_BODY:
            raise ResponseTooLarge("body beyond the body limit")
        parts.append(more)
    return b"".join(parts)


def check_request_fields(fields: Mapping[str, str]) -> None:
    """``ValueError`` unless every name is a token we let callers set and no value has a
    control character (header injection, request smuggling; RFC 9110 §5.1, §5.5)."""
    for name in fields:
        if name not in _GOOD_NAMES:
            if not _NAME.fullmatch(name):
                raise ValueError("a header name must be an RFC 9110 token")
            if name.lower() in _RESERVED:
                raise ValueError(f"the {name} header is set by the HTTP client")
            if len(_GOOD_NAMES) < 64:
                _GOOD_NAMES.add(name)
    check_field_value("\t".join(fields.values()))  # one scan; HTAB is allowed anyway


def check_field_value(value: str) -> None:
    """``ValueError`` if ``value`` holds a control character other than HTAB (CR, LF, NUL)."""
    if _CTL.search(value):
        raise ValueError("header values must not contain CR, LF, NUL or other controls")
