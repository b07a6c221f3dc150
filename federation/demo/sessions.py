"""Bounded in-memory stores of the demo e-service (one process, as the demo runs it).

:class:`PendingLogin` holds what the RP must remember between the redirect to the bridge
and the callback (``state``, ``nonce``, the PKCE ``code_verifier``); :class:`SignedIn`
is a signed-in session. Both live in a :class:`TtlStore` with a size cap, so that a flood
of login starts cannot exhaust memory. A real e-service would keep them in its own
session store; the bridge's Redis is deliberately not used (the RP is a separate system).
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class PendingLogin:
    """One login in flight (RFC 6749 §10.12 state, OIDC Core §3.1.2.1 nonce, RFC 7636)."""

    state: str
    nonce: str
    code_verifier: str
    locale: str


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A signed-in person: the verified ID token and what the bridge released."""

    id_token: str
    header: dict[str, Any]
    claims: dict[str, Any]
    checks: tuple[str, ...]
    userinfo: dict[str, Any]
    token_response: dict[str, Any] = field(default_factory=dict)

    @property
    def sid(self) -> str | None:
        """The bridge session id (``sid`` claim), for back-channel logout."""
        sid = self.claims.get("sid")
        return sid if isinstance(sid, str) else None

    @property
    def sub(self) -> str:
        """The RP-facing subject."""
        return str(self.claims.get("sub", ""))


class TtlStore(Generic[V]):
    """A dict with per-entry expiry and a maximum size (oldest entries go first)."""

    def __init__(
        self, ttl_seconds: float, max_entries: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, V]] = OrderedDict()

    def put(self, key: str, value: V) -> None:
        """Store ``value`` under ``key`` (evicting the oldest entries beyond the cap)."""
        self._purge()
        self._items[key] = (self._clock() + self.ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    def get(self, key: str | None) -> V | None:
        """The live value under ``key``, else ``None``."""
        if not key:
            return None
        item = self._items.get(key)
        if item is None or item[0] < self._clock():
            self._items.pop(key, None)
            return None
        return item[1]

    def pop(self, key: str | None) -> V | None:
        """Remove and return the live value under ``key`` (single use)."""
        value = self.get(key)
        if key:
            self._items.pop(key, None)
        return value

    def remove_where(self, predicate: Callable[[V], bool]) -> int:
        """Remove every entry whose value matches; return how many went."""
        doomed = [k for k, (_, v) in self._items.items() if predicate(v)]
        for key in doomed:
            del self._items[key]
        return len(doomed)

    def __len__(self) -> int:
        self._purge()
        return len(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._items))

    def _purge(self) -> None:
        now = self._clock()
        while self._items:
            key, (expires, _) = next(iter(self._items.items()))
            if expires >= now:
                break
            del self._items[key]


def new_session_id() -> str:
    """An unguessable cookie value (256 bits)."""
    return secrets.token_urlsafe(32)
