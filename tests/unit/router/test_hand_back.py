"""Tickets that change hands: declines, reassignment requests, agents going away, channel limits
and working hours, with in-memory stores."""

from __future__ import annotations

import pytest

from helpdesk_events import AgentStatus, AssignmentAnswer, Channel, TicketUnassigned
from helpdesk_router.assignment import AssignmentState, QueueState, Ticket
from helpdesk_router.working_hours import WorkingHours
from tests.unit.router.test_desk import Router

DECLINED = AssignmentAnswer.DECLINED


@pytest.fixture
def router() -> Router:
    return Router()


def told(router: Router, ticket_id: str, event_type: str) -> list:
    return [payload for payload, tid, _ in router.events.of_type(event_type) if tid == ticket_id]


async def answer(router: Router, ticket_id: str, agent_id: str | None, what: AssignmentAnswer, slack: str | None = None):
    await router.desk.assignment_answered(ticket_id, what, agent_id=agent_id, slack_user_id=slack)


async def test_a_declined_ticket_goes_to_the_next_agent_and_never_back(router: Router) -> None:
    await router.put("ada", capacity=2)
    await router.put("bob", capacity=2)
    await router.desk.ticket_created(Ticket("t1"))
    assert router.assigned_to("t1") == ["ada"]

    await answer(router, "t1", "ada", DECLINED)

    assert told(router, "t1", "ticket.unassigned") == [TicketUnassigned(agent_id="ada", reason="declined")]
    second = told(router, "t1", "ticket.assigned")[-1]
    assert (second.agent_id, second.previous_agent_id) == ("bob", "ada")
    assert (router.load("ada"), router.load("bob")) == (0, 1)
    # Only one "new -> open": the ticket opened once.
    assert len(told(router, "t1", "ticket.status_changed")) == 1

    await answer(router, "t1", "bob", AssignmentAnswer.REASSIGN_REQUESTED)
    assignment = router.assignments.by_ticket["t1"]
    assert (assignment.state, assignment.declined_by) == (AssignmentState.RETURNED, ("ada", "bob"))
    [queued] = told(router, "t1", "ticket.queued")
    assert queued.reason == "reassign requested; every online agent who could take it declined it"
    assert router.queue.by_ticket["t1"].state is QueueState.WAITING

    await router.put("cy", capacity=1)  # a new agent comes online and takes it
    assert router.assigned_to("t1") == ["ada", "bob", "cy"]
    assert router.queue.by_ticket["t1"].state is QueueState.ASSIGNED
    ids = [eid for _, tid, eid in router.events.of_type("ticket.assigned") if tid == "t1"]
    assert len(set(ids)) == 3


async def test_an_answer_from_anyone_but_the_holder_changes_nothing(router: Router) -> None:
    await router.put("ada", capacity=1)
    await router.put("bob", capacity=1)
    await router.desk.ticket_created(Ticket("t1"))
    await answer(router, "t1", "bob", DECLINED)
    await answer(router, "t1", None, DECLINED, slack="UNKNOWN")
    await answer(router, "nope", "ada", DECLINED)
    assert router.assigned_to("t1") == ["ada"] and told(router, "t1", "ticket.unassigned") == []


async def test_a_slack_answer_is_matched_to_the_agent_by_slack_user(router: Router) -> None:
    await router.put("ada", capacity=1, slack_user_id="UADA")
    await router.put("bob", capacity=1)
    await router.desk.ticket_created(Ticket("t1"))
    await answer(router, "t1", None, DECLINED, slack="UADA")
    assert router.assigned_to("t1") == ["ada", "bob"]


async def test_a_replayed_decline_after_the_ticket_moved_on_changes_nothing(router: Router) -> None:
    await router.put("ada", capacity=1)
    await router.put("bob", capacity=1)
    await router.desk.ticket_created(Ticket("t1"))
    await answer(router, "t1", "ada", DECLINED)
    await answer(router, "t1", "ada", DECLINED)  # the same record, read again after a crash
    assert router.assigned_to("t1") == ["ada", "bob"]
    assert len(told(router, "t1", "ticket.unassigned")) == 1


