"""The relying party's own checks of the tokens the bridge signs.

* :func:`verify_id_token` — ID Token Validation (OIDC Core §3.1.3.7): signature with a key
  from the bridge's JWKS and an explicit algorithm allow-list (``SM2SM3`` for the demo
  client, so alg confusion and ``none`` fail), ``iss`` equal to the issuer, ``aud``
  containing the client id (and ``azp`` when there are several audiences), ``exp`` in the
  future and ``iat`` not in the future (with leeway), ``nonce`` equal to the one sent, and
  ``at_hash`` (§3.1.3.8: left half of the algorithm's hash — SM3 for ``SM2SM3``).
* :func:`verify_logout_token` — Logout Token Validation (Back-Channel Logout 1.0 §2.6).

Plain functions over :func:`federation.crypto.jose.decode_jwt`; no HTTP. Every failure is a
:class:`TokenRejected` whose ``reason`` names the check (never a claim value).
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from federation.crypto.jose import InvalidJWS, decode_jwt, half_hash

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


class TokenRejected(Exception):
    """A token failed one check; ``reason`` is a short code (``signature``, ``iss`` …)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """A token that passed every check: its header, claims, the raw compact JWS, and the
    names of the checks that passed (in order, for the result page)."""

    header: dict[str, Any]
    claims: dict[str, Any]
    raw: str
    checks: tuple[str, ...]


def _signature(
    raw: str, jwks: dict[str, Any], algorithms: Sequence[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        return decode_jwt(raw, jwks, algorithms=list(algorithms))
    except InvalidJWS as exc:
        raise TokenRejected("signature", str(exc)) from exc


def _audience(claims: dict[str, Any], client_id: str) -> None:
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if client_id not in audiences:
        raise TokenRejected("aud", "the token is not for this client")
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise TokenRejected("azp", "several audiences and azp is not this client")


def _times(claims: dict[str, Any], now: int, leeway: int) -> None:
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int) or isinstance(exp, bool) or exp + leeway < now:
        raise TokenRejected("exp", "expired or missing")
    if not isinstance(iat, int) or isinstance(iat, bool) or iat - leeway > now:
        raise TokenRejected("iat", "issued in the future or missing")


def verify_id_token(
    raw: str,
    jwks: dict[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    access_token: str | None,
    now: int,
    algorithms: Sequence[str] = ("SM2SM3",),
    leeway: int = 60,
) -> VerifiedToken:
    """Validate an ID token from the token endpoint (OIDC Core §3.1.3.7, §3.1.3.8)."""
    header, claims = _signature(raw, jwks, algorithms)
    if claims.get("iss") != issuer:
        raise TokenRejected("iss", "not issued by the expected bridge")
    _audience(claims, client_id)
    _times(claims, now, leeway)
    sent = claims.get("nonce")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, nonce):
        raise TokenRejected("nonce", "does not match the nonce of this login")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise TokenRejected("sub", "missing")
    checks = ["signature", "iss", "aud", "exp", "iat", "nonce"]
    if access_token is not None:
        expected = half_hash(access_token, header["alg"])
        if not hmac.compare_digest(str(claims.get("at_hash", "")), expected):
            raise TokenRejected("at_hash", "does not match the access token")
        checks.append("at_hash")
    return VerifiedToken(header, claims, raw, tuple(checks))


def verify_logout_token(
    raw: str,
    jwks: dict[str, Any],
    *,
    issuer: str,
    client_id: str,
    now: int,
    algorithms: Sequence[str] = ("SM2SM3",),
    leeway: int = 60,
) -> VerifiedToken:
    """Validate a back-channel logout token (Back-Channel Logout 1.0 §2.6)."""
    header, claims = _signature(raw, jwks, algorithms)
    if header.get("typ") not in (None, "logout+jwt"):
        raise TokenRejected("typ", "not a logout token")
    if claims.get("iss") != issuer:
        raise TokenRejected("iss", "not issued by the expected bridge")
    _audience(claims, client_id)
    _times(claims, now, leeway)
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_EVENT), dict):
        raise TokenRejected("events", "no back-channel logout event")
    if "nonce" in claims:
        raise TokenRejected("nonce", "a logout token must not have a nonce")
    if not (isinstance(claims.get("sub"), str) or isinstance(claims.get("sid"), str)):
        raise TokenRejected("sub", "neither sub nor sid")
    return VerifiedToken(header, claims, raw, ("signature", "iss", "aud", "exp", "events"))
