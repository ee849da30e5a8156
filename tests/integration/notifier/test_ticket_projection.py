"""The notifier's ticket view on the real server (nx-27017 here, MongoDB through MONGODB_URL): every
write is idempotent and order-tolerant where events can arrive late."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from helpdesk_notifier.ticket_projection import MongoTicketProjection
from helpdesk_notifier.ticket_view import SlackPost, TicketView
from tests.integration.notifier.events import ticket_created

pytestmark = pytest.mark.integration

DUE = datetime(2026, 11, 23, 17, 30, tzinfo=UTC)


@pytest.fixture
def tickets(db: AsyncDatabase) -> AsyncCollection:
    return db["tickets"]


async def test_the_view_follows_the_ticket_and_replays_change_nothing(tickets: AsyncCollection) -> None:
    view = MongoTicketProjection(tickets)
    assert await view.get("T1") is None and await view.view("T1") == TicketView("T1")

    created = ticket_created("T1", channel="email", message_id="<m1@customer.example.com>", language="fr")
    for _ in range(2):  # a replay
        await view.created("T1", created.payload, customer_message_id="<m1@customer.example.com>")
    await view.triaged("T1", priority="urgent", team="hardware")
    await view.created("T1", created.payload, customer_message_id=None)  # late replay: triage's priority stays
    await view.assigned("T1", agent_id="grace", agent_name="Grace", slack_user_id="UGRACE", team=None)
    await view.accepted("T1", "someone-else")  # not the assignee: ignored
    await view.customer_message("T1", "<m2@customer.example.com>")
    await view.customer_message("T1", "<m2@customer.example.com>")
    await view.sla_due("T1", "first_reply", DUE)
    await view.sla_due("T1", "resolution", None)
    await view.posted("T1", SlackPost("DGRACE", "1700000000.000100", "grace"))
    await view.status("T1", "open")

    seen = await view.view("T1")
    assert (seen.subject, seen.requester_email, seen.requester_name) == (
        "Printer on fire",
        "ada-t1@example.com",
        "Ada Lovelace",
    )
    assert (seen.priority, seen.team, seen.status, seen.language, seen.channel) == (
        "urgent",
        "hardware",
        "open",
        "fr",
        "email",
    )
    assert (seen.agent_id, seen.slack_user_id, seen.accepted, seen.known) == ("grace", "UGRACE", False, True)
    assert seen.customer_message_ids == ("<m1@customer.example.com>", "<m2@customer.example.com>")
    assert seen.sla_due == {"first_reply": DUE, "resolution": None} and seen.next_sla_due == DUE
    assert seen.slack_posts == (SlackPost("DGRACE", "1700000000.000100", "grace"),)

    await view.accepted("T1", "grace")
    await view.unassigned("T1", "bob")  # not the assignee: ignored
    assert (await view.view("T1")).accepted
    await view.unassigned("T1", "grace")
    gone = await view.view("T1")
    assert (gone.agent_id, gone.accepted) == (None, False)
    assert gone.slack_posts == seen.slack_posts  # the old message stays known, to be updated


async def test_events_before_the_creation_make_a_partial_view(tickets: AsyncCollection) -> None:
    view = MongoTicketProjection(tickets)
    await view.customer_message("T2", "<early@customer.example.com>")
    await view.status("T2", "solved")
    await view.assigned("T2", agent_id="grace", agent_name="Grace", slack_user_id=None, team="billing")
    early = await view.view("T2")
    assert (early.known, early.status, early.team) == (False, "solved", "billing")
    await view.created("T2", ticket_created("T2").payload, customer_message_id=None)
    late = await view.view("T2")
    assert (late.known, late.status, late.priority) == (True, "solved", "high")
    assert late.customer_message_ids == ("<early@customer.example.com>",)
