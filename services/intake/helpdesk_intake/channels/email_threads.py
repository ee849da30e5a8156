"""MongoDB `email_threads`: every Message-ID the platform issued or received, and its ticket.

`_id` is the normalized Message-ID (no angle brackets). The notifier's acknowledgements arrive as
`notification.sent` events (channel email, `external_id` = their Message-ID); customer mail is
recorded as intake accepts it. Writes are upserts that never change a recorded ticket, so
redelivered events are harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from helpdesk_events import DeliveryChannel, Envelope, NotificationSent
from helpdesk_intake.channels.email_message import normalize_message_id

EMAIL_THREADS_COLLECTION = "email_threads"


class EmailThreads:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._threads = collection

    async def remember(self, message_id: str, ticket_id: str, *, issued_by: str) -> None:
        key = normalize_message_id(message_id)
        if not key:
            return
        document = {
            "ticket_id": ticket_id,
            "issued_by": issued_by,
            "recorded_at": datetime.now(UTC).isoformat(),
        }
        await self._threads.update_one({"_id": key}, {"$setOnInsert": document}, upsert=True)

    async def tickets_of(self, message_ids: Sequence[str]) -> dict[str, str]:
        """Message-ID -> ticket id, for those of `message_ids` that are known."""
        if not message_ids:
            return {}
        cursor = self._threads.find({"_id": {"$in": list(message_ids)}}, projection={"ticket_id": True})
        return {document["_id"]: document["ticket_id"] async for document in cursor}

    async def on_notification_sent(self, envelope: Envelope[NotificationSent]) -> None:
        """An acknowledgement went out: a reply to it must find its ticket."""
        sent = envelope.payload
        if sent.channel is DeliveryChannel.EMAIL and sent.external_id and envelope.ticket_id:
            await self.remember(sent.external_id, envelope.ticket_id, issued_by="notifier")
