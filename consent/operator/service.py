"""What an operator can do, each step permission-checked and audited (plain async
functions; the router only parses and delegates).

Every successful call appends one audit entry with ``actor = operator:<username>`` before
any data is returned (a revocation's entry is the ``consent.revoked`` event itself);
logins, failed logins and refused calls (wrong role) are audited too. Filters that may
name a person are recorded only as an SM3 digest of the canonical query.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

from consent.audit import Action, Event
from consent.audit_verify import ChainReport, Problem, verify_chain
from consent.operator import export
from consent.operator.accounts import USERNAME, Operator
from consent.operator.errors import OperatorError, actor_of
from consent.operator.roles import Permission, allows
from consent.operator.service_admin import AdminOperations
from consent.operator.sessions import LoginThrottle, Session
from consent.receipts import build_receipt, sign_receipt, verify_receipt
from consent.records import ConsentRecord, canonical_json
from consent.services import ConsentServices
from consent.signing import SignatureError
from consent.store import ConsentNotFound, ConsentQuery, Page
from consent.translog_verify import log_status
from federation.crypto.sm3 import sm3

CONSENT_ID = re.compile(r"^cns_[A-Za-z0-9_-]{16,64}$")
EXPORT_FORMATS = ("csv", "json", "jsonl")
EXPORT_LIMIT = 10_000
EXPORT_PAGE_BUDGET = 50
"""Store pages one export may read (each examines a bounded slice of the index)."""


def _query_digest(query: ConsentQuery) -> str:
    return sm3(canonical_json({k: v for k, v in asdict(query).items() if v is not None})).hex()


@dataclass(frozen=True, slots=True)
class Receipt:
    """A receipt as issued for an operator: the body, its JWS, whether it verified."""

    body: dict[str, Any]
    jws: str | None
    verified: bool
    kid: str | None


class OperatorService(AdminOperations):
    """The operator operations over :class:`ConsentServices` (both front ends call these;
    the four-eyes, audit-view, account and dashboard operations are in
    :class:`consent.operator.service_admin.AdminOperations`)."""

    def __init__(self, services: ConsentServices) -> None:
        self.s = services

    async def login(
        self, username: str, password: str, code: str, address: str
    ) -> tuple[Operator, str, int]:
        """Password + TOTP → a bearer token. Raises ``OperatorError`` 429 / 401.

        The limits (:mod:`consent.operator.sessions`) refuse per address and per username
        and address; failures on a username from anywhere only slow its logins down.

        A failed attempt is audited under the account's name only if that account exists;
        anything else typed as a username (a password in the wrong field, say) is never
        written to the append-only chain: the actor is ``anonymous``."""
        gate = await self.s.sessions.login_attempt(username, address)
        if gate.throttle is not LoginThrottle.ALLOWED:
            if gate.throttle is LoginThrottle.FIRST_REFUSAL:  # once per rate-limit window
                await self.s.chain.append(
                    Event(
                        await self._attempted_by(username),
                        Action.OPERATOR_LOGIN_FAILED,
                        {"why": "throttled"},
                    )
                )
            raise OperatorError(429, "slow_down", "too many login attempts; wait and try again")
        if gate.delay:  # the account had many failed logins: slowed, never refused
            await asyncio.sleep(gate.delay)
        operator = await self.s.accounts.authenticate(username, password, code)
        if operator is None:
            await self.s.sessions.login_failed(username, address)
            await self.s.chain.append(
                Event(
                    await self._attempted_by(username),
                    Action.OPERATOR_LOGIN_FAILED,
                    {"why": "credentials"},
                )
            )
            raise OperatorError(401, "invalid_grant", "wrong username, password or code")
        token, ttl = await self.s.sessions.issue(operator)
        await self.s.chain.append(
            Event(
                f"operator:{operator.username}",
                Action.OPERATOR_LOGIN,
                {"role": operator.role.value},
            )
        )
        return operator, token, ttl

    async def _attempted_by(self, username: str) -> str:
        """The audit actor of a failed login: the account, or ``anonymous``."""
        known = USERNAME.match(username) and await self.s.accounts.get(username) is not None
        return f"operator:{username}" if known else "anonymous"

    async def logout(self, session: Session) -> None:
        """End the session."""
        await self.s.sessions.end(session)
        await self.s.chain.append(Event(actor_of(session), Action.OPERATOR_LOGOUT))

    async def require(self, session: Session, permission: Permission) -> None:
        """Raise 403 ``insufficient_scope`` (and audit the refusal) unless allowed."""
        if allows(session.operator.role, permission):
            return
        await self.s.chain.append(
            Event(actor_of(session), Action.OPERATOR_DENIED, {"permission": permission.value})
        )
        raise OperatorError(
            403,
            "insufficient_scope",
            f"role {session.operator.role.value} may not {permission.value}",
        )

    async def search(
        self, session: Session, query: ConsentQuery, cursor: str | None, limit: int
    ) -> Page:
        """Search consents (paged)."""
        await self.require(session, Permission.SEARCH)
        page = await self.s.store.search(query, cursor, limit)
        await self.s.chain.append(
            Event(
                actor_of(session),
                Action.OPERATOR_SEARCHED,
                {"query_sm3": _query_digest(query), "results": str(len(page.items))},
            )
        )
        return page

    async def view(
        self, session: Session, consent_id: str
    ) -> tuple[ConsentRecord, list[dict[str, Any]]]:
        """One record and its event history."""
        await self.require(session, Permission.VIEW)
        record = await self.s.store.get(consent_id)
        events = await self.s.store.events(consent_id)
        await self.s.chain.append(
            Event(actor_of(session), Action.OPERATOR_VIEWED, {"consent_id": consent_id})
        )
        return record, events

    async def revoke(self, session: Session, consent_id: str, reason: str) -> ConsentRecord:
        """Revoke with a reason (ends the client's grants through the lifecycle)."""
        await self.require(session, Permission.REVOKE)
        return await self.s.lifecycle.revoke_by_operator(
            consent_id, operator=session.operator.username, reason=reason
        )

    async def export(
        self, session: Session, query: ConsentQuery, fmt: str
    ) -> tuple[str, int, bool]:
        """Matching records as CSV, JSON or JSON lines, their count, and whether the export was
        cut short: at ``EXPORT_LIMIT`` records, or after ``EXPORT_PAGE_BUDGET`` index pages
        (a filter that rarely matches must not walk the whole index in one request)."""
        await self.require(session, Permission.EXPORT)
        records: list[ConsentRecord] = []
        cursor: str | None = None
        complete = False
        for _ in range(EXPORT_PAGE_BUDGET):
            page = await self.s.store.search(query, cursor, min(500, EXPORT_LIMIT - len(records)))
            records.extend(page.items)
            cursor = page.next_cursor
            complete = cursor is None
            if complete or len(records) >= EXPORT_LIMIT:
                break
        truncated = not complete
        await self.s.chain.append(
            Event(
                actor_of(session),
                Action.OPERATOR_EXPORTED,
                {
                    "query_sm3": _query_digest(query),
                    "records": str(len(records)),
                    "format": fmt,
                    "truncated": str(truncated).lower(),
                },
            )
        )
        if fmt == "csv":
            return export.to_csv(records), len(records), truncated
        meta: dict[str, Any] = {
            "exported_at": int(time.time()),
            "by": actor_of(session),
            "count": len(records),
            "truncated": truncated,
        }
        if fmt == "jsonl":
            return export.to_jsonl(records, meta), len(records), truncated
        return export.to_json(records, meta), len(records), truncated

    async def find(
        self,
        session: Session,
        query: ConsentQuery,
        receipt_id: str | None,
        cursor: str | None,
        limit: int,
    ) -> Page:
        """Search, or (``receipt_id`` given) the one record whose receipt that is: a
        receipt's ``consentReceiptID`` is its record id."""
        if not receipt_id:
            return await self.search(session, query, cursor, limit)
        await self.require(session, Permission.SEARCH)
        try:
            found = [await self.s.store.get(receipt_id)] if CONSENT_ID.match(receipt_id) else []
        except ConsentNotFound:
            found = []
        found = [r for r in found if query.matches(r)]
        await self.s.chain.append(
            Event(
                actor_of(session),
                Action.OPERATOR_SEARCHED,
                {"query_sm3": _query_digest(query), "receipt": "1", "results": str(len(found))},
            )
        )
        return Page(found, None)

    async def receipt(self, session: Session, consent_id: str) -> tuple[ConsentRecord, Receipt]:
        """The record's receipt as issued now, signed, and checked against the bridge's
        published keys (what anyone verifying it offline would find)."""
        await self.require(session, Permission.VIEW)
        record = await self.s.store.get(consent_id)
        body = build_receipt(record, issuer=self.s.issuer)
        jws: str | None = None
        verified = False
        if self.s.signer is not None:
            jws = sign_receipt(body, self.s.signer)
            if self.s.verifier is not None:
                try:
                    verified = verify_receipt(jws, self.s.verifier) == body
                except SignatureError:
                    verified = False
        await self.s.chain.append(
            Event(
                actor_of(session),
                Action.OPERATOR_VIEWED,
                {"consent_id": consent_id, "receipt": "1"},
            )
        )
        kid = self.s.signer.kid if self.s.signer is not None else None
        return record, Receipt(body, jws, verified, kid)

    async def audit_status(self, session: Session) -> ChainReport:
        """Verify the whole chain now (hashes, links, checkpoint signatures)."""
        await self.require(session, Permission.AUDIT_STATUS)
        report = await verify_chain(self.s.chain.redis, self.s.verifier)
        log = self.s.chain.log
        if log is not None and self.s.verifier is not None:
            status = await log_status(log, self.s.verifier)
            report = replace(report, ok=report.ok and bool(status["ok"]), log=status)
            if report.problem is None and status.get("problem"):  # named where views look
                reason = f"transparency log: {status['problem']}"
                report = replace(report, problem=Problem(None, None, reason))
        problem = report.problem.describe() if report.problem else None
        await self.s.counters.record_verification(report.ok, report.last_seq, problem)
        await self.s.chain.append(
            Event(actor_of(session), Action.OPERATOR_AUDIT_STATUS, {"ok": str(report.ok).lower()})
        )
        return report


__all__ = ["EXPORT_FORMATS", "EXPORT_LIMIT", "OperatorError", "OperatorService", "Receipt"]
