"""MongoDB adapter of the router's ports: collections `agents`, `assignments` and `queue`.

Every document is keyed by what must be unique (`_id` = agent id or ticket id), so the
database itself refuses a second assignment of a ticket.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from helpdesk_events import AgentStatus, Priority
from helpdesk_router.assignment import Assignment, AssignmentState, QueueEntry, QueueState
from helpdesk_router.ports import ConcurrentAgentUpdate
from helpdesk_router.roster import Agent, AgentProfile, StatusChange

Document = dict[str, Any]
_PROFILE_FIELDS = tuple(AgentProfile.model_fields)
_SAVE_ATTEMPTS = 5


async def create_indexes(db: AsyncDatabase) -> None:
    await db.assignments.create_index([("state", ASCENDING), ("agent_id", ASCENDING)], name="state_agent")
    await db.queue.create_index(
        [("state", ASCENDING), ("priority_rank", ASCENDING), ("queued_at", ASCENDING)], name="waiting_order"
    )


def _time(value: object) -> datetime | None:
    """Read a stored time. nx-27017 (the test server) keeps a datetime written by `$set` on an
    existing document as text in UTC ('2026-11-23 18:42:09.803000'); MongoDB keeps a date."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class MongoRoster:
    def __init__(self, db: AsyncDatabase) -> None:
        self._agents = db.agents

    async def agents(self) -> list[Agent]:
        return [_agent(document) async for document in self._agents.find({}).sort("_id", ASCENDING)]

    async def agent(self, agent_id: str) -> Agent | None:
        document = await self._agents.find_one({"_id": agent_id})
        return _agent(document) if document is not None else None

    async def save(self, agent_id: str, profile: AgentProfile, now: datetime) -> tuple[Agent, bool]:
        fields = profile.model_dump(mode="json")
        # Read, then write guarded by the revision read: the status change is counted exactly once.
        for _ in range(_SAVE_ATTEMPTS):
            current = await self._agents.find_one({"_id": agent_id})
            if current is None:
                document = {
                    "_id": agent_id,
                    **fields,
                    "load": 0,
                    "last_assigned_at": None,
                    "revision": 1,
                    "status_changes": 1,
                    "announced_status": None,
                    "announced_changes": 0,
                    "created_at": now,
                }
                try:
                    await self._agents.insert_one(document)
                except DuplicateKeyError:
                    continue
                return _agent(document), True
            changes = {
                **fields,
                "revision": current["revision"] + 1,
                "status_changes": current["status_changes"] + (current["status"] != fields["status"]),
            }
            result = await self._agents.update_one(
                {"_id": agent_id, "revision": current["revision"]}, {"$set": changes}
            )
            if result.matched_count:
                return _agent({**current, **changes}), False
        raise ConcurrentAgentUpdate(agent_id)

    async def mark_status_announced(self, change: StatusChange) -> None:
        await self._agents.update_one(
            {
                "_id": change.agent_id,
                "status_changes": {"$gte": change.sequence},
                "announced_changes": {"$lt": change.sequence},
            },
            {"$set": {"announced_status": change.to_status.value, "announced_changes": change.sequence}},
        )

    async def reserve(self, agent_id: str, required_skills: Iterable[str], now: datetime) -> bool:
        guard: Document = {
            "_id": agent_id,
            "status": AgentStatus.ONLINE.value,
            "$expr": {"$lt": ["$load", "$capacity"]},
        }
        required = sorted(set(required_skills))
        if required:
            guard["skills"] = {"$all": required}
        result = await self._agents.update_one(guard, {"$inc": {"load": 1}, "$set": {"last_assigned_at": now}})
        return result.matched_count == 1

    async def release(self, agent_id: str) -> None:
        await self._agents.update_one({"_id": agent_id, "load": {"$gt": 0}}, {"$inc": {"load": -1}})

    async def reconcile_loads(self, open_tickets: Mapping[str, int]) -> dict[str, int]:
        corrected: dict[str, int] = {}
        async for document in self._agents.find({}, {"load": 1}):
            expected = open_tickets.get(document["_id"], 0)
            if document.get("load") != expected:
                await self._agents.update_one({"_id": document["_id"]}, {"$set": {"load": expected}})
                corrected[document["_id"]] = expected
        return corrected


