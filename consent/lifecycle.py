"""Consent lifecycle (DESIGN §5; issue 6 item 3): grant, remember, re-consent, expire and
revoke, and the hand-off that ends the relying party's access.

Revocation by the person, by an operator (with a reason) or by the system, and expiry by
the client's policy, each end the record in the store (with its audit event, atomically)
and then call the :class:`GrantRevoker`, which the app factory wires to the OIDC layer
(revoke that client's access and refresh tokens for the person and send back-channel
logout). Consent never imports the OIDC layer. If the revoker fails, the failure is
audited (``consent.grant_revocation_failed``) and logged; the consent stays revoked, and
the OIDC layer must refuse tokens whose consent is not active in any case.

Imports ``consent`` modules, ``federation.logs`` conventions (logging) only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

from consent.audit import Action, AuditChain, Event
from consent.capture import Captured, ConsentNotice, ReleaseItem, candidate_key
from consent.records import ConsentRecord, Status
from consent.store import ConsentConflict, ConsentNotFound, ConsentQuery, ConsentStore

log = logging.getLogger("idbridge.consent.lifecycle")


class GrantRevoker(Protocol):
    """Ends what a relying party holds for a person (implemented by the OIDC layer)."""

    async def revoke_for(self, subject: str, client_id: str, *, reason: str) -> None:
        """Revoke the client's access and refresh tokens for ``subject`` and send an OIDC
        back-channel logout token where the client registered one."""
        ...


class LifecycleObserver(Protocol):
    """Told when consents are given or end (the console's activity counters)."""

    async def consents_changed(self, event: str, records: list[ConsentRecord]) -> None:
        """``event`` is ``given``, ``withdrawn`` or ``expired``, for each of ``records``."""
        ...


class ReasonRequired(ValueError):
    """An operator revocation needs a reason."""


PROPAGATION_CONCURRENCY = 16
"""Revocations propagated at once (each may send a back-channel logout)."""


class ConsentLifecycle:
    """The consent rules, over a :class:`ConsentStore` and a :class:`GrantRevoker`."""

    def __init__(
        self,
        store: ConsentStore,
        revoker: GrantRevoker,
        chain: AuditChain,
        *,
        digest_key: bytes,
        clock: Callable[[], float] = time.time,
        observer: LifecycleObserver | None = None,
    ) -> None:
        self.observer = observer
        self.store = store
        self.revoker = revoker
        self.chain = chain
        self.digest_key = digest_key
        self.clock = clock

    # --- giving ------------------------------------------------------------------------
    async def find_remembered(
        self, subject: str, notice: ConsentNotice, items: list[ReleaseItem]
    ) -> ConsentRecord | None:
        """The still-valid consent that lets the journey skip the page: same client,
        purposes, notice version, released attribute names and values; else ``None``.
        The current record is read once: its attribute names give the key to compare."""
        current = await self.store.current(subject, notice.client_id)
        if current is None:
            return None
        key = candidate_key(notice, items, current.attribute_names, digest_key=self.digest_key)
        if key is None or not current.remembered_for(key, int(self.clock())):
            return None
        return current

    async def grant(self, captured: Captured) -> str:
        """Store a captured consent durably (before the code is issued); returns the audit
        stream id of its ``consent.granted`` / ``consent.reconsented`` event."""
        record = captured.record
        previous = await self.store.current(record.subject, record.client_id)
        stream_id = await self.store.save(record, captured.sealed_values or None)
        await self._observe("given", [record])
        if previous is not None and previous.id != record.id:
            await self._observe("expired", [previous])  # superseded: the store expired it
        return stream_id

    async def deny(self, subject: str, client_id: str) -> str:
        """The person declined: only the event is kept."""
        return await self.store.record_denial(subject, client_id, "subject")

    # --- ending ------------------------------------------------------------------------
    async def revoke_by_person(self, subject: str, consent_id: str) -> ConsentRecord:
        """The person withdraws one of their own consents (others' ids look unknown)."""
        record = await self.store.get(consent_id)
        if record.subject != subject:
            raise ConsentNotFound(consent_id)
        revoked = await self.store.revoke_by_id(
            consent_id, by="subject", reason="withdrawn by the person"
        )
        await self._propagate([revoked], "consent withdrawn by the person")
        return revoked

    async def revoke_all_by_person(self, subject: str, client_id: str) -> list[ConsentRecord]:
        """The person withdraws everything they gave one client."""
        revoked = await self.store.revoke_for_client(
            subject, client_id, by="subject", reason="withdrawn by the person"
        )
        await self._propagate(revoked, "consent withdrawn by the person")
        return revoked

    async def revoke_by_operator(
        self, consent_id: str, *, operator: str, reason: str
    ) -> ConsentRecord:
        """An operator revokes one consent; ``reason`` is mandatory and kept in the record."""
        reason = reason.strip()
        if not reason:
            raise ReasonRequired("a reason is required")
        revoked = await self.store.revoke_by_id(
            consent_id, by=f"operator:{operator}", reason=reason
        )
        await self._propagate([revoked], "consent revoked by an operator")
        return revoked

    async def revoke_by_system(self, subject: str, *, reason: str) -> list[ConsentRecord]:
        """The bridge revokes everything a subject gave (e.g. account closed upstream)."""
        revoked = await self.store.revoke_for_subject(subject, by="system", reason=reason)
        await self._propagate(revoked, reason)
        return revoked

    async def offboard_client(
        self, client_id: str, *, actor: str, reason: str
    ) -> list[ConsentRecord]:
        """A relying party leaves (it deleted its registration, RFC 7592 §2.3): every active
        consent given to it is revoked (each a ``consent.revoked`` entry), the grants behind
        them end with a back-channel logout, and the offboarding is audited
        (``client.offboarded``)."""
        subjects: set[str] = set()
        cursor: str | None = None
        while True:
            page = await self.store.list_by_client(client_id, cursor, 200)
            subjects.update(r.subject for r in page.items if r.status == "active")
            cursor = page.next_cursor
            if cursor is None:
                break
        revoked: list[ConsentRecord] = []
        for subject in sorted(subjects):
            revoked += await self.store.revoke_for_client(
                subject, client_id, by=actor, reason=reason
            )
        await self.chain.append(
            Event(
                actor,
                Action.CLIENT_OFFBOARDED,
                {"client_id": client_id, "consents": str(len(revoked))},
            )
        )
        await self._propagate(revoked, reason)
        return revoked

    async def expire_due(self, now: int | None = None) -> list[ConsentRecord]:
        """Expire consents past their client's remember period and end their grants."""
        expired = await self.store.expire_due(int(self.clock()) if now is None else now)
        await self._propagate(expired, "consent expired")
        return expired

    async def revoke_client_by_operator(
        self, client_id: str, *, operator: str, reason: str
    ) -> list[ConsentRecord]:
        """Withdraw every active consent given to one relying party (offboarding; the
        four-eyes approval is the operator service's), each with its audit event."""
        reason = reason.strip()
        if not reason:
            raise ReasonRequired("a reason is required")
        query = ConsentQuery(client_id=client_id, status=Status.ACTIVE)
        revoked: list[ConsentRecord] = []
        cursor: str | None = None
        while True:
            page = await self.store.search(query, cursor, 100)
            for record in page.items:
                try:
                    revoked.append(
                        await self.store.revoke_by_id(
                            record.id, by=f"operator:{operator}", reason=reason
                        )
                    )
                except (ConsentConflict, ConsentNotFound):
                    continue  # ended meanwhile
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        await self._propagate(revoked, "relying party offboarded by operators")
        return revoked

    async def _observe(self, event: str, records: list[ConsentRecord]) -> None:
        if self.observer is None or not records:
            return
        try:
            await self.observer.consents_changed(event, records)
        except Exception as exc:  # counters are best effort: never fail a consent change
            log.warning("activity counters", extra={"fields": {"error": type(exc).__name__}})

    async def _propagate(self, records: list[ConsentRecord], reason: str) -> None:
        """Revoke the grants behind ``records`` and tell their RPs, several at once (at
        most :data:`PROPAGATION_CONCURRENCY`): one slow RP must not hold up the others.
        Every ending passes here, so the observer is told here."""
        await self._observe("withdrawn", [r for r in records if r.status is Status.REVOKED])
        await self._observe("expired", [r for r in records if r.status is Status.EXPIRED])
        gate = asyncio.Semaphore(PROPAGATION_CONCURRENCY)

        async def one(record: ConsentRecord) -> None:
            async with gate:
                await self._propagate_one(record, reason)

        await asyncio.gather(*(one(record) for record in records))

    async def _propagate_one(self, record: ConsentRecord, reason: str) -> None:
        try:
            await self.revoker.revoke_for(record.subject, record.client_id, reason=reason)
        except Exception as exc:  # the revoker is another layer: contain and record it
            log.error(
                "grant revocation failed",
                extra={"fields": {"consent_id": record.id, "error": type(exc).__name__}},
            )
            await self.chain.append(
                Event(
                    "system",
                    Action.GRANTS_REVOKE_FAILED,
                    {"consent_id": record.id, "client_id": record.client_id},
                )
            )


async def expiry_loop(
    lifecycle: ConsentLifecycle, interval_seconds: float, stop: asyncio.Event
) -> None:
    """Run :meth:`ConsentLifecycle.expire_due` every ``interval_seconds`` until ``stop``."""
    while not stop.is_set():
        try:
            expired = await lifecycle.expire_due()
            if expired:
                log.info("consents expired", extra={"fields": {"count": len(expired)}})
        except Exception as exc:  # keep the loop alive; Redis may be restarting
            log.warning("expiry pass failed", extra={"fields": {"error": type(exc).__name__}})
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval_seconds)
        except TimeoutError:
            continue


__all__ = [
    "ConsentLifecycle",
    "GrantRevoker",
    "LifecycleObserver",
    "ReasonRequired",
    "expiry_loop",
]
