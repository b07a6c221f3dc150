"""The Redis consent store (DESIGN §5, §6): records as hashes, sorted-set indexes, and
every change written in one Lua call together with its audit entry (``consent.audit``).

Keys (``federation.storage.keys``): ``consent(id)`` hash; ``consents_by_subject``,
``consents_by_client`` and ``CONSENTS_ALL`` sorted sets scored by ``given_at``;
``CONSENTS_EXPIRY`` (active consents by expiry); ``remembered_consent(subject, client)``
→ current id; ``pii(id)`` the SM4-GCM sealed person-supplied values (AAD = record id);
``consent_events(id)`` the audit stream ids about the record.

Durability comes from the server (``appendfsync always``; ``deploy/redis.conf``) and,
optionally, ``WAIT`` on replicas (a client from ``federation.storage.client.connect`` with
``wait_replicas``, ``IDBRIDGE_REDIS_WAIT_REPLICAS``).
"""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

import redis.asyncio as aioredis

from consent.audit import Action, AuditChain, Event, Guard, GuardFailed, Write
from consent.records import ConsentRecord, Status, canonical_json
from consent.store import ConsentConflict, ConsentNotFound, ConsentQuery, InvalidCursor, Page
from federation.crypto import sm4
from federation.crypto.sm3 import sm3
from federation.storage.keys import Keys

_SCAN_BUDGET = 5000
_BATCH = 200
_MAX_SAVE_ATTEMPTS = 20


class PiiKeyMissing(RuntimeError):
    """Person-supplied values must be sealed but no PII key is configured."""


CURSOR = re.compile(r"^(\d{1,15})\.(cns_[A-Za-z0-9_-]{16,64})$")
"""A paging cursor: ``<score>.<consent id>``, the keyset position after which the next
page starts. Any text of this form is a valid position (so an API document can declare
it as a pattern); the older base64 form is still read."""


def _encode_cursor(score: float, member: str) -> str:
    return f"{int(score)}.{member}"


def _decode_cursor(cursor: str) -> tuple[int, str]:
    plain = CURSOR.match(cursor)
    if plain:
        return int(plain.group(1)), plain.group(2)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        score, member = raw.split(":", 1)
        if not member.startswith("cns_"):
            raise ValueError("not a consent id")
        return int(score), member
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor("cursor was not issued by this store") from exc


