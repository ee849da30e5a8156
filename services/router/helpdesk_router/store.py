"""MongoDB adapter of the router's ports: collections `agents`, `assignments` and `queue`.

Every document is keyed by what must be unique (`_id` = agent id or ticket id), so the
database itself refuses a second assignment of a ticket.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure

from helpdesk_events import AgentStatus, Channel, Priority
from helpdesk_events.times import stored_time
from helpdesk_router.assignment import (
    PRIORITY_RANK,
    Assignment,
    AssignmentState,
    HandBack,
    QueueEntry,
    QueueState,
    Ticket,
)
from helpdesk_router.ports import ConcurrentAgentUpdate
from helpdesk_router.roster import Agent, AgentProfile, StatusChange

Document = dict[str, Any]
_PROFILE_FIELDS = tuple(AgentProfile.model_fields)
_SAVE_ATTEMPTS = 5


# Every channel's open tickets, kept per agent from the first save, so a guard on one is never on a missing field.
_NO_CHANNEL_LOADS = {channel.value: 0 for channel in Channel}


async def create_indexes(db: AsyncDatabase) -> None:
    await db.agents.create_index(
        [("status", ASCENDING), ("load", ASCENDING), ("last_assigned_at", ASCENDING)], name="candidates"
    )
    await db.agents.create_index([("slack_user_id", ASCENDING)], name="slack_user")
    await db.assignments.create_index([("state", ASCENDING), ("agent_id", ASCENDING)], name="state_agent")
    await db.queue.create_index(
        [("state", ASCENDING), ("priority_rank", ASCENDING), ("queued_ms", ASCENDING)], name="waiting_by_age"
    )


async def prepare(db: AsyncDatabase) -> None:
    """At startup, before the desk runs: the indexes, and the queue's sort key where it is missing."""
    await create_indexes(db)
    try:
        # The queue's order by `queued_at` before `queued_ms`: an index nothing reads any more.
        await db.queue.drop_index("waiting_order")
    except OperationFailure:
        pass  # never made, or another router dropped it first
    await _add_queue_sort_keys(db)


async def _add_queue_sort_keys(db: AsyncDatabase) -> None:
    # Entries from before `queued_ms` would sort ahead of every other (a missing field sorts first).
    async for document in db.queue.find({"queued_ms": {"$exists": False}}, {"queued_at": 1}):
        await db.queue.update_one(
            {"_id": document["_id"], "queued_ms": {"$exists": False}},
            {"$set": {"queued_ms": _epoch_ms(stored_time(document["queued_at"]))}},  # type: ignore[arg-type]
        )


