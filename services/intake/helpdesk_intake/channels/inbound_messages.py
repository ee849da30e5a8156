"""MongoDB `inbound_messages`: the durable record that one channel message makes one set of events.

`_id` is "<channel>:<message id>" (e.g. "email:abc@mail.example.com"); the unique `_id` makes the
first decision win when two deliveries race. The record keeps the decision (ticket, outcome,
reopening) and the deterministic event ids, so a retry after a crash between deciding and
publishing republishes exactly the same events, and a duplicate gets the first answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from helpdesk_events import TicketStatus

INBOUND_MESSAGES_COLLECTION = "inbound_messages"

Outcome = Literal["created", "appended"]


@dataclass(frozen=True)
class InboundDecision:
    key: str
    ticket_id: str
    outcome: Outcome
    reopen_from: TicketStatus | None = None  # the status a follow-up reopens the ticket from
    published: bool = False


class InboundMessages:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._messages = collection

    async def find(self, key: str) -> InboundDecision | None:
        document = await self._messages.find_one({"_id": key})
        return _decision(document) if document is not None else None

    async def decide(
        self, decision: InboundDecision, *, event_ids: list[str], message_id: str
    ) -> InboundDecision:
        """Store `decision` unless one is stored already; either way, the decision that holds."""
        document = {
            "_id": decision.key,
            "message_id": message_id,
            "ticket_id": decision.ticket_id,
            "outcome": decision.outcome,
            "reopen_from": decision.reopen_from.value if decision.reopen_from else None,
            "event_ids": event_ids,
            "published": False,
            "received_at": _now(),
        }
        try:
            await self._messages.insert_one(document)
        except DuplicateKeyError:
            existing = await self.find(decision.key)
            if existing is None:  # removed in between: nothing else decided, so ours holds
                raise
            return existing
        return decision

    async def mark_published(self, key: str) -> None:
        await self._messages.update_one({"_id": key}, {"$set": {"published": True, "published_at": _now()}})


def _decision(document: dict[str, Any]) -> InboundDecision:
    return InboundDecision(
        key=document["_id"],
        ticket_id=document["ticket_id"],
        outcome=document["outcome"],
        reopen_from=TicketStatus(document["reopen_from"]) if document.get("reopen_from") else None,
        published=bool(document.get("published", False)),
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")
