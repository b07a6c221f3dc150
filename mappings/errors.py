"""Typed errors of the mapping engine.

Three kinds, for three audiences:

- :class:`ValueFormatError`: raised by a transform or validator on one value; carries only
  a reason code. The engine turns it into a :class:`MappingError` naming the attribute.
- :class:`MappingError`: a value from the upstream (or typed by the person) cannot be
  released. Carries the attribute and claim names, a reason code and a message key for the
  person's trilingual page (:mod:`mappings.messages`). Never the value, so it is safe to log.
- :class:`ProfileError`: a profile file is wrong (bad YAML, unknown field, transform or
  validator). Carries the file, the 1-based line and the reason; raised at start-up.
- :class:`ClaimsRequestError`: the RP's OIDC ``claims`` parameter is malformed (OIDC Core
  §5.5); the front end answers ``invalid_request``.

Imports nothing of ours.
"""

from __future__ import annotations

from pathlib import Path


class ValueFormatError(ValueError):
    """A transform or validator rejected a value. ``reason`` is a stable code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MappingError(Exception):
    """An attribute value cannot be mapped or released (never carries the value)."""

    def __init__(self, attribute: str, reason: str, *, claim: str | None = None) -> None:
        self.attribute = attribute
        self.reason = reason
        self.claim = claim
        self.message_key = f"mapping.error.{reason}"
        where = f"claim {claim!r} from " if claim else ""
        super().__init__(f"{where}attribute {attribute!r}: {reason}")

    def messages(self) -> dict[str, str]:
        """The person-facing text in zh-HK, zh-CN and en (see :mod:`mappings.messages`)."""
        from mappings.messages import message_for

        return message_for(self.message_key)


class ProfileError(Exception):
    """A mapping profile is invalid: ``file``, ``line`` (1-based, or None) and ``reason``."""

    def __init__(self, file: str | Path, line: int | None, reason: str) -> None:
        self.file = str(file)
        self.line = line
        self.reason = reason
        where = f"{self.file}:{line}" if line is not None else self.file
        super().__init__(f"{where}: {reason}")


class ClaimsRequestError(ValueError):
    """The OIDC ``claims`` request parameter is malformed (``invalid_request``)."""

    error = "invalid_request"
