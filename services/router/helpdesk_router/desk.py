"""The assignment desk: gives each ticket to one agent, or queues it until one is free.

Each step is idempotent, so a replayed event or a crash between two steps never gives a
ticket a second agent nor leaks an agent's capacity for long:

1. a ticket that already has an assignment gets its events told again (same ids) and nothing else;
2. a slot is reserved with a guarded update (online, load below capacity, skills); if the agent
   changed meanwhile, the choice is made again without them;
3. the ticket is claimed by inserting its assignment (`_id` = ticket id); if another router
   claimed it first, the slot goes back and that assignment is told instead;
4. the events are published (acks=all) with deterministic ids, then the assignment is marked told.

A crash between 2 and 3 (or between closing an assignment and releasing its slot) leaves a load
one too high; `reconcile` recounts every load from the open assignments at startup.

One lock serializes the desk's work in a process: the tickets stream, the roster API and the
sweep all move loads and the queue, and a ticket must not be queued just after a drain that
would have taken it. Between router processes the guarded writes above keep the rules.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from helpdesk_router.assignment import (
    Announcement,
    Assignment,
    AssignmentState,
    QueueEntry,
    QueueState,
    Ticket,
    choose_agent,
    why_nobody_fits,
)
from helpdesk_router.ports import AssignmentBook, EventSink, Roster, TicketQueue

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class AssignmentDesk:
    def __init__(
        self,
        *,
        roster: Roster,
        assignments: AssignmentBook,
        queue: TicketQueue,
        events: EventSink,
        clock: Clock = utc_now,
        queue_batch: int = 500,
    ) -> None:
        self._roster = roster
        self._assignments = assignments
        self._queue = queue
        self._events = events
        self._clock = clock
        self._queue_batch = queue_batch
        self._lock = asyncio.Lock()

    async def ticket_created(self, ticket: Ticket) -> None:
        async with self._lock:
            entry = await self._queue.entry(ticket.ticket_id)
            if entry is not None and entry.state is QueueState.WITHDRAWN:
                return  # solved before anyone took it: a replayed creation changes nothing
            if await self._assign(ticket) is not None:
                if entry is not None:
                    await self._queue.settle(ticket.ticket_id, QueueState.ASSIGNED)
                return
            if entry is None:
                reason = why_nobody_fits(await self._roster.agents(), ticket.required_skills)
                entry = await self._queue.add(QueueEntry.of(ticket, reason, self._clock()))
            await self._announce_queued(entry)

    async def ticket_closed(self, ticket_id: str) -> None:
        """Solved or closed: the agent's slot frees (once), or the ticket leaves the queue."""
        async with self._lock:
            closed = await self._assignments.close(ticket_id, self._clock())
            if closed is not None:
                await self._roster.release(closed.agent_id)
            else:
                await self._queue.settle(ticket_id, QueueState.WITHDRAWN)
            await self._offer_queue()

    async def offer_queue(self) -> None:
        """Capacity may have freed: give waiting tickets to agents, most urgent and oldest first."""
        async with self._lock:
            await self._offer_queue()

    async def reconcile(self) -> dict[str, int]:
        """Recount each agent's load from its open assignments; the agents whose load was wrong."""
        async with self._lock:
            corrected = await self._roster.reconcile_loads(await self._assignments.open_tickets_by_agent())
        if corrected:
            log.warning("corrected agent loads from open assignments: %s", corrected)
        return corrected

    async def _offer_queue(self) -> None:
        agents_full = False
        for entry in await self._queue.waiting(self._queue_batch):
            if not agents_full:
                if await self._assign(entry.ticket) is not None:
                    await self._queue.settle(entry.ticket_id, QueueState.ASSIGNED)
                    continue
                agents_full = not any(agent.has_free_capacity for agent in await self._roster.agents())
            await self._announce_queued(entry)  # an announcement that failed earlier

    async def _assign(self, ticket: Ticket) -> Assignment | None:
        existing = await self._assignments.assignment(ticket.ticket_id)
        if existing is not None:
            await self._announce_assignment(existing)
            return existing
        passed_over: set[str] = set()
        while True:
            roster = [agent for agent in await self._roster.agents() if agent.agent_id not in passed_over]
            agent = choose_agent(roster, ticket.required_skills)
            if agent is None:
                return None
            now = self._clock()
            if not await self._roster.reserve(agent.agent_id, ticket.required_skills, now):
                passed_over.add(agent.agent_id)  # changed since we read the roster
                continue
            assignment = Assignment.of(ticket, agent, now)
            if not await self._assignments.claim(assignment):
                # Another router claimed the ticket first: give the slot back, tell its decision.
                await self._roster.release(agent.agent_id)
                return await self._assign(ticket)
            await self._announce_assignment(assignment)
            return assignment

    async def _announce_assignment(self, assignment: Assignment) -> None:
        if assignment.announced:
            return
        # A ticket solved before its assignment could be told (Kafka was down) stays untold:
        # "new -> open" after "solved" would contradict what subscribers already know.
        if assignment.state is AssignmentState.OPEN:
            await self._publish(assignment.ticket_id, assignment.announcements())
        await self._assignments.mark_announced(assignment.ticket_id)

    async def _announce_queued(self, entry: QueueEntry) -> None:
        if entry.announced or entry.state is not QueueState.WAITING:
            return
        await self._publish(entry.ticket_id, [entry.announcement()])
        await self._queue.mark_announced(entry.ticket_id)

    async def _publish(self, ticket_id: str, announcements: list[Announcement]) -> None:
        for payload, event_id in announcements:
            await self._events.emit(payload, ticket_id=ticket_id, event_id=event_id)
