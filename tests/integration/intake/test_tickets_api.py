"""Intake end to end on the real broker and database: POST, the event on Kafka, the read model."""

from __future__ import annotations

from datetime import datetime

import pytest
from aiokafka import AIOKafkaProducer

from helpdesk_events import TicketAssigned, TicketCreated, TicketMessageAdded, TicketStatusChanged
from helpdesk_events.publisher import EventPublisher
from helpdesk_intake.settings import Settings
from tests.integration.intake.helpers import FORM, open_ticket, poll_ticket, running_intake, started
from tests.support.kafka import EventTap

pytestmark = pytest.mark.integration

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def router_publisher(settings: Settings) -> EventPublisher:
    return EventPublisher(settings.kafka("test-router"), source="router")


async def test_a_posted_ticket_is_on_kafka_in_the_callers_trace_and_readable_at_once(
    settings: Settings,
) -> None:
    async with running_intake(settings) as client:
        response = await client.post(
            "/v1/tickets", json=FORM, headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}
        )
        assert response.status_code == 201, response.text
        ticket_id = response.json()["ticket_id"]
        assert response.json() == {"ticket_id": ticket_id, "status": "new"}
        assert response.headers["location"] == f"/v1/tickets/{ticket_id}"

        # Read-your-writes: no waiting for the consumer.
        ticket = (await client.get(f"/v1/tickets/{ticket_id}")).json()

        async with EventTap(settings.kafka_bootstrap_servers, f"{settings.kafka_topic_prefix}tickets") as tap:
            envelope = await tap.wait_for("ticket.created", lambda e: e.ticket_id == ticket_id)
            [record] = [r for r in tap.records if r.key == ticket_id.encode()]

    assert envelope.source == "intake"
    assert envelope.payload == TicketCreated(
        subject="Printer on fire",
        body="Smoke everywhere.",
        requester={"email": "ada@example.com", "name": "Ada"},
        channel="web",
        message_id=envelope.payload.message_id,
        priority="normal",
        tags=("hardware", "vip"),
        customer_id=ticket["customer_id"],
    )
    assert ticket["customer_id"] is not None
    traceparent = dict(record.headers)["traceparent"].decode()
    assert traceparent.startswith(f"00-{TRACE_ID}-")  # the caller's trace goes on through Kafka

    assert ticket == {
        "ticket_id": ticket_id,
        "subject": "Printer on fire",
        "status": "new",
        "priority": "normal",
        "channel": "web",
        "requester": {"email": "ada@example.com", "name": "Ada"},
        "customer_id": envelope.payload.customer_id,
        "assignee_id": None,
        "team": None,
        "category": None,
        "queue": None,
        "tags": ["hardware", "vip"],
        "messages": [
            {
                "message_id": envelope.payload.message_id,
                "author_kind": "customer",
                "author_id": "ada@example.com",
                "channel": "web",
                "body": "Smoke everywhere.",
                "public": True,
                "attachments": [],
                "created_at": ticket["created_at"],
            }
        ],
        "created_at": ticket["created_at"],
        "updated_at": ticket["created_at"],
        "sla": [],
    }
    assert datetime.fromisoformat(ticket["created_at"]) == envelope.occurred_at


def agent_note(message_id: str) -> TicketMessageAdded:
    return TicketMessageAdded(
        message_id=message_id, author_kind="agent", author_id="A-7", channel="web", body="On it."
    )


