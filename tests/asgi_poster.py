"""A :class:`federation.outbound.Poster` that answers from an ASGI app in process (httpx's
ASGI transport), for tests whose upstream is a FastAPI app rather than a server on a port.
The product itself always posts with ``federation.outbound.HttpClient``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from federation.outbound import HttpResponse


class AsgiPoster:
    """POSTs to ``app`` (or through an existing ``httpx.AsyncClient``)."""

    def __init__(self, app: Any = None, *, client: httpx.AsyncClient | None = None) -> None:
        self.client = client or httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://127.0.0.1:9"
        )

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, read_body: bool = True
    ) -> HttpResponse:
        response = await self.client.post(url, content=body, headers=dict(headers))
        return HttpResponse(response.status_code, response.content if read_body else b"")

    async def aclose(self) -> None:
        await self.client.aclose()