class MongoRoster:
    def __init__(self, db: AsyncDatabase) -> None:
        self._agents = db.agents
        self._profiles = _ProfileCache()

    async def agents(self) -> list[Agent]:
        return [self._agent(document) async for document in self._agents.find({}).sort("_id", ASCENDING)]

    async def agent(self, agent_id: str) -> Agent | None:
        document = await self._agents.find_one({"_id": agent_id})
        return self._agent(document) if document is not None else None

    async def agent_by_slack_user(self, slack_user_id: str) -> Agent | None:
        document = await self._agents.find_one({"slack_user_id": slack_user_id})
        return self._agent(document) if document is not None else None

    async def anyone_free(self) -> bool:
        document = await self._agents.find_one(
            {"status": AgentStatus.ONLINE.value, "$expr": {"$lt": ["$load", "$capacity"]}}, {"_id": 1}
        )
        return document is not None

    async def candidates(self, ticket: Ticket, skip: int, limit: int) -> list[Agent]:
        query: Document = {"status": AgentStatus.ONLINE.value, "$expr": {"$lt": ["$load", "$capacity"]}}
        if ticket.required_skills:
            query["skills"] = {"$all": sorted(ticket.required_skills)}
        # The desk checks team and declines again; here they keep agents who may not take it off the pages.
        if ticket.team is not None:
            query["teams"] = ticket.team
        if ticket.declined_by:
            query["_id"] = {"$nin": sorted(ticket.declined_by)}
        cursor = (
            self._agents.find(query)
            .sort([("load", ASCENDING), ("last_assigned_at", ASCENDING), ("_id", ASCENDING)])
            .skip(skip)
            .limit(limit)
        )
        return [self._agent(document) async for document in cursor]

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
                    "channel_loads": dict(_NO_CHANNEL_LOADS),
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
                return self._agent(document), True
            changes = {
                **fields,
                "revision": current["revision"] + 1,
                "status_changes": current["status_changes"] + (current["status"] != fields["status"]),
            }
            result = await self._agents.update_one(
                {"_id": agent_id, "revision": current["revision"]}, {"$set": changes}
            )
            if result.matched_count:
                return self._agent({**current, **changes}), False
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

    async def reserve(self, agent: Agent, ticket: Ticket, now: datetime) -> bool:
        guard: Document = {
            "_id": agent.agent_id,
            "status": AgentStatus.ONLINE.value,
            "$expr": {"$lt": ["$load", "$capacity"]},
        }
        if ticket.required_skills:
            guard["skills"] = {"$all": sorted(ticket.required_skills)}
        taken: Document = {"load": 1}
        if ticket.channel is not None:
            taken[f"channel_loads.{ticket.channel.value}"] = 1
            limit = agent.profile.channel_capacity.get(ticket.channel)
            if limit is not None:
                guard[f"channel_loads.{ticket.channel.value}"] = {"$lt": limit}
        result = await self._agents.update_one(guard, {"$inc": taken, "$set": {"last_assigned_at": now}})
        return result.matched_count == 1

    async def release(self, agent_id: str, channel: str | None) -> None:
        field = f"channel_loads.{Channel(channel).value}" if channel is not None else None
        if field is not None:
            # Both above zero, as they are unless a recount set them apart: one update frees both.
            both = await self._agents.update_one(
                {"_id": agent_id, "load": {"$gt": 0}, field: {"$gt": 0}}, {"$inc": {"load": -1, field: -1}}
            )
            if both.matched_count:
                return
        await self._agents.update_one({"_id": agent_id, "load": {"$gt": 0}}, {"$inc": {"load": -1}})
        if field is not None:
            await self._agents.update_one({"_id": agent_id, field: {"$gt": 0}}, {"$inc": {field: -1}})

    async def reconcile_loads(self, open_tickets: Mapping[str, Counter[str | None]]) -> dict[str, int]:
        corrected: dict[str, int] = {}
        async for document in self._agents.find({}, {"load": 1, "channel_loads": 1}):
            held = open_tickets.get(document["_id"], Counter())
            load = sum(held.values())
            channel_loads = {channel: held.get(channel, 0) for channel in _NO_CHANNEL_LOADS}
            if document.get("load") != load or document.get("channel_loads") != channel_loads:
                await self._agents.update_one(
                    {"_id": document["_id"]}, {"$set": {"load": load, "channel_loads": channel_loads}}
                )
                corrected[document["_id"]] = load
        return corrected

    def _agent(self, document: Document) -> Agent:
        return Agent(
            agent_id=document["_id"],
            profile=self._profiles.profile(document),
            load=document.get("load", 0),
            channel_loads=document.get("channel_loads") or {},
            last_assigned_at=stored_time(document.get("last_assigned_at")),
            status_changes=document.get("status_changes", 0),
            announced_status=document.get("announced_status"),
            announced_changes=document.get("announced_changes", 0),
        )


class _ProfileCache:
    """Each agent's profile as last validated, with the stored fields it came from.

    Validating a profile (its e-mail address above all) costs more than the query that read it, and a
    page of candidates is read for every ticket; a profile whose stored fields are unchanged is the same.
    """

    def __init__(self) -> None:
        self._by_agent: dict[str, tuple[Document, AgentProfile]] = {}

    def profile(self, document: Document) -> AgentProfile:
        fields = {name: document[name] for name in _PROFILE_FIELDS if name in document}
        cached = self._by_agent.get(document["_id"])
        if cached is not None and cached[0] == fields:
            return cached[1]
        profile = AgentProfile.model_validate(fields)
        self._by_agent[document["_id"]] = (fields, profile)
        return profile


