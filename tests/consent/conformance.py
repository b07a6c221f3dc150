"""The consent store conformance suite (Hydra ``manager_test_helpers.go``; Dex
``storage/conformance``). Every backend runs exactly these tests: subclass
:class:`ConsentStoreConformance` and provide a ``store`` fixture (see
``test_redis_store.py``)."""

from __future__ import annotations

import asyncio
import time

import pytest

from consent.records import Status
from consent.store import (
    ConsentConflict,
    ConsentNotFound,
    ConsentQuery,
    ConsentStore,
    InvalidCursor,
)
from tests.consent.factories import grant


async def _pages(store: ConsentStore, query: ConsentQuery, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        page = await store.search(query, cursor, limit)
        pages.append([r.id for r in page.items])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor
        assert len(pages) < 100, "paging does not terminate"


def _actions(events: list[dict]) -> list[str]:
    return [e["action"] for e in events]


class ConsentStoreConformance:
    """Behaviour every :class:`consent.store.ConsentStore` must have."""

    async def test_save_then_get_round_trips(self, store: ConsentStore) -> None:
        captured = grant()
        event_id = await store.save(captured.record)
        assert event_id
        assert await store.get(captured.record.id) == captured.record

    async def test_get_unknown_raises(self, store: ConsentStore) -> None:
        with pytest.raises(ConsentNotFound):
            await store.get("cns_doesnotexist0000000000")

    async def test_granted_event_recorded_once_even_when_save_is_retried(
        self, store: ConsentStore
    ) -> None:
        record = grant().record
        first = await store.save(record)
        again = await store.save(record)
        events = await store.events(record.id)
        assert _actions(events) == ["consent.granted"]
        assert first == again == events[0]["id"]
        assert events[0]["objects"]["consent_id"] == record.id

    async def test_remembered_consent_matches_only_the_same_key(self, store: ConsentStore) -> None:
        now = int(time.time())
        record = grant(now=now).record
        await store.save(record)
        found = await store.find_remembered(
            record.subject, record.client_id, record.consent_key, now
        )
        assert found == record
        other_key = grant(now=now, version="2024-02").record.consent_key
        assert other_key != record.consent_key
        assert await store.find_remembered(record.subject, record.client_id, other_key, now) is None
        assert (
            await store.find_remembered("someone-else", record.client_id, record.consent_key, now)
            is None
        )

    async def test_remembered_consent_ends_at_expiry(self, store: ConsentStore) -> None:
        now = int(time.time())
        record = grant(now=now, remember_seconds=60).record
        await store.save(record)
        key = record.consent_key
        assert await store.find_remembered(record.subject, record.client_id, key, now + 59)
        assert await store.find_remembered(record.subject, record.client_id, key, now + 60) is None

    async def test_ask_every_time_policy_is_never_remembered(self, store: ConsentStore) -> None:
        now = int(time.time())
        record = grant(now=now, remember_seconds=0).record
        await store.save(record)
        assert record.expires_at is None
        assert (
            await store.find_remembered(record.subject, record.client_id, record.consent_key, now)
            is None
        )
        assert await store.current(record.subject, record.client_id) == record

    async def test_new_consent_supersedes_the_previous_one(self, store: ConsentStore) -> None:
        old = grant(now=1_700_000_000).record
        new = grant(now=1_700_000_100, version="2024-02").record
        await store.save(old)
        await store.save(new)
        assert (await store.current(old.subject, old.client_id)) == new
        old_now = await store.get(old.id)
        assert old_now.status is Status.EXPIRED
        assert old_now.revoke_reason == f"superseded by {new.id}"
        assert _actions(await store.events(old.id)) == ["consent.granted", "consent.reconsented"]
        assert _actions(await store.events(new.id)) == ["consent.reconsented"]

    async def test_concurrent_saves_for_one_client_leave_one_active(
        self, store: ConsentStore
    ) -> None:
        records = [grant(now=1_700_000_000 + i).record for i in range(8)]
        await asyncio.gather(*(store.save(r) for r in records))
        page = await store.search(ConsentQuery(subject="sub-0001", status=Status.ACTIVE), None, 50)
        assert len(page.items) == 1
        everything = await store.list_by_subject("sub-0001", None, 50)
        assert len(everything.items) == 8

    async def test_list_by_subject_pages_newest_first_without_gaps(
        self, store: ConsentStore
    ) -> None:
        ids = []
        for i in range(23):  # ties on given_at exercise the keyset tie-break
            record = grant("sub-page", f"client-{i:02d}", now=1_700_000_000 + i // 4).record
            await store.save(record)
            ids.append(record.id)
        pages = await _pages(store, ConsentQuery(subject="sub-page"), 10)
        assert [len(p) for p in pages] == [10, 10, 3]
        flat = [i for p in pages for i in p]
        assert sorted(flat) == sorted(ids)
        given = [(await store.get(i)).given_at for i in flat]
        assert given == sorted(given, reverse=True)
        via_method = await store.list_by_subject("sub-page", None, 10)
        assert [r.id for r in via_method.items] == pages[0]

    async def test_list_by_client(self, store: ConsentStore) -> None:
        mine = [grant(f"sub-{i}", "client-a").record for i in range(5)]
        other = grant("sub-x", "client-b").record
        for record in [*mine, other]:
            await store.save(record)
        page = await store.list_by_client("client-a", None, 50)
        assert sorted(r.id for r in page.items) == sorted(r.id for r in mine)
        assert page.next_cursor is None

    async def test_search_filters_status_client_and_dates(self, store: ConsentStore) -> None:
        base = 1_700_000_000
        records = [
            grant(f"sub-{i}", f"client-{i % 2}", now=base + i * 100).record for i in range(6)
        ]
        for record in records:
            await store.save(record)
        await store.revoke_by_id(records[0].id, by="subject", reason="changed my mind")
        revoked = await store.search(ConsentQuery(status=Status.REVOKED), None, 50)
        assert [r.id for r in revoked.items] == [records[0].id]
        client1 = await store.search(ConsentQuery(client_id="client-1"), None, 50)
        assert sorted(r.id for r in client1.items) == sorted(r.id for r in records[1::2])
        window = ConsentQuery(given_from=base + 100, given_to=base + 300)
        dated = await store.search(window, None, 50)
        assert [r.id for r in dated.items] == [records[3].id, records[2].id, records[1].id]
        both = await store.search(ConsentQuery(subject="sub-2", client_id="client-0"), None, 50)
        assert [r.id for r in both.items] == [records[2].id]
        none = await store.search(ConsentQuery(subject="sub-2", client_id="client-1"), None, 50)
        assert none.items == [] and none.next_cursor is None

    async def test_bad_cursor_is_rejected(self, store: ConsentStore) -> None:
        with pytest.raises(InvalidCursor):
            await store.search(ConsentQuery(), "not-a-cursor!", 10)

    async def test_revoke_by_id_records_who_and_why(self, store: ConsentStore) -> None:
        record = grant().record
        await store.save(record)
        revoked = await store.revoke_by_id(record.id, by="operator:alice", reason="court order 12")
        stored = await store.get(record.id)
        assert stored == revoked
        assert stored.status is Status.REVOKED
        assert (stored.revoked_by, stored.revoke_reason) == ("operator:alice", "court order 12")
        assert stored.revoked_at is not None
        assert await store.current(record.subject, record.client_id) is None
        events = await store.events(record.id)
        assert _actions(events) == ["consent.granted", "consent.revoked"]
        assert events[1]["actor"] == "operator:alice"
        assert "court order" not in str(events[1])  # the reason is in the record, not the log
        with pytest.raises(ConsentConflict):
            await store.revoke_by_id(record.id, by="subject", reason="again")

    async def test_revoke_for_client_touches_only_that_client(self, store: ConsentStore) -> None:
        a = grant("sub-r", "client-a").record
        b = grant("sub-r", "client-b").record
        other = grant("sub-other", "client-a").record
        for record in (a, b, other):
            await store.save(record)
        revoked = await store.revoke_for_client("sub-r", "client-a", by="subject", reason="")
        assert [r.id for r in revoked] == [a.id]
        assert (await store.get(a.id)).status is Status.REVOKED
        assert (await store.get(b.id)).status is Status.ACTIVE
        assert (await store.get(other.id)).status is Status.ACTIVE

    async def test_revoke_for_subject_revokes_all_of_theirs(self, store: ConsentStore) -> None:
        mine = [grant("sub-s", f"client-{i}").record for i in range(3)]
        other = grant("sub-t", "client-0").record
        for record in [*mine, other]:
            await store.save(record)
        revoked = await store.revoke_for_subject("sub-s", by="system", reason="account closed")
        assert sorted(r.id for r in revoked) == sorted(r.id for r in mine)
        statuses = [(await store.get(r.id)).status for r in mine]
        assert statuses == [Status.REVOKED] * 3
        assert (await store.get(other.id)).status is Status.ACTIVE
        assert await store.revoke_for_subject("sub-s", by="system", reason="again") == []

    async def test_expire_due_expires_only_what_is_due(self, store: ConsentStore) -> None:
        now = 1_700_000_000
        short = grant("sub-e1", now=now, remember_seconds=10).record
        long = grant("sub-e2", now=now, remember_seconds=1000).record
        forever = grant("sub-e3", now=now, remember_seconds=0).record
        for record in (short, long, forever):
            await store.save(record)
        expired = await store.expire_due(now + 10)
        assert [r.id for r in expired] == [short.id]
        assert (await store.get(short.id)).status is Status.EXPIRED
        assert (await store.get(long.id)).status is Status.ACTIVE
        assert (await store.get(forever.id)).status is Status.ACTIVE
        assert await store.expire_due(now + 10) == []
        assert _actions(await store.events(short.id))[-1] == "consent.expired"

    async def test_revoked_consent_does_not_expire_later(self, store: ConsentStore) -> None:
        record = grant(now=1_700_000_000, remember_seconds=10).record
        await store.save(record)
        await store.revoke_by_id(record.id, by="subject", reason="")
        assert await store.expire_due(1_700_000_100) == []
        assert (await store.get(record.id)).status is Status.REVOKED

    async def test_person_supplied_values_round_trip_sealed(self, store: ConsentStore) -> None:
        record = grant().record
        await store.save(record, {"hrp_number": "H12345678"})
        assert await store.get_sealed_values(record.id) == {"hrp_number": "H12345678"}
        assert await store.get_sealed_values(grant("sub-none").record.id) == {}

    async def test_denial_is_recorded(self, store: ConsentStore) -> None:
        event_id = await store.record_denial("sub-d", "client-a", "subject")
        assert event_id
