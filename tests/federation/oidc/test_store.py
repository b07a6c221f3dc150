"""The Redis store on its own: atomic code consumption under concurrency, family
tombstones, refresh rotation markers, and nothing stored in clear."""

from __future__ import annotations

import asyncio
import json

import redis.asyncio as aioredis

from federation.oidc.store import TOMBSTONE, TokenStore, digest
from federation.storage.keys import Keys


async def _code(store: TokenStore, code: str, family: str) -> None:
    await store.save_code(
        code, {"family": family, "client_id": "c", "exp": "0"}, 60, "person", "c", 600, None, "sub"
    )


async def test_concurrent_consumers_get_one_code(redis: aioredis.Redis) -> None:
    store = TokenStore(redis)
    await _code(store, "the-code", "fam-1")
    results = await asyncio.gather(
        *(TokenStore(redis).consume_code("the-code", 600) for _ in range(20))
    )
    assert [r.status for r in results].count("ok") == 1
    assert all(r.family == "fam-1" for r in results)
    assert {r.status for r in results} == {"ok", "used"}
    assert await redis.hgetall(Keys.auth_code(digest("the-code"))) == {
        "used": "1",
        "family": "fam-1",
    }
    assert 0 < await redis.ttl(Keys.auth_code(digest("the-code"))) <= 600


async def test_revoked_family_accepts_no_new_tokens(redis: aioredis.Redis) -> None:
    store = TokenStore(redis)
    at = Keys.access_token(digest("at-1"))
    assert await store.store_tokens("fam-2", 600, [(at, {"sub": "s", "sid": "x"}, 60)])
    revoked = await store.revoke_family("fam-2")
    assert (revoked.tokens, revoked.subject, revoked.sid) == (1, "s", "x")
    assert await redis.exists(at) == 0
    assert await redis.smembers(Keys.token_family("fam-2")) == {TOMBSTONE}
    late = Keys.access_token(digest("at-2"))
    assert not await store.store_tokens("fam-2", 600, [(late, {"sub": "s"}, 60)])
    assert await redis.exists(late) == 0


async def test_refresh_rotation_marks_used(redis: aioredis.Redis) -> None:
    store = TokenStore(redis)
    rt = Keys.refresh_token(digest("rt-1"))
    fields = {"family": "fam-3", "grant": json.dumps({"a": "陳"}), "client_id": "c"}
    await store.store_tokens("fam-3", 600, [(rt, fields, 600)])
    first = await store.use_refresh("rt-1")
    assert first.status == "ok" and first.fields and first.fields["grant"] == fields["grant"]
    second = await store.use_refresh("rt-1")
    assert (second.status, second.family) == ("used", "fam-3")
    assert (await store.use_refresh("never-issued")).status == "unknown"


async def test_pending_code_of_a_revoked_grant_issues_nothing(redis: aioredis.Redis) -> None:
    from federation.oidc.seam import revoke_grants_for

    store = TokenStore(redis)
    await _code(store, "pending", "fam-4")
    await revoke_grants_for(redis, "person", "c")
    consumed = await store.consume_code("pending", 600)
    assert consumed.status == "ok"  # the code itself still exists …
    at = Keys.access_token(digest("at-4"))
    assert not await store.store_tokens("fam-4", 600, [(at, {"sub": "s"}, 60)])  # … but no
