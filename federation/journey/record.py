"""The journey record: one Redis hash per login under ``Keys.journey(id)`` (DESIGN §3, §6).

The id is 256 random bits, kept in the :data:`JOURNEY_COOKIE` (HttpOnly, SameSite=Lax,
Secure behind https). The hash holds only what the journey needs:

===============  ==============================================================
``authz``        the validated :class:`AuthorizationRequest` (JSON; no PII)
``stage``        ``upstream`` → ``attributes`` → ``consent`` → ``granted``
``state``        the upstream ``state`` bound to this journey
``locale``       the person's language; ``ua`` the User-Agent (upstream ``source``)
``identity``     the :class:`IdentityRecord`, **sealed** (SM4-GCM, AAD = journey id)
``wanted``       attributes still to ask the upstream for (JSON list of names)
``ticket``       the pending attribute request, ``asked`` the attributes it asks for,
                 ``result`` its outcome, **sealed**
``sid``          the bridge session, once the person is authenticated
``grant``        the grant after consent (the released claims), **sealed**;
                 ``consent_id`` its consent record
===============  ==============================================================

The whole hash expires with the journey and is deleted at the end, so upstream attributes
live only as long as the journey needs them. Until the upstream login completes the record
lives ``IDBRIDGE_JOURNEY_PRELOGIN_TTL`` (an anonymous visitor's journey), then
``IDBRIDGE_JOURNEY_TTL``. The id is rotated (:meth:`JourneyStore.rotate`) when the upstream
login completes and when consent is given, so that an id planted in a browser before opens
nothing after (``docs/sessions.md``).
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from federation import cookies
from federation.crypto import sm4
from federation.identity import IdentityRecord
from federation.journey.budget import (
    MAX_USER_AGENT,
    authz_field,
    client_blob,
    client_digest,
    load_client,
    needed,
)
from federation.oidc.models import AuthorizationRequest
from federation.storage.keys import Keys

JOURNEY_COOKIE = cookies.JOURNEY
"""Cookie holding the journey id (``__Host-`` behind https: :mod:`federation.cookies`)."""
_ID_MAX = 64
SEALED_FIELDS = ("identity", "result", "grant")
"""Fields holding PII, stored SM4-GCM sealed with AAD = the journey id (DESIGN §8)."""
_PLAIN_FIELDS = frozenset({"stage", "locale", "state", "ticket", "sid", "consent_id"})
_FIELD_NAMES = {"addr": "address"}
"""Stored name → attribute of :class:`JourneyRecord`, where they differ."""
_STORE_RESULT = """
if redis.call('HGET', KEYS[1], 'ticket') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'result', ARGV[2])
  return 1
end
return 0
"""
"""Store a result only if the journey still waits for that ticket (one round trip)."""


class Sealer:
    """SM4-GCM sealing of journey PII with AAD = the record's id (DESIGN §8)."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def seal(self, record_id: str, value: Any) -> str:
        """``value`` as JSON, encrypted and base64-encoded."""
        plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        return base64.b64encode(sm4.encrypt(self._key, plain, aad=record_id.encode())).decode()

    def open(self, record_id: str, sealed: str) -> Any:
        """Inverse of :meth:`seal`; raises ``ValueError`` if it was not sealed for this id."""
        try:
            raw = sm4.decrypt(self._key, base64.b64decode(sealed), aad=record_id.encode())
        except Exception as exc:  # wrong key, wrong id, tampering: all the same to us
            raise ValueError("sealed journey data does not open") from exc
        return json.loads(raw)


