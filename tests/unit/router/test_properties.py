"""Properties of the desk over any sequence of roster changes, new tickets, replays, solved
tickets, agents' answers (accept, decline, reassign) and Kafka failures: no agent is given a
ticket beyond its capacity, a ticket has one agent at most and never one who declined it, every
load equals its agent's open tickets, the queue is offered in order (a waiting ticket is passed
over only for an agent who declined it), and after a sweep nothing is left untold, nobody away holds
a ticket they did not accept, and no waiting ticket fits an agent with room."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk_events import AgentStatus, AssignmentAnswer, Priority
from helpdesk_router.assignment import AssignmentState, QueueState, Ticket, fits, queue_order
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


@dataclass(frozen=True)
class Answered:
    ticket_id: str
    agent_id: str  # not always the agent holding it: a late click on an old message
    answer: AssignmentAnswer


operations = st.lists(
    st.one_of(
        st.builds(PutAgent, st.sampled_from(AGENTS), st.integers(0, 3), st.sampled_from(list(AgentStatus))),
        st.builds(Created, st.sampled_from(TICKETS), st.sampled_from(list(Priority))),
        st.builds(Closed, st.sampled_from(TICKETS)),
        st.builds(KafkaFails, st.integers(1, 2)),
        st.builds(
            Answered, st.sampled_from(TICKETS), st.sampled_from(AGENTS), st.sampled_from(list(AssignmentAnswer))
        ),
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
        case Answered(ticket_id, agent_id, answer):
            await router.desk.assignment_answered(ticket_id, answer, agent_id=agent_id, slack_user_id=None)


async def run(ops: list[object]) -> None:
    router = Router()
    declined: set[tuple[str, str]] = set()  # (ticket, agent) pairs where the holder said no
    for operation in ops:
        before = {t: (a.agent_id, a.round) for t, a in router.assignments.by_ticket.items()}
        waiting_before = sorted(
            (e for e in router.queue.by_ticket.values() if e.state is QueueState.WAITING), key=queue_order
        )
        for _ in range(3):  # the dispatcher retries a handler that failed
            try:
                await apply(router, operation)
                break
            except ConnectionError:
                continue
        if isinstance(operation, Answered) and operation.answer is not AssignmentAnswer.ACCEPTED:
            if before.get(operation.ticket_id, ("",))[0] == operation.agent_id:
                declined.add((operation.ticket_id, operation.agent_id))
        open_now = Counter(a.agent_id for a in router.assignments.by_ticket.values() if a.state is AssignmentState.OPEN)

        # Capacity: an agent given a ticket is online and, counting it, within capacity
        # (a closed ticket frees its slot before the queue is offered, so count after).
        for ticket_id, assignment in router.assignments.by_ticket.items():
            if before.get(ticket_id) == (assignment.agent_id, assignment.round):
                continue
            agent = router.roster.by_id[assignment.agent_id]
            assert agent.status is AgentStatus.ONLINE
            assert open_now[assignment.agent_id] <= agent.profile.capacity

        # Loads are exactly the open tickets.
        assert {agent_id: agent.load for agent_id, agent in router.roster.by_id.items()} == {
            agent_id: open_now[agent_id] for agent_id in router.roster.by_id
        }

        # Queue order: a waiting ticket was passed over only for an agent it could not go to.
        for position, entry in enumerate(waiting_before):
            taken = router.queue.by_ticket[entry.ticket_id]
            if taken.state is not QueueState.ASSIGNED:
                continue
            holder = router.assignments.by_ticket[entry.ticket_id].agent_id
            for earlier in waiting_before[:position]:
                if router.queue.by_ticket[earlier.ticket_id].state is QueueState.WAITING:
                    assert holder in router.queue.by_ticket[earlier.ticket_id].declined_by

        # Nobody holds a ticket they declined.
        for ticket_id, assignment in router.assignments.by_ticket.items():
            if assignment.state is AssignmentState.OPEN:
                assert (ticket_id, assignment.agent_id) not in declined

        # Each round of a ticket is told under one event id, for one agent; the last told is the holder.
        for ticket_id in TICKETS:
            told = [(eid, p.agent_id) for p, tid, eid in router.events.of_type("ticket.assigned") if tid == ticket_id]
            assert len(dict(told)) == len(set(told))  # an id never names two agents
            current = router.assignments.by_ticket.get(ticket_id)
            if told:
                assert current is not None and len(set(told)) <= current.round
                if current.announced and current.state is AssignmentState.OPEN:
                    assert told[-1][1] == current.agent_id

    # A publish that failed outside a handler (a PUT) is finished by the sweep: then every
    # assignment is told, a handed-back ticket waits in the queue and an assigned one does not.
    router.events.fail_next = 0
    await router.roster_service.announce_pending()
    await router.desk.sweep()
    for ticket_id, assignment in router.assignments.by_ticket.items():
        entry = router.queue.by_ticket.get(ticket_id)
        if assignment.state is AssignmentState.RETURNED:
            assert entry is not None and entry.state is QueueState.WAITING and entry.round == assignment.round
        else:
            assert assignment.announced
            assert entry is None or entry.state is not QueueState.WAITING
    assert all(entry.announced for entry in router.queue.by_ticket.values() if entry.state is QueueState.WAITING)
    assert all(agent.unannounced_status_change() is None for agent in router.roster.by_id.values())
    for assignment in router.assignments.by_ticket.values():
        if assignment.state is AssignmentState.OPEN and not assignment.accepted:
            assert router.roster.by_id[assignment.agent_id].status is AgentStatus.ONLINE
    # Work is never left waiting beside an agent who could take it.
    now = router.desk._clock()
    for entry in router.queue.by_ticket.values():
        if entry.state is QueueState.WAITING:
            assert not any(fits(agent, entry.ticket, now) for agent in router.roster.by_id.values())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_capacity_holds_one_agent_at_a_time_and_nothing_waits_that_an_agent_could_take(ops: list[object]) -> None:
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