async def test_router_events_show_in_the_ticket_and_replaying_them_changes_nothing(
    settings: Settings,
) -> None:
    async with running_intake(settings) as client, started(router_publisher(settings)) as router:
        ticket_id = await open_ticket(client)
        assigned = await router.emit(
            TicketAssigned(agent_id="A-7", agent_name="Grace", team="hardware"), ticket_id=ticket_id
        )
        await router.emit(
            TicketStatusChanged(from_status="new", to_status="open", changed_by="router"), ticket_id=ticket_id
        )
        noted = await router.emit(agent_note("M-note"), ticket_id=ticket_id)
        before = await poll_ticket(
            client, ticket_id, lambda t: t["status"] == "open" and len(t["messages"]) == 2
        )
        assert (before["assignee_id"], before["team"]) == ("A-7", "hardware")

        # At-least-once delivery: older events again, twice over. Applied again, ticket.created would
        # reopen the ticket as new and the note would appear twice.
        async with EventTap(settings.kafka_bootstrap_servers, f"{settings.kafka_topic_prefix}tickets") as tap:
            created = await tap.wait_for("ticket.created", lambda e: e.ticket_id == ticket_id)
        for _ in range(2):
            for envelope in (created, assigned, noted):
                await router.publish(envelope)
        # One ticket's events are consumed in order: once this marker shows, the replays were applied.
        marked = await router.emit(agent_note("M-marker"), ticket_id=ticket_id)
        after = await poll_ticket(client, ticket_id, lambda t: len(t["messages"]) > 2)

    assert [m["message_id"] for m in after["messages"]] == [created.payload.message_id, "M-note", "M-marker"]
    assert datetime.fromisoformat(after["updated_at"]) == marked.occurred_at
    assert {**after, "messages": before["messages"], "updated_at": before["updated_at"]} == before


async def test_a_poison_record_is_dead_lettered_and_the_read_model_keeps_going(settings: Settings) -> None:
    prefix = settings.kafka_topic_prefix
    async with running_intake(settings) as client, started(router_publisher(settings)) as router:
        ticket_id = await open_ticket(client)
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
        await producer.start()
        try:
            # Same key, same partition: the ticket's next event waits behind the poison.
            await producer.send_and_wait(f"{prefix}tickets", b"not json", key=ticket_id.encode())
        finally:
            await producer.stop()
        await router.emit(
            TicketStatusChanged(from_status="new", to_status="pending", changed_by="A-7"), ticket_id=ticket_id
        )

        async with EventTap(settings.kafka_bootstrap_servers, f"{prefix}deadletter") as dead_letters:
            [poison] = await dead_letters.wait_for_records(lambda r: r.value == b"not json")
        headers = dict(poison.headers)
        assert poison.key == ticket_id.encode()
        assert headers["dlq-reason"] == b"undecodable"
        assert headers["dlq-original-topic"] == f"{prefix}tickets".encode()
        assert headers["dlq-consumer-group"] == settings.read_model_group_id.encode()

        await poll_ticket(client, ticket_id, lambda t: t["status"] == "pending")
        # And the next ticket flows as ever.
        next_ticket = await open_ticket(client, subject="Second")
        await router.emit(TicketAssigned(agent_id="A-8", agent_name="Alan"), ticket_id=next_ticket)
        await poll_ticket(client, next_ticket, lambda t: t["assignee_id"] == "A-8")


async def test_requests_it_cannot_take_get_a_clear_reason(settings: Settings) -> None:
    async with running_intake(settings) as client:
        too_big = await client.post("/v1/tickets", json={**FORM, "body": "x" * (2 * 1024 * 1024)})
        assert too_big.status_code == 413
        assert "limit is 1048576 bytes" in too_big.json()["detail"]

        async def chunks():  # no Content-Length: the guard counts what arrives
            for _ in range(40):
                yield b"x" * 65536

        chunked = await client.post(
            "/v1/tickets", content=chunks(), headers={"content-type": "application/json"}
        )
        assert chunked.status_code == 413
        assert "more than 1048576 bytes arrived" in chunked.json()["detail"]

        as_text = await client.post(
            "/v1/tickets", content=b"subject=hi", headers={"content-type": "text/plain"}
        )
        assert as_text.status_code == 415
        assert "application/json" in as_text.json()["detail"]

        bad_email = await client.post("/v1/tickets", json={**FORM, "requester": {"email": "ada"}})
        assert bad_email.status_code == 422
        assert [e["loc"] for e in bad_email.json()["detail"]] == [["body", "requester", "email"]]

        not_json = await client.post(
            "/v1/tickets", content=b'{"subject": ', headers={"content-type": "application/json"}
        )
        assert not_json.status_code == 422
        assert not_json.json()["detail"][0]["type"] == "json_invalid"

        unknown = await client.get("/v1/tickets/no-such-ticket")
        assert unknown.status_code == 404
        assert unknown.json() == {"detail": "no ticket with id 'no-such-ticket'"}

        ready = await client.get("/readyz")
        assert ready.json() == {"status": "ready", "checks": {"kafka": "ok", "mongodb": "ok", "redis": "ok"}}
