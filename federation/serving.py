"""Server-side settings of ``idbridge serve`` that an ASGI app cannot enforce itself (layer
4, beside the CLI): slow-client timeouts.

uvicorn times out idle keep-alive connections but not a client that sends its request
head, or its body, slowly (a "slowloris"): each such connection holds a socket and a
request in flight for as long as the client likes. :func:`slow_client_protocol` returns
uvicorn's HTTP protocol class with a watchdog: a connection whose request head is not
complete within ``timeout`` seconds of its first byte being awaited, or whose body is not
complete within ``timeout`` seconds of its head, is closed (within 1.5 × ``timeout``), and
logged at INFO. RFC 9110 §15.5.9 (408) allows closing such a connection; a response is
not sent to a client that is not reading. The handler's own time is not limited here.
See docs/operations.md, Limits and overload; the front proxy should be at least as strict.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

log = logging.getLogger("idbridge.serving")


def _base_protocol() -> type[asyncio.Protocol]:
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        return HttpToolsProtocol
    except ImportError:  # httptools is optional in uvicorn
        from uvicorn.protocols.http.h11_impl import H11Protocol

        return H11Protocol


def slow_client_protocol(timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol (httptools, else h11) closing slow clients after
    ``timeout`` seconds per phase (head, then body)."""
    base: Any = _base_protocol()

    class SlowClientProtocol(base):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            self._phase: tuple[int, str] = (0, "head")
            self._since = time.monotonic()
            self._watchdog = self.loop.call_later(timeout / 2, self._check)

        def connection_lost(self, exc: Exception | None) -> None:
            self._watchdog.cancel()
            super().connection_lost(exc)

        def _current(self) -> tuple[int, str]:
            cycle = self.cycle
            if cycle is None or cycle.response_complete:
                return (id(cycle), "head")  # awaiting the (next) request head
            if cycle.more_body:
                return (id(cycle), "body")
            return (id(cycle), "app")  # the handler's time, not the client's

        def _check(self) -> None:
            now = time.monotonic()
            phase = self._current()
            if phase != self._phase:
                self._phase, self._since = phase, now
            elif phase[1] != "app" and now - self._since > timeout:
                log.info("slow client disconnected", extra={"fields": {"phase": phase[1]}})
                self.transport.close()
                return
            self._watchdog = self.loop.call_later(timeout / 2, self._check)

    return SlowClientProtocol


TIMEOUT_VARIABLE = "IDBRIDGE_SLOW_CLIENT_TIMEOUT"


def _from_environment() -> type[asyncio.Protocol]:
    return slow_client_protocol(float(os.environ.get(TIMEOUT_VARIABLE, "10")))


SlowClientProtocol = _from_environment()
"""The protocol ``idbridge serve`` names by import path (``PROTOCOL_PATH``): uvicorn's
worker processes are spawned, so the class must be importable there, not pickled; its
timeout comes from ``IDBRIDGE_SLOW_CLIENT_TIMEOUT`` in each worker's environment."""

PROTOCOL_PATH = "federation.serving:SlowClientProtocol"
