"""The fast no-duplicate guard in Redis: one delivery of a channel message is processed at a time.

`SET key NX EX ttl`: a second delivery arriving while the first is in progress sees the guard and
waits for the first one's answer instead of deciding again. MongoDB's unique record is what
guarantees one decision; the guard keeps concurrent duplicates from even publishing twice. When
Redis is unreachable the guard lets deliveries through (logged): the durable record still makes
them publish the same event ids, which subscribers drop.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class InboundGuard:
    def __init__(self, redis: Redis, ttl_seconds: int, prefix: str = "helpdesk:intake:inbound:") -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._prefix = prefix

    async def acquire(self, key: str) -> bool:
        try:
            return bool(await self._redis.set(self._prefix + key, "1", nx=True, ex=self._ttl))
        except RedisError as error:
            log.warning("Redis unavailable for the inbound guard of %s (%r); relying on MongoDB", key, error)
            return True

    async def release(self, key: str) -> None:
        try:
            await self._redis.delete(self._prefix + key)
        except RedisError as error:
            log.warning(
                "could not release the inbound guard of %s (%r); it expires in %s s", key, error, self._ttl
            )
