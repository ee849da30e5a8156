"""MongoDB `ignored_messages`: mail that opened nothing (auto-replies, bounces, loops), and why.

Kept for support staff to look into; never answered. `_id` is the same key as in
`inbound_messages`, so a redelivered auto-reply is recorded once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from helpdesk_intake.channels.email_message import InboundEmail

IGNORED_MESSAGES_COLLECTION = "ignored_messages"


class IgnoredMessages:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._ignored = collection

    async def record(self, key: str, mail: InboundEmail, reason: str) -> None:
        document = {
            "channel": "email",
            "message_id": mail.message_id,
            "sender": mail.from_address,
            "subject": mail.subject,
            "reason": reason,
            "received_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        }
        await self._ignored.update_one({"_id": key}, {"$setOnInsert": document}, upsert=True)

    async def get(self, key: str) -> dict[str, Any] | None:
        return await self._ignored.find_one({"_id": key})
