"""MongoDB adapter of the report facts: one document per ticket in collection `ticket_facts`.

A document holds the ticket's `TicketFacts` as plain fields (moments as seconds since the epoch, so
`created_between` is a range query on an index on every server, nx-27017 included, where datetimes
written by `$set` would come back as strings), a revision that guards every write (two instances
handling the same ticket never lose an update: the loser reads again and re-applies its change), and
the ids of the events already applied, so a redelivered event changes nothing.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from helpdesk_events.revisions import write_next_revision
from helpdesk_sla.ticket_facts import TicketFacts

# Enough to recognize a replay after a rebalance or a restart; older events were committed long ago.
APPLIED_KEPT = 200
_SAVE_ATTEMPTS = 20
_BACKOFF_SECONDS = 0.005  # times the attempt, jittered: writers that collided spread out
_MOMENTS = ("created_at", "first_agent_reply_at", "solved_at")
_PLAIN = ("channel", "priority", "agent_id", "team", "agent_replies", "reopened", "first_reply_within",
          "resolution_within", "breaches")  # fmt: skip

Change = Callable[[TicketFacts | None], TicketFacts | None]


class ConcurrentFactsUpdate(Exception):
    """Other writers kept changing the ticket's facts; the event is tried again by the consumer."""


class MongoFactsBook:
    def __init__(self, db: AsyncDatabase) -> None:
        self._facts = db.ticket_facts

    async def create_indexes(self) -> None:
        await self._facts.create_index([("created_at", ASCENDING)], name="created_at")

    async def get(self, ticket_id: str) -> TicketFacts | None:
        document = await self._facts.find_one({"_id": ticket_id})
        return _facts(document) if document is not None else None

    async def apply(self, ticket_id: str, event_id: str, change: Change) -> TicketFacts | None:
        """Apply `change` to the ticket's facts once per `event_id`; the facts as stored afterwards.

        `change` gets None for a ticket not seen yet and may answer None to leave it unrecorded.
        It may run more than once (after a concurrent write), so it must be pure.
        """
        for attempt in range(_SAVE_ATTEMPTS):
            if attempt:
                await asyncio.sleep(random.uniform(0, _BACKOFF_SECONDS * attempt))
            document = await self._facts.find_one({"_id": ticket_id})
            current = _facts(document) if document is not None else None
            applied = list(document.get("applied") or ()) if document is not None else []
            if event_id in applied:
                return current  # a replay
            changed = change(current)
            if changed is None:
                return current
            if changed.ticket_id != ticket_id:
                raise ValueError(f"facts of {changed.ticket_id!r} given for ticket {ticket_id!r}")
            fields = {**_fields(changed), "applied": [*applied, event_id][-APPLIED_KEPT:]}
            revision = int(document["revision"]) if document is not None else 0
            if await write_next_revision(self._facts, ticket_id, revision, fields):
                return changed
        raise ConcurrentFactsUpdate(f"ticket {ticket_id}: facts changed concurrently {_SAVE_ATTEMPTS} times")

    async def created_between(self, start: datetime, end: datetime) -> list[TicketFacts]:
        """Tickets created in [start, end), oldest first (those whose creation is not known yet: none)."""
        cursor = self._facts.find({"created_at": {"$gte": _seconds(start), "$lt": _seconds(end)}}).sort(
            "created_at", ASCENDING
        )
        return [_facts(document) async for document in cursor]


def _seconds(moment: datetime) -> float:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a report window needs timezone-aware moments, got {moment.isoformat()}")
    return moment.timestamp()


def _moment(value: Any) -> datetime | None:
    # Rounded to the microsecond: a float of seconds since the epoch carries a little more noise.
    return datetime.fromtimestamp(round(float(value), 6), UTC) if value is not None else None


def _flag(value: Any) -> bool | None:
    # nx-27017 may give a stored false back as 0: a tri-state flag is read back as a bool.
    return bool(value) if value is not None else None


def _fields(facts: TicketFacts) -> dict[str, Any]:
    fields: dict[str, Any] = {name: getattr(facts, name) for name in _PLAIN}
    for name in _MOMENTS:
        moment = getattr(facts, name)
        fields[name] = _seconds(moment) if moment is not None else None
    return fields


def _facts(document: dict[str, Any]) -> TicketFacts:
    return TicketFacts(
        ticket_id=document["_id"],
        created_at=_moment(document.get("created_at")),
        channel=document.get("channel"),
        priority=document.get("priority"),
        agent_id=document.get("agent_id"),
        team=document.get("team"),
        first_agent_reply_at=_moment(document.get("first_agent_reply_at")),
        agent_replies=int(document.get("agent_replies") or 0),
        solved_at=_moment(document.get("solved_at")),
        reopened=bool(document.get("reopened")),
        first_reply_within=_flag(document.get("first_reply_within")),
        resolution_within=_flag(document.get("resolution_within")),
        breaches=int(document.get("breaches") or 0),
    )
