"""The back-channel logout sender (OpenID Connect Back-Channel Logout 1.0) and its egress
guard.

Logout token (§2.4): ``iss``, ``aud``, ``iat``, ``exp``, ``jti``, ``sub`` and/or ``sid``,
``events`` = ``{"http://schemas.openid.net/event/backchannel-logout": {}}``, never a
``nonce``; header ``typ: logout+jwt``; signed with the client's ID token algorithm.

Sending (§2.5): POSTed as ``logout_token`` form data to the client's
``backchannel_logout_uri``; each POST has its own deadline (``IDBRIDGE_BACKCHANNEL_TIMEOUT``,
name resolution included); several RPs are told concurrently
(:func:`send_backchannel_logouts`), so one slow RP does not hold up the others; a redirect
is never followed (a 3xx counts as a failure), and the RP's answer body is never read.

Egress guard (SSRF): the URI is chosen by the client and its host's DNS answers can change
after registration checked it. At send time the host is resolved and nothing is sent if
any address is not globally reachable by the IANA special-purpose registries
(:func:`federation.oidc.addresses.forbidden_address`: loopback, private, link-local,
multicast, documentation, the deprecated site-local ``fec0::/10``, ``192.0.0.8``, …)
— unless ``IDBRIDGE_BACKCHANNEL_ALLOW_PRIVATE_NETWORKS`` is true (the demo and the tests,
whose RPs listen on 127.0.0.1). A host name is then contacted at the
address that was checked, on a connection of its own and without an environment proxy; the
``Host`` header and the TLS server name keep the name, so the certificate is still verified
against it, and a DNS answer that changes between check and connect (rebinding) cannot
move the request. Refusals and failures are logged with the client id only, never the URL
(it may carry credentials).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import secrets
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from federation import metrics
from federation.oidc.addresses import IPAddress, forbidden_address
from federation.oidc.clients import Client
from federation.oidc.provider import OidcProvider
from federation.outbound import (
    HttpClient,
    HttpFailure,
    HttpResponse,
    PinnedResolver,
    Poster,
)

log = logging.getLogger("idbridge.oidc.logout")

EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TTL = 120


def logout_token_claims(
    provider: OidcProvider, client: Client, *, sub: str | None, sid: str | None
) -> dict[str, object]:
    """Claims of a logout token (Back-Channel Logout 1.0 §2.4)."""
    if not sub and not sid:
        raise ValueError("a logout token needs sub or sid")
    now = provider.clock()
    claims: dict[str, object] = {
        "iss": provider.issuer,
        "aud": client.client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_TTL,
        "jti": secrets.token_urlsafe(16),
        "events": {EVENT: {}},
    }
    if sub:
        claims["sub"] = sub
    if sid:
        claims["sid"] = sid
    return claims


class EgressRefused(Exception):
    """The URI must not be contacted; ``reason`` is safe to log (no URL, no address)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Destination:
    """Where to POST: the URL as registered, and when ``pinned`` the checked ``address``
    its host name must be connected to (the name stays in the URL, hence in ``Host`` and
    the TLS server name)."""

    url: str
    address: IPAddress | None = None

    @property
    def pinned(self) -> bool:
        return self.address is not None


def _host(uri: str) -> tuple[str, str, int]:
    """Scheme, ASCII host and port of ``uri`` (:class:`EgressRefused` if unusable)."""
    try:
        parts = urlsplit(uri)
        host = (parts.hostname or "").encode("idna").decode("ascii")
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except (ValueError, UnicodeError) as exc:
        raise EgressRefused("unusable backchannel_logout_uri") from exc
    if parts.scheme not in ("https", "http") or not host:
        raise EgressRefused("unusable backchannel_logout_uri")
    return parts.scheme, host, port


async def destination(uri: str, *, allow_private: bool) -> Destination:
    """Check ``uri`` for sending (the egress guard above) and say where to connect.

    Raises :class:`EgressRefused` for an unusable URI, a host that does not resolve, or
    (unless ``allow_private``) any non-public address among those it resolves to."""
    _, host, port = _host(uri)
    if allow_private:
        return Destination(uri)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if forbidden_address(literal):
            raise EgressRefused("non-public address")
        return Destination(uri)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    except (OSError, UnicodeError, ValueError) as exc:
        raise EgressRefused("host does not resolve") from exc
    if not addresses:
        raise EgressRefused("host does not resolve")
    if any(forbidden_address(address) for address in addresses):
        raise EgressRefused("host resolves to a non-public address")
    return pinned(uri, addresses[0])


