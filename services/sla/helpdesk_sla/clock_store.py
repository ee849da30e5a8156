"""MongoDB adapter of the SLA clocks: one document per ticket in collection `clocks`.

A document holds the ticket's clocks (the state machine's `TicketClocks`, as JSON text so every
server keeps it byte for byte), a revision that guards every write, the ids of the ticket events
already applied (a replay changes nothing), the moment of the next warning or breach (`wakeup`,
seconds since the epoch, which the durable timer queries) and an outbox: the sla.* events decided
by the same write, told after it and then cleared. A crash between the write and the telling
leaves them in the outbox, and the next start tells them (same event ids: subscribers drop repeats).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from helpdesk_events.outbox import Told, clear_told, outbox_fields, told_of
from helpdesk_events.revisions import write_next_revision
from helpdesk_sla.clocks import TicketClocks

# Enough to recognize a replay after a rebalance or a restart; older events were committed long ago.
APPLIED_KEPT = 200


@dataclass(frozen=True)
class ClockRecord:
    ticket_id: str
    revision: int
    clocks: TicketClocks | None  # None: the ticket is known (events applied) but runs no clock
    applied: tuple[str, ...] = ()
    outbox: tuple[Told, ...] = ()
    context: dict[str, Any] | None = None  # what later policy choices need: channel, tier, named policy


class MongoClockBook:
    def __init__(self, db: AsyncDatabase) -> None:
        self._clocks = db.clocks

    async def create_indexes(self) -> None:
        await self._clocks.create_index([("wakeup", ASCENDING)], name="wakeup")
        await self._clocks.create_index([("pending", ASCENDING)], name="pending")

    async def get(self, ticket_id: str) -> ClockRecord | None:
        document = await self._clocks.find_one({"_id": ticket_id})
        return _record(document) if document is not None else None

    async def save(
        self, record: ClockRecord, clocks: TicketClocks | None, *, applied: str | None, outbox: list[Told],
        wakeup: datetime | None, context: dict[str, Any] | None,
    ) -> ClockRecord | None:  # fmt: skip
        """Write the next revision of `record` unless another writer did first (then None)."""
        kept = (*record.applied, applied)[-APPLIED_KEPT:] if applied else record.applied
        every = (*record.outbox, *outbox)
        fields = {
            "clocks": json.dumps(clocks.document()) if clocks is not None else None,
            "applied": list(kept),
            **outbox_fields(every),
            "wakeup": wakeup.timestamp() if wakeup is not None else None,
            "context": context if context is not None else record.context,
        }
        if not await write_next_revision(self._clocks, record.ticket_id, record.revision, fields):
            return None
        return ClockRecord(record.ticket_id, record.revision + 1, clocks, kept, every, fields["context"])

    async def told(self, ticket_id: str, event_ids: list[str]) -> None:
        """Kafka has these: take them out of the outbox (whatever the revision is by now)."""
        await clear_told(self._clocks, ticket_id, event_ids)

    async def due(self, now: datetime, limit: int) -> list[str]:
        """Tickets whose next warning or breach has come, soonest first."""
        cursor = (
            self._clocks.find({"wakeup": {"$lte": now.timestamp()}}, {"_id": 1}).sort("wakeup", ASCENDING).limit(limit)
        )
        return [document["_id"] async for document in cursor]

    async def pending(self, limit: int) -> list[str]:
        """Tickets with events decided and not yet told (a crash, Kafka down)."""
        cursor = self._clocks.find({"pending": True}, {"_id": 1}).limit(limit)
        return [document["_id"] async for document in cursor]

    async def open_tickets(self) -> list[str]:
        """Tickets with a clock that may still fall due (for re-targeting after a policy change)."""
        cursor = self._clocks.find({"wakeup": {"$ne": None}}, {"_id": 1})
        return [document["_id"] async for document in cursor]


def _record(document: dict[str, Any]) -> ClockRecord:
    state = document.get("clocks")
    return ClockRecord(
        ticket_id=document["_id"],
        revision=int(document.get("revision") or 0),
        clocks=TicketClocks.from_document(json.loads(state)) if state else None,
        applied=tuple(document.get("applied") or ()),
        outbox=told_of(document),
        context=document.get("context"),
    )
