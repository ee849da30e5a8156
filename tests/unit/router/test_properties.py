"""Properties of the desk over any sequence of roster changes, new tickets, replays, solved
tickets and Kafka failures: no agent is given a ticket beyond its capacity, no ticket gets a
second agent, every load equals its agent's open tickets, and after a sweep nothing is left untold."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk_events import AgentStatus, Priority
from helpdesk_router.assignment import AssignmentState, QueueState, Ticket
from tests.unit.router.test_desk import Router

AGENTS = ("ada", "bob", "cy")
TICKETS = tuple(f"t{n}" for n in range(8))


@dataclass(frozen=True)
class PutAgent:
    agent_id: str
    capacity: int
    status: AgentStatus


@dataclass(frozen=True)
class Created:
    ticket_id: str
    priority: Priority


@dataclass(frozen=True)
class Closed:
    ticket_id: str


@dataclass(frozen=True)
class KafkaFails:
    times: int


operations = st.lists(
    st.one_of(
        st.builds(PutAgent, st.sampled_from(AGENTS), st.integers(0, 3), st.sampled_from(list(AgentStatus))),
        st.builds(Created, st.sampled_from(TICKETS), st.sampled_from(list(Priority))),
        st.builds(Closed, st.sampled_from(TICKETS)),
        st.builds(KafkaFails, st.integers(1, 2)),
    ),
    max_size=40,
)


async def apply(router: Router, operation: object) -> None:
    match operation:
        case PutAgent(agent_id, capacity, status):
            await router.put(agent_id, capacity=capacity, status=status)
        case Created(ticket_id, priority):
            await router.desk.ticket_created(Ticket(ticket_id, priority))
        case Closed(ticket_id):
            await router.desk.ticket_closed(ticket_id)
        case KafkaFails(times):
            router.events.fail_next = times


async def run(ops: list[object]) -> None:
    router = Router()
    for operation in ops:
        known_before = set(router.assignments.by_ticket)
        for _ in range(3):  # the dispatcher retries a handler that failed
            try:
                await apply(router, operation)
                break
            except ConnectionError:
                continue
        open_now = Counter(a.agent_id for a in router.assignments.by_ticket.values() if a.state is AssignmentState.OPEN)

        # Capacity: an agent given a ticket is online and, counting it, within capacity
        # (a closed ticket frees its slot before the queue is offered, so count after).
        for agent_id in {a.agent_id for t, a in router.assignments.by_ticket.items() if t not in known_before}:
            agent = router.roster.by_id[agent_id]
            assert agent.status is AgentStatus.ONLINE
            assert open_now[agent_id] <= agent.profile.capacity

        # Loads are exactly the open tickets.
        assert {agent_id: agent.load for agent_id, agent in router.roster.by_id.items()} == {
            agent_id: open_now[agent_id] for agent_id in router.roster.by_id
        }

        # One agent per ticket, told with one event id.
        for ticket_id in TICKETS:
            told = [(p.agent_id, eid) for p, tid, eid in router.events.of_type("ticket.assigned") if tid == ticket_id]
            assert len(set(told)) <= 1
            if told:
                assert told[0][0] == router.assignments.by_ticket[ticket_id].agent_id

    # A publish that failed outside a handler (a PUT) is finished by the sweep: then every
    # assignment is told and no assigned ticket still waits in the queue.
    router.events.fail_next = 0
    await router.roster_service.announce_pending()
    await router.desk.offer_queue()
    for ticket_id, assignment in router.assignments.by_ticket.items():
        assert assignment.announced
        entry = router.queue.by_ticket.get(ticket_id)
        assert entry is None or entry.state is not QueueState.WAITING
    assert all(entry.announced for entry in router.queue.by_ticket.values() if entry.state is QueueState.WAITING)
    assert all(agent.unannounced_status_change() is None for agent in router.roster.by_id.values())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_capacity_holds_and_each_ticket_gets_at_most_one_agent(ops: list[object]) -> None:
    asyncio.run(run(ops))


@dataclass(frozen=True)
class Delivery:
    """One ticket event handed to one of two routers running at once."""

    router: int
    operation: Created | Closed


async def run_concurrently(capacities: list[int], deliveries: list[Delivery]) -> None:
    # Two routers (two desks, two locks) on the same stores, as two processes on one database.
    first = Router()
    second = Router()
    second.desk = type(first.desk)(
        roster=first.roster, assignments=first.assignments, queue=first.queue, events=first.events
    )
    for agent_id, capacity in zip(AGENTS, capacities):
        await first.put(agent_id, capacity=capacity)
    desks = (first.desk, second.desk)

    async def deliver(delivery: Delivery) -> None:
        match delivery.operation:
            case Created(ticket_id, priority):
                await desks[delivery.router].ticket_created(Ticket(ticket_id, priority))
            case Closed(ticket_id):
                await desks[delivery.router].ticket_closed(ticket_id)

    await asyncio.gather(*(deliver(delivery) for delivery in deliveries))

    for ticket_id in TICKETS:
        told = {p.agent_id for p, tid, _ in first.events.of_type("ticket.assigned") if tid == ticket_id}
        assert len(told) <= 1
    open_now = Counter(a.agent_id for a in first.assignments.by_ticket.values() if a.state is AssignmentState.OPEN)
    for agent_id, agent in first.roster.by_id.items():
        assert agent.load == open_now[agent_id]  # a slot reserved by the router that lost a race went back
        assert open_now[agent_id] <= agent.profile.capacity


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.integers(0, 3), min_size=1, max_size=len(AGENTS)),
    st.lists(
        st.builds(
            Delivery,
            st.integers(0, 1),
            st.one_of(
                st.builds(Created, st.sampled_from(TICKETS), st.sampled_from(list(Priority))),
                st.builds(Closed, st.sampled_from(TICKETS)),
            ),
        ),
        max_size=30,
    ),
)
def test_two_routers_at_once_never_give_a_ticket_two_agents_nor_exceed_capacity(
    capacities: list[int], deliveries: list[Delivery]
) -> None:
    asyncio.run(run_concurrently(capacities, deliveries))
