"""The queue view's pure parts: grouping per team and priority, queue order, the reason a ticket
still waits, gauges that forget what is gone, and requests GET /v1/queue refuses before any server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client import CollectorRegistry, Gauge

from helpdesk_events import AgentStatus, Priority
from helpdesk_events.metrics import GaugeSeries
from helpdesk_router.assignment import QueueEntry, Ticket, why_nobody_fits
from helpdesk_router.bootstrap import create_app
from helpdesk_router.queue_view import (
    QueueDepth,
    WaitingTicket,
    _waiting_ticket,
    queue_depth,
    waiting_seconds,
    why_waiting_now,
)
from helpdesk_router.roster import Agent, AgentProfile
from helpdesk_router.settings import Settings

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def waiting(ticket_id: str, priority: Priority, team: str | None, minutes_ago: float) -> WaitingTicket:
    return WaitingTicket(ticket_id, priority, team, NOW - timedelta(minutes=minutes_ago))


def agent(
    agent_id: str, *, status: str = "online", capacity: int = 1, load: int = 0, skills=("billing",)
) -> Agent:
    profile = AgentProfile(
        name=agent_id.title(),
        email=f"{agent_id}@example.com",
        skills=skills,
        capacity=capacity,
        status=AgentStatus(status),
    )
    return Agent(agent_id, profile, load=load)


def test_depth_counts_each_team_and_priority_with_its_oldest_wait_most_urgent_first() -> None:
    tickets = [
        waiting("T1", Priority.NORMAL, "billing", 5),
        waiting("T2", Priority.URGENT, "ops", 1),
        waiting("T3", Priority.NORMAL, "billing", 30),
        waiting("T4", Priority.NORMAL, None, 2),
        waiting("T5", Priority.LOW, "billing", 60),
        waiting("T6", Priority.URGENT, "billing", 3),
    ]
    assert queue_depth(tickets, NOW) == [
        QueueDepth("billing", Priority.URGENT, 1, 180.0),
        QueueDepth("ops", Priority.URGENT, 1, 60.0),
        QueueDepth(None, Priority.NORMAL, 1, 120.0),
        QueueDepth("billing", Priority.NORMAL, 2, 1800.0),
        QueueDepth("billing", Priority.LOW, 1, 3600.0),
    ]
    assert queue_depth([], NOW) == []


def test_time_in_queue_is_never_negative_when_clocks_disagree() -> None:
    assert waiting_seconds(NOW + timedelta(seconds=2), NOW) == 0.0
    assert waiting_seconds(NOW - timedelta(seconds=90), NOW) == 90.0


def test_queue_order_is_most_urgent_then_oldest_whatever_form_the_time_was_stored_in() -> None:
    documents = [
        {"_id": "late-urgent", "priority": "urgent", "team": None, "queued_at": NOW - timedelta(minutes=1)},
        # nx-27017 gives back a datetime rewritten by $set as text.
        {"_id": "old-normal", "priority": "normal", "team": None, "queued_at": "2026-03-02 09:00:00.000000"},
        {
            "_id": "early-urgent",
            "priority": "urgent",
            "team": "ops",
            "queued_at": "2026-03-02 09:50:00+00:00",
        },
        {"_id": "new-normal", "priority": "normal", "team": None, "queued_at": NOW},
    ]
    ordered = sorted((_waiting_ticket(document) for document in documents), key=lambda ticket: ticket.order)
    assert [ticket.ticket_id for ticket in ordered] == [
        "early-urgent",
        "late-urgent",
        "old-normal",
        "new-normal",
    ]
    assert ordered[0].queued_at == datetime(2026, 3, 2, 9, 50, tzinfo=UTC)


def test_why_it_waits_now_follows_the_roster_as_it_is_now() -> None:
    entry = QueueEntry.of(
        Ticket("T1", Priority.HIGH, frozenset({"billing"})), "every online agent is at capacity", NOW
    )
    full = [agent("ada", load=1)]
    assert why_waiting_now(full, entry, NOW) == why_nobody_fits(full, entry.ticket, NOW)
    assert "capacity" in why_waiting_now(full, entry, NOW)

    gone_offline = [agent("ada", status="offline", load=1)]
    assert why_waiting_now(gone_offline, entry, NOW) == why_nobody_fits(gone_offline, entry.ticket, NOW)
    assert "online" in why_waiting_now(gone_offline, entry, NOW)

    wrong_skills = [agent("bob", skills=("shipping",))]
    assert "billing" in why_waiting_now(wrong_skills, entry, NOW)

    # A slot freed and the queue was not offered yet: the ticket does not wait for any lack of agents.
    assert "can take it now" in why_waiting_now([agent("ada", capacity=2, load=1)], entry, NOW)


def test_gauges_forget_label_sets_that_are_gone() -> None:
    registry = CollectorRegistry()
    family = GaugeSeries(Gauge("queue_depth_under_test", "Test gauge.", ["team"], registry=registry))

    family.show({("billing",): 3, ("ops",): 1})
    assert registry.get_sample_value("queue_depth_under_test", {"team": "billing"}) == 3
    assert registry.get_sample_value("queue_depth_under_test", {"team": "ops"}) == 1

    family.show({("billing",): 2})  # ops' queue emptied
    assert registry.get_sample_value("queue_depth_under_test", {"team": "billing"}) == 2
    assert registry.get_sample_value("queue_depth_under_test", {"team": "ops"}) is None

    family.show({})
    assert registry.get_sample_value("queue_depth_under_test", {"team": "billing"}) is None


@pytest.mark.parametrize(
    ("query", "complaint"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=many", "limit"),
        ("priority=critical", "priority"),
        ("team=%21%21", "team"),
    ],
)
async def test_bad_queue_requests_are_refused_before_touching_any_server(query: str, complaint: str) -> None:
    # No lifespan: nothing is started, so an answer other than 422 would have needed MongoDB.
    app = create_app(Settings())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://router") as client:
        response = await client.get(f"/v1/queue?{query}")
    assert response.status_code == 422, response.text
    assert complaint in response.text


def test_the_queue_endpoint_is_documented() -> None:
    spec = create_app(Settings()).openapi()
    operation = spec["paths"]["/v1/queue"]["get"]
    assert operation["operationId"] == "get_queue"
    assert {parameter["name"] for parameter in operation["parameters"]} == {"limit", "team", "priority"}
    waiting = spec["components"]["schemas"]["WaitingTicketView"]["properties"]
    assert "roster" in waiting["why_now"]["description"]
    assert set(waiting) == {
        "ticket_id",
        "priority",
        "team",
        "channel",
        "required_skills",
        "declined_by",
        "queued_at",
        "waiting_seconds",
        "reason_when_queued",
        "why_now",
    }