class RedisConsentStore:
    """:class:`consent.store.ConsentStore` on Redis."""

    def __init__(
        self, redis: aioredis.Redis, chain: AuditChain, pii_key: bytes | None = None
    ) -> None:
        self.redis = redis
        self.chain = chain
        self._pii_key = pii_key

    # --- writes ----------------------------------------------------------------------
    async def save(self, record: ConsentRecord, sealed_values: dict[str, Any] | None = None) -> str:
        if record.status is not Status.ACTIVE:
            raise ConsentConflict("only an active record can be saved")
        writes = self._record_writes(record, sealed_values)
        for _ in range(_MAX_SAVE_ATTEMPTS):
            pointer = Keys.remembered_consent(record.subject, record.client_id)
            pointed = await self.redis.get(pointer)
            previous = await self.current(record.subject, record.client_id)
            guards = [Guard(Keys.consent(record.id), "id", None), Guard(pointer, None, pointed)]
            index = [Keys.consent_events(record.id)]
            objects = {"consent_id": record.id, "client_id": record.client_id}
            action = Action.CONSENT_GRANTED
            extra: list[Write] = []
            if previous is not None and previous.id != record.id:
                action = Action.CONSENT_RECONSENTED
                objects["supersedes"] = previous.id
                guards.append(Guard(Keys.consent(previous.id), "status", Status.ACTIVE.value))
                index.append(Keys.consent_events(previous.id))
                extra = self._end_writes(
                    previous.id,
                    Status.EXPIRED,
                    record.given_at,
                    "system",
                    f"superseded by {record.id}",
                )
            try:
                appended = await self.chain.append(
                    Event("subject", action, objects),
                    writes=[*writes, *extra],
                    guards=guards,
                    index_keys=index,
                    shard_key=record.subject,
                )
            except GuardFailed as failed:
                if failed.index == 0:  # already stored: a retry after an unknown outcome
                    events = await self.events(record.id)
                    return str(events[0]["id"]) if events else ""
                continue  # the previous consent changed under us; look again
            return appended.stream_id
        raise ConsentConflict("concurrent consents for the same subject and client")

    def _record_writes(
        self, record: ConsentRecord, sealed_values: dict[str, Any] | None
    ) -> list[Write]:
        fields: list[str] = []
        for name, value in record.to_hash().items():
            fields += [name, value]
        writes = [
            Write("HSET", Keys.consent(record.id), tuple(fields)),
            Write("ZADD", Keys.consents_by_subject(record.subject), (record.given_at, record.id)),
            Write("ZADD", Keys.consents_by_client(record.client_id), (record.given_at, record.id)),
            Write("ZADD", Keys.CONSENTS_ALL, (record.given_at, record.id)),
            Write("SET", Keys.remembered_consent(record.subject, record.client_id), (record.id,)),
        ]
        if record.expires_at is not None:
            writes.append(Write("ZADD", Keys.CONSENTS_EXPIRY, (record.expires_at, record.id)))
        if sealed_values:
            writes.append(
                Write("SET", Keys.pii(record.id), (self._seal(record.id, sealed_values),))
            )
        return writes

    @staticmethod
    def _end_writes(consent_id: str, status: Status, at: int, by: str, reason: str) -> list[Write]:
        fields = (
            "status",
            status.value,
            "revoked_at",
            at,
            "revoked_by",
            by,
            "revoke_reason",
            reason,
        )
        return [
            Write("HSET", Keys.consent(consent_id), fields),
            Write("ZREM", Keys.CONSENTS_EXPIRY, (consent_id,)),
        ]

    async def _end(
        self, record: ConsentRecord, status: Status, *, by: str, reason: str, action: Action
    ) -> ConsentRecord:
        now = int(time.time())
        objects = {"consent_id": record.id, "client_id": record.client_id}
        if reason:
            objects["reason_sm3"] = sm3(reason.encode()).hex()
        try:
            await self.chain.append(
                Event(by, action, objects),
                writes=self._end_writes(record.id, status, now, by, reason),
                guards=[Guard(Keys.consent(record.id), "status", Status.ACTIVE.value)],
                index_keys=[Keys.consent_events(record.id)],
                shard_key=record.subject,
            )
        except GuardFailed as exc:
            raise ConsentConflict(f"consent {record.id} is no longer active") from exc
        return record.model_copy(
            update={"status": status, "revoked_at": now, "revoked_by": by, "revoke_reason": reason}
        )

    async def record_denial(self, subject: str, client_id: str, actor: str) -> str:
        appended = await self.chain.append(
            Event(actor, Action.CONSENT_DENIED, {"client_id": client_id}), shard_key=subject
        )
        return appended.stream_id

    async def revoke_by_id(self, consent_id: str, *, by: str, reason: str) -> ConsentRecord:
        record = await self.get(consent_id)
        if record.status is not Status.ACTIVE:
            raise ConsentConflict(f"consent {consent_id} is {record.status.value}")
        return await self._end(
            record, Status.REVOKED, by=by, reason=reason, action=Action.CONSENT_REVOKED
        )

    async def revoke_for_client(
        self, subject: str, client_id: str, *, by: str, reason: str
    ) -> list[ConsentRecord]:
        query = ConsentQuery(subject=subject, client_id=client_id, status=Status.ACTIVE)
        return await self._revoke_all(query, by=by, reason=reason)

    async def revoke_for_subject(
        self, subject: str, *, by: str, reason: str
    ) -> list[ConsentRecord]:
        query = ConsentQuery(subject=subject, status=Status.ACTIVE)
        return await self._revoke_all(query, by=by, reason=reason)

    async def _revoke_all(
        self, query: ConsentQuery, *, by: str, reason: str
    ) -> list[ConsentRecord]:
        revoked: list[ConsentRecord] = []
        cursor: str | None = None
        while True:
            page = await self.search(query, cursor, 100)
            for record in page.items:
                try:
                    revoked.append(
                        await self._end(
                            record,
                            Status.REVOKED,
                            by=by,
                            reason=reason,
                            action=Action.CONSENT_REVOKED,
                        )
                    )
                except ConsentConflict:
                    continue
            if page.next_cursor is None:
                return revoked
            cursor = page.next_cursor

    async def expire_due(self, now: int, limit: int = 500) -> list[ConsentRecord]:
        ids = await self.redis.zrangebyscore(Keys.CONSENTS_EXPIRY, "-inf", now, start=0, num=limit)
        expired: list[ConsentRecord] = []
        for consent_id in ids:
            try:
                record = await self.get(consent_id)
                expired.append(
                    await self._end(
                        record,
                        Status.EXPIRED,
                        by="system",
                        reason="expired",
                        action=Action.CONSENT_EXPIRED,
                    )
                )
            except (ConsentNotFound, ConsentConflict):
                continue
        return expired

    # --- reads -----------------------------------------------------------------------
    async def get(self, consent_id: str) -> ConsentRecord:
        fields = await self.redis.hgetall(Keys.consent(consent_id))
        if not fields:
            raise ConsentNotFound(consent_id)
        return ConsentRecord.from_hash(fields)

    async def get_sealed_values(self, consent_id: str) -> dict[str, Any]:
        sealed = await self.redis.get(Keys.pii(consent_id))
        if not sealed:
            return {}
        key = self._require_pii_key()
        plain = sm4.decrypt(key, base64.b64decode(sealed), aad=consent_id.encode())
        return dict(json.loads(plain))

    async def current(self, subject: str, client_id: str) -> ConsentRecord | None:
        consent_id = await self.redis.get(Keys.remembered_consent(subject, client_id))
        if not consent_id:
            return None
        try:
            record = await self.get(consent_id)
        except ConsentNotFound:
            return None
        return record if record.status is Status.ACTIVE else None

    async def find_remembered(
        self, subject: str, client_id: str, consent_key: str, now: int
    ) -> ConsentRecord | None:
        record = await self.current(subject, client_id)
        return record if record is not None and record.remembered_for(consent_key, now) else None

    async def list_by_subject(self, subject: str, cursor: str | None, limit: int) -> Page:
        return await self.search(ConsentQuery(subject=subject), cursor, limit)

    async def list_by_client(self, client_id: str, cursor: str | None, limit: int) -> Page:
        return await self.search(ConsentQuery(client_id=client_id), cursor, limit)

    async def search(self, query: ConsentQuery, cursor: str | None, limit: int) -> Page:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if query.subject is not None:
            index = Keys.consents_by_subject(query.subject)
        elif query.client_id is not None:
            index = Keys.consents_by_client(query.client_id)
        else:
            index = Keys.CONSENTS_ALL
        top = "+inf" if query.given_to is None else str(query.given_to)
        bottom = "-inf" if query.given_from is None else str(query.given_from)
        after: tuple[int, str] | None = _decode_cursor(cursor) if cursor else None
        if after is not None and query.oldest_first:
            bottom = str(after[0] if query.given_from is None else max(after[0], query.given_from))
        elif after is not None:
            top = str(after[0]) if query.given_to is None else str(min(after[0], query.given_to))
        return await self._scan(index, top, bottom, after, query, limit)

    async def _range(
        self, index: str, top: str, bottom: str, offset: int, oldest_first: bool
    ) -> list[tuple[str, float]]:
        if oldest_first:
            return await self.redis.zrangebyscore(
                index, bottom, top, start=offset, num=_BATCH, withscores=True
            )
        return await self.redis.zrevrangebyscore(
            index, top, bottom, start=offset, num=_BATCH, withscores=True
        )

    @staticmethod
    def _past(after: tuple[int, str] | None, member: str, score: float, ascending: bool) -> bool:
        """Whether ``(score, member)`` comes after the cursor in the scan's order."""
        if after is None:
            return True
        if ascending:
            return score > after[0] or member > after[1]
        return score < after[0] or member < after[1]

    async def _scan(
        self,
        index: str,
        top: str,
        bottom: str,
        after: tuple[int, str] | None,
        query: ConsentQuery,
        limit: int,
    ) -> Page:
        items: list[ConsentRecord] = []
        offset = examined = 0
        last: tuple[float, str] | None = None
        while examined < _SCAN_BUDGET:
            raw = await self._range(index, top, bottom, offset, query.oldest_first)
            offset += len(raw)
            rows = [(m, s) for m, s in raw if self._past(after, m, s, query.oldest_first)]
            pipe = self.redis.pipeline(transaction=False)
            for member, _ in rows:
                pipe.hgetall(Keys.consent(member))
            loaded = await pipe.execute() if rows else []
            for (member, score), fields in zip(rows, loaded, strict=True):
                examined += 1
                last = (score, member)
                if fields:
                    record = ConsentRecord.from_hash(fields)
                    if query.matches(record):
                        items.append(record)
                if len(items) == limit:
                    return Page(items, _encode_cursor(score, member))
            if len(raw) < _BATCH:
                return Page(items, None)
        return Page(items, _encode_cursor(*last) if last else None)

    async def events(self, consent_id: str) -> list[dict[str, Any]]:
        return await self.chain.events_for(Keys.consent_events(consent_id))

    # --- sealing ---------------------------------------------------------------------
    def _require_pii_key(self) -> bytes:
        if self._pii_key is None:
            raise PiiKeyMissing("IDBRIDGE_PII_KEY is required to seal person-supplied values")
        return self._pii_key

    def _seal(self, consent_id: str, values: dict[str, Any]) -> str:
        key = self._require_pii_key()
        sealed = sm4.encrypt(key, canonical_json(values), aad=consent_id.encode())
        return base64.b64encode(sealed).decode()
