"""In-memory doubles of the router's ports, with the same guarded semantics as the Mongo adapter."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime

from helpdesk_events import AgentStatus, EventPayload
from helpdesk_router.assignment import Assignment, AssignmentState, QueueEntry, QueueState, queue_order
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

    async def reserve(self, agent_id: str, required_skills: Iterable[str], now: datetime) -> bool:
        await _round_trip()
        agent = self.by_id.get(agent_id)
        if agent is None or not agent.can_take(required_skills):
            return False
        self.by_id[agent_id] = dataclasses.replace(agent, load=agent.load + 1, last_assigned_at=now)
        return True

    async def release(self, agent_id: str) -> None:
        await _round_trip()
        agent = self.by_id[agent_id]
        if agent.load > 0:
            self.by_id[agent_id] = dataclasses.replace(agent, load=agent.load - 1)

    async def reconcile_loads(self, open_tickets: Mapping[str, int]) -> dict[str, int]:
        await _round_trip()
        corrected = {}
        for agent_id, agent in self.by_id.items():
            expected = open_tickets.get(agent_id, 0)
            if agent.load != expected:
                self.by_id[agent_id] = dataclasses.replace(agent, load=expected)
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
        if assignment.ticket_id in self.by_ticket:
            return False
        self.by_ticket[assignment.ticket_id] = assignment
        return True

    async def mark_announced(self, ticket_id: str) -> None:
        await _round_trip()
        self.by_ticket[ticket_id] = dataclasses.replace(self.by_ticket[ticket_id], announced=True)

    async def close(self, ticket_id: str, now: datetime) -> Assignment | None:
        await _round_trip()
        assignment = self.by_ticket.get(ticket_id)
        if assignment is None or assignment.state is not AssignmentState.OPEN:
            return None
        self.by_ticket[ticket_id] = dataclasses.replace(assignment, state=AssignmentState.CLOSED)
        return self.by_ticket[ticket_id]

    async def open_tickets_by_agent(self) -> dict[str, int]:
        await _round_trip()
        counts: dict[str, int] = {}
        for assignment in self.by_ticket.values():
            if assignment.state is AssignmentState.OPEN:
                counts[assignment.agent_id] = counts.get(assignment.agent_id, 0) + 1
        return counts


class InMemoryTicketQueue:
    def __init__(self) -> None:
        self.by_ticket: dict[str, QueueEntry] = {}

    async def entry(self, ticket_id: str) -> QueueEntry | None:
        await _round_trip()
        return self.by_ticket.get(ticket_id)

    async def add(self, entry: QueueEntry) -> QueueEntry:
        await _round_trip()
        return self.by_ticket.setdefault(entry.ticket_id, entry)

    async def mark_announced(self, ticket_id: str) -> None:
        await _round_trip()
        self.by_ticket[ticket_id] = dataclasses.replace(self.by_ticket[ticket_id], announced=True)

    async def settle(self, ticket_id: str, state: QueueState) -> None:
        await _round_trip()
        entry = self.by_ticket.get(ticket_id)
        if entry is not None and entry.state is QueueState.WAITING:
            self.by_ticket[ticket_id] = dataclasses.replace(entry, state=state)

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
) -> AgentProfile:
    return AgentProfile(
        name=name,
        email=f"{name.lower().replace(' ', '.')}@example.com",
        skills=skills,
        capacity=capacity,
        status=status,
        teams=teams,
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

    async def record(self, ticket_id: str, decision: TriageDecision, rules_revision: int) -> TriageDecision:
        await _round_trip()
        return self.by_ticket.setdefault(ticket_id, decision)
