"""Tokens bound to the bridge session (OpenID Connect Core 1.0 §11, Back-Channel Logout
1.0 §2.7; issue 24).

A grant's token family is bound to the bridge session (its ``sid``) unless the person
consented to ``offline_access``:

- when the session ends at the bridge (RP-Initiated Logout), its bound families are revoked
  (:func:`revoke_session_tokens`): the access token fails at ``/userinfo`` and
  introspection, the refresh token is ``invalid_grant``;
- a bound refresh token works only while its session lives (:func:`session_alive`), so it
  never outlives a session that simply expired either;
- with ``offline_access`` (asked for by the RP, shown on the consent page, and so consented
  with the grant) the family is not bound: its refresh token outlives the session, up to
  ``IDBRIDGE_REFRESH_TOKEN_TTL``, and ends with the consent.

A grant without a ``sid`` (``IDBRIDGE_SESSION_TTL=0``: no bridge session) is bound to
nothing. The index ``Keys.session_tokens(sid)`` is written with the code
(:meth:`federation.oidc.store.TokenStore.save_code`).
"""

from __future__ import annotations

import redis.asyncio as aioredis

from federation.oidc.models import Grant
from federation.oidc.store import TokenStore
from federation.storage.keys import Keys

OFFLINE_ACCESS = "offline_access"


def outlives_session(grant: Grant) -> bool:
    """Whether the grant's tokens may outlive the bridge session (``offline_access``)."""
    return OFFLINE_ACCESS in grant.scopes


async def session_alive(redis: aioredis.Redis, grant: Grant) -> bool:
    """Whether a refresh for ``grant`` may go on: its session still exists, or the grant
    is not bound to one (``offline_access``, or no ``sid``)."""
    if outlives_session(grant) or not grant.sid:
        return True
    return bool(await redis.exists(Keys.session(grant.sid)))


async def revoke_session_tokens(redis: aioredis.Redis, session_id: str) -> int:
    """Revoke every token family bound to the session; how many tokens went."""
    store = TokenStore(redis)
    revoked = 0
    for family in await store.session_families(session_id):
        revoked += (await store.revoke_family(family)).tokens
    return revoked


__all__ = ["OFFLINE_ACCESS", "outlives_session", "revoke_session_tokens", "session_alive"]
