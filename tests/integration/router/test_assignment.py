"""The router on the real servers: tickets from the stream go to the least loaded agent, wait in
the queue when everyone is full, and free their agent's slot when solved."""

from __future__ import annotations

import pytest

from helpdesk_events import Priority
from helpdesk_events.publisher import EventPublisher
from helpdesk_router.settings import Settings
from tests.integration.router.helpers import (
    agent,
    assigned,
    loads,
    loads_become,
    new_ticket,
    put_agent,
    running_router,
    solve,
    tickets_created_handled,
)
from tests.support.kafka import EventTap

pytestmark = pytest.mark.integration


async def test_tickets_go_to_the_least_loaded_agent_then_queue_then_flow_as_capacity_frees(
    settings: Settings, intake: EventPublisher, tickets: EventTap
) -> None:
    async with running_router(settings) as client:
        await put_agent(client, "ada", agent("ada", capacity=2, teams=["Tier 2", "billing"]), expected=201)
        await put_agent(client, "bob", agent("bob", capacity=2), expected=201)

        # Equal loads: ada (never assigned, first by id), then bob (fewest), then ada (waited longest).
        # One at a time: tickets on different partitions may be handled in any order.
        chosen = []
        for ticket_id in ("T1", "T2", "T3"):
            await new_ticket(intake, ticket_id)
            chosen.append(await assigned(tickets, ticket_id))
        assert chosen == ["ada", "bob", "ada"]

        first = await tickets.wait_for("ticket.assigned", lambda e: e.ticket_id == "T1")
        assert first.source == "router"
        assert first.payload.model_dump() == {
            "agent_id": "ada",
            "agent_name": "Ada",
            "agent_email": "ada@example.com",
            "slack_user_id": "UADA",
            "team": "tier-2",
            "previous_agent_id": None,
        }
        opened = await tickets.wait_for("ticket.status_changed", lambda e: e.ticket_id == "T1")
        assert (opened.payload.from_status, opened.payload.to_status, opened.payload.changed_by) == (
            "new",
            "open",
            "router",
        )
        ticket_events = [e.type for e in tickets.envelopes if e.ticket_id == "T1"]
        assert ticket_events == ["ticket.created", "ticket.triaged", "ticket.assigned", "ticket.status_changed"]
        assert await loads(client) == {"ada": 2, "bob": 1}

        # Everyone full: the next ticket waits, and says why.
        await new_ticket(intake, "T4")
        assert await assigned(tickets, "T4") == "bob"
        await new_ticket(intake, "T5", Priority.HIGH)
        queued = await tickets.wait_for("ticket.queued", lambda e: e.ticket_id == "T5")
        assert queued.payload.reason == "every online agent is at capacity"
        assert queued.payload.priority == "high"

        # More capacity takes it at once.
        raised = await put_agent(client, "bob", agent("bob", capacity=3), expected=200)
        assert await assigned(tickets, "T5") == "bob"
        assert raised["load"] == 3  # the PUT answered after the queue was offered to bob
        assert await loads(client) == {"ada": 2, "bob": 3}

        # A solved ticket frees its agent's slot, which the next ticket takes.
        await solve(intake, "T1")
        await loads_become(client, {"ada": 1, "bob": 3})
        await new_ticket(intake, "T6")
        assert await assigned(tickets, "T6") == "ada"
        assert await loads(client) == {"ada": 2, "bob": 3}


async def test_a_replayed_ticket_created_never_gets_a_second_agent(
    settings: Settings, intake: EventPublisher, tickets: EventTap
) -> None:
    async with running_router(settings) as client:
        await put_agent(client, "ada", agent("ada", capacity=5), expected=201)
        created = await new_ticket(intake, "T1")
        assert await assigned(tickets, "T1") == "ada"
        await put_agent(client, "bob", agent("bob", capacity=5), expected=201)  # now bob is least loaded

        await intake.publish(created)  # the very same event again, twice
        await intake.publish(created)
        await tickets_created_handled(client, settings, 3)

        told = {(e.id, e.payload.agent_id) for e in tickets.envelopes if e.type == "ticket.assigned"}
        assert len(told) == 1 and next(iter(told))[1] == "ada"
        assert await loads(client) == {"ada": 1, "bob": 0}
