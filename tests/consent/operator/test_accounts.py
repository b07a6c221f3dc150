"""Operator accounts: argon2id hashing and verification stay off the event loop."""

from __future__ import annotations

import asyncio
import time

import pyotp

from consent.operator.accounts import _hasher
from consent.operator.roles import Role
from consent.services import ConsentServices
from tests.consent.operator.conftest import PASSWORD, secret_of


async def _max_loop_gap(work: asyncio.Future[object]) -> float:
    """The longest time the event loop went without running a 1 ms ticker while ``work``
    was in progress."""
    gap, last = 0.0, time.perf_counter()
    while not work.done():
        await asyncio.sleep(0.001)
        now = time.perf_counter()
        gap, last = max(gap, now - last), now
    await work
    return gap


async def test_password_verification_does_not_block_the_event_loop(
    services: ConsentServices,
) -> None:
    uri = await services.accounts.add("alice", PASSWORD, Role.VIEWER)
    stored = _hasher.hash(PASSWORD)
    started = time.perf_counter()
    _hasher.verify(stored, PASSWORD)
    one_verify = time.perf_counter() - started
    code = pyotp.TOTP(secret_of(uri)).at(time.time())
    attempts = [
        services.accounts.authenticate("alice", "wrong password", code),
        services.accounts.authenticate("nobody", PASSWORD, code),
        services.accounts.authenticate("alice", "another wrong one", code),
    ]
    work = asyncio.ensure_future(asyncio.gather(*attempts))
    gap = await _max_loop_gap(work)
    assert work.result() == [None, None, None]
    assert gap < one_verify / 2, (
        f"loop blocked {gap * 1000:.0f} ms (verify {one_verify * 1000:.0f})"
    )


async def test_password_hashing_does_not_block_the_event_loop(
    services: ConsentServices,
) -> None:
    started = time.perf_counter()
    _hasher.hash(PASSWORD)
    one_hash = time.perf_counter() - started
    adds = [services.accounts.add(f"op{i}", PASSWORD, Role.VIEWER) for i in range(3)]
    work = asyncio.ensure_future(asyncio.gather(*adds))
    gap = await _max_loop_gap(work)
    assert len(work.result()) == 3
    assert gap < one_hash / 2, f"loop blocked {gap * 1000:.0f} ms (hash {one_hash * 1000:.0f})"