@dataclass
class JourneyRecord:
    """One journey as loaded from Redis (PII already opened)."""

    id: str
    authz: AuthorizationRequest
    stage: str
    locale: str
    user_agent: str = ""
    state: str = ""
    identity: IdentityRecord | None = None
    wanted: list[str] = field(default_factory=list)
    ticket: str = ""
    asked: list[str] = field(default_factory=list)
    result: dict[str, Any] | None = None
    sid: str = ""
    grant: dict[str, Any] | None = None
    consent_id: str = ""
    address: str = ""
    """The address bucket the journey was admitted for (``federation.journey.admission``)."""
    unsaved: dict[str, str] = field(default_factory=dict, repr=False)
    """Fields not written yet (:meth:`JourneyStore.create`, :meth:`JourneyStore.defer`)."""
    unsaved_drop: tuple[str, ...] = field(default=(), repr=False)
    """Fields to remove with the next write (:meth:`JourneyStore.defer`)."""
    retired: tuple[str, ...] = field(default=(), repr=False)
    """Keys of the journey's former ids, deleted with the next write or the end
    (:meth:`JourneyStore.rotate`)."""
    released: tuple[str, ...] = field(default=(), repr=False)
    """Former ids to take out of the address's count with the next write."""


class JourneyStore:
    """Create, read, update and end journey records."""

    def __init__(
        self, redis: aioredis.Redis, sealer: Sealer, ttl: int, pre_login_ttl: int = 300
    ) -> None:
        self.redis = redis
        self.sealer = sealer
        self.ttl = ttl
        self.pre_login_ttl = pre_login_ttl
        self._store_result = redis.register_script(_STORE_RESULT)

    async def create(
        self, authz: AuthorizationRequest, *, locale: str, user_agent: str, **fields: Any
    ) -> JourneyRecord:
        """Open a journey (256-bit id) and return it. Nothing is written yet: the record's
        first write (:meth:`update`, :meth:`bind_state`, :meth:`bind_ticket`) carries it, in
        the same round trip; :meth:`end` on an unwritten record deletes nothing."""
        journey = JourneyRecord(
            id=secrets.token_urlsafe(32),
            authz=needed(authz),
            stage="upstream",
            locale=locale,
            user_agent=user_agent[:MAX_USER_AGENT],
        )
        journey.unsaved = self._values(
            journey,
            {
                "authz": authz_field(journey.authz),
                "stage": journey.stage,
                "locale": locale,
                "ua": journey.user_agent,
                **fields,
            },
        )
        return journey

    async def load(self, journey_id: str | None) -> JourneyRecord | None:
        """The journey, or ``None`` if the id is missing, malformed, unknown or expired."""
        if not journey_id or len(journey_id) > _ID_MAX:
            return None
        raw = await self.redis.hgetall(Keys.journey(journey_id))
        if not raw or "authz" not in raw:
            return None
        try:
            authz = json.loads(raw["authz"])
            authz["client"] = await load_client(self.redis, authz["client"])
            return self._decode(journey_id, raw, authz)
        except (ValueError, KeyError, TypeError):
            return None

    def _decode(
        self, journey_id: str, raw: Mapping[str, str], authz: Mapping[str, Any]
    ) -> JourneyRecord:
        opened = {
            name: self.sealer.open(journey_id, raw[name]) for name in SEALED_FIELDS if raw.get(name)
        }
        return JourneyRecord(
            id=journey_id,
            authz=AuthorizationRequest.from_dict(authz),
            stage=raw.get("stage", "upstream"),
            locale=raw.get("locale", "zh-HK"),
            user_agent=raw.get("ua", ""),
            state=raw.get("state", ""),
            identity=IdentityRecord.from_dict(opened["identity"]) if "identity" in opened else None,
            wanted=json.loads(raw.get("wanted") or "[]"),
            ticket=raw.get("ticket", ""),
            asked=json.loads(raw.get("asked") or "[]"),
            result=opened.get("result"),
            sid=raw.get("sid", ""),
            grant=opened.get("grant"),
            consent_id=raw.get("consent_id", ""),
            address=raw.get("addr", ""),
        )

    async def update(
        self, journey: JourneyRecord, *, drop: tuple[str, ...] = (), **fields: Any
    ) -> None:
        """Write ``fields`` (strings; ``identity``/``result``/``grant`` are sealed), remove
        the fields named in ``drop``, and renew the TTL — one round trip."""
        pipe = self._write(journey, fields, drop)
        await pipe.execute()

    def defer(self, journey: JourneyRecord, *, drop: tuple[str, ...] = (), **fields: Any) -> None:
        """Like :meth:`update`, but written with the record's next write (one round trip
        less). Only for a step that certainly writes or ends the journey before it answers
        (e.g. before asking the upstream for attributes: the ticket binding writes)."""
        journey.unsaved.update(self._values(journey, fields))
        journey.unsaved_drop += drop
        if "result" in drop:
            journey.result = None

    def _write(
        self, journey: JourneyRecord, fields: Mapping[str, Any], drop: tuple[str, ...] = ()
    ) -> Any:
        """A transaction writing ``fields`` (and what :meth:`create` / :meth:`defer` left
        unsaved), removing ``drop``, renewing the TTL; the caller may queue more before
        executing it."""
        values = {**journey.unsaved, **self._values(journey, fields)}
        drop = tuple(n for n in (*journey.unsaved_drop, *drop) if n not in values)
        journey.unsaved, journey.unsaved_drop = {}, ()
        key = Keys.journey(journey.id)
        pipe = self.redis.pipeline(transaction=True)
        if journey.retired:
            pipe.delete(*journey.retired)
            journey.retired = ()
        if journey.released:  # logged in: no longer an anonymous visitor's journey
            pipe.zrem(Keys.journeys_by_address(journey.address), *journey.released)
            journey.released = ()
        client_key = Keys.journey_client(client_digest(journey.authz.client))
        if "authz" in values:  # the record's first write (or its move to a new id)
            pipe.set(client_key, client_blob(journey.authz.client), ex=self.ttl)
        else:
            pipe.expire(client_key, self.ttl)
        if drop:
            pipe.hdel(key, *drop)
            for name in drop:
                if name == "result":
                    journey.result = None
        if values:
            pipe.hset(key, mapping=values)
        pipe.expire(key, self.ttl_of(journey))
        return pipe

    def ttl_of(self, journey: JourneyRecord) -> int:
        """The record's lifetime: :attr:`pre_login_ttl` until the upstream login completed
        (an anonymous visitor's journey is cheap to keep and short-lived), then
        :attr:`ttl` (``IDBRIDGE_JOURNEY_TTL``)."""
        return self.ttl if journey.identity is not None else min(self.pre_login_ttl, self.ttl)

    def rotate(self, journey: JourneyRecord) -> str:
        """Give the journey a fresh id (OWASP Session Management: renew the id at every
        privilege change), so that an id known before — planted in the browser by someone
        else — opens nothing after. Called when the upstream login completes and when
        consent is given; the caller sets the new cookie. The record moves under the new
        id with the next write (sealed fields resealed: their AAD is the id), which also
        deletes the old record and its ``state`` binding; returns the new id."""
        if journey.ticket:
            raise ValueError("a journey waiting for an attribute result is not rotated")
        retired = [*journey.retired, Keys.journey(journey.id)]
        if journey.state:
            retired.append(Keys.upstream_state(journey.state))  # used: the login is done
        if journey.address:
            journey.released = (*journey.released, journey.id)
        journey.id = secrets.token_urlsafe(32)
        journey.retired = tuple(retired)
        journey.state = ""
        dropped = set(journey.unsaved_drop)
        fields = {k: v for k, v in self._fields_of(journey).items() if k not in dropped}
        journey.unsaved, journey.unsaved_drop = self._values(journey, fields), ()
        return journey.id

    def _fields_of(self, journey: JourneyRecord) -> dict[str, Any]:
        """Every stored field of ``journey`` as :meth:`_values` takes them."""
        fields: dict[str, Any] = {
            "authz": authz_field(journey.authz),
            "stage": journey.stage,
            "locale": journey.locale,
            "ua": journey.user_agent,
            "wanted": journey.wanted,
            "asked": journey.asked,
        }
        for name in ("ticket", "sid", "consent_id"):
            if getattr(journey, name):
                fields[name] = getattr(journey, name)
        if journey.address:
            fields["addr"] = journey.address
        for name in SEALED_FIELDS:
            if getattr(journey, name) is not None:
                fields[name] = getattr(journey, name)
        return fields

    def _values(self, journey: JourneyRecord, fields: Mapping[str, Any]) -> dict[str, str]:
        """``fields`` as stored (and reflected on ``journey``)."""
        values: dict[str, str] = {}
        for name, value in fields.items():
            if name == "identity":
                journey.identity = value
                values[name] = self.sealer.seal(journey.id, value.to_dict())
            elif name == "result":
                journey.result = value
                values[name] = self.sealer.seal(journey.id, value)
            elif name in ("wanted", "asked"):
                setattr(journey, name, list(value))
                values[name] = json.dumps(list(value))
            elif name == "grant":
                journey.grant = value
                values[name] = self.sealer.seal(journey.id, value)
            else:
                if name in _PLAIN_FIELDS or name in _FIELD_NAMES:
                    setattr(journey, _FIELD_NAMES.get(name, name), str(value))
                values[name] = str(value)
        return values

    async def bind_state(self, journey: JourneyRecord, state: str, ttl: int, **fields: Any) -> None:
        """Bind an upstream ``state`` to the journey (one use; see :meth:`journey_for_state`),
        writing ``fields`` in the same round trip."""
        pipe = self._write(journey, {**fields, "state": state})
        pipe.set(Keys.upstream_state(state), journey.id, ex=min(ttl, self.ttl_of(journey)))
        await pipe.execute()

    async def journey_for_state(self, state: str) -> str | None:
        """The journey id bound to ``state`` (the binding stays until the journey ends)."""
        if not state or len(state) > 64:
            return None
        return await self.redis.get(Keys.upstream_state(state))

    async def bind_ticket(self, journey: JourneyRecord, ticket: str, **fields: Any) -> None:
        """Bind an attribute request's ticket to the journey and mark it pending, writing
        ``fields`` in the same round trip."""
        pipe = self._write(
            journey, {**fields, "ticket": ticket, "stage": "attributes"}, ("result",)
        )
        pipe.set(Keys.upstream_ticket(ticket), journey.id, ex=self.ttl)
        await pipe.execute()

    async def journey_for_ticket(self, ticket: str) -> str | None:
        """The journey id waiting for ``ticket``."""
        if not ticket or len(ticket) > 200:
            return None
        return await self.redis.get(Keys.upstream_ticket(ticket))

    async def store_result(self, journey_id: str, ticket: str, result: dict[str, Any]) -> bool:
        """Store an attribute result (sealed) for the journey if it still waits for
        ``ticket``; False otherwise. Used by the server-to-server result POST."""
        sealed = self.sealer.seal(journey_id, result)
        stored = await self._store_result(keys=[Keys.journey(journey_id)], args=[ticket, sealed])
        return bool(stored)

    async def clear(self, journey: JourneyRecord, *names: str) -> None:
        """Remove fields (e.g. a consumed ``result``) from the record."""
        await self.redis.hdel(Keys.journey(journey.id), *names)
        for name in names:
            if name == "result":
                journey.result = None

    async def end(self, journey: JourneyRecord) -> None:
        """Delete the record and its bindings (and with them every upstream attribute);
        a journey ended before login leaves its address's count."""
        before_login = journey.address and journey.identity is None
        keys = self.ending(journey)
        if not before_login:
            await self.redis.delete(*keys)
            return
        pipe = self.redis.pipeline(transaction=False)
        pipe.delete(*keys)
        pipe.zrem(Keys.journeys_by_address(journey.address), journey.id)
        await pipe.execute()

    def ending(self, journey: JourneyRecord) -> list[str]:
        """Mark the journey ended and return the keys to delete (the record and its
        bindings), for a caller that deletes them in its own round trip."""
        journey.unsaved, journey.unsaved_drop = {}, ()
        keys = [*journey.retired, Keys.journey(journey.id)]
        journey.retired = ()
        if journey.state:
            keys.append(Keys.upstream_state(journey.state))
        if journey.ticket:
            keys.append(Keys.upstream_ticket(journey.ticket))
        journey.stage = "ended"
        return keys
