"""Lifecycle: remembered consent and the re-consent triggers, expiry by client policy,
revocation by the person, an operator and the system, each handed to the GrantRevoker.

The real GrantRevoker is the OIDC layer (built elsewhere); until it is wired in, these
tests use ``RecordingRevoker``, an implementation of *our own* Protocol that records the
calls. The flow tests proving introspection/userinfo/refresh fail after revocation are
written at integration time."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from consent.audit import AuditChain
from consent.capture import ConsentChoices, ReleaseItem, capture
from consent.lifecycle import ConsentLifecycle, ReasonRequired, expiry_loop
from consent.records import Status
from consent.redis_store import RedisConsentStore
from consent.store import ConsentNotFound
from tests.consent.factories import DIGEST_KEY, items, notice
from tests.consent.revokers import RecordingRevoker

NOW = 1_700_000_000


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def revoker() -> RecordingRevoker:
    return RecordingRevoker()


@pytest.fixture
def lifecycle(
    redis_store: RedisConsentStore, chain: AuditChain, revoker: RecordingRevoker, clock: Clock
) -> ConsentLifecycle:
    return ConsentLifecycle(redis_store, revoker, chain, digest_key=DIGEST_KEY, clock=clock)


async def _give(lifecycle: ConsentLifecycle, subject: str = "sub-1", **notice_args: object):
    captured = capture(
        subject,
        notice(**notice_args),
        items(),
        ConsentChoices(cross_boundary=True, kept_optional=frozenset({"email"})),
        digest_key=DIGEST_KEY,
        now=int(lifecycle.clock()),
    )
    await lifecycle.grant(captured)
    return captured.record


async def _actions(store: RedisConsentStore, consent_id: str) -> list[str]:
    return [e["action"] for e in await store.events(consent_id)]


async def test_remembered_consent_skips_the_page_until_something_changes(
    lifecycle: ConsentLifecycle, clock: Clock
) -> None:
    record = await _give(lifecycle)
    assert await lifecycle.find_remembered("sub-1", notice(), items()) == record
    # a value changed upstream
    assert await lifecycle.find_remembered("sub-1", notice(), items(name="CHAN, Siu Ming")) is None
    # the notice was revised
    assert await lifecycle.find_remembered("sub-1", notice(version="2024-02"), items()) is None
    # a new purpose
    purposes = ("account-registration", "research")
    assert await lifecycle.find_remembered("sub-1", notice(purposes=purposes), items()) is None
    # a new essential attribute
    more = [*items(), ReleaseItem(name="gender", value="M", essential=True)]
    assert await lifecycle.find_remembered("sub-1", notice(), more) is None
    # another person
    assert await lifecycle.find_remembered("sub-2", notice(), items()) is None
    # the client's remember period ran out
    clock.now = NOW + 3600
    assert await lifecycle.find_remembered("sub-1", notice(), items()) is None


async def test_reconsent_supersedes_without_ending_grants(
    lifecycle: ConsentLifecycle, redis_store: RedisConsentStore, revoker: RecordingRevoker
) -> None:
    old = await _give(lifecycle)
    new = await _give(lifecycle, version="2024-02")
    assert (await redis_store.get(old.id)).status is Status.EXPIRED
    assert await lifecycle.find_remembered("sub-1", notice(version="2024-02"), items()) == new
    assert await _actions(redis_store, new.id) == ["consent.reconsented"]
    assert revoker.calls == []


async def test_person_withdraws_and_the_client_loses_its_grants(
    lifecycle: ConsentLifecycle, redis_store: RedisConsentStore, revoker: RecordingRevoker
) -> None:
    record = await _give(lifecycle)
    with pytest.raises(ConsentNotFound):
        await lifecycle.revoke_by_person("sub-other", record.id)
    assert revoker.calls == []
    revoked = await lifecycle.revoke_by_person("sub-1", record.id)
    assert revoked.status is Status.REVOKED and revoked.revoked_by == "subject"
    assert revoker.calls == [("sub-1", "gd-social-security", "consent withdrawn by the person")]
    assert await lifecycle.find_remembered("sub-1", notice(), items()) is None
    assert await _actions(redis_store, record.id) == ["consent.granted", "consent.revoked"]


async def test_operator_revocation_needs_a_reason(
    lifecycle: ConsentLifecycle, redis_store: RedisConsentStore, revoker: RecordingRevoker
) -> None:
    record = await _give(lifecycle)
    with pytest.raises(ReasonRequired):
        await lifecycle.revoke_by_operator(record.id, operator="alice", reason="   ")
    assert (await redis_store.get(record.id)).status is Status.ACTIVE
    revoked = await lifecycle.revoke_by_operator(record.id, operator="alice", reason="ticket 42")
    assert (revoked.revoked_by, revoked.revoke_reason) == ("operator:alice", "ticket 42")
    assert revoker.calls == [("sub-1", "gd-social-security", "consent revoked by an operator")]
    events = await redis_store.events(record.id)
    assert events[-1]["actor"] == "operator:alice"


async def test_system_revocation_ends_every_client(
    lifecycle: ConsentLifecycle, revoker: RecordingRevoker
) -> None:
    await _give(lifecycle)
    await _give(lifecycle, client_id="gd-tax")
    revoked = await lifecycle.revoke_by_system("sub-1", reason="upstream account closed")
    assert len(revoked) == 2
    assert sorted(c[1] for c in revoker.calls) == ["gd-social-security", "gd-tax"]


async def test_expiry_by_client_policy_ends_grants(
    lifecycle: ConsentLifecycle,
    redis_store: RedisConsentStore,
    revoker: RecordingRevoker,
    clock: Clock,
) -> None:
    short = await _give(lifecycle, remember_seconds=60)
    keep = await _give(lifecycle, "sub-2", remember_seconds=0)
    clock.now = NOW + 59
    assert await lifecycle.expire_due() == []
    clock.now = NOW + 60
    expired = await lifecycle.expire_due()
    assert [r.id for r in expired] == [short.id]
    assert revoker.calls == [("sub-1", "gd-social-security", "consent expired")]
    assert (await redis_store.get(keep.id)).status is Status.ACTIVE
    assert (await _actions(redis_store, short.id))[-1] == "consent.expired"


async def test_a_failing_revoker_is_audited_and_the_consent_stays_revoked(
    redis_store: RedisConsentStore, chain: AuditChain, redis: aioredis.Redis
) -> None:
    failing = RecordingRevoker(fail=True)
    lifecycle = ConsentLifecycle(redis_store, failing, chain, digest_key=DIGEST_KEY)
    record = await _give(lifecycle)
    await lifecycle.revoke_by_person("sub-1", record.id)
    assert (await redis_store.get(record.id)).status is Status.REVOKED
    entries = await redis.xrange("idb:audit")
    assert entries[-1][1]["action"] == "consent.grant_revocation_failed"


async def test_expiry_loop_runs_until_stopped(
    lifecycle: ConsentLifecycle, revoker: RecordingRevoker, clock: Clock
) -> None:
    await _give(lifecycle, remember_seconds=1)
    clock.now = NOW + 5
    stop = asyncio.Event()
    task = asyncio.create_task(expiry_loop(lifecycle, 0.01, stop))
    for _ in range(100):
        if revoker.calls:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 2)
    assert revoker.calls == [("sub-1", "gd-social-security", "consent expired")]


class _Rendezvous(RecordingRevoker):
    """Returns only once two revocations are in flight together: a lifecycle that
    propagates one after another times out here."""

    def __init__(self) -> None:
        super().__init__()
        self.both = asyncio.Event()

    async def revoke_for(self, subject: str, client_id: str, *, reason: str) -> None:
        await super().revoke_for(subject, client_id, reason=reason)
        if len(self.calls) == 2:
            self.both.set()
        await asyncio.wait_for(self.both.wait(), timeout=2)


async def test_expiry_propagates_revocations_concurrently(
    redis_store: RedisConsentStore, chain: AuditChain, redis: aioredis.Redis, clock: Clock
) -> None:
    revoker = _Rendezvous()
    lifecycle = ConsentLifecycle(redis_store, revoker, chain, digest_key=DIGEST_KEY, clock=clock)
    await _give(lifecycle, "sub-1", remember_seconds=60)
    await _give(lifecycle, "sub-2", remember_seconds=60)
    clock.now = NOW + 60
    assert len(await lifecycle.expire_due()) == 2
    assert sorted(call[0] for call in revoker.calls) == ["sub-1", "sub-2"]
    entries = await redis.xrange("idb:audit")
    assert all(e[1]["action"] != "consent.grant_revocation_failed" for e in entries)
