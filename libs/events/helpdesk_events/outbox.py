"""The transactional outbox of a MongoDB document: events decided by the same write as the state they
follow from, told to Kafka after the write, and cleared once Kafka has them.

A document keeps `outbox` (a list of `{event_id, envelope}`, the envelope encoded as text) and `pending`
(true while the list is not empty, so a timer can find what a crash or a Kafka outage left untold) and a
`revision` that guards every write. Event ids are fixed when decided: telling twice is harmless,
but costs a publish and every subscriber's handling, so within one process a document's writers
and the timer's sweep of untold events take turns (`Turns`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from helpdesk_events.envelope import EventPayload, new_envelope
from helpdesk_events.publisher import EventPublisher
from helpdesk_events.registry import decode, encode

_CLEAR_ATTEMPTS = 5


@dataclass(frozen=True)
class Told:
    """An event decided and not yet acknowledged by Kafka: its id and encoded envelope."""

    event_id: str
    envelope: str


class Turns:
    """One turn at a time per document in this process. A write tells its outbox after the write and
    clears it once Kafka has it; a sweep (or another write) in between would find the same events
    still there and tell them again. Waiting for the turn, the next one reads the document as the
    last one left it."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: Counter[str] = Counter()

    @asynccontextmanager
    async def of(self, document_id: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(document_id, asyncio.Lock())
        self._waiting[document_id] += 1
        try:
            async with lock:
                yield
        finally:
            self._waiting[document_id] -= 1
            if not self._waiting[document_id]:  # the last one out: no lock kept per document ever seen
                del self._waiting[document_id], self._locks[document_id]


def outbox_entry(payload: EventPayload, *, source: str, ticket_id: str, event_id: uuid.UUID, at: datetime) -> Told:
    envelope = new_envelope(payload, source=source, ticket_id=ticket_id, event_id=event_id, occurred_at=at)
    return Told(str(event_id), encode(envelope).decode())


def told_of(document: dict[str, Any]) -> tuple[Told, ...]:
    """The outbox of a stored document."""
    return tuple(Told(entry["event_id"], entry["envelope"]) for entry in document.get("outbox") or ())


def outbox_fields(outbox: tuple[Told, ...]) -> dict[str, Any]:
    """The fields a write stores for `outbox`."""
    return {
        "outbox": [{"event_id": entry.event_id, "envelope": entry.envelope} for entry in outbox],
        "pending": bool(outbox),
    }


async def publish_told(publisher: EventPublisher, outbox: tuple[Told, ...]) -> list[str]:
    """Tell every event of `outbox`, in order; the ids Kafka acknowledged (all, or an exception)."""
    for entry in outbox:
        await publisher.publish(decode(entry.envelope.encode()))
    return [entry.event_id for entry in outbox]


async def clear_told(collection: AsyncCollection, document_id: str, event_ids: list[str]) -> None:
    """Kafka has these: take them out of the document's outbox, whatever its revision is by now."""
    done = set(event_ids)
    for _ in range(_CLEAR_ATTEMPTS):
        document = await collection.find_one({"_id": document_id}, {"outbox": 1, "revision": 1})
        if document is None:
            return
        left = tuple(entry for entry in told_of(document) if entry.event_id not in done)
        result = await collection.update_one(
            {"_id": document_id, "revision": document["revision"]}, {"$set": outbox_fields(left)}
        )
        if result.matched_count == 1:
            return
    # Left in the outbox: told again by the timer, under the same ids (subscribers drop repeats).
