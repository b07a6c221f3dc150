"""The simulator's state, in process memory (one process; lost on restart).

Login sessions (getQR → approval), single-use auth codes, access tokens, each client's CEK
(current and retired, so that a request under an old CEK is told "expired", D30002, not
"broken", D30004), replay guards (last timestamp and seen nonces per client), and
profile/e-ME tickets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import os
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import quote

from connectors.iamsmart import crypto
from connectors.iamsmart.simulator.config import RegisteredClient, SimulatorSettings

_BUSINESS_IDS_KEPT = 100_000
"""businessIDs remembered per client for the duplicate check (D20011)."""


def now_ms() -> int:
    """The simulator clock (ms epoch)."""
    return int(time.time() * 1000)


@dataclass
class LoginSession:
    """One getQR call waiting for the (simulated) app."""

    id: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    lang: str
    source: str
    broker_page: bool
    created_ms: int = field(default_factory=now_ms)
    finished: bool = False


@dataclass
class Grant:
    """An auth code or access token: who, for which client, which scopes."""

    client_id: str
    persona_id: str
    scopes: tuple[str, ...]
    expires_ms: int
    used: bool = False
    by_qr: bool = False
    """The login scanned a QR code (PC): later requests are pushed to the phone
    (``authByQR: true``); app-to-app logins answer ``authByQR: false``."""


@dataclass
class Cek:
    """A content encryption key and its validity."""

    key: bytes
    issue_at_ms: int
    expires_ms: int


@dataclass
class Ticket:
    """A profile or e-ME request waiting for the person's approval."""

    id: str
    kind: str  # "profile" | "eme"
    client_id: str
    persona_id: str
    fields: tuple[str, ...]
    redirect_uri: str
    state: str | None
    business_id: str
    form_name: str = ""
    created_ms: int = field(default_factory=now_ms)
    finished: bool = False


