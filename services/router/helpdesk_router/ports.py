"""What the router's desk needs from storage and from Kafka.

Each store operation is atomic on its own; the desk orders them so that a crash or a
replay between any two leaves nothing it cannot finish later (see desk.py).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from helpdesk_events import EventPayload, Priority
from helpdesk_router.assignment import Assignment, QueueEntry, QueueState, Ticket
from helpdesk_router.roster import Agent, AgentProfile, StatusChange
from helpdesk_router.triage import RuleSet, TriageDecision


class ConcurrentAgentUpdate(Exception):
    """Another writer kept changing the agent while this one tried to save it."""


class EventSink(Protocol):
    """Publishes one event and returns once Kafka has it (EventPublisher)."""

    async def emit(
        self, payload: EventPayload, *, ticket_id: str | None = None, event_id: uuid.UUID | None = None
    ) -> object: ...


class Roster(Protocol):
    async def agents(self) -> list[Agent]:
        """Every agent, by agent id."""
        ...

    async def agent(self, agent_id: str) -> Agent | None: ...

    async def agent_by_slack_user(self, slack_user_id: str) -> Agent | None: ...

    async def anyone_free(self) -> bool:
        """Whether any agent is online with a free slot."""
        ...

    async def candidates(self, ticket: Ticket, skip: int, limit: int) -> list[Agent]:
        """Online agents with a free slot and the ticket's skills, fewest open tickets first, then
        longest since their last assignment, then by id: a page of who might take the ticket
        (the desk still checks `fits`: working hours, team, channel limits, declines)."""
        ...

    async def save(self, agent_id: str, profile: AgentProfile, now: datetime) -> tuple[Agent, bool]:
        """Create or replace the profile, keeping the load; True when created.

        Counts a status change (`status_changes`) so it can be announced; raises
        ConcurrentAgentUpdate when it keeps losing a race with another writer.
        """
        ...

    async def mark_status_announced(self, change: StatusChange) -> None:
        """Record that `change` was told, unless a newer change came in meanwhile."""
        ...

    async def reserve(self, agent: Agent, ticket: Ticket, now: datetime) -> bool:
        """Take one slot (and one of the ticket's channel) if the agent is still online, has the
        skills and a free slot, within the channel's limit as `agent` was read."""
        ...

    async def release(self, agent_id: str, channel: str | None) -> None:
        """Give one slot back, and one of the channel's (never below zero)."""
        ...

    async def reconcile_loads(self, open_tickets: Mapping[str, Counter[str | None]]) -> dict[str, int]:
        """Set each agent's load (and per-channel loads) to its open tickets, given per agent as
        a count by channel (None: a ticket recorded without one); the agents whose load was wrong."""
        ...


class AssignmentBook(Protocol):
    async def assignment(self, ticket_id: str) -> Assignment | None: ...

    async def claim(self, assignment: Assignment) -> bool:
        """Record the assignment: round 1 unless the ticket has one already, a later round only
        over the previous round handed back; True if this one was recorded."""
        ...

    async def mark_announced(self, ticket_id: str) -> None: ...

    async def accept(self, ticket_id: str, agent_id: str) -> bool:
        """The agent holding the ticket accepted it (it stays theirs if they go away)."""
        ...

    async def hand_back(self, returned: Assignment) -> bool:
        """End the open round `returned` came from (same agent and round); True if this call ended it."""
        ...

    async def close(self, ticket_id: str, now: datetime) -> Assignment | None:
        """Close the ticket's open or handed-back assignment; it as it was before, or None when none was."""
        ...

    async def held_unaccepted(self, agent_id: str) -> list[Assignment]:
        """Open assignments of the agent that they have not accepted."""
        ...

    async def returned(self, limit: int) -> list[Assignment]:
        """Assignments handed back and not yet given to anyone (to finish an interrupted hand-back)."""
        ...

    async def open_tickets_by_agent(self) -> dict[str, Counter[str | None]]:
        """Per agent, their open tickets counted by channel."""
        ...


class TicketQueue(Protocol):
    async def entry(self, ticket_id: str) -> QueueEntry | None: ...

    async def add(self, entry: QueueEntry) -> QueueEntry:
        """Queue the ticket unless it already has an entry; the stored entry either way."""
        ...

    async def requeue(self, entry: QueueEntry) -> QueueEntry:
        """Queue a handed-back ticket again, unless it is withdrawn or already queued for this round
        or a later one; the stored entry either way."""
        ...

    async def mark_announced(self, ticket_id: str) -> None: ...

    async def settle(self, ticket_id: str, state: QueueState) -> None:
        """A waiting ticket leaves the queue (assigned or withdrawn)."""
        ...

    async def waiting(self, limit: int) -> list[QueueEntry]:
        """Waiting tickets, most urgent first, then oldest first."""
        ...

    async def reprioritize(self, ticket_id: str, priority: Priority) -> None:
        """A waiting ticket's priority changed: it takes its new place in the queue."""
        ...


class RuleBook(Protocol):
    """The triage rule set in force, shared by every router instance."""

    async def current(self) -> tuple[int, RuleSet]:
        """The revision (0: none stored yet) and the rule set in force."""
        ...

    async def seed(self, rule_set: RuleSet) -> bool:
        """Store `rule_set` as revision 1 unless rules are stored already; True if it was stored."""
        ...

    async def replace(self, rule_set: RuleSet) -> int:
        """Put `rule_set` in force as a whole; its revision."""
        ...


class TriageBook(Protocol):
    """One triage decision per ticket, so a replay tells the same one."""

    async def decision(self, ticket_id: str) -> TriageDecision | None: ...

    async def record(
        self, ticket_id: str, decision: TriageDecision, rules_revision: int
    ) -> tuple[TriageDecision, bool]:
        """Keep the decision unless the ticket has one already; the stored decision either way, and
        whether this call stored it."""
        ...
