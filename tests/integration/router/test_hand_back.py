"""Tickets changing hands on the real servers: a decline from Slack (ticket.assignment_answered),
an agent going away, and a channel limit, told on the tickets topic."""

from __future__ import annotations

import pytest

from helpdesk_events import AssignmentAnswer, Channel, TicketAssignmentAnswered
from helpdesk_events.publisher import EventPublisher
from helpdesk_router.settings import Settings
from tests.integration.router.helpers import (
    agent,
    assigned,
    loads_become,
    new_ticket,
    put_agent,
    running_router,
)
from tests.support.kafka import EventTap

pytestmark = pytest.mark.integration


async def answer(intake: EventPublisher, ticket_id: str, what: AssignmentAnswer, slack_user_id: str) -> None:
    payload = TicketAssignmentAnswered(answer=what, slack_user_id=slack_user_id, channel="slack")
    await intake.emit(payload, ticket_id=ticket_id)


def agents_told(tickets: EventTap, ticket_id: str) -> list[str]:
    return [e.payload.agent_id for e in tickets.envelopes if e.type == "ticket.assigned" and e.ticket_id == ticket_id]


async def test_a_decline_from_slack_moves_the_ticket_and_going_away_hands_back_what_was_not_accepted(
    settings: Settings, intake: EventPublisher, tickets: EventTap
) -> None:
    async with running_router(settings) as client:
        await put_agent(client, "ada", agent("ada", capacity=2), expected=201)
        await new_ticket(intake, "T1")
        assert await assigned(tickets, "T1") == "ada"
        await put_agent(client, "bob", agent("bob", capacity=2), expected=201)

        await answer(intake, "T1", AssignmentAnswer.DECLINED, "UADA")  # the Slack button, through intake
        unassigned = await tickets.wait_for("ticket.unassigned", lambda e: e.ticket_id == "T1")
        assert (unassigned.source, unassigned.payload.agent_id, unassigned.payload.reason) == ("router", "ada", "declined")
        reassigned = await tickets.wait_for(
            "ticket.assigned", lambda e: e.ticket_id == "T1" and e.payload.agent_id == "bob"
        )
        assert reassigned.payload.previous_agent_id == "ada"
        await loads_become(client, {"ada": 0, "bob": 1})

        # bob accepts T1, is given T2, then goes away: T2 goes back to ada, T1 stays with bob.
        await answer(intake, "T1", AssignmentAnswer.ACCEPTED, "UBOB")
        await put_agent(client, "ada", agent("ada", capacity=2, status="offline"), expected=200)
        await new_ticket(intake, "T2")
        assert await assigned(tickets, "T2") == "bob"
        await put_agent(client, "ada", agent("ada", capacity=2), expected=200)
        await put_agent(client, "bob", agent("bob", capacity=2, status="away"), expected=200)
        handed = await tickets.wait_for("ticket.unassigned", lambda e: e.ticket_id == "T2")
        assert (handed.payload.agent_id, handed.payload.reason) == ("bob", "agent away")
        await tickets.wait_for("ticket.assigned", lambda e: e.ticket_id == "T2" and e.payload.agent_id == "ada")
        await loads_become(client, {"ada": 1, "bob": 1})
        assert agents_told(tickets, "T1") == ["ada", "bob"]
        assert not [e for e in tickets.envelopes if e.type == "ticket.unassigned" and e.ticket_id == "T1"][1:]


async def test_a_channel_limit_holds_back_a_second_chat_but_not_an_email(
    settings: Settings, intake: EventPublisher, tickets: EventTap
) -> None:
    async with running_router(settings) as client:
        await put_agent(client, "ada", agent("ada", capacity=5, channel_capacity={"chat": 1}), expected=201)
        await new_ticket(intake, "C1", channel=Channel.CHAT)
        assert await assigned(tickets, "C1") == "ada"
        await new_ticket(intake, "C2", channel=Channel.CHAT)
        queued = await tickets.wait_for("ticket.queued", lambda e: e.ticket_id == "C2")
        assert queued.payload.reason == "every online agent is at capacity for chat"
        await new_ticket(intake, "E1", channel=Channel.EMAIL)
        assert await assigned(tickets, "E1") == "ada"
        shown = (await client.get("/v1/agents/ada")).json()
        assert (shown["load"], shown["channel_loads"]) == (2, {"chat": 1, "email": 1})
