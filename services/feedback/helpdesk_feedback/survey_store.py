"""MongoDB adapter of the surveys: one document per ticket in `surveys`, one per customer in `customers`.

A ticket's document holds its `TicketSurvey` (as JSON text, so every server keeps it byte for byte),
a revision that guards every write, the ids of the ticket events already applied (a replay changes
nothing), `due` (when the survey is to be sent, seconds since the epoch, which the timer queries),
`sent_at` (which the summary queries) and an outbox: the events decided by the same write, told after
it and cleared once Kafka has them. A crash between the write and the telling leaves them in the
outbox, and the timer tells them again under the same ids (subscribers drop repeats).

A customer's document says when they were last surveyed and for which ticket: claiming it is the
guarded write that keeps a customer from two surveys within the interval, even with two tickets
solved at the same moment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from helpdesk_events.outbox import Told, clear_told, outbox_fields, told_of
from helpdesk_events.revisions import write_next_revision
from helpdesk_feedback.surveys import TicketSurvey

# Enough to recognize a replay after a rebalance or a restart; older events were committed long ago.
APPLIED_KEPT = 200


@dataclass(frozen=True)
class SurveyRecord:
    ticket: TicketSurvey
    revision: int = 0
    applied: tuple[str, ...] = ()
    outbox: tuple[Told, ...] = ()


class MongoSurveyBook:
    def __init__(self, db: AsyncDatabase) -> None:
        self._surveys = db.surveys
        self._customers = db.customers

    async def create_indexes(self) -> None:
        await self._surveys.create_index([("due", ASCENDING)], name="due")
        await self._surveys.create_index([("pending", ASCENDING)], name="pending")
        await self._surveys.create_index([("sent_at", ASCENDING)], name="sent_at")
        await self._surveys.create_index([("requester", ASCENDING)], name="requester")

    async def get(self, ticket_id: str) -> SurveyRecord | None:
        document = await self._surveys.find_one({"_id": ticket_id})
        return _record(document) if document is not None else None

    async def save(
        self, record: SurveyRecord, ticket: TicketSurvey, *, applied: str | None = None, outbox: list[Told] = ()
    ) -> SurveyRecord | None:  # type: ignore[assignment]
        """Write the next revision of `record` unless another writer did first (then None)."""
        kept = (*record.applied, applied)[-APPLIED_KEPT:] if applied else record.applied
        every = (*record.outbox, *outbox)
        fields = {
            "state": json.dumps(ticket.document()),
            "applied": list(kept),
            **outbox_fields(every),
            "due": ticket.due_at.timestamp() if ticket.due_at is not None and ticket.survey is None else None,
            "sent_at": ticket.survey.sent_at.timestamp() if ticket.survey is not None else None,
            # Lower case, as customer.erased names addresses: the erasure finds the requester's tickets by it.
            "requester": ticket.requester_email.strip().lower() if ticket.requester_email else None,
        }
        if not await write_next_revision(self._surveys, ticket.ticket_id, record.revision, fields):
            return None
        return SurveyRecord(ticket, record.revision + 1, kept, every)

    async def told(self, ticket_id: str, event_ids: list[str]) -> None:
        """Kafka has these: take them out of the outbox."""
        await clear_told(self._surveys, ticket_id, event_ids)

    async def due(self, now: datetime, limit: int) -> list[str]:
        """Tickets whose survey is to be sent by now, soonest first."""
        cursor = self._surveys.find({"due": {"$lte": now.timestamp()}}, {"_id": 1}).sort("due", ASCENDING)
        return [document["_id"] async for document in cursor.limit(limit)]

    async def pending(self, limit: int) -> list[str]:
        """Tickets with events decided and not yet told (a crash, Kafka down)."""
        cursor = self._surveys.find({"pending": True}, {"_id": 1}).limit(limit)
        return [document["_id"] async for document in cursor]

    async def sent_between(self, start: datetime, end: datetime) -> list[TicketSurvey]:
        """The tickets whose survey was sent in [start, end), for the summary."""
        cursor = self._surveys.find(
            {"sent_at": {"$gte": start.timestamp(), "$lt": end.timestamp()}}, {"state": 1}
        )
        return [TicketSurvey.from_document(json.loads(document["state"])) async for document in cursor]

    async def tickets_of(self, emails: list[str]) -> list[str]:
        """The tickets whose requester is one of `emails` (lower case)."""
        cursor = self._surveys.find({"requester": {"$in": emails}}, {"_id": 1})
        return [document["_id"] async for document in cursor]

    async def forget_customers(self, emails: list[str]) -> None:
        """Drop when these addresses were last surveyed (the interval is kept for the living only)."""
        await self._customers.delete_many({"_id": {"$in": emails}})

    async def claim_customer(self, email: str, ticket_id: str, now: datetime, not_since: datetime) -> bool:
        """Record that `email` is surveyed now for `ticket_id`, unless they were surveyed after `not_since`
        for another ticket. Claiming again for the same ticket (a retry) succeeds."""
        key = email.strip().lower()
        try:
            await self._customers.insert_one({"_id": key, "surveyed_at": now.timestamp(), "ticket_id": ticket_id})
            return True
        except DuplicateKeyError:
            pass
        result = await self._customers.update_one(
            {"_id": key, "surveyed_at": {"$lte": not_since.timestamp()}},
            {"$set": {"surveyed_at": now.timestamp(), "ticket_id": ticket_id}},
        )
        if result.matched_count == 1:
            return True
        current = await self._customers.find_one({"_id": key})
        return current is not None and current.get("ticket_id") == ticket_id


def _record(document: dict[str, Any]) -> SurveyRecord:
    return SurveyRecord(
        ticket=TicketSurvey.from_document(json.loads(document["state"])),
        revision=int(document.get("revision") or 0),
        applied=tuple(document.get("applied") or ()),
        outbox=told_of(document),
    )
