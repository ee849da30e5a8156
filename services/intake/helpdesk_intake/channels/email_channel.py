"""The email channel assembled from settings: its stores, handler and SMTP listener, on the shared
`InboundDesk` (Redis guard, `inbound_messages`).

Called by the composition root (`bootstrap.create_app`), which starts and stops it in the lifespan
and subscribes its event handler (`notification.sent` -> `email_threads`) to the read-model consumer.
"""

from __future__ import annotations

from pymongo import AsyncMongoClient

from helpdesk_events import EventPayload, NotificationSent
from helpdesk_events.consumer import Handler
from helpdesk_intake.channels.auto_reply import own_address
from helpdesk_intake.channels.email_intake import EmailIntake
from helpdesk_intake.channels.email_threads import EMAIL_THREADS_COLLECTION, EmailThreads
from helpdesk_intake.channels.ignored_messages import IGNORED_MESSAGES_COLLECTION, IgnoredMessages
from helpdesk_intake.channels.inbound_desk import InboundDesk
from helpdesk_intake.channels.smtp_listener import SmtpListener
from helpdesk_intake.customers import CustomerDirectory
from helpdesk_intake.read_model import TicketReadModel
from helpdesk_intake.settings import Settings


class EmailChannel:
    def __init__(
        self, settings: Settings, mongo: AsyncMongoClient, read_model: TicketReadModel, desk: InboundDesk
    ) -> None:
        database = mongo[settings.mongodb_database]
        self.threads = EmailThreads(database[EMAIL_THREADS_COLLECTION])
        self.inbound = desk.inbound
        self.ignored = IgnoredMessages(database[IGNORED_MESSAGES_COLLECTION])
        self.intake = EmailIntake(
            once=desk.once,
            read_model=read_model,
            threads=self.threads,
            ignored=self.ignored,
            own_addresses=[own_address(settings.email_from)],
            max_attachment_bytes=settings.email_max_attachment_bytes,
            customers=CustomerDirectory(database),
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
