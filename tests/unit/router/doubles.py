"""In-memory doubles of the router's ports, with the same guarded semantics as the Mongo adapter."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections import Counter
from collections.abc import Mapping
from datetime import datetime

from helpdesk_events import AgentStatus, Channel, EventPayload, Priority
from helpdesk_router.assignment import (
    Assignment,
    AssignmentState,
    QueueEntry,
    QueueState,
    Ticket,
    preference,
    queue_order,
)
from helpdesk_router.roster import Agent, AgentProfile, StatusChange
from helpdesk_router.triage import NO_RULES, RuleSet, TriageDecision


async def _round_trip() -> None:
    """Let another task run, as it may between two database round trips (concurrent routers)."""
    await asyncio.sleep(0)


class InMemoryRoster:
    def __init__(self) -> None:
        self.by_id: dict[str, Agent] = {}

    async def agents(self) -> list[Agent]:
        await _round_trip()
        return [self.by_id[agent_id] for agent_id in sorted(self.by_id)]

    async def agent(self, agent_id: str) -> Agent | None:
        await _round_trip()
        return self.by_id.get(agent_id)

    async def agent_by_slack_user(self, slack_user_id: str) -> Agent | None:
        await _round_trip()
        return next((a for a in self.by_id.values() if a.profile.slack_user_id == slack_user_id), None)

    async def anyone_free(self) -> bool:
        await _round_trip()
        return any(agent.has_free_capacity for agent in self.by_id.values())

    async def candidates(self, ticket: Ticket, skip: int, limit: int) -> list[Agent]:
        await _round_trip()
        found = [
            agent
            for agent in self.by_id.values()
            if agent.has_free_capacity and ticket.required_skills <= set(agent.profile.skills)
        ]
        return sorted(found, key=preference)[skip : skip + limit]

    async def save(self, agent_id: str, profile: AgentProfile, now: datetime) -> tuple[Agent, bool]:
        await _round_trip()
        current = self.by_id.get(agent_id)
        if current is None:
            self.by_id[agent_id] = Agent(agent_id, profile, status_changes=1)
            return self.by_id[agent_id], True
        changed = current.status != profile.status
        self.by_id[agent_id] = dataclasses.replace(
            current, profile=profile, status_changes=current.status_changes + changed
        )
        return self.by_id[agent_id], False

    async def mark_status_announced(self, change: StatusChange) -> None:
        await _round_trip()
        agent = self.by_id[change.agent_id]
        if agent.status_changes >= change.sequence > agent.announced_changes:
            self.by_id[change.agent_id] = dataclasses.replace(
                agent, announced_status=change.to_status, announced_changes=change.sequence
            )

    async def reserve(self, agent: Agent, ticket: Ticket, now: datetime) -> bool:
        await _round_trip()
        current = self.by_id.get(agent.agent_id)
        if current is None or not current.has_free_capacity:
            return False
        if not ticket.required_skills <= set(current.profile.skills):
            return False
        loads = dict(current.channel_loads)
        if ticket.channel is not None:
            limit = agent.profile.channel_capacity.get(ticket.channel)
            if limit is not None and loads.get(ticket.channel.value, 0) >= limit:
                return False
            loads[ticket.channel.value] = loads.get(ticket.channel.value, 0) + 1
        self.by_id[agent.agent_id] = dataclasses.replace(
            current, load=current.load + 1, channel_loads=loads, last_assigned_at=now
        )
        return True

    async def release(self, agent_id: str, channel: str | None) -> None:
        await _round_trip()
        agent = self.by_id[agent_id]
        loads = dict(agent.channel_loads)
        if channel is not None and loads.get(Channel(channel).value, 0) > 0:
            loads[Channel(channel).value] -= 1
        self.by_id[agent_id] = dataclasses.replace(agent, load=max(0, agent.load - 1), channel_loads=loads)

    async def reconcile_loads(self, open_tickets: Mapping[str, Counter[str | None]]) -> dict[str, int]:
        await _round_trip()
        corrected = {}
        for agent_id, agent in self.by_id.items():
            held = open_tickets.get(agent_id, Counter())
            expected = sum(held.values())
            loads = {channel.value: held.get(channel.value, 0) for channel in Channel}
            if agent.load != expected or {k: v for k, v in agent.channel_loads.items() if v} != {
                k: v for k, v in loads.items() if v
            }:
                self.by_id[agent_id] = dataclasses.replace(agent, load=expected, channel_loads=loads)
                corrected[agent_id] = expected
        return corrected


class InMemoryAssignmentBook:
    def __init__(self) -> None:
        self.by_ticket: dict[str, Assignment] = {}

    async def assignment(self, ticket_id: str) -> Assignment | None:
        await _round_trip()
        return self.by_ticket.get(ticket_id)

    async def claim(self, assignment: Assignment) -> bool:
        await _round_trip()
        current = self.by_ticket.get(assignment.ticket_id)
        if assignment.round == 1 and current is None:
            self.by_ticket[assignment.ticket_id] = assignment
            return True
        if (
            current is not None
            and current.state is AssignmentState.RETURNED
            and current.round == assignment.round - 1
        ):
            self.by_ticket[assignment.ticket_id] = assignment
            return True
        return False

    async def mark_announced(self, ticket_id: str) -> None:
        await _round_trip()
        self.by_ticket[ticket_id] = dataclasses.replace(self.by_ticket[ticket_id], announced=True)

    async def accept(self, ticket_id: str, agent_id: str) -> bool:
        await _round_trip()
        current = self.by_ticket.get(ticket_id)
        if current is None or current.agent_id != agent_id or current.state is not AssignmentState.OPEN:
            return False
        self.by_ticket[ticket_id] = dataclasses.replace(current, accepted=True)
        return True

    async def hand_back(self, returned: Assignment) -> bool:
        await _round_trip()
        current = self.by_ticket.get(returned.ticket_id)
        if (
            current is None
            or current.state is not AssignmentState.OPEN
            or (current.agent_id, current.round) != (returned.agent_id, returned.round)
        ):
            return False
        self.by_ticket[returned.ticket_id] = dataclasses.replace(
            current, state=AssignmentState.RETURNED, handed_back=returned.handed_back, declined_by=returned.declined_by
        )
        return True

    async def close(self, ticket_id: str, now: datetime) -> Assignment | None:
        await _round_trip()
        assignment = self.by_ticket.get(ticket_id)
        if assignment is None or assignment.state is AssignmentState.CLOSED:
            return None
        self.by_ticket[ticket_id] = dataclasses.replace(assignment, state=AssignmentState.CLOSED)
        return assignment

    async def held_unaccepted(self, agent_id: str) -> list[Assignment]:
        await _round_trip()
        return [
            a
            for a in self.by_ticket.values()
            if a.agent_id == agent_id and a.state is AssignmentState.OPEN and not a.accepted
        ]

    async def returned(self, limit: int) -> list[Assignment]:
        await _round_trip()
        return [a for a in self.by_ticket.values() if a.state is AssignmentState.RETURNED][:limit]

    async def open_tickets_by_agent(self) -> dict[str, Counter[str | None]]:
        await _round_trip()
        held: dict[str, Counter[str | None]] = {}
        for assignment in self.by_ticket.values():
            if assignment.state is AssignmentState.OPEN:
                channel = assignment.channel.value if assignment.channel else None
                held.setdefault(assignment.agent_id, Counter())[channel] += 1
        return held


class InMemoryTicketQueue:
    def __init__(self) -> None:
        self.by_ticket: dict[str, QueueEntry] = {}

    async def entry(self, ticket_id: str) -> QueueEntry | None:
        await _round_trip()
        return self.by_ticket.get(ticket_id)

    async def add(self, entry: QueueEntry) -> QueueEntry:
        await _round_trip()
        return self.by_ticket.setdefault(entry.ticket_id, entry)

    async def requeue(self, entry: QueueEntry) -> QueueEntry:
        await _round_trip()
        current = self.by_ticket.get(entry.ticket_id)
        if current is None or (current.state is not QueueState.WITHDRAWN and current.round < entry.round):
            self.by_ticket[entry.ticket_id] = entry
            return entry
        return current

    async def mark_announced(self, ticket_id: str) -> None:
        await _round_trip()
        self.by_ticket[ticket_id] = dataclasses.replace(self.by_ticket[ticket_id], announced=True)

    async def settle(self, ticket_id: str, state: QueueState) -> None:
        await _round_trip()
        entry = self.by_ticket.get(ticket_id)
        if entry is not None and entry.state is QueueState.WAITING:
            self.by_ticket[ticket_id] = dataclasses.replace(entry, state=state)

    async def reprioritize(self, ticket_id: str, priority: Priority) -> None:
        await _round_trip()
        entry = self.by_ticket.get(ticket_id)
        if entry is not None and entry.state is QueueState.WAITING:
            self.by_ticket[ticket_id] = dataclasses.replace(entry, priority=priority)

    async def waiting(self, limit: int) -> list[QueueEntry]:
        await _round_trip()
        entries = [entry for entry in self.by_ticket.values() if entry.state is QueueState.WAITING]
        return sorted(entries, key=queue_order)[:limit]


class RecordingEvents:
    """Keeps what was emitted, in order; `fail_next` makes the next emits raise (Kafka down)."""

    def __init__(self) -> None:
        self.emitted: list[tuple[EventPayload, str | None, uuid.UUID | None]] = []
        self.fail_next = 0

    async def emit(
        self, payload: EventPayload, *, ticket_id: str | None = None, event_id: uuid.UUID | None = None
    ) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("Kafka is unreachable")
        self.emitted.append((payload, ticket_id, event_id))

    def of_type(self, event_type: str) -> list[tuple[EventPayload, str | None, uuid.UUID | None]]:
        return [item for item in self.emitted if item[0].event_type == event_type]


def profile(
    *,
    name: str = "Agent",
    capacity: int = 2,
    status: AgentStatus | str = AgentStatus.ONLINE,
    skills: tuple[str, ...] = (),
    teams: tuple[str, ...] = (),
    **extra: object,
) -> AgentProfile:
    return AgentProfile.model_validate(
        {
            "name": name,
            "email": f"{name.lower().replace(' ', '.')}@example.com",
            "skills": skills,
            "capacity": capacity,
            "status": status,
            "teams": teams,
            **extra,
        }
    )


class InMemoryRuleBook:
    def __init__(self) -> None:
        self.revision = 0
        self.rule_set = NO_RULES

    async def current(self) -> tuple[int, RuleSet]:
        await _round_trip()
        return self.revision, self.rule_set

    async def seed(self, rule_set: RuleSet) -> bool:
        await _round_trip()
        if self.revision:
            return False
        self.revision, self.rule_set = 1, rule_set
        return True

    async def replace(self, rule_set: RuleSet) -> int:
        await _round_trip()
        self.revision, self.rule_set = self.revision + 1, rule_set
        return self.revision


class InMemoryTriageBook:
    def __init__(self) -> None:
        self.by_ticket: dict[str, TriageDecision] = {}

    async def decision(self, ticket_id: str) -> TriageDecision | None:
        await _round_trip()
        return self.by_ticket.get(ticket_id)

    async def record(
        self, ticket_id: str, decision: TriageDecision, rules_revision: int
    ) -> tuple[TriageDecision, bool]:
        await _round_trip()
        first = ticket_id not in self.by_ticket
        return self.by_ticket.setdefault(ticket_id, decision), first
