"""Parsing of request parameters shared by every endpoint: size limits, no duplicates
(RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once"),
printable text only. Failures raise :class:`ParamError` with a description that names the
parameter but never echoes its value."""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_VALUE = 2048
"""Longest accepted value of an ordinary parameter (characters)."""
MAX_LONG_VALUE = 8192
"""Longest ``claims``, ``id_token_hint``, ``client_assertion``, ``logout_token`` value."""
MAX_PARAMS = 64
"""Most parameters accepted in one request."""
LONG = frozenset({"claims", "id_token_hint", "client_assertion", "request"})

_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ParamError(ValueError):
    """A parameter is duplicated, oversized or not printable text."""


def collect(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Turn ``(name, value)`` pairs into a dict, refusing duplicates and oversized values.

    Empty values count as absent (RFC 6749 §3.1)."""
    params: dict[str, str] = {}
    seen: set[str] = set()
    for count, (name, value) in enumerate(pairs, start=1):
        if count > MAX_PARAMS:
            raise ParamError("too many parameters")
        if len(name) > 64:
            raise ParamError("parameter name too long")
        limit = MAX_LONG_VALUE if name in LONG else MAX_VALUE
        if len(value) > limit:
            raise ParamError(f"{_safe(name)} is too long")
        if _UNPRINTABLE.search(value):
            raise ParamError(f"{_safe(name)} contains control characters")
        if name in seen:
            raise ParamError(f"{_safe(name)} is repeated")
        seen.add(name)
        if value != "":
            params[name] = value
    return params


def first_of(pairs: Iterable[tuple[str, str]], name: str) -> tuple[str | None, bool]:
    """(value, unique) of ``name`` without validating anything else; used to find the
    ``client_id`` and ``redirect_uri`` before the rest of the request can be judged."""
    values = [value for key, value in pairs if key == name]
    return (values[0] if values else None), len(values) <= 1


def split_spaces(value: str | None) -> tuple[str, ...]:
    """Space-delimited list (RFC 6749 §3.3), order kept, duplicates dropped."""
    out: list[str] = []
    for item in (value or "").split(" "):
        if item and item not in out:
            out.append(item)
    return tuple(out)


def _safe(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name) else "a parameter"
