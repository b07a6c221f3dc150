"""The operator operations beyond one consent: four-eyes offboarding, the audit view,
account administration and the dashboard's figures (issue 10). Each is permission-checked
with :meth:`OperatorService.require` and audited like the rest of the service; both front
ends (``/operator/api`` and the console) call them, so no rule is written twice.

Mixed into :class:`consent.operator.service.OperatorService` (which provides ``s`` and
``require``). Imports ``consent`` modules only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from consent.audit import Action, Event
from consent.operator.account_admin import Change, change_account
from consent.operator.accounts import Operator
from consent.operator.audit_view import AuditFilter, AuditPage, read_entries
from consent.operator.errors import OperatorError, actor_of
from consent.operator.offboarding import OffboardingRequest, OffboardingRequests, OffboardingState
from consent.operator.roles import Permission, Role
from consent.operator.sessions import Session
from consent.operator.stats import Series
from federation.crypto.sm3 import sm3

if TYPE_CHECKING:
    from consent.services import ConsentServices

DASHBOARD_DAYS = (30, 90)


@dataclass(frozen=True, slots=True)
class Dashboard:
    """Every figure the dashboard shows, read from counters (never from the records)."""

    days: int
    client_id: str | None
    consents: Series
    logins: Series
    expiring: list[tuple[str, int]]
    audit_head: dict[str, str]
    last_verification: dict[str, str]
    clients: list[str]


class AdminOperations:
    """Offboarding, audit view, accounts and dashboard (a mixin of ``OperatorService``)."""

    s: ConsentServices

    async def require(self, session: Session, permission: Permission) -> None:  # pragma: no cover
        raise NotImplementedError

    # --- four-eyes offboarding ---------------------------------------------------------
    def _requests(self) -> OffboardingRequests:
        return OffboardingRequests(self.s.chain.redis)

    async def offboardings(self, session: Session) -> list[OffboardingRequest]:
        """Recent offboarding requests, newest first."""
        await self.require(session, Permission.OFFBOARD)
        return await self._requests().recent()

    async def offboarding(self, session: Session, request_id: str) -> OffboardingRequest:
        """One request, or 404."""
        await self.require(session, Permission.OFFBOARD)
        found = await self._requests().get(request_id)
        if found is None:
            raise OperatorError(404, "not_found", "no such offboarding request")
        return found

    async def request_offboarding(
        self, session: Session, client_id: str, reason: str
    ) -> OffboardingRequest:
        """Ask for every consent of ``client_id`` to be withdrawn (a second operator must
        approve). The reason is required."""
        await self.require(session, Permission.OFFBOARD)
        reason, client_id = reason.strip(), client_id.strip()
        if not client_id or len(client_id) > 200:
            raise OperatorError(400, "invalid_request", "client_id: required")
        if len(reason) < 3 or len(reason) > 500:
            raise OperatorError(400, "invalid_request", "reason: 3 to 500 characters")
        created = await self._requests().create(client_id, reason, session.operator.username)
        await self.s.chain.append(
            Event(
                actor_of(session),
                Action.OFFBOARDING_REQUESTED,
                {
                    "request_id": created.id,
                    "client_id": client_id,
                    "reason_sm3": sm3(reason.encode()).hex(),
                },
            )
        )
        return created

    async def decide_offboarding(
        self, session: Session, request_id: str, approve: bool
    ) -> OffboardingRequest:
        """Approve (and run) or reject a pending request. The requester can do neither:
        403 ``four_eyes``, audited as a refusal."""
        request = await self.offboarding(session, request_id)
        if request.requested_by == session.operator.username:
            await self.s.chain.append(
                Event(
                    actor_of(session),
                    Action.OPERATOR_DENIED,
                    {"permission": Permission.OFFBOARD.value, "request_id": request_id},
                )
            )
            raise OperatorError(403, "four_eyes", "a request must be decided by someone else")
        state = OffboardingState.APPROVED if approve else OffboardingState.REJECTED
        if not await self._requests().decide(request_id, state, session.operator.username):
            raise OperatorError(409, "not_pending", "the request was already decided")
        action = Action.OFFBOARDING_APPROVED if approve else Action.OFFBOARDING_REJECTED
        await self.s.chain.append(
            Event(
                actor_of(session),
                action,
                {
                    "request_id": request_id,
                    "client_id": request.client_id,
                    "requested_by": f"operator:{request.requested_by}",
                },
            )
        )
        if approve:
            reason = f"offboarding {request_id}: {request.reason}"
            revoked = await self.s.lifecycle.revoke_client_by_operator(
                request.client_id, operator=session.operator.username, reason=reason
            )
            await self._requests().record_result(request_id, len(revoked))
        return await self.offboarding(session, request_id)

    # --- the audit view ----------------------------------------------------------------
    async def audit_events(
        self, session: Session, filters: AuditFilter, before: str | None, limit: int
    ) -> AuditPage:
        """Audit entries, newest first, filtered (audited: who read the chain, how)."""
        await self.require(session, Permission.AUDIT_READ)
        page = await read_entries(self.s.chain.redis, filters, before, limit)
        await self.s.chain.append(
            Event(
                actor_of(session),
                Action.OPERATOR_AUDIT_READ,
                {"action": filters.action or "", "results": str(len(page.entries))},
            )
        )
        return page

    # --- accounts ----------------------------------------------------------------------
    async def accounts(self, session: Session) -> list[Operator]:
        """Every operator account."""
        await self.require(session, Permission.ACCOUNTS)
        return await self.s.accounts.list()

    async def change_account(
        self,
        session: Session,
        change: Change,
        username: str,
        *,
        role: Role | None = None,
        password: str | None = None,
    ) -> str | None:
        """Add, disable, enable or reset the TOTP of an account, audited exactly as the
        CLI does (:func:`consent.operator.account_admin.change_account`). An admin cannot
        disable or reset their own account (they would lock themselves out)."""
        await self.require(session, Permission.ACCOUNTS)
        if username == session.operator.username and change is not Change.ADDED:
            raise OperatorError(403, "own_account", "use another admin to change your account")
        return await change_account(
            self.s.accounts,
            self.s.chain,
            actor_of(session),
            change,
            username,
            role=role,
            password=password,
        )

    # --- dashboard ---------------------------------------------------------------------
    async def dashboard(self, session: Session, days: int, client_id: str | None) -> Dashboard:
        """The dashboard's figures for the last ``days`` (30 or 90) Hong Kong days."""
        await self.require(session, Permission.DASHBOARD)
        if days not in DASHBOARD_DAYS:
            raise OperatorError(400, "invalid_request", "days: 30 or 90")
        counters = self.s.counters
        return Dashboard(
            days=days,
            client_id=client_id or None,
            consents=await counters.series("consents", days, client_id or None),
            logins=await counters.series("logins", days, client_id or None),
            expiring=await counters.expiring(30, client_id or None),
            audit_head=await self.s.chain.head(),
            last_verification=await counters.last_verification(),
            clients=await counters.clients(),
        )


def dashboard_json(board: Dashboard) -> dict[str, Any]:
    """The dashboard as JSON (the API's ``GET /operator/api/dashboard``)."""
    return {
        "days": board.days,
        "client_id": board.client_id,
        "consents": {"days": board.consents.days, "counts": board.consents.counts},
        "consents_by_client": board.consents.by_client,
        "logins": {"days": board.logins.days, "counts": board.logins.counts},
        "logins_by_client": board.logins.by_client,
        "expiring": [{"day": d, "count": c} for d, c in board.expiring],
        "audit_head": board.audit_head,
        "last_verification": board.last_verification,
    }
