"""The assignment desk: gives each ticket to one agent, or queues it until one is free.

Each step is idempotent, so a replayed event or a crash between two steps never gives a
ticket a second agent nor leaks an agent's capacity for long:

1. a ticket that already has an agent gets its events told again (same ids) and nothing else;
2. a slot is reserved with a guarded update (online, load below capacity, skills, channel limit);
   if the agent changed meanwhile, the choice is made again without them;
3. the ticket is claimed on its assignment record (`_id` = ticket id): inserted for the first
   round, or moved from "handed back" to the next round; if another router claimed it first,
   the slot goes back and that assignment is told instead;
4. the events are published (acks=all) with deterministic ids, then the assignment is marked told.
   That telling runs after the lock is let go (announcer.py), in the order decided for each ticket;
   the call that decided returns once it is told.

Handing a ticket back (the agent declined, asked for reassignment, or went away before accepting)
ends the round with a guarded update, frees the slot, queues the ticket again in its place by
age, tells `ticket.unassigned`, and offers the queue. An interrupted hand-back is finished by the
replayed answer or by the sweep (`finish_hand_backs`).

A crash between 2 and 3 (or between ending a round and releasing its slot) leaves a load one
too high; `reconcile` recounts every load from the open assignments at startup.

One lock serializes the desk's decisions in a process: the tickets stream, the roster API and the
sweep all move loads and the queue, and a ticket must not be queued just after a drain that
would have taken it. Between router processes the guarded writes above keep the rules. Telling
is not a decision: a ticket's next decision waits only for that ticket's telling.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

from helpdesk_events import AgentStatus, AssignmentAnswer, Priority
from helpdesk_router import metrics
from helpdesk_router.announcer import Announcer, until_told
from helpdesk_router.assignment import (
    Assignment,
    AssignmentState,
    HandBack,
    QueueEntry,
    QueueState,
    Ticket,
    choose_agent,
    why_nobody_fits,
)
from helpdesk_router.ports import AssignmentBook, EventSink, Roster, TicketQueue
from helpdesk_router.roster import Agent

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
        candidate_page: int = 50,
        first_candidate_page: int = 5,
    ) -> None:
        self._roster = roster
        self._assignments = assignments
        self._queue = queue
        self._clock = clock
        self._queue_batch = queue_batch
        self._candidate_page = candidate_page
        self._first_candidate_page = min(first_candidate_page, candidate_page)
        self._lock = asyncio.Lock()
        self._announcer = Announcer(events)
        self._tellings: list[asyncio.Task[None]] | None = None  # what the decision under the lock tells

    async def ticket_created(self, ticket: Ticket, *, first_seen: bool = False) -> None:
        """A new ticket (or a replay of one) gets an agent, or waits in the queue.

        `first_seen`: triage recorded the ticket just now, so no earlier delivery reached the desk and
        it has neither queue entry nor assignment to look up (the claim still refuses a second agent).
        """
        async with self._turn():
            entry = None if first_seen else await self._queue.entry(ticket.ticket_id)
            if entry is not None and entry.state is QueueState.WITHDRAWN:
                return  # solved before anyone took it: a replayed creation changes nothing
            if entry is not None and entry.state is QueueState.WAITING:
                # A replay of a queued ticket: it waits its turn behind the tickets ahead of it.
                await self._offer_queue()
                return
            if await self._assign(ticket, queued=entry, unassigned=first_seen) is not None:
                return
            if entry is None:
                reason = why_nobody_fits(await self._roster.agents(), ticket, self._clock())
                entry = await self._queue.add(QueueEntry.of(ticket, reason, self._clock()))
            await self._announce_queued(entry)

    async def ticket_closed(self, ticket_id: str) -> None:
        """Solved or closed: the agent's slot frees (once), or the ticket leaves the queue."""
        async with self._turn():
            closed = await self._assignments.close(ticket_id, self._clock())
            if closed is not None and closed.state is AssignmentState.OPEN:
                await self._roster.release(closed.agent_id, closed.channel)
            if closed is None or closed.state is AssignmentState.RETURNED:
                await self._queue.settle(ticket_id, QueueState.WITHDRAWN)
            await self._offer_queue()

    async def assignment_answered(
        self, ticket_id: str, answer: AssignmentAnswer, *, agent_id: str | None, slack_user_id: str | None
    ) -> None:
        """The agent holding the ticket accepted it, declined it or asked for someone else.

        An answer from anyone but the current holder (a late click on an old Slack message, a
        replay after the ticket moved on) changes nothing.
        """
        async with self._turn():
            if agent_id is None and slack_user_id is not None:
                agent = await self._roster.agent_by_slack_user(slack_user_id)
                agent_id = agent.agent_id if agent is not None else None
            current = await self._assignments.assignment(ticket_id)
            if agent_id is None or current is None or current.agent_id != agent_id:
                log.info("ignored %s on %s from %s: not the agent holding it", answer, ticket_id, agent_id)
                return
            if answer is AssignmentAnswer.ACCEPTED:
                await self._assignments.accept(ticket_id, agent_id)
                return
            reason = HandBack.DECLINED if answer is AssignmentAnswer.DECLINED else HandBack.REASSIGN_REQUESTED
            await self._hand_back(current, reason)
            await self._offer_queue()

    async def agent_unavailable(self, agent_id: str) -> None:
        """An agent away or offline hands back the tickets they have not accepted yet."""
        async with self._turn():
            await self._hand_back_from(agent_id)

    async def sweep(self) -> None:
        """Finish what an interruption left: hand-backs half done, tickets still held by agents who
        left (a status change on another router), queued tickets capacity could take now."""
        async with self._turn():
            for returned in await self._assignments.returned(self._queue_batch):
                await self._hand_back(returned, returned.handed_back or HandBack.DECLINED)
            for agent in await self._roster.agents():
                if agent.status is not AgentStatus.ONLINE:
                    await self._hand_back_from(agent.agent_id)
            await self._offer_queue()

    async def priority_changed(self, ticket_id: str, priority: Priority) -> None:
        """A waiting ticket moves to its new place in the queue (an assigned one keeps its agent)."""
        async with self._turn():
            await self._queue.reprioritize(ticket_id, priority)

    async def offer_queue(self) -> None:
        """Capacity may have freed: give waiting tickets to agents, most urgent and oldest first."""
        async with self._turn():
            await self._offer_queue()

    async def reconcile(self) -> dict[str, int]:
        """Recount each agent's load from its open assignments; the agents whose load was wrong."""
        async with self._lock:
            corrected = await self._roster.reconcile_loads(await self._assignments.open_tickets_by_agent())
        if corrected:
            log.warning("corrected agent loads from open assignments: %s", corrected)
        return corrected

    @contextlib.asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """The lock for one decision; what it decided to tell is waited for once the lock is let go."""
        tellings: list[asyncio.Task[None]] = []
        async with self._lock:
            self._tellings = tellings
            try:
                yield
            finally:
                self._tellings = None
        await until_told(tellings)

    def _told_after_the_lock(self, telling: asyncio.Task[None]) -> None:
        assert self._tellings is not None, "the desk tells only what it decided under its lock"
        self._tellings.append(telling)

    async def _hand_back_from(self, agent_id: str) -> None:
        agent = await self._roster.agent(agent_id)
        if agent is None or agent.status is AgentStatus.ONLINE:
            return  # back online before we got to it: they keep their tickets
        reason = HandBack.AGENT_AWAY if agent.status is AgentStatus.AWAY else HandBack.AGENT_OFFLINE
        held = await self._assignments.held_unaccepted(agent_id)
        for assignment in held:
            await self._hand_back(assignment, reason)
        if held:
            await self._offer_queue()

    async def _hand_back(self, current: Assignment, reason: HandBack) -> None:
        """End the round, free the slot, queue the ticket again and tell it; safe to run again."""
        if current.state is AssignmentState.OPEN:
            returned = current.returned(reason)
            if not await self._assignments.hand_back(returned):
                return  # the ticket moved on meanwhile (solved, or another router handed it back)
            await self._roster.release(current.agent_id, current.channel)
            metrics.HAND_BACKS.labels(reason=reason.value).inc()
        elif current.state is AssignmentState.RETURNED:
            returned = current  # finishing an interrupted hand-back; its slot was freed or reconcile frees it
        else:
            return
        entry = await self._queue.entry(returned.ticket_id)
        if entry is not None and (entry.state is QueueState.WITHDRAWN or entry.round >= returned.round):
            return  # already queued again for this round (or solved): nothing left to do
        # Told before it queues again (so under the lock): if the queue write fails, the retry tells it again.
        # It follows what is still being told of the round it ends, "told" mark included.
        await self._announcer.tell(returned.ticket_id, [returned.hand_back_announcement()], what="hand-back")
        why = why_nobody_fits(await self._roster.agents(), returned.ticket, self._clock())
        await self._queue.requeue(QueueEntry.handed_back(returned, f"{returned.handed_back or reason}; {why}"))

    async def _offer_queue(self) -> None:
        agents_full = False
        for entry in await self._queue.waiting(self._queue_batch):
            if not agents_full:
                if await self._assign(entry.ticket, queued=entry) is not None:
                    continue
                agents_full = not await self._roster.anyone_free()
            await self._announce_queued(entry)  # an announcement that failed earlier

    async def _settle_assigned(self, entry: QueueEntry) -> None:
        await self._queue.settle(entry.ticket_id, QueueState.ASSIGNED)
        metrics.QUEUE_WAIT.labels(priority=entry.priority.value).observe(
            max(0.0, (self._clock() - entry.queued_at).total_seconds())
        )

    async def _choose(self, ticket: Ticket, passed_over: set[str]) -> Agent | None:
        """The preferred agent who fits, reading the roster's candidates a page at a time.

        Candidates come in order of preference, so the first who fits is the one: a short first page
        (usually its first agent fits) reads less, and longer pages after it bound the round trips.
        """
        now = self._clock()
        skip, size = 0, self._first_candidate_page
        while True:
            page = await self._roster.candidates(ticket, skip, size)
            agent = choose_agent((agent for agent in page if agent.agent_id not in passed_over), ticket, now)
            if agent is not None or len(page) < size:
                return agent
            skip += len(page)
            size = self._candidate_page

    async def _assign(
        self, ticket: Ticket, *, queued: QueueEntry | None = None, unassigned: bool = False
    ) -> Assignment | None:
        """Give the ticket to an agent: its assignment, or None when nobody fits.

        `queued`: the ticket's queue entry, settled once the assignment is told.
        `unassigned`: the ticket is known to have no assignment record yet (see `ticket_created`).
        """
        previous = None if unassigned else await self._assignments.assignment(ticket.ticket_id)
        if previous is not None and previous.state is not AssignmentState.RETURNED:
            await self._announce_assignment(previous, queued)
            return previous
        if previous is not None:
            ticket = dataclasses.replace(ticket, declined_by=ticket.declined_by | set(previous.declined_by))
        passed_over: set[str] = set()
        while True:
            agent = await self._choose(ticket, passed_over)
            if agent is None:
                return None
            now = self._clock()
            if not await self._roster.reserve(agent, ticket, now):
                passed_over.add(agent.agent_id)  # changed since we read the roster
                continue
            assignment = Assignment.of(ticket, agent, now, previous)
            if not await self._assignments.claim(assignment):
                # Another router claimed the ticket first: give the slot back, tell its decision.
                await self._roster.release(agent.agent_id, ticket.channel)
                return await self._assign(ticket, queued=queued)
            metrics.ASSIGNMENTS.labels(agent_id=assignment.agent_id, team=assignment.team or "").inc()
            await self._announce_assignment(assignment, queued)
            return assignment

    async def _announce_assignment(self, assignment: Assignment, queued: QueueEntry | None) -> None:
        """Tell the assignment once the lock is let go, then mark it told and settle its queue entry.

        The entry leaves the queue only once the assignment is told: until then each offer of the
        queue tells it again, the only retry a telling that failed there has.
        """
        if assignment.announced:
            if queued is not None:
                await self._settle_assigned(queued)
            return
        # A ticket solved before its assignment could be told (Kafka was down) stays untold:
        # "new -> open" after "solved" would contradict what subscribers already know.
        told = assignment.announcements() if assignment.state is AssignmentState.OPEN else []
        ticket_id = assignment.ticket_id

        async def mark_told() -> None:
            await self._assignments.mark_announced(ticket_id)
            if queued is not None:
                await self._settle_assigned(queued)

        self._told_after_the_lock(self._announcer.tell(ticket_id, told, what="assignment", mark=mark_told))

    async def _announce_queued(self, entry: QueueEntry) -> None:
        if entry.announced or entry.state is not QueueState.WAITING:
            return
        ticket_id = entry.ticket_id
        self._told_after_the_lock(
            self._announcer.tell(
                ticket_id, [entry.announcement()], what="queued", mark=lambda: self._queue.mark_announced(ticket_id)
            )
        )