async def test_going_away_hands_back_only_what_was_not_accepted(router: Router) -> None:
    await router.put("ada", capacity=3)
    await router.desk.ticket_created(Ticket("t1"))
    await router.desk.ticket_created(Ticket("t2"))
    await answer(router, "t1", "ada", AssignmentAnswer.ACCEPTED)

    await router.put("ada", capacity=3, status=AgentStatus.AWAY)

    assert router.assignments.by_ticket["t1"].state is AssignmentState.OPEN
    assert router.assignments.by_ticket["t2"].state is AssignmentState.RETURNED
    assert told(router, "t2", "ticket.unassigned") == [TicketUnassigned(agent_id="ada", reason="agent away")]
    assert told(router, "t2", "ticket.queued")[0].reason == "agent away; no agent is online"
    assert router.load("ada") == 1

    await router.put("ada", capacity=3)  # back online: the same agent may take it again, under a new id
    assert router.assigned_to("t2") == ["ada", "ada"]
    ids = {eid for _, tid, eid in router.events.of_type("ticket.assigned") if tid == "t2"}
    assert len(ids) == 2 and router.load("ada") == 2


async def test_a_ticket_solved_while_handed_back_leaves_the_queue(router: Router) -> None:
    await router.put("ada", capacity=1)
    await router.desk.ticket_created(Ticket("t1"))
    await answer(router, "t1", "ada", DECLINED)
    await router.desk.ticket_closed("t1")
    await router.put("bob", capacity=1)
    assert router.assigned_to("t1") == ["ada"]
    assert router.queue.by_ticket["t1"].state is QueueState.WITHDRAWN
    assert router.assignments.by_ticket["t1"].state is AssignmentState.CLOSED
    assert router.load("ada") == 0


async def test_an_interrupted_hand_back_is_finished_by_the_sweep(router: Router) -> None:
    await router.put("ada", capacity=1)
    await router.desk.ticket_created(Ticket("t1"))
    await router.put("bob", capacity=1, status=AgentStatus.OFFLINE)
    router.events.fail_next = 1  # ticket.unassigned cannot be told
    try:
        await answer(router, "t1", "ada", DECLINED)
    except ConnectionError:
        pass
    assert router.assignments.by_ticket["t1"].state is AssignmentState.RETURNED
    assert router.queue.by_ticket.get("t1") is None and router.load("ada") == 0

    await router.put("bob", capacity=1)  # online again; the sweep finishes the hand-back
    await router.desk.sweep()
    assert told(router, "t1", "ticket.unassigned") == [TicketUnassigned(agent_id="ada", reason="declined")]
    assert router.assigned_to("t1") == ["ada", "bob"]


async def test_a_channel_limit_queues_that_channel_and_lets_others_through(router: Router) -> None:
    await router.put("ada", capacity=3, channel_capacity={"chat": 1})
    await router.desk.ticket_created(Ticket("c1", channel=Channel.CHAT))
    await router.desk.ticket_created(Ticket("c2", channel=Channel.CHAT))
    await router.desk.ticket_created(Ticket("e1", channel=Channel.EMAIL))
    assert router.assigned_to("c1") == ["ada"] and router.assigned_to("e1") == ["ada"]
    assert told(router, "c2", "ticket.queued")[0].reason == "every online agent is at capacity for chat"
    assert dict(router.roster.by_id["ada"].channel_loads) == {"chat": 1, "email": 1}

    await router.desk.ticket_closed("c1")  # the chat slot frees: the waiting chat takes it
    assert router.assigned_to("c2") == ["ada"]
    assert dict(router.roster.by_id["ada"].channel_loads) == {"chat": 1, "email": 1}


async def test_an_agent_off_shift_gets_work_once_their_hours_begin(router: Router) -> None:
    # The router's clock starts on Monday 09:00 UTC, 10:00 in Paris; ada starts at 10:01.
    hours = WorkingHours(timezone="Europe/Paris", weekly={"mon": (("10:01", "18:00"),)})
    await router.put("ada", capacity=1, working_hours=hours)
    await router.desk.ticket_created(Ticket("t1"))
    assert told(router, "t1", "ticket.queued")[0].reason == "no online agent is inside their working hours"
    for _ in range(60):  # each call on the clock is a second later
        router.desk._clock()
    await router.desk.sweep()
    assert router.assigned_to("t1") == ["ada"]
