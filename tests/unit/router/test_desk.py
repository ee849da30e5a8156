"""The desk's steps with in-memory stores: assignment, queue, release, replays and failures."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from helpdesk_events import (
    AgentStatus,
    Priority,
    TicketAssigned,
    TicketQueued,
    TicketStatus,
    TicketStatusChanged,
)
from helpdesk_router.assignment import Assignment, AssignmentState, QueueState, Ticket
from helpdesk_router.desk import AssignmentDesk
from helpdesk_router.roster_service import RosterService
from tests.unit.router.doubles import (
    InMemoryAssignmentBook,
    InMemoryRoster,
    InMemoryTicketQueue,
    RecordingEvents,
    profile,
)


class Router:
    """A desk and a roster service over in-memory stores, with a clock that ticks a second per call."""

    def __init__(self, events: RecordingEvents | None = None) -> None:
        self.roster = InMemoryRoster()
        self.assignments = InMemoryAssignmentBook()
        self.queue = InMemoryTicketQueue()
        self.events = events or RecordingEvents()
        start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
        ticks = (start + timedelta(seconds=n) for n in itertools.count())
        self.desk = AssignmentDesk(
            roster=self.roster,
            assignments=self.assignments,
            queue=self.queue,
            events=self.events,
            clock=lambda: next(ticks),
        )
        self.roster_service = RosterService(roster=self.roster, events=self.events, desk=self.desk)

    async def put(self, agent_id: str, **fields: object) -> None:
        await self.roster_service.put(agent_id, profile(name=agent_id, **fields))  # type: ignore[arg-type]

    def assigned_to(self, ticket_id: str) -> list[str]:
        return [payload.agent_id for payload, tid, _ in self.events.of_type("ticket.assigned") if tid == ticket_id]

    def load(self, agent_id: str) -> int:
        return self.roster.by_id[agent_id].load


@pytest.fixture
def router() -> Router:
    return Router()


async def test_a_new_ticket_goes_to_the_least_loaded_agent_and_opens(router: Router) -> None:
    await router.put("ada", capacity=3, teams=("billing", "tier-2"))
    await router.put("bob", capacity=3)
    await router.desk.ticket_created(Ticket("t1"))
    await router.desk.ticket_created(Ticket("t2"))
    await router.desk.ticket_created(Ticket("t3"))

    assert [router.assigned_to(t) for t in ("t1", "t2", "t3")] == [["ada"], ["bob"], ["ada"]]
    assert (router.load("ada"), router.load("bob")) == (2, 1)
    ticket_events = [(p, tid) for p, tid, _ in router.events.emitted if tid == "t1"]
    assigned, opened = (p for p, _ in ticket_events)
    assert isinstance(assigned, TicketAssigned)
    assert (assigned.agent_name, assigned.agent_email, assigned.team) == ("ada", "ada@example.com", "billing")
    assert opened == TicketStatusChanged(from_status=TicketStatus.NEW, to_status=TicketStatus.OPEN, changed_by="router")


async def test_the_preferred_agent_who_fits_is_found_past_the_first_page(router: Router) -> None:
    for n in range(12):  # idle, so first in line, but not in the ticket's team
        await router.put(f"idle-{n:02}", capacity=3, teams=("sales",))
    await router.put("zoe", capacity=3, teams=("billing",))
    await router.put("yan", capacity=3, teams=("billing",))
    await router.desk.ticket_created(Ticket("t1", team="billing"))
    await router.desk.ticket_created(Ticket("t2", team="billing"), first_seen=True)
    await router.desk.ticket_created(Ticket("t3", team="billing"), first_seen=True)

    assert [router.assigned_to(t) for t in ("t1", "t2", "t3")] == [["yan"], ["zoe"], ["yan"]]
    assert (router.load("yan"), router.load("zoe")) == (2, 1)


async def test_a_replayed_creation_tells_nothing_new_and_keeps_the_agent(router: Router) -> None:
    await router.put("ada", capacity=3)
    await router.put("bob", capacity=3)
    await router.desk.ticket_created(Ticket("t1"))
    before = list(router.events.emitted)
    await router.desk.ticket_created(Ticket("t1"))
    assert router.events.emitted == before
    assert router.assigned_to("t1") == ["ada"] and router.load("ada") == 1 and router.load("bob") == 0


async def test_an_assignment_whose_events_failed_is_told_again_with_the_same_ids(router: Router) -> None:
    await router.put("ada")
    router.events.fail_next = 1
    with pytest.raises(ConnectionError):
        await router.desk.ticket_created(Ticket("t1"))
    assert router.assignments.by_ticket["t1"].announced is False

    await router.put("bob")  # now bob is less loaded; the replay must still tell ada
    await router.desk.ticket_created(Ticket("t1"))
    assert router.assigned_to("t1") == ["ada"]
    assert router.assignments.by_ticket["t1"].announced is True
    assert router.load("ada") == 1 and router.load("bob") == 0


async def test_the_same_decision_always_has_the_same_event_ids() -> None:
    first, second = Router(), Router()
    for router in (first, second):
        await router.put("ada")
        await router.desk.ticket_created(Ticket("t1"))
    assert [eid for *_, eid in first.events.emitted] == [eid for *_, eid in second.events.emitted]
    assert len({eid for *_, eid in first.events.emitted}) == 3  # status change of ada, assigned, opened


async def test_nobody_fits_queues_the_ticket_once(router: Router) -> None:
    await router.put("ada", capacity=1)
    await router.desk.ticket_created(Ticket("t1"))
    await router.desk.ticket_created(Ticket("t2", Priority.HIGH))
    await router.desk.ticket_created(Ticket("t2", Priority.HIGH))  # replayed

    queued = router.events.of_type("ticket.queued")
    assert len(queued) == 1
    payload, ticket_id, _ = queued[0]
    assert ticket_id == "t2"
    assert payload == TicketQueued(reason="every online agent is at capacity", priority=Priority.HIGH)
    assert router.queue.by_ticket["t2"].state is QueueState.WAITING


async def test_freed_capacity_takes_queued_tickets_most_urgent_then_oldest(router: Router) -> None:
    await router.put("ada", capacity=0)
    for ticket in (Ticket("low", Priority.LOW), Ticket("n1"), Ticket("urgent", Priority.URGENT), Ticket("n2")):
        await router.desk.ticket_created(ticket)
    assert router.events.of_type("ticket.assigned") == []

    await router.put("ada", capacity=3)
    assert [tid for _, tid, _ in router.events.of_type("ticket.assigned")] == ["urgent", "n1", "n2"]
    assert router.queue.by_ticket["low"].state is QueueState.WAITING
    assert router.queue.by_ticket["n1"].state is QueueState.ASSIGNED

    await router.desk.ticket_closed("n1")
    assert router.assigned_to("low") == ["ada"] and router.load("ada") == 3


async def test_a_solved_ticket_frees_its_slot_once(router: Router) -> None:
    await router.put("ada", capacity=2)
    await router.desk.ticket_created(Ticket("t1"))
    await router.desk.ticket_created(Ticket("t2"))
    await router.desk.ticket_closed("t1")
    await router.desk.ticket_closed("t1")  # replayed
    assert router.load("ada") == 1
    assert router.assignments.by_ticket["t1"].state is AssignmentState.CLOSED

    await router.desk.ticket_created(Ticket("t1"))  # a replayed creation of a solved ticket
    assert router.load("ada") == 1 and router.assigned_to("t1") == ["ada"]


async def test_an_assignment_untold_until_its_ticket_was_solved_is_never_told(router: Router) -> None:
    await router.put("ada", capacity=0)
    await router.desk.ticket_created(Ticket("t1"))
    router.events.fail_next = 1
    await router.put("ada", capacity=1)  # t1 goes to ada, but telling it fails
    assert router.assignments.by_ticket["t1"].announced is False

    await router.desk.ticket_closed("t1")
    assert router.events.of_type("ticket.assigned") == []
    assert router.events.of_type("ticket.status_changed") == []
    assert router.assignments.by_ticket["t1"].announced is True and router.load("ada") == 0


async def test_a_queued_ticket_solved_before_anyone_took_it_leaves_the_queue(router: Router) -> None:
    await router.put("ada", capacity=0)
    await router.desk.ticket_created(Ticket("t1"))
    await router.desk.ticket_closed("t1")
    assert router.queue.by_ticket["t1"].state is QueueState.WITHDRAWN

    await router.put("ada", capacity=1)
    await router.desk.ticket_created(Ticket("t1"))
    assert router.events.of_type("ticket.assigned") == [] and router.load("ada") == 0


async def test_a_ticket_claimed_by_another_router_meanwhile_keeps_that_agent(router: Router) -> None:
    await router.put("ada")
    await router.put("bob")
    competitor = Assignment("t1", "bob", "bob", "bob@example.com", None, None, datetime.now(UTC))
    real_claim = router.assignments.claim

    async def lose_the_race(assignment: Assignment) -> bool:
        await real_claim(competitor)
        return await real_claim(assignment)

    router.assignments.claim = lose_the_race  # type: ignore[method-assign]
    await router.desk.ticket_created(Ticket("t1"))
    assert router.assigned_to("t1") == ["bob"]
    assert router.load("ada") == 0  # the slot ada reserved went back


async def test_reconcile_recounts_a_leaked_load(router: Router) -> None:
    await router.put("ada", capacity=2)
    await router.desk.ticket_created(Ticket("t1"))
    await router.roster.reserve(router.roster.by_id["ada"], Ticket("x"), datetime.now(UTC))  # a crash after reserving, before claiming
    assert router.load("ada") == 2
    assert await router.desk.reconcile() == {"ada": 1}
    assert router.load("ada") == 1


async def test_status_changes_are_told_from_what_was_last_told(router: Router) -> None:
    await router.put("ada", status=AgentStatus.ONLINE)
    await router.put("ada", status=AgentStatus.ONLINE, capacity=5)  # no status change
    router.events.fail_next = 1
    await router.put("ada", status=AgentStatus.AWAY)  # saved; telling it failed
    await router.put("ada", status=AgentStatus.OFFLINE)
    await router.put("ada", status=AgentStatus.ONLINE)
    await router.put("ada", status=AgentStatus.ONLINE)  # nothing left to tell

    changes = [(p.from_status, p.to_status) for p, _, _ in router.events.of_type("agent.status_changed")]
    assert changes == [(None, "online"), ("online", "offline"), ("offline", "online")]
    ids = [eid for *_, eid in router.events.of_type("agent.status_changed")]
    assert len(set(ids)) == 3


async def test_an_untold_status_change_is_told_by_the_sweep(router: Router) -> None:
    router.events.fail_next = 1
    await router.put("ada", status=AgentStatus.AWAY)
    assert router.events.of_type("agent.status_changed") == []
    await router.roster_service.announce_pending()
    await router.roster_service.announce_pending()
    changes = [(p.from_status, p.to_status) for p, _, _ in router.events.of_type("agent.status_changed")]
    assert changes == [(None, "away")]


async def test_a_status_flap_before_anyone_heard_is_not_told(router: Router) -> None:
    await router.put("ada", status=AgentStatus.ONLINE)
    router.events.fail_next = 1
    await router.put("ada", status=AgentStatus.AWAY)
    await router.put("ada", status=AgentStatus.ONLINE)
    assert len(router.events.of_type("agent.status_changed")) == 1
    assert router.roster.by_id["ada"].unannounced_status_change() is None


async def test_an_escalated_waiting_ticket_takes_its_new_place_in_the_queue(router: Router) -> None:
    await router.put("ada", capacity=0)
    await router.desk.ticket_created(Ticket("normal", Priority.NORMAL))
    await router.desk.ticket_created(Ticket("low", Priority.LOW))
    await router.desk.priority_changed("low", Priority.URGENT)  # its first reply breached, say
    await router.put("ada", capacity=1)
    assert router.assigned_to("low") == ["ada"] and router.assigned_to("normal") == []
