"""At most one Slack message per channel per interval, across every notifier instance, kept in Redis.

Slack allows about one message per second per channel and answers bursts with 429. Each send first
takes the channel's turn: `SET key NX PX interval` succeeds for one instance; the others wait the
key's remaining time (PTTL) and try again. The key expiring is what frees the channel, so a crashed
instance never holds it for longer than one interval.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from helpdesk_events.in_flight import idle_sleep

KEY_PREFIX = "notifier:slack-rate:"


class SlackRateLimiter:
    def __init__(
        self,
        redis: Redis,
        interval_seconds: float = 1.0,
        *,
        sleep: Callable[[float], Awaitable[None]] = idle_sleep,  # waiting for a turn frees the record's slot
    ) -> None:
        if interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        self._redis = redis
        self._interval_ms = max(1, round(interval_seconds * 1000))
        self._sleep = sleep

    async def wait_turn(self, channel: str) -> None:
        """Return once this instance may send to `channel` (a channel or user id): its turn starts now
        and lasts one interval. Redis errors propagate: the caller's outage handling applies."""
        key = KEY_PREFIX + channel
        token = uuid.uuid4().hex
        while True:
            if await self._redis.set(key, token, nx=True, px=self._interval_ms):
                return
            remaining_ms = await self._redis.pttl(key)
            if remaining_ms == -1:  # a key without expiry (set by hand?) would block the channel for ever
                await self._redis.pexpire(key, self._interval_ms)
                remaining_ms = self._interval_ms
            if remaining_ms > 0:  # -2: it expired in between, try again at once
                await self._sleep(remaining_ms / 1000)
