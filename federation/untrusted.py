"""The one way to read JSON that a caller sent (layer 1: imports nothing of ours).

Everything decoded from a request — JWT headers and payloads (client assertions, request
objects, ID token hints), the ``claims`` parameter (OIDC Core §5.5), registration bodies
(RFC 7591 §3.1), iAM Smart callback envelopes, operator API bodies — goes through
:func:`loads` (or :func:`loads_b64url` for a JWS/JWT segment, RFC 7515 §2). It refuses, with
:class:`UntrustedJSON` (a ``ValueError``, so existing ``except ValueError`` blocks hold):

- a text over ``max_bytes`` (before anything is parsed);
- anything that is not RFC 8259 JSON: ``NaN``/``Infinity``, trailing garbage;
- invalid UTF-8 and lone surrogates, raw or escaped (``"\\ud800"``): every string that
  comes out is a sequence of Unicode scalar values (RFC 8259 §8.1, §8.2), so it can be
  stored, logged and serialised again; the error names the member where it can;
- nesting deeper than ``max_depth`` (never a ``RecursionError``);
- an object with a duplicate member name (RFC 8259 §4 leaves it to the parser; RFC 7515
  §5.2 and RFC 7519 §7.2 require JOSE parsers to refuse it or keep only the last, and a
  parser that keeps the last lets one member hide behind another).

The parser is orjson (strict UTF-8, refuses lone surrogates and nesting over 1,024 by
itself, actively maintained). Duplicate names need an ``object_pairs_hook``, which only the
standard library has, so a document containing an object is parsed a second time by
``json`` once orjson has proved it well formed and shallow. Measured on this machine
(``timeit``, best of 5 × 20,000, CPython 3.11, the 2 cores shared), per call:

============================  ==============  ============  ===============
document                      ``json.loads``  orjson.loads  :func:`loads`
============================  ==============  ============  ===============
JWT payload, 223 bytes        2.7 µs          0.6 µs        7.9 µs
registration body, 1.5 KiB    6.4 µs          2.1 µs        18.7 µs
``[`` × 1,500                 RecursionError  refused       refused, 6.3 µs
============================  ==============  ============  ===============

so the checks cost microseconds per request (one SM2 verification costs about 1,000 µs);
``bench/untrusted_json.py`` reruns the figures.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

import orjson

MAX_BYTES = 64 * 1024
"""Default size bound: far above any JWT, ``claims`` value or registration body we take."""

MAX_UPSTREAM = 1024 * 1024
"""Size bound for answers of upstream systems (iAM Smart envelopes, profile data)."""

MAX_DEPTH = 32
"""Default nesting bound (arrays and objects); the deepest document we accept legitimately
(a ``verified_claims`` request, OpenID Connect for Identity Assurance §5) nests 6."""


_PRINTABLE_PATH = re.compile(r"[A-Za-z0-9_.#\[\]$-]{1,128}")


class UntrustedJSON(ValueError):
    """The text is not acceptable JSON; ``field`` names the member at fault when known
    (``contacts[0]``, ``jwks.keys[1].n``)."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        if field is not None and not _PRINTABLE_PATH.fullmatch(field):
            field = "a member"  # never echo a caller's odd name back
        super().__init__(f"{reason} at {field}" if field else reason)
        self.reason = reason
        self.field = field


def loads(
    data: bytes | bytearray | memoryview | str,
    *,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
) -> Any:
    """Parse ``data`` (see the module docstring for what is refused)."""
    if isinstance(data, str):
        try:
            raw = data.encode("utf-8")
        except UnicodeEncodeError:
            raise UntrustedJSON("lone surrogate", _surrogate_path(data)) from None
    else:
        raw = bytes(data)
    if len(raw) > max_bytes:
        raise UntrustedJSON(f"JSON text over {max_bytes} bytes")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "surrogate" in str(exc) or "UTF-8" in str(exc):
            if not _utf8_with_surrogates(raw):
                raise UntrustedJSON("not valid UTF-8") from None
            raise UntrustedJSON("lone surrogate", _surrogate_path(raw)) from None
        if "depth" in str(exc):
            raise UntrustedJSON(f"JSON nested deeper than {max_depth}") from None
        raise UntrustedJSON("not valid JSON") from None
    if _has_object(value, max_depth):
        json.loads(raw, object_pairs_hook=_refuse_duplicates)
    return value


def loads_b64url(
    segment: str | bytes, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH
) -> Any:
    """Parse a base64url-encoded JSON segment of a JWS or JWT (RFC 7515 §2, padding
    optional). Bad base64url is :class:`UntrustedJSON` too."""
    text = segment.encode("ascii", "replace") if isinstance(segment, str) else segment
    if len(text) > max_bytes * 4 // 3 + 4:
        raise UntrustedJSON(f"JSON text over {max_bytes} bytes")
    try:
        raw = base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise UntrustedJSON("not base64url") from None
    return loads(raw, max_bytes=max_bytes, max_depth=max_depth)


def _has_object(value: Any, max_depth: int) -> bool:
    """Whether ``value`` holds an object; :class:`UntrustedJSON` past ``max_depth``."""
    found = False
    level: list[Any] = [value]
    depth = 0
    while level:
        containers = [v for v in level if isinstance(v, dict | list)]
        if not containers:
            break
        depth += 1
        if depth > max_depth:
            raise UntrustedJSON(f"JSON nested deeper than {max_depth}")
        level = []
        for item in containers:
            if isinstance(item, dict):
                found = True
                level.extend(item.values())
            else:
                level.extend(item)
    return found


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, member in pairs:
        if name in out:
            raise UntrustedJSON("duplicate member name", name[:64])
        out[name] = member
    return out


def _utf8_with_surrogates(raw: bytes) -> bool:
    """Whether ``raw`` is UTF-8 once encoded surrogates (``ED A0 80``) are let through."""
    try:
        raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return False
    return True


def _surrogate_path(raw: bytes | str) -> str | None:
    """Where the first lone surrogate is (error path only: the standard library keeps
    surrogates, so it can show the member; ``None`` when that parse fails too)."""
    try:
        text = raw if isinstance(raw, str) else raw.decode("utf-8", "surrogatepass")
        return _find_surrogate(json.loads(text), "")
    except (ValueError, RecursionError):
        return None


def _find_surrogate(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path or "$" if not _scalar_values(value) else None
    if isinstance(value, dict):
        for name, member in value.items():
            if not _scalar_values(name):
                return path or "$"
            found = _find_surrogate(member, f"{path}.{name}" if path else name)
            if found:
                return found[:128]
    elif isinstance(value, list):
        for index, member in enumerate(value):
            found = _find_surrogate(member, f"{path}[{index}]")
            if found:
                return found[:128]
    return None


def _scalar_values(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_scalar_text(text: str) -> bool:
    """Whether ``text`` is a sequence of Unicode scalar values (no lone surrogate): what
    may be stored or sent back."""
    return _scalar_values(text)


def read_compact_jws(token: str | bytes, *, max_bytes: int = MAX_BYTES) -> tuple[Any, Any]:
    """The protected header and the payload of a compact JWS carrying JSON (a JWT, RFC 7519
    §7.2 steps 1–6), read with :func:`loads_b64url` before any signature check, so that
    the JOSE library only ever parses text this module has accepted."""
    text = token.encode("ascii", "replace") if isinstance(token, str) else token
    parts = text.split(b".")
    if len(parts) != 3:
        raise UntrustedJSON("not a compact JWS")
    return (
        loads_b64url(parts[0], max_bytes=max_bytes),
        loads_b64url(parts[1], max_bytes=max_bytes),
    )
