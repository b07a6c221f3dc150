"""Reading the audit chain for people: entries newest first, filtered by actor, event type
and time, paged by stream id (issue 10 "Audit view"). Stream ids are
``<epoch ms>-<n>``, so a time range is a stream-id range: no entry outside it is read.
Each page reads at most ``SCAN_BUDGET`` entries, so a filter that rarely matches answers
quickly and offers "older entries" to go on.

Imports ``consent.audit`` and ``federation.storage``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from consent.audit import MalformedEntry, parse_entry
from federation.storage.keys import Keys

SCAN_BUDGET = 2000
_BATCH = 200
STREAM_ID = re.compile(r"^\d{1,15}-\d{1,10}$")


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """All optional: exact actor, exact action, epoch-second bounds (inclusive)."""

    actor: str | None = None
    action: str | None = None
    since: int | None = None
    until: int | None = None

    def matches(self, entry: dict[str, Any]) -> bool:
        """Whether ``entry`` passes the actor and action filters."""
        if self.actor and entry["actor"] != self.actor:
            return False
        return not self.action or entry["action"] == self.action


@dataclass(frozen=True, slots=True)
class AuditPage:
    """Entries newest first; ``next_before`` continues with older ones (``None``: done)."""

    entries: list[dict[str, Any]]
    next_before: str | None


async def read_entries(
    redis: aioredis.Redis, filters: AuditFilter, before: str | None, limit: int
) -> AuditPage:
    """One page of entries matching ``filters``, older than the stream id ``before``."""
    # stream ids are non-negative: a date before 1970 is clamped (Redis refuses "-5000")
    top = "+" if filters.until is None else f"{max(0, filters.until * 1000 + 999)}"
    if before and STREAM_ID.match(before):
        top = "(" + before
    bottom = "-" if filters.since is None else f"{max(0, filters.since * 1000)}"
    found: list[dict[str, Any]] = []
    examined = 0
    while examined < SCAN_BUDGET:
        rows = await redis.xrevrange(Keys.AUDIT_STREAM, top, bottom, count=_BATCH)
        for stream_id, fields in rows:
            examined += 1
            try:
                entry = parse_entry(stream_id, fields)
            except MalformedEntry:
                entry = {"id": stream_id, "seq": 0, "ts": 0, "actor": "?", "action": "?",
                         "objects": {}, "prev": "", "hash": "", "nonce": ""}  # fmt: skip
            if filters.matches(entry):
                found.append(entry)
                if len(found) == limit:
                    return AuditPage(found, stream_id)
        if len(rows) < _BATCH:
            return AuditPage(found, None)
        top = "(" + rows[-1][0]
    return AuditPage(found, top[1:])
