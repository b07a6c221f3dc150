"""The iAM Smart "D" return codes and the typed error each one becomes (domain-facts §1.7).

One table, used by the connector (code → typed error) and by the simulator (which code
answers which violation). Codes marked *guess* are not in the public sources: they follow
the layout of the CorpID "M" table (x2xxxx parameters/signature, x3xxxx encryption,
x4xxxx authentication, x5xxxx profile, x6xxxx form filling) and are listed in
``docs/iamsmart.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors.base import (
    UpstreamConfigError,
    UpstreamDenied,
    UpstreamError,
    UpstreamLoginExpired,
    UpstreamProtocolError,
    UpstreamUnavailable,
)

SUCCESS = "D00000"


@dataclass(frozen=True, slots=True)
class DCode:
    """One return code: its meaning, whether it is documented publicly, and its error type."""

    code: str
    meaning: str
    error: type[UpstreamError]
    documented: bool


_TABLE: tuple[DCode, ...] = (
    DCode("D20001", "user denied the login (callback)", UpstreamDenied, True),
    DCode("D20002", "unknown or disabled clientID", UpstreamConfigError, False),
    DCode("D20003", "missing or malformed parameter or header", UpstreamProtocolError, False),
    DCode(
        "D20004", "timestamp out of order or outside the allowed skew", UpstreamProtocolError, False
    ),
    DCode("D20005", "unsupported signature method", UpstreamProtocolError, False),
    DCode("D20006", "signature verification failed", UpstreamConfigError, False),
    DCode("D20007", "unsupported source", UpstreamProtocolError, False),
    DCode(
        "D20008",
        "invalid online service URL (redirect URI not registered)",
        UpstreamConfigError,
        True,
    ),
    DCode("D20009", "accessToken not exist or expired", UpstreamLoginExpired, False),
    DCode("D20010", "nonce already used", UpstreamProtocolError, False),
    DCode("D20011", "scope or field not allowed for this client", UpstreamConfigError, False),
    DCode("D20012", "unsupported responseType or grantType", UpstreamProtocolError, False),
    DCode("D30001", "no encipherment key (KEK) registered", UpstreamConfigError, False),
    DCode("D30002", "CEK not exist or expired", UpstreamProtocolError, False),
    DCode("D30004", "decryption failed", UpstreamProtocolError, False),
    DCode("D40000", "user cancelled", UpstreamDenied, True),
    DCode("D40001", "user rejected", UpstreamDenied, True),
    DCode("D40003", "authentication timeout", UpstreamLoginExpired, True),
    DCode("D40004", "authCode not exist or expired", UpstreamLoginExpired, True),
    DCode("D50001", "user rejected the profile request", UpstreamDenied, False),
    DCode("D60001", "user rejected the form filling (e-ME) request", UpstreamDenied, False),
    DCode("D90000", "service temporarily unavailable", UpstreamUnavailable, False),
)

D_CODES: dict[str, DCode] = {entry.code: entry for entry in _TABLE}
"""Every code we know, by code."""

CEK_ERRORS: frozenset[str] = frozenset({"D30002", "D30004"})
"""Codes after which the connector fetches the CEK again and retries once."""

TIMESTAMP_ERROR = "D20004"
"""Code after which the connector re-signs with a fresh timestamp and nonce and resends
(a bounded number of times, ``connectors.iamsmart.client.TIMESTAMP_RETRIES``)."""


def error_for_code(code: str, *, context: str = "") -> UpstreamError:
    """The typed error for an iAM Smart return code (unknown codes → protocol error)."""
    entry = D_CODES.get(code)
    where = f" during {context}" if context else ""
    if entry is None:
        return UpstreamProtocolError(f"iAM Smart returned unknown code{where}", upstream_code=code)
    return entry.error(f"iAM Smart {entry.meaning}{where}", upstream_code=code)
