"""The consent store interface (Hydra ``consent.Manager`` style; DESIGN §5, anchors §3.4).

Any backend implements :class:`ConsentStore` and must pass ``tests/consent/conformance.py``.
Every state change is written atomically with its audit event; a write returns only once
it is durable (acknowledged by a fsync-always Redis, or by replicas when configured).
Revoking methods return the records they changed so the lifecycle layer can revoke the
relying party's tokens (``consent.lifecycle.GrantRevoker``).

Imports ``consent.records`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from consent.records import ConsentRecord, Status


class ConsentNotFound(LookupError):
    """No record with that id."""


class ConsentConflict(ValueError):
    """The record is not in a state that allows the change (e.g. already revoked)."""


class InvalidCursor(ValueError):
    """A paging cursor that this store did not issue."""


@dataclass(frozen=True, slots=True)
class Page:
    """One page of records, newest first (or oldest first when asked); ``next_cursor`` is
    ``None`` on the last page."""

    items: list[ConsentRecord]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class ConsentQuery:
    """Search filters (all optional); dates are epoch seconds of ``given_at``, inclusive.
    ``purpose`` matches a record that lists that purpose id; ``oldest_first`` pages in
    ascending ``given_at`` order instead of newest first."""

    subject: str | None = None
    client_id: str | None = None
    status: Status | None = None
    given_from: int | None = None
    given_to: int | None = None
    purpose: str | None = None
    oldest_first: bool = False

    def matches(self, record: ConsentRecord) -> bool:
        """Whether ``record`` passes every filter."""
        if self.subject is not None and record.subject != self.subject:
            return False
        if self.client_id is not None and record.client_id != self.client_id:
            return False
        if self.status is not None and record.status is not self.status:
            return False
        if self.purpose is not None and all(p.id != self.purpose for p in record.purposes):
            return False
        if self.given_from is not None and record.given_at < self.given_from:
            return False
        return self.given_to is None or record.given_at <= self.given_to


class ConsentStore(Protocol):
    """Durable consent records with their audit trail."""

    async def save(self, record: ConsentRecord, sealed_values: dict[str, Any] | None = None) -> str:
        """Store a new active record (and seal person-supplied values under its id).

        The record becomes the subject's current consent at its client; a previous
        active one there is marked expired in the same atomic write. The event is
        ``consent.granted``, or ``consent.reconsented`` when one was superseded.
        Idempotent by record id (a retry after an unknown outcome does not duplicate).
        Returns the audit stream id of the event."""
        ...

    async def get(self, consent_id: str) -> ConsentRecord:
        """The record, or raise :class:`ConsentNotFound`."""
        ...

    async def get_sealed_values(self, consent_id: str) -> dict[str, Any]:
        """The person-supplied values sealed with the record ({} if none)."""
        ...

    async def find_remembered(
        self, subject: str, client_id: str, consent_key: str, now: int
    ) -> ConsentRecord | None:
        """The current consent if it is active, unexpired, remembered (has an expiry) and
        has exactly ``consent_key``; else ``None``."""
        ...

    async def current(self, subject: str, client_id: str) -> ConsentRecord | None:
        """The subject's current (most recent active) consent at the client, if any."""
        ...

    async def list_by_subject(self, subject: str, cursor: str | None, limit: int) -> Page:
        """A subject's records, newest first (keyset paging)."""
        ...

    async def list_by_client(self, client_id: str, cursor: str | None, limit: int) -> Page:
        """A client's records, newest first (keyset paging)."""
        ...

    async def search(self, query: ConsentQuery, cursor: str | None, limit: int) -> Page:
        """Records matching ``query``, newest first (keyset paging)."""
        ...

    async def record_denial(self, subject: str, client_id: str, actor: str) -> str:
        """Append ``consent.denied`` (the person declined; nothing is stored)."""
        ...

    async def revoke_by_id(self, consent_id: str, *, by: str, reason: str) -> ConsentRecord:
        """Revoke one active record; raise :class:`ConsentConflict` if not active."""
        ...

    async def revoke_for_client(
        self, subject: str, client_id: str, *, by: str, reason: str
    ) -> list[ConsentRecord]:
        """Revoke every active record of the subject at the client."""
        ...

    async def revoke_for_subject(
        self, subject: str, *, by: str, reason: str
    ) -> list[ConsentRecord]:
        """Revoke every active record of the subject."""
        ...

    async def expire_due(self, now: int, limit: int = 500) -> list[ConsentRecord]:
        """Mark active records whose expiry has passed as expired (``consent.expired``)."""
        ...

    async def events(self, consent_id: str) -> list[dict[str, Any]]:
        """The audit entries about one record, oldest first."""
        ...
