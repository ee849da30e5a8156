"""The queue made visible on the real servers: GET /v1/queue lists what waits in the order it is
offered, counts it per team and priority, explains each ticket against the roster as it is now,
and /metrics carries the same numbers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pymongo import AsyncMongoClient

from helpdesk_events import Channel, Priority, Topic, TopicNames
from helpdesk_events.publisher import EventPublisher
from helpdesk_router.assignment import Ticket, why_nobody_fits
from helpdesk_router.settings import Settings
from helpdesk_router.store import MongoRoster
from tests.integration.router.helpers import agent, assigned, new_ticket, put_agent, running_router
from tests.support.kafka import EventTap
from tests.support.waiting import until

pytestmark = pytest.mark.integration

RULES = {
    "rules": [
        {
            "name": "outages",
            "when": {"keywords": ["outage"]},
            "then": {"priority": "urgent", "team": "ops", "required_skills": ["ops"]},
        },
        {
            "name": "invoices",
            "when": {"keywords": ["invoice"]},
            "then": {"team": "billing", "required_skills": ["billing"]},
        },
    ]
}


async def queue(client: httpx.AsyncClient, query: str = "") -> dict[str, Any]:
    response = await client.get(f"/v1/queue{query}")
    assert response.status_code == 200, response.text
    return response.json()


async def queued(
    intake: EventPublisher, tickets: EventTap, ticket_id: str, priority: Priority, body: str
) -> None:
    """One ticket that nobody can take; waiting for each in turn fixes the order of their queue times."""
    await new_ticket(intake, ticket_id, priority, body)
    await tickets.wait_for("ticket.queued", lambda e: e.ticket_id == ticket_id, 15)


def gauges(metrics: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The router's samples of one gauge, by their labels other than service."""
    return {
        tuple(sorted((key, value) for key, value in sample.labels.items() if key != "service")): sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == name and sample.labels.get("service") == "router"
    }


async def expected_why_now(settings: Settings, waiting: dict[str, Any]) -> str:
    """What the router's own explanation says for this ticket against the roster in MongoDB now."""
    client: AsyncMongoClient = AsyncMongoClient(settings.mongodb_url)
    try:
        roster = await MongoRoster(client[settings.mongodb_database]).agents()
    finally:
        await client.close()
    ticket = Ticket(
        waiting["ticket_id"],
        Priority(waiting["priority"]),
        frozenset(waiting["required_skills"]),
        waiting["team"],
        Channel(waiting["channel"]) if waiting["channel"] else None,
        frozenset(waiting["declined_by"]),
    )
    return why_nobody_fits(roster, ticket, datetime.now(UTC))  # no working hours here: any moment will do


