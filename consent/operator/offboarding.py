"""Four-eyes offboarding: withdrawing every consent given to one relying party needs two
operators (issue 10 "Actions"). One requests (with a reason), a *different* one approves;
only then does the lifecycle withdraw the consents (tokens revoked, back-channel logout
sent). Requests live in Redis (``Keys.operator_offboarding``, indexed by time in
``Keys.OPERATOR_OFFBOARDINGS``); the approval claims the request atomically, so two
approvers cannot both run it. Auditing is the caller's (``consent.operator.service``).

Imports ``federation.storage`` only.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from enum import StrEnum

import redis.asyncio as aioredis

from federation.storage.keys import Keys

REQUEST_ID = r"^off_[A-Za-z0-9_-]{16,40}$"


class OffboardingState(StrEnum):
    """Where a request stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class OffboardingRequest:
    """One request to withdraw every consent of ``client_id``."""

    id: str
    client_id: str
    reason: str
    requested_by: str
    requested_at: int
    state: OffboardingState
    decided_by: str | None = None
    decided_at: int | None = None
    withdrawn: int | None = None


_CLAIM = """
if redis.call('HGET', KEYS[1], 'state') ~= 'pending' then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'decided_by', ARGV[2], 'decided_at', ARGV[3])
return 1
"""


class OffboardingRequests:
    """Store, list and decide offboarding requests."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def create(self, client_id: str, reason: str, requested_by: str) -> OffboardingRequest:
        """A new pending request."""
        request = OffboardingRequest(
            id="off_" + secrets.token_urlsafe(16),
            client_id=client_id,
            reason=reason,
            requested_by=requested_by,
            requested_at=int(time.time()),
            state=OffboardingState.PENDING,
        )
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(
            Keys.operator_offboarding(request.id),
            mapping={
                "client_id": client_id,
                "reason": reason,
                "requested_by": requested_by,
                "requested_at": str(request.requested_at),
                "state": request.state.value,
            },
        )
        pipe.zadd(Keys.OPERATOR_OFFBOARDINGS, {request.id: request.requested_at})
        await pipe.execute()
        return request

    async def get(self, request_id: str) -> OffboardingRequest | None:
        """The request, or ``None``."""
        fields = await self.redis.hgetall(Keys.operator_offboarding(request_id))
        if not fields.get("client_id"):
            return None
        return OffboardingRequest(
            id=request_id,
            client_id=fields["client_id"],
            reason=fields.get("reason", ""),
            requested_by=fields.get("requested_by", ""),
            requested_at=int(fields.get("requested_at", 0)),
            state=OffboardingState(fields.get("state", "pending")),
            decided_by=fields.get("decided_by"),
            decided_at=int(fields["decided_at"]) if fields.get("decided_at") else None,
            withdrawn=int(fields["withdrawn"]) if fields.get("withdrawn") else None,
        )

    async def recent(self, limit: int = 50) -> list[OffboardingRequest]:
        """The newest requests first."""
        ids = await self.redis.zrevrange(Keys.OPERATOR_OFFBOARDINGS, 0, limit - 1)
        found = [await self.get(i) for i in ids]
        return [r for r in found if r is not None]

    async def decide(self, request_id: str, state: OffboardingState, by: str) -> bool:
        """Move a pending request to ``state``; ``False`` if it was no longer pending."""
        claimed = await self.redis.eval(
            _CLAIM,
            1,
            Keys.operator_offboarding(request_id),
            state.value,
            by,
            str(int(time.time())),
        )
        return bool(claimed)

    async def record_result(self, request_id: str, withdrawn: int) -> None:
        """How many consents the approved request withdrew."""
        await self.redis.hset(Keys.operator_offboarding(request_id), "withdrawn", str(withdrawn))
