"""The iAM Smart "D" return codes and the typed error each one becomes (domain-facts §1.7;
issue 23 item 6).

The table is data, ``codes.yaml`` beside this module: per code its meaning, the outcome
(the typed error and so the person's page), flags (``rekey``, ``resend``,
``profile_fallback``), and its source and certainty. The public record gives few codes;
the rest follow the CorpID "M" layout (``docs/iamsmart.md``). A confirmed table replaces
it through the connector setting ``codes_file`` without a code change. Used by the
connector (code → typed error) and by the simulator (which code answers which violation).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from connectors.base import (
    UpstreamConfigError,
    UpstreamDenied,
    UpstreamError,
    UpstreamLoginExpired,
    UpstreamProtocolError,
    UpstreamUnavailable,
)

SUCCESS = "D00000"
DEFAULT_CODES_FILE = Path(__file__).with_name("codes.yaml")
_OUTCOMES: dict[str, type[UpstreamError] | None] = {
    "success": None,
    "denied": UpstreamDenied,
    "expired": UpstreamLoginExpired,
    "unavailable": UpstreamUnavailable,
    "protocol": UpstreamProtocolError,
    "config": UpstreamConfigError,
}
_FLAGS = frozenset({"rekey", "resend", "profile_fallback"})


@dataclass(frozen=True, slots=True)
class DCode:
    """One return code: meaning, outcome, flags, and where the meaning comes from."""

    code: str
    meaning: str
    outcome: str
    source: str
    certainty: str
    flags: frozenset[str] = frozenset()

    @property
    def error(self) -> type[UpstreamError]:
        """The typed error this code becomes."""
        return _OUTCOMES[self.outcome] or UpstreamProtocolError

    @property
    def documented(self) -> bool:
        """Whether a public source (not only the inferred layout) gives the meaning."""
        return self.certainty in {"spec", "spec-analog", "client"}


class CodeTable:
    """The codes by value, with the connector's questions about them."""

    def __init__(self, entries: Mapping[str, DCode]) -> None:
        self.codes = dict(entries)

    def flagged(self, flag: str) -> frozenset[str]:
        """Codes carrying ``flag``."""
        return frozenset(c for c, e in self.codes.items() if flag in e.flags)

    def error_for(self, code: str, *, context: str = "") -> UpstreamError:
        """The typed error for a return code (unknown codes → protocol error)."""
        entry = self.codes.get(code)
        where = f" during {context}" if context else ""
        if entry is None or entry.outcome == "success":
            return UpstreamProtocolError(
                f"iAM Smart returned unknown code{where}", upstream_code=code
            )
        return entry.error(f"iAM Smart {entry.meaning}{where}", upstream_code=code)


@cache
def load_codes(path: Path = DEFAULT_CODES_FILE) -> CodeTable:
    """A code table from YAML (see ``codes.yaml`` for the format); checked at load."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries: dict[str, DCode] = {}
    for item in data.get("codes") or []:
        flags = frozenset(item.get("flags") or ())
        code = str(item["code"])
        if item["outcome"] not in _OUTCOMES or not flags <= _FLAGS:
            raise ValueError(f"{path}: bad outcome or flags for {code}")
        entries[code] = DCode(
            code,
            str(item["meaning"]),
            str(item["outcome"]),
            str(item.get("source", "")),
            str(item.get("certainty", "guess")),
            flags,
        )
    if SUCCESS not in entries:
        raise ValueError(f"{path}: the table must contain {SUCCESS}")
    return CodeTable(entries)


DEFAULT_CODES = load_codes()
D_CODES: dict[str, DCode] = DEFAULT_CODES.codes
"""Every code of the default table, by code."""

CEK_ERRORS: frozenset[str] = DEFAULT_CODES.flagged("rekey")
"""Codes after which the connector fetches the CEK again and retries once (any D3000x
encryption error, as the government client does)."""

TIMESTAMP_ERROR = "D20004"
"""Code after which the connector re-signs with a fresh timestamp and nonce and resends
(a bounded number of times, ``connectors.iamsmart.client.TIMESTAMP_RETRIES``)."""


def error_for_code(code: str, *, context: str = "") -> UpstreamError:
    """The typed error for a code of the default table."""
    return DEFAULT_CODES.error_for(code, context=context)