class MongoAssignmentBook:
    def __init__(self, db: AsyncDatabase) -> None:
        self._assignments = db.assignments

    async def assignment(self, ticket_id: str) -> Assignment | None:
        document = await self._assignments.find_one({"_id": ticket_id})
        return _assignment(document) if document is not None else None

    async def claim(self, assignment: Assignment) -> bool:
        fields = _assignment_fields(assignment)
        if assignment.round == 1:
            try:
                await self._assignments.insert_one({"_id": assignment.ticket_id, **fields})
            except DuplicateKeyError:
                return False
            return True
        result = await self._assignments.update_one(
            {"_id": assignment.ticket_id, "state": AssignmentState.RETURNED.value, "round": assignment.round - 1},
            {"$set": fields},
        )
        return result.matched_count == 1

    async def mark_announced(self, ticket_id: str) -> None:
        await self._assignments.update_one({"_id": ticket_id}, {"$set": {"announced": True}})

    async def accept(self, ticket_id: str, agent_id: str) -> bool:
        result = await self._assignments.update_one(
            {"_id": ticket_id, "agent_id": agent_id, "state": AssignmentState.OPEN.value}, {"$set": {"accepted": True}}
        )
        return result.matched_count == 1

    async def hand_back(self, returned: Assignment) -> bool:
        result = await self._assignments.update_one(
            {
                "_id": returned.ticket_id,
                "agent_id": returned.agent_id,
                "round": returned.round,
                "state": AssignmentState.OPEN.value,
            },
            {
                "$set": {
                    "state": AssignmentState.RETURNED.value,
                    "handed_back": returned.handed_back.value if returned.handed_back else None,
                    "declined_by": list(returned.declined_by),
                }
            },
        )
        return result.matched_count == 1

    async def close(self, ticket_id: str, now: datetime) -> Assignment | None:
        document = await self._assignments.find_one_and_update(
            {"_id": ticket_id, "state": {"$in": [AssignmentState.OPEN.value, AssignmentState.RETURNED.value]}},
            {"$set": {"state": AssignmentState.CLOSED.value, "closed_at": now}},
            return_document=ReturnDocument.BEFORE,
        )
        return _assignment(document) if document is not None else None

    async def held_unaccepted(self, agent_id: str) -> list[Assignment]:
        cursor = self._assignments.find({"state": AssignmentState.OPEN.value, "agent_id": agent_id})
        # `accepted` is filtered here: nx-27017 (the test server) reads a stored false back as 0.
        return [assignment async for document in cursor if not (assignment := _assignment(document)).accepted]

    async def returned(self, limit: int) -> list[Assignment]:
        cursor = self._assignments.find({"state": AssignmentState.RETURNED.value}).limit(limit)
        return [_assignment(document) async for document in cursor]

    async def open_tickets_by_agent(self) -> dict[str, Counter[str | None]]:
        held: dict[str, Counter[str | None]] = {}
        cursor = self._assignments.find({"state": AssignmentState.OPEN.value}, {"agent_id": 1, "channel": 1})
        async for document in cursor:
            held.setdefault(document["agent_id"], Counter())[document.get("channel")] += 1
        return held


def _assignment_fields(assignment: Assignment) -> Document:
    return {
        "agent_id": assignment.agent_id,
        "agent_name": assignment.agent_name,
        "agent_email": assignment.agent_email,
        "slack_user_id": assignment.slack_user_id,
        "team": assignment.team,
        "assigned_at": assignment.assigned_at,
        "state": assignment.state.value,
        "announced": assignment.announced,
        "routed_team": assignment.routed_team,
        "priority": assignment.priority.value,
        "required_skills": list(assignment.required_skills),
        "channel": assignment.channel.value if assignment.channel else None,
        "arrived_at": assignment.arrived_at,
        "round": assignment.round,
        "previous_agent_id": assignment.previous_agent_id,
        "declined_by": list(assignment.declined_by),
        "accepted": assignment.accepted,
        "handed_back": assignment.handed_back.value if assignment.handed_back else None,
    }


