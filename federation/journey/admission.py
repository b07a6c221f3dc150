"""How many journeys an anonymous visitor may keep open (issue 24: anonymous requests must
not fill Redis).

Each address (:func:`federation.ratelimit.client_bucket`: IPv4 as it is, IPv6 by its /64)
may have at most ``IDBRIDGE_JOURNEYS_PER_ADDRESS`` journeys that have not reached the
upstream login callback; each of those lives ``IDBRIDGE_JOURNEY_PRELOGIN_TTL`` (minutes).
Beyond the cap ``/authorize`` answers 429 with the ``rate_limited`` page and stores
nothing. A journey leaves the count when its login completes (the id rotates: the old one
is removed) or when its pre-login lifetime is over.

The count is a sorted set per address (``Keys.journeys_by_address``) of journey ids scored
by their expiry, kept by one Lua script (one round trip, atomic across workers).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis.asyncio as aioredis

from federation.storage.keys import Keys

_ADMIT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[4]) == false
   and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class JourneyAdmission:
    """The per-address cap on journeys before the login callback."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        cap: int,
        ttl: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.cap = cap
        self.ttl = ttl
        self.clock = clock
        self._admit = redis.register_script(_ADMIT)

    async def admit(self, bucket: str, journey_id: str) -> bool:
        """Count ``journey_id`` for ``bucket``; ``False`` (nothing counted) beyond the cap."""
        now = self.clock()
        admitted = await self._admit(
            keys=[Keys.journeys_by_address(bucket)],
            args=[now, now + self.ttl, self.cap, journey_id, self.ttl],
        )
        return bool(admitted)


__all__ = ["JourneyAdmission"]
