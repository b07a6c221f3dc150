"""Timestamp order (CorpID-SPEC §2.4.1: a timestamp must not be lower than the previous
request's): the connector resends a D20004 refusal with a fresh timestamp and nonce a
bounded number of times; the simulator is strict by default and has an explicit reorder
window for load tests, which still refuses replayed nonces.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from connectors.base import UpstreamProtocolError
from connectors.iamsmart.client import TIMESTAMP_RETRIES
from connectors.iamsmart.connector import IAMSmartConnector, new_state
from connectors.iamsmart.simulator.config import SimulatorSettings
from connectors.iamsmart.simulator.state import SimulatorState, now_ms
from tests.asgi_poster import AsgiPoster

from .conftest import Receiver, make_config

TOKEN = {"code": "D00000", "content": {"accessToken": "t", "openID": "o", "userType": "default"}}


class RefusingUpstream:
    """Answers D20004 to the first ``refusals`` requests, then a getToken success; keeps
    the signing headers of every request."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.seen: list[tuple[int, str]] = []
        self.app = FastAPI()

        @self.app.post("/{path:path}")
        async def answer(path: str, request: Request) -> JSONResponse:
            self.seen.append((int(request.headers["timestamp"]), request.headers["nonce"]))
            if len(self.seen) <= self.refusals:
                return JSONResponse({"code": "D20004", "message": "timestamp"})
            return JSONResponse(TOKEN)


@pytest.fixture
async def make_connector(
    keypair: tuple[Path, Path],
) -> AsyncIterator:
    opened: list[IAMSmartConnector] = []

    def build(upstream: RefusingUpstream) -> IAMSmartConnector:
        base = "http://127.0.0.1:9"  # never dialled: the ASGI transport answers
        http = AsgiPoster(upstream.app)
        config = make_config(
            base, Receiver(url="http://127.0.0.1:9"), keypair[0], encrypt_get_token_body=False
        )
        opened.append(IAMSmartConnector(config, http=http))
        return opened[-1]

    yield build
    for connector in opened:
        await connector.aclose()


async def test_refused_timestamps_are_resent_with_fresh_stamp_and_nonce(make_connector) -> None:
    upstream = RefusingUpstream(refusals=2)
    connector = make_connector(upstream)
    state = new_state()
    identity = await connector.handle_callback({"state": state, "code": "c"}, expected_state=state)
    assert identity.subject == "o"
    assert len(upstream.seen) == 3
    stamps = [t for t, _ in upstream.seen]
    assert stamps == sorted(stamps)
    assert len({n for _, n in upstream.seen}) == 3


async def test_timestamp_resends_are_bounded(make_connector) -> None:
    upstream = RefusingUpstream(refusals=100)
    connector = make_connector(upstream)
    state = new_state()
    with pytest.raises(UpstreamProtocolError) as caught:
        await connector.handle_callback({"state": state, "code": "c"}, expected_state=state)
    assert caught.value.upstream_code == "D20004"
    assert len(upstream.seen) == TIMESTAMP_RETRIES + 1


def test_strict_by_default_a_lower_timestamp_is_refused() -> None:
    state = SimulatorState(SimulatorSettings())
    now = now_ms()
    assert state.accept_timestamp("c", now)
    assert state.accept_timestamp("c", now)  # equal is not lower
    assert not state.accept_timestamp("c", now - 1)


def test_reorder_window_accepts_slightly_lower_timestamps_only() -> None:
    state = SimulatorState(SimulatorSettings(timestamp_reorder_ms=50))
    now = now_ms()
    assert state.accept_timestamp("c", now)
    assert state.accept_timestamp("c", now - 30)
    assert state.accept_timestamp("c", now - 50)
    assert not state.accept_timestamp("c", now - 51)
    assert state.last_timestamp["c"] == now  # the window hangs off the highest seen
    assert not state.accept_timestamp("c", now - 400_000)  # the skew still applies


def test_reorder_window_still_refuses_a_replayed_nonce() -> None:
    state = SimulatorState(SimulatorSettings(timestamp_reorder_ms=1000))
    assert state.accept_nonce("c", "n-1")
    assert state.accept_nonce("c", "n-2")
    assert not state.accept_nonce("c", "n-1")


def test_old_nonces_are_forgotten_oldest_first() -> None:
    state = SimulatorState(SimulatorSettings(timestamp_skew_ms=1000))
    seen = state.nonces.setdefault("c", {})
    old = now_ms() - 5000
    for i in range(100):
        seen[f"old-{i}"] = old
    assert state.accept_nonce("c", "fresh")
    assert len(seen) == 100 - 64 + 1  # at most 64 expired entries dropped per request
    assert state.accept_nonce("c", "fresh-2")
    assert "fresh" in seen and not any(k.startswith("old-") for k in seen)
    assert not state.accept_nonce("c", "fresh")