class SimulatorState:
    """Everything the simulator remembers."""

    def __init__(self, settings: SimulatorSettings) -> None:
        self.settings = settings
        self._openid_key = settings.openid_secret or os.urandom(32)
        self.logins: dict[str, LoginSession] = {}
        self.codes: dict[str, Grant] = {}
        self.tokens: dict[str, Grant] = {}
        self.ceks: dict[str, Cek] = {}
        self.retired_ceks: dict[str, list[Cek]] = {}
        self.last_timestamp: dict[str, int] = {}
        self.nonces: dict[str, dict[str, int]] = {}
        self.tickets: dict[str, Ticket] = {}
        self.business_ids: dict[str, dict[str, None]] = {}  # insertion-ordered

    # --- identifiers -----------------------------------------------------------------
    def open_id(self, persona_id: str, client_id: str) -> str:
        """Pairwise openID: the same person looks different to every client. Shaped like
        the published example (``liR14%2BvX%2F…%3D``): URL-encoded standard Base64."""
        mac = hmac.new(self._openid_key, f"{persona_id}\0{client_id}".encode(), hashlib.sha256)
        return quote(base64.b64encode(mac.digest()).decode(), safe="")

    # --- replay guards ---------------------------------------------------------------
    def accept_timestamp(self, client_id: str, timestamp: int) -> bool:
        """Within the skew and not lower than the client's previous request (CorpID-SPEC
        §2.4.1, the default). With ``timestamp_reorder_ms`` = N > 0 (an explicit option for
        load tests with several client processes) a timestamp up to N ms lower than the
        highest seen is accepted too; replays are still refused by the nonce check."""
        skew = self.settings.timestamp_skew_ms
        last = self.last_timestamp.get(client_id, 0)
        if (
            abs(now_ms() - timestamp) > skew
            or timestamp < last - self.settings.timestamp_reorder_ms
        ):
            return False
        self.last_timestamp[client_id] = max(last, timestamp)
        return True

    def accept_nonce(self, client_id: str, nonce: str) -> bool:
        """True the first time a nonce is seen (remembered for twice the skew)."""
        seen = self.nonces.setdefault(client_id, {})
        now = now_ms()
        horizon = now - 2 * self.settings.timestamp_skew_ms
        for old, seen_at in list(itertools.islice(seen.items(), 64)):  # oldest first
            if seen_at >= horizon:
                break
            del seen[old]
        if nonce in seen:
            return False
        seen[nonce] = now
        return True

    # --- login -----------------------------------------------------------------------
    def open_login(self, session: LoginSession) -> LoginSession:
        self.logins[session.id] = session
        return session

    def live_login(self, login_id: str) -> LoginSession | None:
        session = self.logins.get(login_id)
        window = self.settings.login_window_s * 1000
        if session is None or session.finished or now_ms() - session.created_ms > window:
            return None
        return session

    def issue_code(self, session: LoginSession, persona_id: str, *, by_qr: bool = False) -> str:
        session.finished = True
        if self.settings.conformance:  # standard Base64 characters, with at least one "+"
            code = "+" + base64.b64encode(os.urandom(24)).decode()
        else:
            code = secrets.token_urlsafe(24)
        expires = now_ms() + self.settings.auth_code_lifetime_s * 1000
        self.codes[code] = Grant(
            session.client_id, persona_id, session.scopes, expires, by_qr=by_qr
        )
        return code

    def redeem_code(self, code: str, client_id: str) -> Grant | None:
        """The code's grant, once; ``None`` if unknown, expired, used or another client's."""
        grant = self.codes.get(code)
        if grant is None or grant.used or grant.client_id != client_id:
            return None
        grant.used = True
        if grant.expires_ms < now_ms():
            return None
        return grant

    def issue_token(self, grant: Grant) -> tuple[str, Grant]:
        token = secrets.token_urlsafe(32)
        issued = Grant(
            grant.client_id,
            grant.persona_id,
            grant.scopes,
            now_ms() + self.settings.access_token_lifetime_ms,
            by_qr=grant.by_qr,
        )
        self.tokens[token] = issued
        return token, issued

    def token_grant(self, token: str, client_id: str) -> Grant | None:
        grant = self.tokens.get(token)
        if grant is None or grant.client_id != client_id or grant.expires_ms < now_ms():
            return None
        return grant

    # --- content keys ----------------------------------------------------------------
    def current_cek(self, client: RegisteredClient) -> Cek:
        """The client's CEK, made anew when the previous one expired."""
        cek = self.ceks.get(client.client_id)
        if cek is None or cek.expires_ms <= now_ms():
            if cek is not None:
                self.retired_ceks.setdefault(client.client_id, []).append(cek)
            issued = now_ms()
            cek = Cek(crypto.new_cek(), issued, issued + self.settings.cek_lifetime_ms)
            self.ceks[client.client_id] = cek
        return cek

    def rotate_cek(self, client_id: str) -> None:
        """Expire the client's CEK now (tests and the sandbox's "stale CEK" case)."""
        cek = self.ceks.pop(client_id, None)
        if cek is not None:
            self.retired_ceks.setdefault(client_id, []).append(cek)

    def retired(self, client_id: str) -> list[Cek]:
        return self.retired_ceks.get(client_id, [])[-5:]

    # --- tickets ---------------------------------------------------------------------
    def open_ticket(self, ticket: Ticket) -> Ticket:
        self.tickets[ticket.id] = ticket
        return ticket

    def new_business_id(self, client_id: str, business_id: str) -> bool:
        """True the first time a client uses a businessID (a duplicate is D20011)."""
        seen = self.business_ids.setdefault(client_id, {})
        if business_id in seen:
            return False
        if len(seen) >= _BUSINESS_IDS_KEPT:  # bounded memory: forget the oldest
            del seen[next(iter(seen))]
        seen[business_id] = None
        return True

    def live_ticket(self, ticket_id: str) -> Ticket | None:
        ticket = self.tickets.get(ticket_id)
        window = self.settings.login_window_s * 1000
        if ticket is None or ticket.finished or now_ms() - ticket.created_ms > window:
            return None
        return ticket
