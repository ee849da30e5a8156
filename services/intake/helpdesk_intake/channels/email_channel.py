"""The email channel assembled from settings: stores, Redis guard, handler, SMTP listener.

Called by the composition root (`bootstrap.create_app`), which starts and stops it in the lifespan
and subscribes its event handler (`notification.sent` -> `email_threads`) to the read-model consumer.
"""

from __future__ import annotations

from pymongo import AsyncMongoClient
from redis.asyncio import Redis

from helpdesk_events import EventPayload, NotificationSent
from helpdesk_events.consumer import Handler
from helpdesk_intake.channels.auto_reply import own_address
from helpdesk_intake.channels.email_intake import EmailIntake
from helpdesk_intake.channels.email_threads import EMAIL_THREADS_COLLECTION, EmailThreads
from helpdesk_intake.channels.ignored_messages import IGNORED_MESSAGES_COLLECTION, IgnoredMessages
from helpdesk_intake.channels.inbound_guard import InboundGuard
from helpdesk_intake.channels.inbound_messages import INBOUND_MESSAGES_COLLECTION, InboundMessages
from helpdesk_intake.channels.smtp_listener import SmtpListener
from helpdesk_intake.intake import TicketIntake
from helpdesk_intake.read_model import TicketReadModel
from helpdesk_intake.settings import Settings


class EmailChannel:
    def __init__(
        self, settings: Settings, mongo: AsyncMongoClient, read_model: TicketReadModel, intake: TicketIntake
    ) -> None:
        database = mongo[settings.mongodb_database]
        self.redis = Redis.from_url(settings.redis_url)
        self.threads = EmailThreads(database[EMAIL_THREADS_COLLECTION])
        self.inbound = InboundMessages(database[INBOUND_MESSAGES_COLLECTION])
        self.ignored = IgnoredMessages(database[IGNORED_MESSAGES_COLLECTION])
        self.intake = EmailIntake(
            intake=intake,
            read_model=read_model,
            threads=self.threads,
            inbound=self.inbound,
            ignored=self.ignored,
            guard=InboundGuard(self.redis, settings.email_guard_ttl_seconds),
            own_addresses=[own_address(settings.email_from)],
            max_attachment_bytes=settings.email_max_attachment_bytes,
            wait_for_first_seconds=settings.publish_timeout_seconds,
        )
        self.smtp = (
            SmtpListener(
                self.intake.receive,
                host=settings.email_smtp_host or settings.http_host,
                port=settings.email_smtp_port,
                max_message_bytes=settings.email_max_message_bytes,
            )
            if settings.email_smtp_enabled
            else None
        )

    def handlers(self) -> dict[type[EventPayload], Handler]:
        return {NotificationSent: self.threads.on_notification_sent}

    async def start(self) -> None:
        if self.smtp is not None:
            await self.smtp.start()

    async def stop(self) -> None:
        if self.smtp is not None:
            await self.smtp.stop()
        await self.redis.aclose()

    async def check_redis(self) -> None:
        await self.redis.ping()
