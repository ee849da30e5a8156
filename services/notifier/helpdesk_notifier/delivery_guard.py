"""The fast guard in Redis: one worker at a time per delivery key (SET NX with a TTL)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

log = logging.getLogger(__name__)

# Delete the key only if it still holds our token: after a TTL expiry it may be someone else's.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class RedisDeliveryGuard:
    """Keeps two workers (a rebalance, a duplicate in flight) from sending the same delivery at once.

    The TTL frees a key whose holder died; it must outlast the slowest delivery. Redis is not the
    record of what was sent (MongoDB is): losing its keys only loses this mutual exclusion.
    """

    def __init__(self, redis: Redis, ttl_seconds: int, prefix: str = "helpdesk:notifier:delivery:") -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._prefix = prefix
        self._release = redis.register_script(_RELEASE)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[bool]:
        """Yields whether this worker holds the delivery; releases it on the way out."""
        name = self._prefix + key
        token = uuid.uuid4().hex
        held = bool(await self._redis.set(name, token, nx=True, ex=self._ttl))
        try:
            yield held
        finally:
            if held:
                try:
                    await self._release(keys=[name], args=[token])
                except Exception:  # the TTL frees it anyway; do not hide the delivery's own outcome
                    log.warning("could not release delivery guard %s", name, exc_info=True)