def _agent(document: Document) -> Agent:
    return Agent(
        agent_id=document["_id"],
        profile=AgentProfile.model_validate({name: document[name] for name in _PROFILE_FIELDS if name in document}),
        load=document.get("load", 0),
        last_assigned_at=_time(document.get("last_assigned_at")),
        status_changes=document.get("status_changes", 0),
        announced_status=document.get("announced_status"),
        announced_changes=document.get("announced_changes", 0),
    )


class MongoAssignmentBook:
    def __init__(self, db: AsyncDatabase) -> None:
        self._assignments = db.assignments

    async def assignment(self, ticket_id: str) -> Assignment | None:
        document = await self._assignments.find_one({"_id": ticket_id})
        return _assignment(document) if document is not None else None

    async def claim(self, assignment: Assignment) -> bool:
        try:
            await self._assignments.insert_one(
                {
                    "_id": assignment.ticket_id,
                    "agent_id": assignment.agent_id,
                    "agent_name": assignment.agent_name,
                    "agent_email": assignment.agent_email,
                    "slack_user_id": assignment.slack_user_id,
                    "team": assignment.team,
                    "assigned_at": assignment.assigned_at,
                    "state": assignment.state.value,
                    "announced": assignment.announced,
                }
            )
        except DuplicateKeyError:
            return False
        return True

    async def mark_announced(self, ticket_id: str) -> None:
        await self._assignments.update_one({"_id": ticket_id}, {"$set": {"announced": True}})

    async def close(self, ticket_id: str, now: datetime) -> Assignment | None:
        document = await self._assignments.find_one_and_update(
            {"_id": ticket_id, "state": AssignmentState.OPEN.value},
            {"$set": {"state": AssignmentState.CLOSED.value, "closed_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        return _assignment(document) if document is not None else None

    async def open_tickets_by_agent(self) -> dict[str, int]:
        cursor = await self._assignments.aggregate(
            [
                {"$match": {"state": AssignmentState.OPEN.value}},
                {"$group": {"_id": "$agent_id", "open": {"$sum": 1}}},
            ]
        )
        return {document["_id"]: document["open"] async for document in cursor}


def _assignment(document: Document) -> Assignment:
    return Assignment(
        ticket_id=document["_id"],
        agent_id=document["agent_id"],
        agent_name=document["agent_name"],
        agent_email=document.get("agent_email"),
        slack_user_id=document.get("slack_user_id"),
        team=document.get("team"),
        assigned_at=_time(document["assigned_at"]),  # type: ignore[arg-type]
        state=AssignmentState(document["state"]),
        announced=bool(document.get("announced")),
    )


class MongoTicketQueue:
    def __init__(self, db: AsyncDatabase) -> None:
        self._queue = db.queue

    async def entry(self, ticket_id: str) -> QueueEntry | None:
        document = await self._queue.find_one({"_id": ticket_id})
        return _queue_entry(document) if document is not None else None

    async def add(self, entry: QueueEntry) -> QueueEntry:
        try:
            await self._queue.insert_one(
                {
                    "_id": entry.ticket_id,
                    "priority": entry.priority.value,
                    "priority_rank": entry.rank,
                    "queued_at": entry.queued_at,
                    "reason": entry.reason,
                    "required_skills": list(entry.required_skills),
                    "team": entry.team,
                    "state": entry.state.value,
                    "announced": entry.announced,
                }
            )
        except DuplicateKeyError:
            stored = await self.entry(entry.ticket_id)
            if stored is not None:
                return stored
        return entry

    async def mark_announced(self, ticket_id: str) -> None:
        await self._queue.update_one({"_id": ticket_id}, {"$set": {"announced": True}})

    async def settle(self, ticket_id: str, state: QueueState) -> None:
        await self._queue.update_one(
            {"_id": ticket_id, "state": QueueState.WAITING.value}, {"$set": {"state": state.value}}
        )

    async def waiting(self, limit: int) -> list[QueueEntry]:
        cursor = (
            self._queue.find({"state": QueueState.WAITING.value})
            .sort([("priority_rank", ASCENDING), ("queued_at", ASCENDING), ("_id", ASCENDING)])
            .limit(limit)
        )
        return [_queue_entry(document) async for document in cursor]


def _queue_entry(document: Document) -> QueueEntry:
    return QueueEntry(
        ticket_id=document["_id"],
        priority=Priority(document["priority"]),
        queued_at=_time(document["queued_at"]),  # type: ignore[arg-type]
        reason=document["reason"],
        required_skills=tuple(document.get("required_skills") or ()),
        team=document.get("team"),
        state=QueueState(document["state"]),
        announced=bool(document.get("announced")),
    )
