"""Pushed Authorization Requests (RFC 9126).

The client POSTs its authorization parameters to ``/par`` (authenticated like at the token
endpoint); they are validated exactly as at ``/authorize`` and stored under a one-time
``request_uri`` (``urn:ietf:params:oauth:request_uri:<random>``) for 60 s. ``/authorize``
takes the record with ``GETDEL`` (single use, RFC 9126 §4) and ignores every parameter but
``client_id`` and ``request_uri`` (§4).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence

import redis.asyncio as aioredis

from federation.storage.keys import Keys

PREFIX = "urn:ietf:params:oauth:request_uri:"


def is_pushed(request_uri: str) -> bool:
    """Whether ``request_uri`` names one of our pushed requests."""
    return request_uri.startswith(PREFIX)


async def push(
    redis: aioredis.Redis, client_id: str, pairs: Sequence[tuple[str, str]], ttl: int
) -> str:
    """Store validated parameters and return the ``request_uri`` (RFC 9126 §2.2)."""
    handle = secrets.token_urlsafe(32)
    record = {"client_id": client_id, "params": [list(pair) for pair in pairs]}
    await redis.set(Keys.par(handle), json.dumps(record), ex=ttl)
    return PREFIX + handle


async def take(
    redis: aioredis.Redis, request_uri: str, client_id: str
) -> list[tuple[str, str]] | None:
    """The pushed parameters, consumed; ``None`` if unknown, expired, used or not this
    client's."""
    handle = request_uri[len(PREFIX) :]
    if not handle or len(handle) > 128:
        return None
    raw = await redis.getdel(Keys.par(handle))
    if raw is None:
        return None
    record = json.loads(raw)
    if record.get("client_id") != client_id:
        return None
    return [(str(name), str(value)) for name, value in record["params"]]
