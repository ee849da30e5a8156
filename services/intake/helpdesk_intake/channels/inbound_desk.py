"""What every channel shares, built once per process: the Redis guard, `inbound_messages`,
`channel_threads` and the one-decision-per-message path (`InboundOnce`)."""

from __future__ import annotations

from pymongo import AsyncMongoClient
from redis.asyncio import Redis

from helpdesk_intake.channels.channel_threads import CHANNEL_THREADS_COLLECTION, ChannelThreads
from helpdesk_intake.channels.inbound_guard import InboundGuard
from helpdesk_intake.channels.inbound_messages import INBOUND_MESSAGES_COLLECTION, InboundMessages
from helpdesk_intake.channels.inbound_once import InboundOnce
from helpdesk_intake.intake import TicketIntake
from helpdesk_intake.settings import Settings


class InboundDesk:
    def __init__(self, settings: Settings, mongo: AsyncMongoClient, intake: TicketIntake) -> None:
        database = mongo[settings.mongodb_database]
        self.redis = Redis.from_url(settings.redis_url)
        self.inbound = InboundMessages(database[INBOUND_MESSAGES_COLLECTION])
        self.threads = ChannelThreads(database[CHANNEL_THREADS_COLLECTION])
        self.guard = InboundGuard(self.redis, settings.email_guard_ttl_seconds)
        self.once = InboundOnce(
            intake=intake,
            inbound=self.inbound,
            guard=self.guard,
            wait_for_first_seconds=settings.publish_timeout_seconds,
        )

    async def close(self) -> None:
        await self.redis.aclose()

    async def check_redis(self) -> None:
        await self.redis.ping()