def pinned(uri: str, address: IPAddress) -> Destination:
    """``uri`` to be sent to ``address`` (already checked) while keeping its name."""
    return Destination(uri, address)


async def post_logout_token(
    target: Destination, token: str, timeout: float, http: Poster | None = None
) -> HttpResponse:
    """POST ``logout_token`` to ``target`` (§2.5), never following a redirect; a pinned
    target gets a client of its own whose resolver answers only the checked address (no
    pool shared with other names, no proxy, no second DNS answer).

    Only the status matters (§2.5: 200 or 204 on success), so the RP's answer body is
    never read: the connection is closed after the status, and an RP that streams an
    endless body costs nothing."""
    body = urlencode({"logout_token": token}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if http is not None and not target.pinned:
        return await http.post(target.url, body, headers, read_body=False)
    resolver = None
    if target.address is not None:
        resolver = PinnedResolver(_host(target.url)[1], target.address)
    own = HttpClient(
        connect_timeout=timeout, read_timeout=timeout, allow_http=True, resolver=resolver
    )
    try:
        return await own.post(target.url, body, headers, read_body=False)
    finally:
        await own.aclose()


async def send_backchannel_logout(
    provider: OidcProvider,
    client: Client,
    *,
    sub: str | None,
    sid: str | None,
    http: Poster | None = None,
) -> bool:
    """POST a logout token to the client's ``backchannel_logout_uri``; True on HTTP 2xx.

    Returns False (and logs the client id only) when the client registered no URI, the
    egress guard refuses it, the RP is unreachable, times out, redirects or answers with
    an error."""
    if not client.backchannel_logout_uri:
        return False
    claims = logout_token_claims(provider, client, sub=sub, sid=sid)
    token = provider.signer.sign(claims, client.id_token_signed_response_alg, typ="logout+jwt")
    config = provider.config
    fields: dict[str, object] = {"client_id": client.client_id}
    try:
        async with asyncio.timeout(config.backchannel_timeout):
            target = await destination(
                client.backchannel_logout_uri,
                allow_private=config.backchannel_allow_private_networks,
            )
            response = await post_logout_token(target, token, config.backchannel_timeout, http)
    except EgressRefused as exc:
        log.warning(
            "back-channel logout not sent", extra={"fields": {**fields, "reason": exc.reason}}
        )
        metrics.BACKCHANNEL_LOGOUT.labels("refused_egress").inc()
        return False
    except (HttpFailure, ValueError, TimeoutError, OSError) as exc:
        log.warning(
            "back-channel logout failed",
            extra={"fields": {**fields, "error": type(exc).__name__}},
        )
        metrics.BACKCHANNEL_LOGOUT.labels("failed").inc()
        return False
    success = 200 <= response.status_code < 300
    if not success:
        log.warning(
            "back-channel logout refused",
            extra={"fields": {**fields, "status": response.status_code}},
        )
    metrics.BACKCHANNEL_LOGOUT.labels("ok" if success else "rejected").inc()
    return success


async def send_backchannel_logouts(
    provider: OidcProvider,
    sends: Iterable[tuple[Client, str | None, str | None]],
    *,
    http: Poster | None = None,
) -> tuple[str, ...]:
    """Send one logout token per ``(client, sub, sid)``, all at once (each with its own
    deadline, §2.5); the client ids that acknowledged with 2xx, in the order given.
    One RP's failure (even an unexpected error) never stops the others."""
    jobs = list(sends)
    results = await asyncio.gather(
        *(
            send_backchannel_logout(provider, c, sub=sub, sid=sid, http=http)
            for c, sub, sid in jobs
        ),
        return_exceptions=True,
    )
    acknowledged: list[str] = []
    for (client, _, _), result in zip(jobs, results, strict=True):
        if isinstance(result, BaseException):
            log.error(
                "back-channel logout error",
                extra={"fields": {"client_id": client.client_id, "error": type(result).__name__}},
            )
        elif result:
            acknowledged.append(client.client_id)
    return tuple(acknowledged)
