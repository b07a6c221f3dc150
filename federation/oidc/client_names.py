"""Client names people can tell apart: a client whose name equals, or is confusable with,
another client's name is refused (security review, issue 16 item 3).

The consent page names the recipient of a person's data; a self-registered client named
like an existing relying party would otherwise pass for it. Every language variant of a
name (``zh-HK``, ``zh-CN``, ``en``, or any other tagged variant, RFC 7591 §2.2) is compared
with every variant of every other client's name, through :func:`name_keys`:

1. width and compatibility folding (NFKC, UAX #15) and white space collapsed;
2. the confusable skeleton of UTS #39 §4 (``skeleton(X)``: NFD, Default_Ignorable code
   points removed, each character mapped through ``confusables.txt``, NFD again), computed
   by ICU's ``SpoofChecker`` (PyICU) — ``раураl`` (Cyrillic), ``ｐａｙｐａｌ`` and ``paypaI``
   all give ``paypal``;
3. case folding (Unicode ``casefold``) of the skeleton, and the skeleton of the case-folded
   text as well (a capital I and a small l are confusable only before folding);
4. for Chinese, the Hong Kong traditional → simplified conversion (OpenCC ``hk2s``) as one
   more form, so that 廣東政務服務 and 广东政务服务 are one name to a reader of either script.

Two names clash when any of their keys are equal. Callers:

- static clients (``clients.yaml``): :func:`check_distinct` among themselves at load time;
- dynamic registration (RFC 7591) and a later update (RFC 7592):
  :func:`claim_client_name` compares with the static clients in memory and with every
  dynamically registered client through a Redis index (``Keys.CLIENT_NAMES``: SM3 of each
  key → client id), checked and written in one Lua call so that two concurrent
  registrations cannot both take a name; an update passes ``previous`` (its own old keys
  are replaced, never counted as a clash); a deletion calls :func:`release_client_name`.

May import: ``federation.crypto``, ``federation.storage`` (``federation.oidc.clients`` for
types only: it calls this module).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

import icu
import opencc
import redis.asyncio as aioredis

from federation.crypto.sm3 import sm3
from federation.storage.keys import Keys

if TYPE_CHECKING:  # clients.py calls this module when it loads the static clients
    from federation.oidc.clients import Client

INDEXED_MARK = "~indexed"
"""Field of ``Keys.CLIENT_NAMES`` set once the clients registered before the index existed
have been added to it (keys are hex digests, so no key can equal it)."""

_CLAIM = """
local owner_of = {}
for i = 3, #ARGV do
  local owner = redis.call('HGET', KEYS[1], ARGV[i])
  if owner and owner ~= ARGV[1] then owner_of[#owner_of + 1] = owner end
end
if #owner_of > 0 then return owner_of end
local keep = {}
for i = 3, #ARGV do keep[ARGV[i]] = true end
if ARGV[2] ~= '' then
  for _, old in ipairs(cjson.decode(ARGV[2])) do
    if not keep[old] and redis.call('HGET', KEYS[1], old) == ARGV[1] then
      redis.call('HDEL', KEYS[1], old)
    end
  end
end
for i = 3, #ARGV do redis.call('HSET', KEYS[1], ARGV[i], ARGV[1]) end
return {}
"""


class ConfusableName(ValueError):
    """``client_name`` equals or is confusable with the name of ``other`` (a client id)."""

    def __init__(self, other: str) -> None:
        super().__init__("client_name is the same as, or confusable with, another client's name")
        self.other = other


@cache
def _spoof_checker() -> icu.SpoofChecker:
    return icu.SpoofChecker()


@cache
def _simplified() -> opencc.OpenCC:
    return opencc.OpenCC("hk2s")


def _skeleton(text: str) -> str:
    """UTS #39 §4 ``skeleton(text)`` (ICU; the type argument is ignored since ICU 58)."""
    return str(_spoof_checker().getSkeleton(0, text))


def name_keys(text: str) -> frozenset[str]:
    """The comparison keys of one name (see the module docstring); empty for a blank name."""
    folded = " ".join(unicodedata.normalize("NFKC", text).split())
    if not folded:
        return frozenset()
    forms = {folded, folded.casefold()}
    forms |= {_simplified().convert(form) for form in forms}
    keys = set()
    for form in forms:
        keys.add(" ".join(unicodedata.normalize("NFKC", _skeleton(form)).casefold().split()))
    return frozenset(keys)


def name_variants(name: Any) -> tuple[str, ...]:
    """Every language variant of a ``client_name``: one string, a mapping of language tag to
    string, or a model of them (``Texts``)."""
    if isinstance(name, str):
        return (name,)
    if hasattr(name, "model_dump"):
        name = name.model_dump(by_alias=True)
    if isinstance(name, Mapping):
        return tuple(v for value in name.values() for v in name_variants(value))
    return ()


def client_keys(client: Client) -> frozenset[str]:
    """The keys of every language variant of ``client``'s name."""
    return _keys(client.client_name)


def _keys(name: Any) -> frozenset[str]:
    return frozenset(k for text in name_variants(name) for k in name_keys(text))


def check_distinct(client: Client, others: Iterable[Client]) -> None:
    """Raise :class:`ConfusableName` if ``client``'s name clashes with any other client's
    (a client with the same id, the client's own earlier version, is skipped)."""
    mine = client_keys(client)
    for other in others:
        if other.client_id != client.client_id and mine & client_keys(other):
            raise ConfusableName(other.client_id)


def _fields(keys: Iterable[str]) -> list[str]:
    return sorted(sm3(key.encode("utf-8")).hex() for key in keys)


async def _index_existing(redis: aioredis.Redis) -> None:
    """Add the dynamic clients registered before the index existed (once)."""
    if await redis.hexists(Keys.CLIENT_NAMES, INDEXED_MARK):
        return
    async for key in redis.scan_iter(match=Keys.client("*"), count=500):
        raw = await redis.get(key)
        if raw is None:
            continue
        stored = json.loads(raw)
        for field in _fields(_keys(stored.get("client_name"))):
            await redis.hsetnx(Keys.CLIENT_NAMES, field, str(stored.get("client_id")))
    await redis.hset(Keys.CLIENT_NAMES, INDEXED_MARK, "1")


async def claim_client_name(
    redis: aioredis.Redis,
    static: Iterable[Client],
    client: Client,
    *,
    previous: Client | None = None,
) -> None:
    """Take ``client``'s name for it, or raise :class:`ConfusableName` when any variant
    clashes with a static client's name or another dynamic client's (RFC 7591 §3.2.2:
    the caller answers ``invalid_client_metadata``). Call it after every other check and
    just before the client is stored; for an RFC 7592 update pass the stored version as
    ``previous`` (its old keys are released in the same call)."""
    check_distinct(client, static)
    await _index_existing(redis)
    old = json.dumps(_fields(client_keys(previous))) if previous is not None else ""
    owners = await redis.eval(
        _CLAIM, 1, Keys.CLIENT_NAMES, client.client_id, old, *_fields(client_keys(client))
    )
    if owners:
        raise ConfusableName(str(owners[0]))


async def release_client_name(redis: aioredis.Redis, client: Client) -> None:
    """Give up ``client``'s name (RFC 7592 §2.3 deletion)."""
    for field in _fields(client_keys(client)):
        owner = await redis.hget(Keys.CLIENT_NAMES, field)
        if owner == client.client_id:
            await redis.hdel(Keys.CLIENT_NAMES, field)
