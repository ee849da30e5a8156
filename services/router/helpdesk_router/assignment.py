"""Who gets a ticket: the choice of agent, the queue order, and the events that tell the others.

Pure: plain data in, decisions and event payloads out. The desk (`desk.py`) does the I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from helpdesk_events import (
    AgentStatus,
    AgentStatusChanged,
    EventPayload,
    Priority,
    TicketAssigned,
    TicketQueued,
    TicketStatus,
    TicketStatusChanged,
)
from helpdesk_router.roster import Agent, StatusChange

SERVICE = "router"

# Event ids are uuid5 names under this namespace, so a replay emits the very same events.
_EVENT_IDS = uuid.UUID("5b0c6f0e-7d2a-4d39-9a3e-2f1c0a8e4b71")
_NEVER = datetime.min.replace(tzinfo=UTC)

# Queue order: most urgent first, then oldest.
PRIORITY_RANK: dict[Priority, int] = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}

# A ticket in one of these statuses needs no agent any more.
CLOSING_STATUSES = frozenset({TicketStatus.SOLVED, TicketStatus.CLOSED})

Announcement = tuple[EventPayload, uuid.UUID]


def event_id(subject_id: str, event_type: str, detail: str = "") -> uuid.UUID:
    return uuid.uuid5(_EVENT_IDS, f"{subject_id}/{event_type}/{detail}")


@dataclass(frozen=True)
class Ticket:
    """What the router knows of a ticket that needs an agent."""

    ticket_id: str
    priority: Priority = Priority.NORMAL
    # Set by triage (triage.py); the team is told in ticket.assigned, not yet used to choose.
    required_skills: frozenset[str] = field(default_factory=frozenset)
    team: str | None = None


def choose_agent(roster: Iterable[Agent], required_skills: Iterable[str] = ()) -> Agent | None:
    """The online agent with free capacity and every required skill who holds the fewest open
    tickets; ties go to whoever has waited longest since their last assignment, then by agent id."""
    required = set(required_skills)
    candidates = [agent for agent in roster if agent.can_take(required)]
    if not candidates:
        return None
    return min(candidates, key=lambda agent: (agent.load, agent.last_assigned_at or _NEVER, agent.agent_id))


def why_nobody_fits(roster: Sequence[Agent], required_skills: Iterable[str] = ()) -> str:
    required = sorted(set(required_skills))
    online = [agent for agent in roster if agent.status is AgentStatus.ONLINE]
    if not roster:
        return "no agents on the roster"
    if not online:
        return "no agent is online"
    skilled = [agent for agent in online if set(required) <= set(agent.profile.skills)]
    if not skilled:
        return f"no online agent has the skills {', '.join(required)}"
    return "every online agent with the skills is at capacity" if required else "every online agent is at capacity"


class AssignmentState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # the ticket was solved or closed; it no longer counts in the agent's load


@dataclass(frozen=True)
class Assignment:
    """The one agent a ticket went to, with what the router told about it."""

    ticket_id: str
    agent_id: str
    agent_name: str
    agent_email: str | None
    slack_user_id: str | None
    team: str | None
    assigned_at: datetime
    state: AssignmentState = AssignmentState.OPEN
    announced: bool = False

    @classmethod
    def of(cls, ticket: Ticket, agent: Agent, at: datetime) -> Assignment:
        return cls(
            ticket_id=ticket.ticket_id,
            agent_id=agent.agent_id,
            agent_name=agent.profile.name,
            agent_email=str(agent.profile.email),
            slack_user_id=agent.profile.slack_user_id,
            team=ticket.team or agent.profile.home_team,
            assigned_at=at,
        )

    def announcements(self) -> list[Announcement]:
        """ticket.assigned, then the new ticket opens; the ids depend only on ticket and agent."""
        return [
            (
                TicketAssigned(
                    agent_id=self.agent_id,
                    agent_name=self.agent_name,
                    agent_email=self.agent_email,
                    slack_user_id=self.slack_user_id,
                    team=self.team,
                ),
                event_id(self.ticket_id, TicketAssigned.event_type, self.agent_id),
            ),
            (
                TicketStatusChanged(from_status=TicketStatus.NEW, to_status=TicketStatus.OPEN, changed_by=SERVICE),
                event_id(self.ticket_id, TicketStatusChanged.event_type, self.agent_id),
            ),
        ]


class QueueState(StrEnum):
    WAITING = "waiting"
    ASSIGNED = "assigned"
    WITHDRAWN = "withdrawn"  # solved or closed before anyone took it


@dataclass(frozen=True)
class QueueEntry:
    ticket_id: str
    priority: Priority
    queued_at: datetime
    reason: str
    required_skills: tuple[str, ...] = ()
    team: str | None = None
    state: QueueState = QueueState.WAITING
    announced: bool = False

    @classmethod
    def of(cls, ticket: Ticket, reason: str, at: datetime) -> QueueEntry:
        return cls(
            ticket_id=ticket.ticket_id,
            priority=ticket.priority,
            queued_at=at,
            reason=reason,
            required_skills=tuple(sorted(ticket.required_skills)),
            team=ticket.team,
        )

    @property
    def ticket(self) -> Ticket:
        return Ticket(self.ticket_id, self.priority, frozenset(self.required_skills), self.team)

    @property
    def rank(self) -> int:
        return PRIORITY_RANK[self.priority]

    def announcement(self) -> Announcement:
        payload = TicketQueued(
            reason=self.reason, priority=self.priority, team=self.team, required_skills=self.required_skills
        )
        return payload, event_id(self.ticket_id, TicketQueued.event_type)


def queue_order(entry: QueueEntry) -> tuple[int, datetime, str]:
    return entry.rank, entry.queued_at, entry.ticket_id


def status_announcement(change: StatusChange) -> Announcement:
    payload = AgentStatusChanged(agent_id=change.agent_id, from_status=change.from_status, to_status=change.to_status)
    return payload, event_id(change.agent_id, AgentStatusChanged.event_type, str(change.sequence))
