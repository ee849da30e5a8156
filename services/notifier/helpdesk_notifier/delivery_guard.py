"""The fast guard in Redis: one worker at a time per delivery key (SET NX with a TTL, renewed while held)."""

from __future__ import annotations

import asyncio
import contextlib
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
# Extend the key's life only if it still holds our token.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""


class RedisDeliveryGuard:
    """Keeps two workers (a rebalance, a duplicate in flight) from sending the same delivery at once.

    The guard is a lease: a holder renews it every third of the TTL for as long as it holds it, so
    a slow delivery (ten attempts over two minutes) keeps it, while the key of a holder that died
    (SIGKILL, a lost node) is free one TTL later and the restarted worker can settle the delivery
    it had in hand, instead of finding it busy and dead-lettering its trigger. Redis is not the
    record of what was sent (MongoDB is): losing its keys only loses this mutual exclusion.
    """

    def __init__(self, redis: Redis, ttl_seconds: int, prefix: str = "helpdesk:notifier:delivery:") -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._prefix = prefix
        self._release = redis.register_script(_RELEASE)
        self._renew = redis.register_script(_RENEW)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[bool]:
        """Yields whether this worker holds the delivery; releases it on the way out."""
        name = self._prefix + key
        token = uuid.uuid4().hex
        held = bool(await self._redis.set(name, token, nx=True, ex=self._ttl))
        renewing = asyncio.create_task(self._keep(name, token)) if held else None
        try:
            yield held
        finally:
            if renewing is not None:
                renewing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewing
            if held:
                try:
                    await self._release(keys=[name], args=[token])
                except Exception:  # the TTL frees it anyway; do not hide the delivery's own outcome
                    log.warning("could not release delivery guard %s", name, exc_info=True)

    async def _keep(self, name: str, token: str) -> None:
        """Renew the lease every third of the TTL until cancelled; a failed renewal is retried next time
        (two in a row may let the key lapse, which only loses the mutual exclusion, as above)."""
        while True:
            await asyncio.sleep(self._ttl / 3)
            try:
                await self._renew(keys=[name], args=[token, int(self._ttl * 1000)])
            except Exception:
                log.warning("could not renew delivery guard %s", name, exc_info=True)
