"""Profile / e-ME result callbacks: which request a result answers, and whether it is
iAM Smart's at all (issue 16; ``docs/iamsmart.md`` "Result callbacks").

At ``initiateRequest`` the connector records a :class:`Binding` (``businessID`` → ticket,
``state``, kind); a result is accepted only when

1. its ``content`` opens with a CEK iAM Smart's ``getKey`` issued to us
   (:meth:`connectors.iamsmart.cek.CekCache.open_result`), and
2. the decrypted content names a request we made: its ``businessID`` (CorpID-SPEC §4.7.1 /
   §4.12.1: the callback carries ``businessID`` and ``state``; SIM-SPEC §2.4.2: ``txID``
   only identifies the *response message*), with a matching ``state`` when it carries one;
   or — ``result_correlation: business_id_or_state`` — no ``businessID`` but the ``state``
   of the request that the txID's ticket names.

An error result (``code`` ≠ ``D00000``) counts only under the same rule (its content is
"empty or only contains required parameters, e.g. businessID", SIM-SPEC §2.4.2), or when
it came over a channel the deployment authenticates (client certificate verified by the
reverse proxy, ``result_client_cert``). Anything else changes nothing: the journey waits.
A binding is used once. Bindings live in Redis (every worker may receive the callback) or,
without Redis, in process memory. May import ``connectors`` and ``federation.storage.keys``.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import redis.asyncio as aioredis

from connectors.base import UpstreamProtocolError
from connectors.iamsmart.config import IAMSmartConfig
from federation.storage.keys import Keys

_TX_ID = re.compile(r"<T=(.{1,200})>")


class ResultNotOurs(UpstreamProtocolError):
    """A result that names no request of ours, or another journey's."""


@dataclass(frozen=True, slots=True)
class Binding:
    """One profile / e-ME request as the connector sent it."""

    business_id: str
    ticket_id: str
    state: str
    kind: str
    expires_ms: int
    app_url: str | None = None
    """The "Open iAM Smart" link of the request (same-device login), if any."""


class BindingStore:
    """``businessID`` → :class:`Binding`, and ticket → ``businessID`` (the txID fallback)."""

    def __init__(self, config: IAMSmartConfig, redis: aioredis.Redis | None = None) -> None:
        self._config = config
        self._redis = redis
        self._memory: dict[str, tuple[str, int]] = {}

    def _key(self, kind: str, value: str) -> str:
        return Keys.upstream_cache(self._config.id, f"{kind}:{value}")

    async def put(self, binding: Binding) -> None:
        """Remember a request for the callback window."""
        ttl_ms = max(1, binding.expires_ms - _now_ms())
        value = json.dumps(asdict(binding))
        pairs = [
            (self._key("biz", binding.business_id), value),
            (self._key("tkt", binding.ticket_id), binding.business_id),
        ]
        if self._redis is None:
            self._prune()
            for key, item in pairs:
                self._memory[key] = (item, binding.expires_ms)
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            for key, item in pairs:
                pipe.set(key, item, px=ttl_ms)
            await pipe.execute()

    async def by_business_id(self, business_id: str) -> Binding | None:
        """The request with this ``businessID`` (still within its window)."""
        if not business_id or len(business_id) > 64:
            return None
        raw = await self._get(self._key("biz", business_id))
        if raw is None:
            return None
        return Binding(**json.loads(raw))

    async def by_ticket(self, ticket_id: str) -> Binding | None:
        """The request whose ``ticketID`` this is."""
        if not ticket_id or len(ticket_id) > 200:
            return None
        business_id = await self._get(self._key("tkt", ticket_id))
        return await self.by_business_id(business_id) if business_id else None

    async def consume(self, binding: Binding) -> bool:
        """Use a binding once; False if another callback used it first."""
        key = self._key("biz", binding.business_id)
        if self._redis is None:
            return self._memory.pop(key, None) is not None
        return bool(await self._redis.delete(key))

    async def _get(self, key: str) -> str | None:
        if self._redis is None:
            item = self._memory.get(key)
            return item[0] if item and item[1] > _now_ms() else None
        value = await self._redis.get(key)
        return value if value is None or isinstance(value, str) else value.decode()

    def _prune(self) -> None:
        now = _now_ms()
        for key in [k for k, (_, e) in self._memory.items() if e <= now][:64]:
            del self._memory[key]


@dataclass(frozen=True, slots=True)
class Correlation:
    """A correlation rule on its own (for a body whose channel is authenticated)."""

    result_correlation: str


def new_business_id() -> str:
    """A fresh ``businessID``: 32 hex characters (ASCII ≤ 36, unique per request)."""
    return secrets.token_hex(16)


def ticket_of(tx_id: object) -> str | None:
    """The ticket a ``txID`` names when it is ``<T=…>`` (the simulator's legacy form) or a
    bare value; None when absent. Only a hint: never authenticates anything."""
    if not isinstance(tx_id, str) or not tx_id:
        return None
    match = _TX_ID.fullmatch(tx_id)
    return match.group(1) if match else tx_id


def verified_channel(config: IAMSmartConfig, headers: Mapping[str, str] | None) -> bool:
    """Whether the reverse proxy says it verified the sender's client certificate (and,
    when fingerprints are configured, that it is one of them). Off → always False."""
    if config.result_client_cert == "off" or headers is None:
        return False
    if headers.get(config.result_client_cert_verify_header, "") != "SUCCESS":
        return False
    allowed = {_fingerprint(f) for f in config.result_client_cert_fingerprints}
    if not allowed:
        return True
    given = _fingerprint(headers.get(config.result_client_cert_fingerprint_header, ""))
    return any(secrets.compare_digest(given.encode(), f.encode()) for f in allowed)


def _fingerprint(value: str) -> str:
    return value.replace(":", "").strip().lower()


async def find_binding(
    store: BindingStore,
    config: IAMSmartConfig | Correlation,
    content: Mapping[str, object],
    tx_id: object,
) -> Binding:
    """The request an opened result answers (see the module docstring), or
    :class:`ResultNotOurs`."""
    business_id = content.get("businessID")
    state = content.get("state")
    hinted = ticket_of(tx_id)
    if isinstance(business_id, str) and business_id:
        binding = await store.by_business_id(business_id)
        if binding is None:
            raise ResultNotOurs("result names no request of ours")
        if hinted is not None and hinted != binding.ticket_id:
            other = await store.by_ticket(hinted)
            if other is not None:  # txID names another of our requests: a spliced body
                raise ResultNotOurs("result txID and businessID name different requests")
    elif config.result_correlation == "business_id":
        raise ResultNotOurs("result content names no businessID")
    else:
        binding = await store.by_ticket(hinted or "")
        if binding is None:
            raise ResultNotOurs("result names no request of ours")
        if state is None and config.result_correlation != "insecure_txid":
            raise ResultNotOurs("result content names neither businessID nor state")
    if state is not None and (
        not isinstance(state, str)
        or not secrets.compare_digest(state.encode(), binding.state.encode())
    ):
        raise ResultNotOurs("result state is not the request's")
    return binding


def _now_ms() -> int:
    return int(time.time() * 1000)
