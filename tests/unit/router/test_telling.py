"""The desk tells its decisions after letting go of its lock: other tickets are decided meanwhile,
one ticket's events keep the order decided, and nothing decided goes untold."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from helpdesk_events import AgentStatus, EventPayload, TicketStatus, TicketStatusChanged
from helpdesk_router.announcer import Announcer, EarlierTellingFailed
from helpdesk_router.assignment import QueueState, Ticket
from tests.unit.router.doubles import RecordingEvents
from tests.unit.router.test_desk import Router


class HeldEvents(RecordingEvents):
    """Kafka that holds one ticket's events until let go, as a slow acknowledgement would."""

    def __init__(self, held_ticket: str) -> None:
        super().__init__()
        self.held_ticket = held_ticket
        self.waiting = asyncio.Event()  # an event of the held ticket is waiting for its acknowledgement
        self.let_go = asyncio.Event()

    async def emit(
        self, payload: EventPayload, *, ticket_id: str | None = None, event_id: uuid.UUID | None = None
    ) -> None:
        if ticket_id == self.held_ticket and not self.let_go.is_set():
            self.waiting.set()
            await self.let_go.wait()
        await super().emit(payload, ticket_id=ticket_id, event_id=event_id)


def held_router(ticket_id: str) -> Router:
    return Router(HeldEvents(ticket_id))


async def created_and_held(router: Router, ticket_id: str) -> asyncio.Task[None]:
    """The ticket's creation handled up to where its telling waits for Kafka (the handler still running)."""
    handling = asyncio.create_task(router.desk.ticket_created(Ticket(ticket_id)))
    await asyncio.wait_for(router.events.waiting.wait(), 5)
    return handling


def told(router: Router, ticket_id: str) -> list[tuple[str, str | None]]:
    return [
        (payload.event_type, getattr(payload, "agent_id", None))
        for payload, tid, _ in router.events.emitted
        if tid == ticket_id
    ]


async def test_other_tickets_are_assigned_while_one_ticket_s_events_wait_for_kafka() -> None:
    router = held_router("t1")
    await router.put("ada", capacity=2)
    await router.put("bob", capacity=2)
    first = await created_and_held(router, "t1")

    # The desk's lock is free while t1's acknowledgement is awaited: t2 and t3 are decided and told.
    await asyncio.wait_for(router.desk.ticket_created(Ticket("t2")), 5)
    await asyncio.wait_for(router.desk.ticket_created(Ticket("t3")), 5)
    assert router.assigned_to("t2") == ["bob"] and router.assigned_to("t3") == ["ada"]
    assert not first.done()  # t1's handler returns only once t1 is told
    assert router.assignments.by_ticket["t1"].announced is False

    router.events.let_go.set()
    await asyncio.wait_for(first, 5)
    assert told(router, "t1") == [("ticket.assigned", "ada"), ("ticket.status_changed", None)]
    assert router.assignments.by_ticket["t1"].announced is True
    assert (router.load("ada"), router.load("bob")) == (2, 1)


async def test_a_hand_back_is_told_after_the_assignment_it_ends_even_when_that_is_slow() -> None:
    router = held_router("t1")
    await router.put("ada", capacity=1)
    await router.put("bob", capacity=0)
    created = await created_and_held(router, "t1")

    # ada goes away before t1's assignment is acknowledged; bob comes free.
    away = asyncio.create_task(router.put("ada", capacity=1, status=AgentStatus.AWAY))
    await asyncio.sleep(0.05)
    assert not away.done() and told(router, "t1") == []

    router.events.let_go.set()
    await asyncio.wait_for(asyncio.gather(created, away), 5)
    await router.put("bob", capacity=1)
    assert told(router, "t1") == [
        ("ticket.assigned", "ada"),
        ("ticket.status_changed", None),
        ("ticket.unassigned", "ada"),
        ("ticket.queued", None),  # nobody free until bob
        ("ticket.assigned", "bob"),
    ]
    final = router.assignments.by_ticket["t1"]
    assert (final.agent_id, final.round, final.announced) == ("bob", 2, True)
    assert router.queue.by_ticket["t1"].state is QueueState.ASSIGNED


