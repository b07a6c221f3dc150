"""A relying party's back-channel logout endpoint for the tests: a real HTTP server
(uvicorn on 127.0.0.1, in the test's event loop) that records what it receives.

``together=n`` makes it answer 200 only when ``n`` requests are in at the same time (each
waits ``wait`` seconds for the others, else 503): a sender that posts one after another
gets 503s, one that posts concurrently gets 200s. ``/redirect`` answers 307 to the
endpoint, to show that the sender does not follow redirects; ``/endless`` answers 200 with a
body that never ends (for up to a minute), to show that the sender reads none of it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from federation.oidc.provider import OidcProvider
from federation.storage.runtime import free_port


class Receiver:
    """Records the logout tokens and ``Host`` headers it receives."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.hosts: list[str] = []
        self.statuses: list[int] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/backchannel"
        self.redirect_url = f"http://127.0.0.1:{self.port}/redirect"
        self.endless_url = f"http://127.0.0.1:{self.port}/endless"
        self.together = 0
        self.wait = 1.0
        self._inside = 0
        self._all_in = asyncio.Event()

    async def receive(self, request: Request) -> Response:
        form = await request.form()
        self.hosts.append(request.headers.get("host", ""))
        if self.together:
            self._inside += 1
            if self._inside >= self.together:
                self._all_in.set()
            try:
                await asyncio.wait_for(self._all_in.wait(), self.wait)
            except TimeoutError:
                self._inside -= 1
                self.statuses.append(503)
                return Response(status_code=503)
        self.tokens.append(str(form["logout_token"]))
        self.statuses.append(200)
        return Response(status_code=200, headers={"Cache-Control": "no-store"})

    async def redirect(self, request: Request) -> Response:
        return Response(status_code=307, headers={"Location": self.url})

    async def endless(self, request: Request) -> Response:
        form = await request.form()
        self.tokens.append(str(form["logout_token"]))

        async def body() -> AsyncIterator[bytes]:
            deadline = asyncio.get_running_loop().time() + 60
            while asyncio.get_running_loop().time() < deadline:
                yield b"x" * 65536
                await asyncio.sleep(0)

        return StreamingResponse(body(), status_code=200)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rp = Receiver()
    app = Starlette(
        routes=[
            Route("/backchannel", rp.receive, methods=["POST"]),
            Route("/redirect", rp.redirect, methods=["POST"]),
            Route("/endless", rp.endless, methods=["POST"]),
        ]
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=rp.port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield rp
    finally:
        server.should_exit = True
        await task


def with_backchannel(provider: OidcProvider, client_id: str, uri: str) -> None:
    """Register ``uri`` as the static client's ``backchannel_logout_uri``."""
    client = provider.clients.static[client_id]
    provider.clients.static[client_id] = client.model_copy(update={"backchannel_logout_uri": uri})


def allow_private_networks(provider: OidcProvider, allowed: bool) -> None:
    """Set ``IDBRIDGE_BACKCHANNEL_ALLOW_PRIVATE_NETWORKS`` on the provider."""
    provider.config = provider.config.model_copy(
        update={"backchannel_allow_private_networks": allowed}
    )
