"""What a journey keeps of the authorization request, and how much that can be (issue 24:
an anonymous ``/authorize`` must not be able to make the bridge keep much).

The journey stores only what it needs (:func:`needed`): ``login_hint`` is dropped (nothing
uses it), ``acr_values`` keeps only the values the bridge knows (OIDC Core §3.1.2.1: they
are voluntary), and the client's metadata — up to several KB for a registered client — is
not copied into every journey but stored once per distinct content under its SHA-256
(``Keys.journey_client``, shared by every journey of that client; :func:`authz_field`).

The rest is capped where it is parsed (``federation.oidc.authorize``: ``state`` ≤ 1,024,
``nonce`` ≤ 512, ``claims`` ≤ 2,048, ``redirect_uri`` one of the client's), and the
User-Agent to :data:`MAX_USER_AGENT`. :data:`MAX_PRELOGIN_RECORD` is the resulting bound
of one journey before the login callback; ``docs/sessions.md`` "Memory" multiplies it by
``IDBRIDGE_JOURNEYS_PER_ADDRESS``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import redis.asyncio as aioredis

from federation.identity import Assurance
from federation.oidc.clients import Client
from federation.oidc.models import AuthorizationRequest
from federation.storage.keys import Keys

MAX_USER_AGENT = 512
_CLIENT_CACHE: dict[str, Client] = {}
_CLIENT_CACHE_SIZE = 256
ACR_VALUES = frozenset(a.value for a in Assurance)
MAX_PRELOGIN_RECORD = 10 * 1024
"""Bytes one journey before login may take in Redis, worst case, allocator included: state
1,024 + nonce 512 + claims 2,048 + the registered redirect URI + User-Agent 512, the
upstream ``state`` and its binding, the field names (about 6 KB as ``MEMORY USAGE``
counts it; measured by ``tests/flows/test_journey_memory.py``)."""


def needed(authz: AuthorizationRequest) -> AuthorizationRequest:
    """``authz`` without what no step uses."""
    acr = tuple(a for a in authz.acr_values if a in ACR_VALUES)
    if authz.login_hint is None and acr == authz.acr_values:
        return authz
    return replace(authz, login_hint=None, acr_values=acr)


def client_blob(client: Client) -> str:
    """The client's metadata as stored once for every journey (canonical JSON)."""
    data = client.model_dump(mode="json", by_alias=True)
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def client_digest(client: Client) -> str:
    """SHA-256 hex of :func:`client_blob`: the journey's reference to its client."""
    return hashlib.sha256(client_blob(client).encode()).hexdigest()


async def load_client(redis: aioredis.Redis, digest: str) -> Client:
    """The client metadata a journey refers to by ``digest``: this process's cache, else
    the shared copy in Redis (checked against its digest). ``ValueError`` if it is gone."""
    client = _CLIENT_CACHE.get(digest)
    if client is not None:
        return client
    blob = await redis.get(Keys.journey_client(digest))
    if blob is None or hashlib.sha256(blob.encode()).hexdigest() != digest:
        raise ValueError("the journey's client is gone")
    client = Client.model_validate(json.loads(blob))
    if len(_CLIENT_CACHE) >= _CLIENT_CACHE_SIZE:
        _CLIENT_CACHE.pop(next(iter(_CLIENT_CACHE)))
    _CLIENT_CACHE[digest] = client
    return client


def authz_field(authz: AuthorizationRequest) -> str:
    """The ``authz`` field of the journey hash: the request, with its client by digest."""
    data = authz.to_dict()
    data["client"] = client_digest(authz.client)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


__all__ = [
    "MAX_PRELOGIN_RECORD",
    "MAX_USER_AGENT",
    "authz_field",
    "client_blob",
    "client_digest",
    "load_client",
    "needed",
]