async def test_a_queued_ticket_leaves_the_queue_only_once_its_assignment_is_told() -> None:
    router = Router()
    await router.put("ada", capacity=0)
    await router.desk.ticket_created(Ticket("t1"))
    router.events.fail_next = 1
    await router.put("ada", capacity=1)  # the queue is offered: t1 goes to ada, telling it fails
    assert router.assigned_to("t1") == []
    assert router.queue.by_ticket["t1"].state is QueueState.WAITING  # so the next offer tells it

    await router.desk.sweep()
    assert router.assigned_to("t1") == ["ada"] and router.load("ada") == 1
    assert router.queue.by_ticket["t1"].state is QueueState.ASSIGNED
    assert router.assignments.by_ticket["t1"].announced is True


async def test_the_same_decision_offered_again_while_it_is_told_is_told_once() -> None:
    router = held_router("t1")
    await router.put("ada", capacity=0)
    queued = await created_and_held(router, "t1")
    offers = [asyncio.create_task(router.desk.offer_queue()) for _ in range(3)]
    await asyncio.sleep(0.05)
    assert not any(offer.done() for offer in offers)  # each waits for the telling it would repeat

    router.events.let_go.set()
    await asyncio.wait_for(asyncio.gather(queued, *offers), 5)
    assert told(router, "t1") == [("ticket.queued", None)]
    assert router.queue.by_ticket["t1"].announced is True


class FailingForOneTicket(RecordingEvents):
    """Kafka that refuses one ticket's events once let go, and takes the others."""

    def __init__(self, failing_ticket: str) -> None:
        super().__init__()
        self.failing_ticket = failing_ticket
        self.let_go = asyncio.Event()

    async def emit(
        self, payload: EventPayload, *, ticket_id: str | None = None, event_id: uuid.UUID | None = None
    ) -> None:
        if ticket_id == self.failing_ticket:
            await self.let_go.wait()
            raise ConnectionError("Kafka is unreachable")
        await super().emit(payload, ticket_id=ticket_id, event_id=event_id)


async def test_a_later_event_is_not_told_before_an_earlier_one_that_failed() -> None:
    events = FailingForOneTicket("t1")
    announcer = Announcer(events)
    marks: list[str] = []

    async def mark(name: str) -> None:
        marks.append(name)

    opened = TicketStatusChanged(from_status=TicketStatus.NEW, to_status=TicketStatus.OPEN, changed_by="router")
    solved = TicketStatusChanged(from_status=TicketStatus.OPEN, to_status=TicketStatus.SOLVED, changed_by="router")
    earlier = announcer.tell("t1", [(opened, uuid.uuid4())], what="opened", mark=lambda: mark("t1 opened"))
    later = announcer.tell("t1", [(solved, uuid.uuid4())], what="solved", mark=lambda: mark("t1 solved"))
    other = announcer.tell("t2", [(opened, uuid.uuid4())], what="opened", mark=lambda: mark("t2 opened"))
    await asyncio.wait_for(other, 5)  # another ticket is not held up by t1
    events.let_go.set()

    with pytest.raises(ConnectionError):
        await earlier
    with pytest.raises(EarlierTellingFailed):
        await later  # refused without trying: it would have overtaken the earlier one
    assert [tid for _, tid, _ in events.emitted] == ["t2"] and marks == ["t2 opened"]

    # Once the failure is over, the ticket's telling starts afresh (its retry tells it again).
    events.failing_ticket = ""
    await announcer.tell("t1", [(opened, uuid.uuid4())], what="opened", mark=lambda: mark("t1 opened"))
    assert marks == ["t2 opened", "t1 opened"]