def _assignment(document: Document) -> Assignment:
    return Assignment(
        ticket_id=document["_id"],
        agent_id=document["agent_id"],
        agent_name=document["agent_name"],
        agent_email=document.get("agent_email"),
        slack_user_id=document.get("slack_user_id"),
        team=document.get("team"),
        assigned_at=stored_time(document["assigned_at"]),  # type: ignore[arg-type]
        state=AssignmentState(document["state"]),
        announced=bool(document.get("announced")),
        routed_team=document.get("routed_team"),
        priority=Priority(document.get("priority") or Priority.NORMAL),
        required_skills=tuple(document.get("required_skills") or ()),
        channel=Channel(document["channel"]) if document.get("channel") else None,
        arrived_at=stored_time(document.get("arrived_at")),
        round=document.get("round") or 1,
        previous_agent_id=document.get("previous_agent_id"),
        declined_by=tuple(document.get("declined_by") or ()),
        accepted=bool(document.get("accepted")),
        handed_back=HandBack(document["handed_back"]) if document.get("handed_back") else None,
    )


class MongoTicketQueue:
    def __init__(self, db: AsyncDatabase) -> None:
        self._queue = db.queue

    async def entry(self, ticket_id: str) -> QueueEntry | None:
        document = await self._queue.find_one({"_id": ticket_id})
        return _queue_entry(document) if document is not None else None

    async def add(self, entry: QueueEntry) -> QueueEntry:
        try:
            await self._queue.insert_one({"_id": entry.ticket_id, **_queue_fields(entry)})
        except DuplicateKeyError:
            stored = await self.entry(entry.ticket_id)
            if stored is not None:
                return stored
        return entry

    async def requeue(self, entry: QueueEntry) -> QueueEntry:
        result = await self._queue.update_one(
            {
                "_id": entry.ticket_id,
                "state": {"$in": [QueueState.WAITING.value, QueueState.ASSIGNED.value]},
                "round": {"$lt": entry.round},
            },
            {"$set": _queue_fields(entry)},
        )
        return entry if result.matched_count else await self.add(entry)

    async def mark_announced(self, ticket_id: str) -> None:
        await self._queue.update_one({"_id": ticket_id}, {"$set": {"announced": True}})

    async def settle(self, ticket_id: str, state: QueueState) -> None:
        await self._queue.update_one(
            {"_id": ticket_id, "state": QueueState.WAITING.value}, {"$set": {"state": state.value}}
        )

    async def reprioritize(self, ticket_id: str, priority: Priority) -> None:
        await self._queue.update_one(
            {"_id": ticket_id, "state": QueueState.WAITING.value},
            {"$set": {"priority": priority.value, "priority_rank": PRIORITY_RANK[priority]}},
        )

    async def waiting(self, limit: int) -> list[QueueEntry]:
        cursor = (
            self._queue.find({"state": QueueState.WAITING.value})
            .sort([("priority_rank", ASCENDING), ("queued_ms", ASCENDING), ("_id", ASCENDING)])
            .limit(limit)
        )
        return [_queue_entry(document) async for document in cursor]


def _epoch_ms(moment: datetime) -> int:
    return round((moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp() * 1000)


def _queue_fields(entry: QueueEntry) -> Document:
    return {
        "priority": entry.priority.value,
        "priority_rank": entry.rank,
        "queued_at": entry.queued_at,
        # The sort key, a number however it is written (nx-27017 keeps a datetime set by `$set` as text).
        "queued_ms": _epoch_ms(entry.queued_at),
        "reason": entry.reason,
        "required_skills": list(entry.required_skills),
        "team": entry.team,
        "channel": entry.channel.value if entry.channel else None,
        "declined_by": list(entry.declined_by),
        "round": entry.round,
        "state": entry.state.value,
        "announced": entry.announced,
    }


def _queue_entry(document: Document) -> QueueEntry:
    return QueueEntry(
        ticket_id=document["_id"],
        priority=Priority(document["priority"]),
        queued_at=stored_time(document["queued_at"]),  # type: ignore[arg-type]
        reason=document["reason"],
        required_skills=tuple(document.get("required_skills") or ()),
        team=document.get("team"),
        state=QueueState(document["state"]),
        announced=bool(document.get("announced")),
        channel=Channel(document["channel"]) if document.get("channel") else None,
        declined_by=tuple(document.get("declined_by") or ()),
        round=document.get("round") or 0,
    )