async def test_the_queue_shows_what_waits_in_order_how_much_and_why_now(
    settings: Settings, intake: EventPublisher, tickets: EventTap
) -> None:
    async with running_router(settings) as client:
        assert (await client.put("/v1/rules", json=RULES)).status_code == 200
        await put_agent(client, "ada", agent("ada", capacity=1, teams=["billing"]), expected=201)
        assert await queue(client) == {"depth": [], "waiting": []}

        await new_ticket(intake, "B1", body="My invoice is wrong.")
        assert await assigned(tickets, "B1") == "ada"  # ada is full from now on
        await queued(intake, tickets, "B2", Priority.NORMAL, "Second invoice question.")
        await queued(intake, tickets, "O1", Priority.NORMAL, "Total outage since noon.")  # nobody in ops
        await queued(intake, tickets, "B3", Priority.HIGH, "Invoice sent twice.")
        await queued(intake, tickets, "N1", Priority.LOW, "A question.")  # no team, no skill: ada is full
        await queued(intake, tickets, "B4", Priority.NORMAL, "Third invoice question.")

        snapshot = await queue(client)
        waiting = {ticket["ticket_id"]: ticket for ticket in snapshot["waiting"]}
        assert list(waiting) == ["O1", "B3", "B2", "B4", "N1"]  # most urgent first, then oldest
        assert [(row["team"], row["priority"], row["waiting"]) for row in snapshot["depth"]] == [
            ("ops", "urgent", 1),
            ("billing", "high", 1),
            ("billing", "normal", 2),
            (None, "low", 1),
        ]
        billing_normal = snapshot["depth"][2]
        assert (
            billing_normal["oldest_waiting_seconds"] == waiting["B2"]["waiting_seconds"]
        )  # B2 waited longest
        assert waiting["B2"]["waiting_seconds"] > waiting["B4"]["waiting_seconds"] >= 0
        assert waiting["B2"]["queued_at"] < waiting["B4"]["queued_at"]

        outage = waiting["O1"]
        assert (outage["team"], outage["required_skills"], outage["channel"]) == ("ops", ["ops"], "web")
        assert outage["declined_by"] == []
        told = await tickets.wait_for("ticket.queued", lambda e: e.ticket_id == "O1")
        assert outage["reason_when_queued"] == told.payload.reason
        for ticket in waiting.values():
            assert ticket["why_now"] == await expected_why_now(settings, ticket), ticket
        assert "ops" in outage["why_now"]
        assert "capacity" in waiting["B2"]["why_now"] and "capacity" in waiting["N1"]["why_now"]

        # Filters narrow the list and the counts; the limit cuts the list only.
        billing = await queue(client, "?team=Billing")
        assert [ticket["ticket_id"] for ticket in billing["waiting"]] == ["B3", "B2", "B4"]
        assert {row["team"] for row in billing["depth"]} == {"billing"}
        urgent = await queue(client, "?priority=urgent")
        assert [ticket["ticket_id"] for ticket in urgent["waiting"]] == ["O1"]
        first_two = await queue(client, "?limit=2")
        assert [ticket["ticket_id"] for ticket in first_two["waiting"]] == ["O1", "B3"]
        assert [row["waiting"] for row in first_two["depth"]] == [row["waiting"] for row in snapshot["depth"]]

        # The gauges hold the same numbers (GET /v1/queue refreshed them).
        metrics = (await client.get("/metrics")).text
        assert gauges(metrics, "helpdesk_router_queue_depth") == {
            (("priority", "urgent"), ("team", "ops")): 1,
            (("priority", "high"), ("team", "billing")): 1,
            (("priority", "normal"), ("team", "billing")): 2,
            (("priority", "low"), ("team", "")): 1,
        }
        oldest = gauges(metrics, "helpdesk_router_queue_oldest_seconds")
        assert (
            oldest[(("priority", "normal"), ("team", "billing"))] >= billing_normal["oldest_waiting_seconds"]
        )
        assert gauges(metrics, "helpdesk_router_agent_load") == {(("agent_id", "ada"),): 1}
        assert gauges(metrics, "helpdesk_router_agent_capacity") == {(("agent_id", "ada"),): 1}

        # Someone for ops arrives, who also takes the ticket needing no team: both leave the queue,
        # and their gauges with them.
        await put_agent(
            client, "olga", agent("olga", capacity=3, skills=["ops"], teams=["ops"]), expected=201
        )
        assert await assigned(tickets, "O1") == "olga"
        assert await assigned(tickets, "N1") == "olga"
        after = await queue(client)
        assert [ticket["ticket_id"] for ticket in after["waiting"]] == ["B3", "B2", "B4"]
        assert {row["team"] for row in after["depth"]} == {"billing"}
        metrics = (await client.get("/metrics")).text
        assert gauges(metrics, "helpdesk_router_queue_depth") == {
            (("priority", "high"), ("team", "billing")): 1,
            (("priority", "normal"), ("team", "billing")): 2,
        }
        assert set(gauges(metrics, "helpdesk_router_queue_oldest_seconds")) == {
            (("priority", "high"), ("team", "billing")),
            (("priority", "normal"), ("team", "billing")),
        }
        assert gauges(metrics, "helpdesk_router_agent_load") == {
            (("agent_id", "ada"),): 1,
            (("agent_id", "olga"),): 2,
        }
        assert gauges(metrics, "helpdesk_router_agent_capacity") == {
            (("agent_id", "ada"),): 1,
            (("agent_id", "olga"),): 3,
        }

        # The lag of the ticket stream per partition is reported, and nothing is left behind by now.
        tickets_topic = TopicNames(settings.kafka_topic_prefix).name(Topic.TICKETS)

        async def caught_up() -> bool:
            lags = gauges((await client.get("/metrics")).text, "helpdesk_consumer_lag")
            ours = [value for labels, value in lags.items() if ("topic", tickets_topic) in labels]
            return bool(ours) and all(value == 0 for value in ours)

        await until(caught_up, 20, "the router's consumer lag at 0", "router (in-process)")

        # The roster changes under the waiting tickets: their reasons follow it, not what was said then.
        await put_agent(
            client, "ada", agent("ada", capacity=1, status="offline", teams=["billing"]), expected=200
        )
        await put_agent(
            client, "olga", agent("olga", capacity=3, status="offline", skills=["ops"]), expected=200
        )
        now = {ticket["ticket_id"]: ticket for ticket in (await queue(client))["waiting"]}
        for ticket_id in ("B2", "B3", "B4"):
            assert "online" in now[ticket_id]["why_now"], now[ticket_id]
            assert now[ticket_id]["why_now"] == await expected_why_now(settings, now[ticket_id])
            assert now[ticket_id]["reason_when_queued"] == waiting[ticket_id]["reason_when_queued"]
