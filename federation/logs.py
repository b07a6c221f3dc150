"""Structured JSON logs with a request id, and no PII.

Every line is one JSON object: time, level, logger, message, the request id of the
request being served (a context variable set by the app's middleware) and any
``extra={"fields": {...}}`` given by the caller. As a second line of defence, the
formatter masks anything in a message that looks like an HKID, a Home Return Permit, an
e-mail address, a long digit run, a bearer token or Basic credentials, or the value
of a secret query or form parameter (``client_secret``, ``access_token``, ``code``,
``state`` and the like), so that a careless log call does not
leak personal data or secrets. Log attribute *names*, never values.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import traceback
from contextvars import ContextVar
from typing import Any

request_id_var: ContextVar[str] = ContextVar("idbridge_request_id", default="-")

_SECRET_PARAMETER_NAMES = (
    "client_secret",
    "client_assertion",
    "access_token",
    "refresh_token",
    "id_token",
    "id_token_hint",
    "logout_token",
    "registration_access_token",
    "code",
    "code_verifier",
    "state",
    "ticketID",
    "password",
    "totp",
)
_SECRET_PARAMETERS = r"(?i)((?:^|[?&;])(?:" + "|".join(_SECRET_PARAMETER_NAMES) + r")=)[^&;\s\"']*"

_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b[A-Z]{1,2}\d{6}\(?[0-9A]\)?"), "[hkid]"),
    (re.compile(r"\b[HM]\d{8}(?:\d{2})?\b"), "[permit]"),
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "[email]"),
    (re.compile(r"(?i)bearer\s+[\w.~+/=-]+"), "Bearer [token]"),
    (re.compile(r"(?i)(basic\s+)[A-Za-z0-9+/=]+"), r"\1[credentials]"),
    # A query string or form body written into a message (an access log, a URL in an
    # error): the values of the parameters that are secrets or one-time proofs.
    (re.compile(_SECRET_PARAMETERS), r"\1[redacted]"),
    (re.compile(r"\b\d{7,}\b"), "[digits]"),
)


def traceback_frames(exc: BaseException) -> list[str]:
    """``file:line function`` of each frame of ``exc``'s traceback, innermost last.

    Only code locations: the exception's message (which may carry attribute values or
    secrets) and the source lines are left out."""
    return [
        f"{frame.filename}:{frame.lineno} {frame.name}"
        for frame in traceback.extract_tb(exc.__traceback__)
    ]


def redact(text: str) -> str:
    """Mask PII- and secret-shaped substrings in ``text``."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line; PII-shaped text masked."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "request_id": request_id_var.get(),
            "msg": redact(record.getMessage()),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update({k: redact(str(v)) for k, v in fields.items() if k not in entry})
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
            if record.exc_info[1] is not None:
                entry["frames"] = traceback_frames(record.exc_info[1])
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str = "INFO") -> None:
    """Route the root logger (and uvicorn's) to JSON lines on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
