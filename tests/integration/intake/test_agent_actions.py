"""Agent replies, notes and status changes, and customer follow-ups, on the real broker and database:
2xx only once Kafka holds the events, which the ticket shows at once and subscribers see in order."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from helpdesk_events import (
    Envelope,
    TicketAssigned,
    TicketAssignmentAnswered,
    TicketMessageAdded,
    TicketStatusChanged,
)
from helpdesk_events.publisher import EventPublisher
from helpdesk_intake.settings import Settings
from tests.integration.intake.helpers import (
    frozen,
    open_ticket,
    own_broker,
    poll_ticket,
    running_intake,
    started,
)
from tests.support.kafka import EventTap

pytestmark = pytest.mark.integration


async def ticket_events(settings: Settings, ticket_id: str, last_type: str, count: int = 1) -> list[Envelope]:
    """The ticket's events on Kafka, in order, once `count` events of `last_type` have arrived."""
    async with EventTap(settings.kafka_bootstrap_servers, f"{settings.kafka_topic_prefix}tickets") as tap:
        ours = lambda: [e for e in tap.envelopes if e.ticket_id == ticket_id]
        await tap.wait_for(last_type, lambda _: sum(e.type == last_type for e in ours()) >= count)
        return ours()


async def get_ticket(client: httpx.AsyncClient, ticket_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/tickets/{ticket_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_reply_opens_a_new_ticket_and_a_note_stays_internal(settings: Settings) -> None:
    async with running_intake(settings) as client:
        ticket_id = await open_ticket(client)
        reply = await client.post(
            f"/v1/tickets/{ticket_id}/replies", json={"agent_id": "A-7", "body": "New toner is on its way."}
        )
        note = await client.post(
            f"/v1/tickets/{ticket_id}/replies",
            json={"agent_id": "A-7", "body": "Third fire this month.", "public": False},
        )
        ticket = await get_ticket(client, ticket_id)  # read-your-writes: no waiting for the consumer
        events = await ticket_events(settings, ticket_id, "ticket.message_added", count=2)

    assert (reply.status_code, reply.json()["status"]) == (201, "open"), reply.text
    assert (note.status_code, note.json()["status"]) == (201, "open"), note.text
    assert ticket["status"] == "open"
    assert [
        (m["author_kind"], m["author_id"], m["channel"], m["public"], m["body"]) for m in ticket["messages"]
    ] == [
        ("customer", "ada@example.com", "web", True, "Smoke everywhere."),
        ("agent", "A-7", "api", True, "New toner is on its way."),
        ("agent", "A-7", "api", False, "Third fire this month."),
    ]
    assert [e.type for e in events] == [
        "ticket.created",
        "ticket.message_added",
        "ticket.status_changed",
        "ticket.message_added",
    ]
    assert events[1].payload == TicketMessageAdded(
        message_id=reply.json()["message_id"], author_kind="agent", author_id="A-7", channel="api",
        body="New toner is on its way.", public=True,
    )  # fmt: skip
    assert events[2].payload == TicketStatusChanged(from_status="new", to_status="open", changed_by="A-7")
    assert events[3].payload.public is False


async def test_status_changes_follow_the_lifecycle_and_a_closed_ticket_is_final(settings: Settings) -> None:
    async with running_intake(settings) as client:
        ticket_id = await open_ticket(client)

        async def change(status: str) -> httpx.Response:
            return await client.post(
                f"/v1/tickets/{ticket_id}/status", json={"status": status, "agent_id": "A-7"}
            )

        pending = await change("pending")
        again = await change("pending")
        too_early = await change("closed")
        solved = await change("solved")
        closed = await change("closed")
        reopened = await change("open")
        late_reply = await client.post(
            f"/v1/tickets/{ticket_id}/replies", json={"agent_id": "A-7", "body": "Hi"}
        )
        ticket = await get_ticket(client, ticket_id)
        events = await ticket_events(settings, ticket_id, "ticket.status_changed", count=3)

    assert pending.json() == {"ticket_id": ticket_id, "status": "pending", "changed": True}
    assert again.json() == {"ticket_id": ticket_id, "status": "pending", "changed": False}  # no event
    assert too_early.status_code == 409
    assert too_early.json()["detail"] == "only a solved ticket can be closed; this one is pending"
    assert (solved.status_code, closed.status_code) == (200, 200)
    assert reopened.status_code == 409 and "closed ticket is final" in reopened.json()["detail"]
    assert late_reply.status_code == 409
    assert ticket["status"] == "closed" and len(ticket["messages"]) == 1
    assert [(e.payload.from_status, e.payload.to_status, e.payload.changed_by) for e in events[1:]] == [
        ("new", "pending", "A-7"),
        ("pending", "solved", "A-7"),
        ("solved", "closed", "A-7"),
    ]


async def test_a_customer_follow_up_reopens_a_solved_ticket_once_per_idempotency_key(
    settings: Settings,
) -> None:
    async with running_intake(settings) as client:
        ticket_id = await open_ticket(client)
        path = f"/v1/tickets/{ticket_id}/messages"
        solved = await client.post(
            f"/v1/tickets/{ticket_id}/status", json={"status": "solved", "agent_id": "A-7"}
        )
        follow_up = {"body": "It is smoking again.", "requester_email": "Ada@Example.com"}
        headers = {"Idempotency-Key": "retry-me"}
        first = await client.post(path, json=follow_up, headers=headers)
        retry = await client.post(path, json=follow_up, headers=headers)  # the client never saw the answer
        stranger = await client.post(path, json={**follow_up, "requester_email": "mallory@example.com"})
        ticket = await get_ticket(client, ticket_id)
        events = await ticket_events(settings, ticket_id, "ticket.status_changed", count=2)

    assert solved.status_code == 200, solved.text
    assert (first.status_code, first.json()["status"]) == (201, "open"), first.text
    assert retry.json() == first.json()
    assert stranger.status_code == 403
    assert stranger.json()["detail"] == "only the ticket's requester can add customer messages to it"
    assert ticket["status"] == "open"
    assert [(m["author_kind"], m["body"]) for m in ticket["messages"]] == [
        ("customer", "Smoke everywhere."),
        ("customer", "It is smoking again."),
    ]
    assert [e.type for e in events] == [
        "ticket.created",
        "ticket.status_changed",
        "ticket.message_added",
        "ticket.status_changed",
    ]
    assert events[2].payload.message_id == first.json()["message_id"]
    assert (events[2].payload.author_id, events[2].payload.channel) == ("ada@example.com", "web")
    assert events[3].payload == TicketStatusChanged(
        from_status="solved", to_status="open", changed_by="customer"
    )


async def test_bad_requests_get_a_reason(settings: Settings) -> None:
    async with running_intake(settings) as client:
        ticket_id = await open_ticket(client)
        unknown = await client.post("/v1/tickets/nope/replies", json={"agent_id": "A-7", "body": "Hi"})
        blank = await client.post(f"/v1/tickets/{ticket_id}/replies", json={"agent_id": "A-7", "body": "  "})
        back_to_new = await client.post(
            f"/v1/tickets/{ticket_id}/status", json={"status": "new", "agent_id": "A"}
        )
        not_json = await client.post(
            f"/v1/tickets/{ticket_id}/messages", content=b"body=hi", headers={"Content-Type": "text/plain"}
        )
        no_email = await client.post(f"/v1/tickets/{ticket_id}/messages", json={"body": "Hi"})

    assert (unknown.status_code, unknown.json()["detail"]) == (404, "no ticket with id 'nope'")
    assert blank.status_code == 422 and "body must contain some text" in blank.text
    assert back_to_new.status_code == 422
    assert not_json.status_code == 415
    assert no_email.status_code == 422 and "requester_email" in no_email.text


async def test_a_reply_kafka_does_not_acknowledge_is_a_503_and_its_retry_records_it_once(
    settings: Settings,
) -> None:
    key = {"Idempotency-Key": "reply-1"}
    async with (
        own_broker(settings, publish_timeout_seconds=0.5) as (stalling, broker),
        running_intake(stalling) as client,
    ):
        ticket_id = await open_ticket(client)
        with frozen(broker):
            refused = await client.post(
                f"/v1/tickets/{ticket_id}/replies", json={"agent_id": "A-7", "body": "Hi"}, headers=key
            )
        # The timed-out event may still land once the broker wakes; the retry must not add a second.
        retried = await client.post(
            f"/v1/tickets/{ticket_id}/replies", json={"agent_id": "A-7", "body": "Hi"}, headers=key
        )
        await ticket_events(stalling, ticket_id, "ticket.message_added")
        ticket = await get_ticket(client, ticket_id)
    assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
    assert "the reply was not confirmed (Kafka did not acknowledge within 0.5 s)" in refused.json()["detail"]
    assert "retry with the same Idempotency-Key" in refused.json()["detail"]
    assert retried.status_code == 201, retried.text
    agent_messages = [m for m in ticket["messages"] if m["author_kind"] == "agent"]
    assert [m["message_id"] for m in agent_messages] == [retried.json()["message_id"]]


async def test_only_the_assignee_answers_an_assignment_once_per_idempotency_key(settings: Settings) -> None:
    router = EventPublisher(settings.kafka("test-router"), source="router")
    async with running_intake(settings) as client, started(router):
        ticket_id = await open_ticket(client)
        await router.emit(TicketAssigned(agent_id="A-7", agent_name="Grace"), ticket_id=ticket_id)
        await poll_ticket(client, ticket_id, lambda t: t["assignee_id"] == "A-7")
        path = f"/v1/tickets/{ticket_id}/assignment-answers"
        other = await client.post(path, json={"agent_id": "A-8", "answer": "accepted"})
        headers = {"Idempotency-Key": "press-1"}
        first = await client.post(
            path, json={"agent_id": "A-7", "answer": "reassign_requested"}, headers=headers
        )
        retry = await client.post(
            path, json={"agent_id": "A-7", "answer": "reassign_requested"}, headers=headers
        )
        events = await ticket_events(settings, ticket_id, "ticket.assignment_answered", count=2)

    assert other.status_code == 409 and "only its assignee can answer" in other.json()["detail"]
    assert (first.status_code, retry.status_code) == (201, 201)
    assert first.json() == {"ticket_id": ticket_id, "answer": "reassign_requested"}
    answers = [e for e in events if e.type == "ticket.assignment_answered"]
    assert answers[0].payload == TicketAssignmentAnswered(
        answer="reassign_requested", agent_id="A-7", channel="api"
    )
    assert answers[0].id == answers[1].id  # the retry is the same event again: subscribers drop it
