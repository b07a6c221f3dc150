"""Activity counters for the operator console's dashboard (issue 10 "Dashboard"), kept in
Redis as events happen so that the dashboard never scans the records.

Writers: :meth:`ActivityCounters.consents_changed` is the consent lifecycle's observer
(``consent.lifecycle.ConsentLifecycle(observer=...)``: one call when a consent is given,
one where every ending is propagated); :meth:`ActivityCounters.login` is called by the
journey where it ends (success, declined, or the upstream's error code). Each increment is
one ``HINCRBY`` on the Hong Kong day's hash (``Keys.stats_day``), field
``<event>|<client_id>``, kept ``RETENTION_DAYS``.

Readers: :meth:`ActivityCounters.series` reads 30 or 90 day-hashes in one pipelined round
trip; consents expiring soon are ``ZCOUNT`` ranges over the store's expiry index, or over
the relying party's expiry set kept here (a count in the sorted set's tree, not a scan).

Imports ``consent.records`` and ``federation.storage`` only (and the standard library).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis

from consent.records import ConsentRecord
from federation.storage.keys import Keys

HONG_KONG = ZoneInfo("Asia/Hong_Kong")
RETENTION_DAYS = 100
CONSENT_EVENTS: tuple[str, ...] = ("given", "withdrawn", "expired")
LOGIN_SUCCESS = "success"
LOGIN_DECLINED = "declined"
_MAX_FIELD = 120


def hk_day(epoch: float) -> str:
    """``YYYY-MM-DD`` of ``epoch`` in Hong Kong."""
    return datetime.fromtimestamp(epoch, HONG_KONG).strftime("%Y-%m-%d")


def _field(event: str, client_id: str) -> str:
    return f"{event}|{client_id}"[:_MAX_FIELD]


@dataclass(frozen=True, slots=True)
class Series:
    """Counts per Hong Kong day (oldest first) per ``event`` and per relying party."""

    days: list[str]
    counts: dict[str, list[int]]
    """``event`` → one count per day (every relying party, or the one asked for)."""
    by_client: dict[str, dict[str, int]] = field(default_factory=dict)
    """``client_id`` → ``event`` → total over the period."""


class ActivityCounters:
    """Increment and read the dashboard's counters."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def _bump(self, kind: str, event: str, client_id: str, at: float | None) -> None:
        key = Keys.stats_day(kind, hk_day(time.time() if at is None else at))
        pipe = self.redis.pipeline(transaction=False)
        pipe.hincrby(key, _field(event, client_id), 1)
        pipe.expire(key, RETENTION_DAYS * 86400)
        pipe.sadd(Keys.STATS_CLIENTS, client_id[:_MAX_FIELD])
        await pipe.execute()

    async def consents_changed(self, event: str, records: list[ConsentRecord]) -> None:
        """``event`` (given | withdrawn | expired) happened to ``records``. A given consent
        that expires joins its relying party's expiry set (``Keys.stats_expiry``); an
        ended one leaves it."""
        if event not in CONSENT_EVENTS or not records:
            return
        key = Keys.stats_day("consents", hk_day(time.time()))
        pipe = self.redis.pipeline(transaction=False)
        for record in records:
            client_id = record.client_id[:_MAX_FIELD]
            pipe.hincrby(key, _field(event, client_id), 1)
            pipe.sadd(Keys.STATS_CLIENTS, client_id)
            if event == "given" and record.expires_at is not None:
                pipe.zadd(Keys.stats_expiry(client_id), {record.id: record.expires_at})
            elif event != "given":
                pipe.zrem(Keys.stats_expiry(client_id), record.id)
        pipe.expire(key, RETENTION_DAYS * 86400)
        await pipe.execute()

    async def login(self, client_id: str, outcome: str, at: float | None = None) -> None:
        """A login journey ended: ``success``, ``declined`` or ``upstream:<code>``."""
        await self._bump("logins", outcome, client_id, at)

    async def clients(self) -> list[str]:
        """Every client id the counters have seen, sorted."""
        return sorted(await self.redis.smembers(Keys.STATS_CLIENTS))

    async def series(
        self, kind: str, days: int, client_id: str | None = None, now: float | None = None
    ) -> Series:
        """``days`` Hong Kong days ending today, one pipelined round trip."""
        today = datetime.fromtimestamp(time.time() if now is None else now, HONG_KONG).date()
        labels = [(today - timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]
        pipe = self.redis.pipeline(transaction=False)
        for label in labels:
            pipe.hgetall(Keys.stats_day(kind, label))
        rows = await pipe.execute()
        counts: dict[str, list[int]] = {}
        by_client: dict[str, dict[str, int]] = {}
        for index, row in enumerate(rows):
            for name, value in row.items():
                event, _, client = name.partition("|")
                totals = by_client.setdefault(client, {})
                totals[event] = totals.get(event, 0) + int(value)
                if client_id is not None and client != client_id:
                    continue
                counts.setdefault(event, [0] * len(labels))[index] += int(value)
        return Series(labels, counts, by_client)

    async def expiring(
        self, days: int = 30, client_id: str | None = None, now: float | None = None
    ) -> list[tuple[str, int]]:
        """Active consents expiring on each of the next ``days`` Hong Kong days (of one
        relying party, or of all: the store's own expiry index)."""
        index = Keys.stats_expiry(client_id[:_MAX_FIELD]) if client_id else Keys.CONSENTS_EXPIRY
        start = datetime.fromtimestamp(time.time() if now is None else now, HONG_KONG)
        midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
        pipe = self.redis.pipeline(transaction=False)
        labels = []
        for n in range(days):
            low = start if n == 0 else midnight + timedelta(days=n)
            high = midnight + timedelta(days=n + 1)
            labels.append(low.date().isoformat())
            pipe.zcount(index, int(low.timestamp()), f"({int(high.timestamp())}")
        return list(zip(labels, [int(c) for c in await pipe.execute()], strict=True))

    async def record_verification(self, ok: bool, seq: int, problem: str | None) -> None:
        """Remember the last full verification of the audit chain (shown on the dashboard)."""
        await self.redis.hset(
            Keys.STATS_AUDIT_VERIFIED,
            mapping={
                "ok": "1" if ok else "0",
                "seq": str(seq),
                "at": str(int(time.time())),
                "problem": problem or "",
            },
        )

    async def last_verification(self) -> dict[str, str]:
        """What :meth:`record_verification` stored ({} if never)."""
        return dict(await self.redis.hgetall(Keys.STATS_AUDIT_VERIFIED))
