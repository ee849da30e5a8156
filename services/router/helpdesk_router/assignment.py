"""Who gets a ticket: the choice of agent, the queue order, and the events that tell the others.

Pure: plain data in, decisions and event payloads out. The desk (`desk.py`) does the I/O.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from helpdesk_events import (
    AgentStatus,
    AgentStatusChanged,
    Channel,
    EventPayload,
    Priority,
    TicketAssigned,
    TicketQueued,
    TicketStatus,
    TicketStatusChanged,
    TicketUnassigned,
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
    # Set by triage (triage.py): only agents with every skill, and members of the team, may take it.
    required_skills: frozenset[str] = field(default_factory=frozenset)
    team: str | None = None
    channel: Channel | None = None
    # Agents who declined it or asked for it to go elsewhere: it is never offered to them again.
    declined_by: frozenset[str] = field(default_factory=frozenset)
    # When the customer's first message came in (ticket.created): a handed-back ticket queues by this age.
    arrived_at: datetime | None = None


def fits(agent: Agent, ticket: Ticket, now: datetime) -> bool:
    """Whether the agent may take the ticket now: online, on shift, in the ticket's team, with every
    required skill, not among those who declined it, with a free slot (for its channel too)."""
    return (
        agent.status is AgentStatus.ONLINE
        and agent.on_shift(now)
        and (ticket.team is None or ticket.team in agent.profile.teams)
        and ticket.required_skills <= set(agent.profile.skills)
        and agent.agent_id not in ticket.declined_by
        and agent.has_room_for(ticket.channel)
    )


def preference(agent: Agent) -> tuple[int, datetime, str]:
    """Fewest open tickets first; then whoever has waited longest since their last assignment."""
    return agent.load, agent.last_assigned_at or _NEVER, agent.agent_id


def choose_agent(roster: Iterable[Agent], ticket: Ticket, now: datetime) -> Agent | None:
    """The agent who fits (see `fits`) and is preferred (see `preference`); None when nobody fits."""
    candidates = [agent for agent in roster if fits(agent, ticket, now)]
    return min(candidates, key=preference) if candidates else None


def why_nobody_fits(roster: Sequence[Agent], ticket: Ticket, now: datetime) -> str:
    """The first condition no agent gets past, in the order `fits` checks them, in words."""
    if not roster:
        return "no agents on the roster"
    required = sorted(ticket.required_skills)
    team = f" in team {ticket.team}" if ticket.team else ""
    agents = [agent for agent in roster if agent.status is AgentStatus.ONLINE]
    if not agents:
        return "no agent is online"
    agents = [agent for agent in agents if agent.on_shift(now)]
    if not agents:
        return "no online agent is inside their working hours"
    if ticket.team:
        agents = [agent for agent in agents if ticket.team in agent.profile.teams]
        if not agents:
            return f"no online agent is in team {ticket.team}"
    agents = [agent for agent in agents if set(required) <= set(agent.profile.skills)]
    if not agents:
        return f"no online agent{team} has the skills {', '.join(required)}"
    agents = [agent for agent in agents if agent.agent_id not in ticket.declined_by]
    if not agents:
        return "every online agent who could take it declined it"
    who = f"every online agent{team}{' with the skills' if required else ''}"
    if ticket.channel is not None and any(agent.load < agent.profile.capacity for agent in agents):
        return f"{who} is at capacity for {ticket.channel.value}"
    return f"{who} is at capacity"


class AssignmentState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # the ticket was solved or closed; it no longer counts in the agent's load
    RETURNED = "returned"  # handed back (declined, agent away): the ticket waits for its next agent


class HandBack(StrEnum):
    """Why an agent no longer holds a ticket they were given."""

    DECLINED = "declined"
    REASSIGN_REQUESTED = "reassign requested"
    AGENT_AWAY = "agent away"
    AGENT_OFFLINE = "agent offline"

    @property
    def excludes_agent(self) -> bool:
        """The agent said no to this ticket: do not offer it to them again."""
        return self in (HandBack.DECLINED, HandBack.REASSIGN_REQUESTED)


@dataclass(frozen=True)
class Assignment:
    """The agent a ticket went to in one round, with what the router told about it.

    A ticket has one assignment record; handing it back ends the round (state RETURNED) and the
    next agent's claim starts round + 1 on the same record, so one agent at most holds it.
    """

    ticket_id: str
    agent_id: str
    agent_name: str
    agent_email: str | None
    slack_user_id: str | None
    team: str | None
    assigned_at: datetime
    state: AssignmentState = AssignmentState.OPEN
    announced: bool = False
    # The ticket as routed, so it can queue again when handed back (`team` above may be the agent's own).
    routed_team: str | None = None
    priority: Priority = Priority.NORMAL
    required_skills: tuple[str, ...] = ()
    channel: Channel | None = None
    arrived_at: datetime | None = None
    round: int = 1
    previous_agent_id: str | None = None
    declined_by: tuple[str, ...] = ()
    accepted: bool = False
    handed_back: HandBack | None = None

    @classmethod
    def of(cls, ticket: Ticket, agent: Agent, at: datetime, previous: Assignment | None = None) -> Assignment:
        return cls(
            ticket_id=ticket.ticket_id,
            agent_id=agent.agent_id,
            agent_name=agent.profile.name,
            agent_email=str(agent.profile.email),
            slack_user_id=agent.profile.slack_user_id,
            team=ticket.team or agent.profile.home_team,
            assigned_at=at,
            routed_team=ticket.team,
            priority=ticket.priority,
            required_skills=tuple(sorted(ticket.required_skills)),
            channel=ticket.channel,
            arrived_at=ticket.arrived_at or (previous.arrived_at if previous else None) or at,
            round=previous.round + 1 if previous else 1,
            previous_agent_id=previous.agent_id if previous else None,
            declined_by=tuple(sorted(ticket.declined_by | set(previous.declined_by if previous else ()))),
        )

    @property
    def ticket(self) -> Ticket:
        return Ticket(
            self.ticket_id,
            self.priority,
            frozenset(self.required_skills),
            self.routed_team,
            self.channel,
            frozenset(self.declined_by),
            self.arrived_at,
        )

    def returned(self, reason: HandBack) -> Assignment:
        """This round, ended: the agent hands the ticket back."""
        declined = set(self.declined_by) | ({self.agent_id} if reason.excludes_agent else set())
        return dataclasses.replace(
            self, state=AssignmentState.RETURNED, handed_back=reason, declined_by=tuple(sorted(declined))
        )

    def _detail(self) -> str:
        # Round 1 keeps the ids of earlier releases; later rounds need their own (same agent, say).
        return self.agent_id if self.round == 1 else f"{self.agent_id}/{self.round}"

    def announcements(self) -> list[Announcement]:
        """ticket.assigned, then (first round only) the new ticket opens; ids from ticket, agent and round."""
        told: list[Announcement] = [
            (
                TicketAssigned(
                    agent_id=self.agent_id,
                    agent_name=self.agent_name,
                    agent_email=self.agent_email,
                    slack_user_id=self.slack_user_id,
                    team=self.team,
                    previous_agent_id=self.previous_agent_id,
                ),
                event_id(self.ticket_id, TicketAssigned.event_type, self._detail()),
            )
        ]
        if self.round == 1:
            told.append(
                (
                    TicketStatusChanged(
                        from_status=TicketStatus.NEW, to_status=TicketStatus.OPEN, changed_by=SERVICE
                    ),
                    event_id(self.ticket_id, TicketStatusChanged.event_type, self.agent_id),
                )
            )
        return told

    def hand_back_announcement(self) -> Announcement:
        reason = self.handed_back.value if self.handed_back else "handed back"
        return (
            TicketUnassigned(agent_id=self.agent_id, reason=reason),
            event_id(self.ticket_id, TicketUnassigned.event_type, f"{self.agent_id}/{self.round}"),
        )


class QueueState(StrEnum):
    WAITING = "waiting"
    ASSIGNED = "assigned"
    WITHDRAWN = "withdrawn"  # solved or closed before anyone took it


@dataclass(frozen=True)
class QueueEntry:
    """A ticket waiting for an agent. `round` is 0 when it waits for its first agent, r after
    the agent of round r handed it back (each wait is told once, under its own event id)."""

    ticket_id: str
    priority: Priority
    queued_at: datetime
    reason: str
    required_skills: tuple[str, ...] = ()
    team: str | None = None
    state: QueueState = QueueState.WAITING
    announced: bool = False
    channel: Channel | None = None
    declined_by: tuple[str, ...] = ()
    round: int = 0

    @classmethod
    def of(cls, ticket: Ticket, reason: str, at: datetime, round: int = 0) -> QueueEntry:
        return cls(
            ticket_id=ticket.ticket_id,
            priority=ticket.priority,
            queued_at=at,
            reason=reason,
            required_skills=tuple(sorted(ticket.required_skills)),
            team=ticket.team,
            channel=ticket.channel,
            declined_by=tuple(sorted(ticket.declined_by)),
            round=round,
        )

    @classmethod
    def handed_back(cls, returned: Assignment, reason: str) -> QueueEntry:
        """Back in the queue, in its place by age: as of when the ticket came in."""
        return cls.of(returned.ticket, reason, returned.arrived_at or returned.assigned_at, round=returned.round)

    @property
    def ticket(self) -> Ticket:
        return Ticket(
            self.ticket_id,
            self.priority,
            frozenset(self.required_skills),
            self.team,
            self.channel,
            frozenset(self.declined_by),
            self.queued_at,
        )

    @property
    def rank(self) -> int:
        return PRIORITY_RANK[self.priority]

    def announcement(self) -> Announcement:
        payload = TicketQueued(
            reason=self.reason, priority=self.priority, team=self.team, required_skills=self.required_skills
        )
        return payload, event_id(self.ticket_id, TicketQueued.event_type, str(self.round) if self.round else "")


def queue_order(entry: QueueEntry) -> tuple[int, datetime, str]:
    return entry.rank, entry.queued_at, entry.ticket_id


def status_announcement(change: StatusChange) -> Announcement:
    payload = AgentStatusChanged(agent_id=change.agent_id, from_status=change.from_status, to_status=change.to_status)
    return payload, event_id(change.agent_id, AgentStatusChanged.event_type, str(change.sequence))
