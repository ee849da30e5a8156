"""MongoDB `channel_threads`: which ticket a chat conversation, a social thread or sender, or a
caller currently belongs to.

`_id` is "<kind>:<channel's own id>" ("chat:conv-1", "social-thread:x:123", "voice-caller:+33...").
A message that opened a new ticket moves its thread there (a closed ticket is final), so the
write is a plain upsert; replays write the same value again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

CHANNEL_THREADS_COLLECTION = "channel_threads"


class ChannelThreads:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._threads = collection

    async def ticket_of(self, key: str) -> str | None:
        document = await self._threads.find_one({"_id": key}, projection={"ticket_id": True})
        return document["ticket_id"] if document is not None else None

    async def remember(self, key: str, ticket_id: str) -> None:
        await self._threads.update_one(
            {"_id": key},
            {"$set": {"ticket_id": ticket_id, "recorded_at": datetime.now(UTC).isoformat()}},
            upsert=True,
        )
