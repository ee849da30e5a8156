"""Customer records and the right to erasure, on the real broker and database: one customer per
person across channels, one for concurrent first contacts, and `customer.erased` acted on."""

from __future__ import annotations

import asyncio
import email
import email.policy
import uuid
from typing import Any

import httpx
import pytest

from helpdesk_events import CustomerErased, Envelope
from helpdesk_events.publisher import EventPublisher
from helpdesk_intake.erasure import ERASED, ERASED_TEXT
from helpdesk_intake.settings import Settings
from tests.integration.intake.helpers import frozen, open_ticket, own_broker, poll, running_intake, started
from tests.integration.intake.test_email_channel import database, mail, open_by_email
from tests.support.kafka import EventTap

pytestmark = pytest.mark.integration


def new_address() -> str:
    return f"ada-{uuid.uuid4().hex[:8]}@example.com"


async def get_json(client: httpx.AsyncClient, path: str) -> dict[str, Any]:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_web_ticket_and_a_mail_from_one_address_share_one_customer(settings: Settings) -> None:
    address = new_address()
    async with running_intake(settings) as client:
        web = await open_ticket(client, requester={"email": address, "name": "Ada"})
        # Another spelling of the same address: identities are normalized.
        _, raw = mail(sender=f"Ada Lovelace <{address.upper()}>")
        emailed = await open_by_email(client, raw)

        first, second = [await get_json(client, f"/v1/tickets/{t}") for t in (web, emailed)]
        assert first["customer_id"] is not None
        assert second["customer_id"] == first["customer_id"]
        customer = await get_json(client, f"/v1/customers/{first['customer_id']}")
        assert customer == {
            "customer_id": first["customer_id"],
            "identities": [f"email:{address}"],
            "name": "Ada",
            "ticket_count": 2,
            "tier": None,
        }
        assert (await client.get(f"/v1/customers/{uuid.uuid4()}")).status_code == 404


async def test_concurrent_first_tickets_of_a_new_address_make_one_customer(settings: Settings) -> None:
    address = new_address()
    async with running_intake(settings) as client:
        ticket_ids = await asyncio.gather(
            *(open_ticket(client, requester={"email": address}) for _ in range(6))
        )
        tickets = [await get_json(client, f"/v1/tickets/{t}") for t in ticket_ids]
        customer_ids = {ticket["customer_id"] for ticket in tickets}
        assert len(customer_ids) == 1 and None not in customer_ids
        customer = await get_json(client, f"/v1/customers/{customer_ids.pop()}")
        assert customer["ticket_count"] == 6


async def test_new_tickets_carry_the_customer_s_tier_and_the_language_their_channel_gave(
    settings: Settings,
) -> None:
    address = new_address()
    tickets_topic = f"{settings.kafka_topic_prefix}tickets"
    async with running_intake(settings) as client, EventTap(settings.kafka_bootstrap_servers, tickets_topic) as tap:

        async def created(ticket_id: str) -> Any:
            return (await tap.wait_for("ticket.created", lambda e: e.ticket_id == ticket_id)).payload

        before = await open_ticket(client, requester={"email": address}, language="pt-BR")
        customer_id = (await get_json(client, f"/v1/tickets/{before}"))["customer_id"]
        assert (await created(before)).customer_tier is None
        assert (await get_json(client, f"/v1/customers/{customer_id}"))["tier"] is None

        for bad in ("gold star", "", "x" * 33, "gold!"):
            refused = await client.put(f"/v1/customers/{customer_id}/tier", json={"tier": bad})
            assert refused.status_code == 422, (bad, refused.text)
        assert (await client.put(f"/v1/customers/{uuid.uuid4()}/tier", json={"tier": "gold"})).status_code == 404
        changed = await client.put(f"/v1/customers/{customer_id}/tier", json={"tier": " Gold "})
        assert changed.status_code == 200, changed.text
        assert changed.json()["tier"] == "gold"
        assert (await get_json(client, f"/v1/customers/{customer_id}"))["tier"] == "gold"

        web = await open_ticket(client, requester={"email": address}, language="pt-BR")
        emailed = await open_by_email(client, content_language(mail(sender=f"Ada <{address}>")[1], "fr-CA, en"))
        garbled = content_language(mail(sender=f"Ada <{address}>")[1], "not a language!")
        unlabelled = await open_by_email(client, garbled)  # a malformed header never refuses a mail
        chat = await client.post(
            "/v1/channels/chat/messages",
            json={
                "conversation_id": str(uuid.uuid4()),
                "message_id": str(uuid.uuid4()),
                "text": "Hallo?",
                "visitor": {"email": address},
                "language": "de",
            },
        )
        assert chat.status_code == 201, chat.text
        facts = [
            (event.customer_id, event.customer_tier, event.language)
            for event in [await created(t) for t in (web, emailed, unlabelled, chat.json()["ticket_id"])]
        ]
        assert facts == [
            (customer_id, "gold", "pt-br"),
            (customer_id, "gold", "fr-ca"),
            (customer_id, "gold", None),
            (customer_id, "gold", "de"),
        ]
        assert (await client.post("/v1/tickets", json=form_with(address, language="pt_BR"))).status_code == 422

        # The tier goes with an erased customer: the same address comes back as a new customer without one.
        assert (await client.delete(f"/v1/customers/{customer_id}")).status_code == 202
        await poll(client, f"/v1/customers/{customer_id}", lambda r: r.status_code == 404)
        assert (await client.put(f"/v1/customers/{customer_id}/tier", json={"tier": "gold"})).status_code == 404
        again = await open_ticket(client, requester={"email": address})
        event = await created(again)
        assert event.customer_id not in (None, customer_id) and event.customer_tier is None


def content_language(raw: bytes, value: str) -> bytes:
    """The mail with a Content-Language header (`mail()` cannot add it: setting the body drops Content-*)."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    message["Content-Language"] = value
    return message.as_bytes()


def form_with(address: str, **fields: Any) -> dict[str, Any]:
    return {"subject": "Printer", "body": "On fire.", "requester": {"email": address}, **fields}


async def test_erasure_anonymizes_the_customer_and_keeps_the_tickets_work(settings: Settings) -> None:
    # One partition: a later event on `customers` is handled after an earlier one (a barrier).
    settings = settings.model_copy(update={"kafka_topic_partitions": 1})
    address, bystander = new_address(), new_address()
    async with running_intake(settings) as client:
        ticket_id = await open_ticket(client, requester={"email": address, "name": "Ada"})
        reply = await client.post(
            f"/v1/tickets/{ticket_id}/replies", json={"agent_id": "A-7", "body": "New toner is on its way."}
        )
        assert reply.status_code == 201, reply.text
        follow_up = await client.post(
            f"/v1/tickets/{ticket_id}/messages",
            json={"body": "My phone is +44 1632 960983", "requester_email": address},
        )
        assert follow_up.status_code == 201, follow_up.text
        customer_id = (await get_json(client, f"/v1/tickets/{ticket_id}"))["customer_id"]

        async with EventTap(
            settings.kafka_bootstrap_servers, f"{settings.kafka_topic_prefix}customers"
        ) as tap:
            erased = await client.delete(f"/v1/customers/{customer_id}")
            assert erased.status_code == 202, erased.text
            assert erased.json() == {"customer_id": customer_id, "status": "erasure_requested"}
            event = await tap.wait_for("customer.erased", lambda e: e.payload.customer_id == customer_id)
        assert event.payload.emails == (address,)
        assert event.key == customer_id

        ticket = await get_json(client, f"/v1/tickets/{ticket_id}")
        assert ticket["requester"] == {"email": ERASED, "name": None}
        bodies = [(m["author_kind"], m["body"]) for m in ticket["messages"]]
        assert bodies == [
            ("customer", ERASED_TEXT),
            ("agent", "New toner is on its way."),
            ("customer", ERASED_TEXT),
        ]
        assert address not in str(ticket) and "Ada" not in str(ticket)
        assert (await client.get(f"/v1/customers/{customer_id}")).status_code == 404
        assert (await client.delete(f"/v1/customers/{customer_id}")).status_code == 404

        # The same address writes again: a new customer, whom a replay of the old erasure leaves alone.
        again = await open_ticket(client, requester={"email": address, "name": "Ada"})
        new_customer = (await get_json(client, f"/v1/tickets/{again}"))["customer_id"]
        assert new_customer not in (None, customer_id)
        await replay_then_wait(client, settings, event, bystander)
        assert (await get_json(client, f"/v1/tickets/{again}"))["requester"]["email"] == address
        assert (await get_json(client, f"/v1/customers/{new_customer}"))["ticket_count"] == 1
        assert await get_json(client, f"/v1/tickets/{ticket_id}") == ticket


async def replay_then_wait(
    client: httpx.AsyncClient, settings: Settings, event: Envelope, bystander: str
) -> None:
    """Publish `event` again, then a bystander's erasure behind it; once the bystander is gone, the
    replay has been handled (one partition keeps them in order)."""
    witness = (
        await get_json(client, f"/v1/tickets/{await open_ticket(client, requester={'email': bystander})}")
    )["customer_id"]
    async with started(EventPublisher(settings.kafka("replay-test"), source="intake")) as publisher:
        await publisher.publish(event)
        await publisher.emit(CustomerErased(customer_id=witness, emails=(bystander,)))
    await poll(client, f"/v1/customers/{witness}", lambda r: r.status_code == 404)


async def test_an_erasure_kafka_does_not_acknowledge_is_a_503(settings: Settings) -> None:
    async with (
        own_broker(settings, publish_timeout_seconds=0.5) as (stalling, broker),
        running_intake(stalling) as client,
    ):
        ticket_id = await open_ticket(client, requester={"email": new_address()})
        customer_id = (await get_json(client, f"/v1/tickets/{ticket_id}"))["customer_id"]
        with frozen(broker):
            refused = await client.delete(f"/v1/customers/{customer_id}")
        assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
        assert (await client.get(f"/v1/customers/{customer_id}")).status_code == 200  # nothing erased


async def test_erasure_removes_the_email_channels_records_of_the_customers_mail(settings: Settings) -> None:
    address = new_address()
    async with running_intake(settings) as client, database(settings) as db:
        message_id, raw = mail(sender=f"Ada Lovelace <{address}>")
        ticket_id = await open_by_email(client, raw)
        customer_id = (await get_json(client, f"/v1/tickets/{ticket_id}"))["customer_id"]
        key = message_id.strip("<>")
        assert await db["email_threads"].find_one({"_id": key}) is not None
        assert await db["inbound_messages"].find_one({"ticket_id": ticket_id}) is not None

        assert (await client.delete(f"/v1/customers/{customer_id}")).status_code == 202
        ticket = await get_json(client, f"/v1/tickets/{ticket_id}")
        assert ticket["requester"] == {"email": ERASED, "name": None}
        assert ticket["subject"] == ERASED_TEXT
        assert await db["email_threads"].find_one({"_id": key}) is None
        assert await db["inbound_messages"].find_one({"ticket_id": ticket_id}) is None
        assert await db["customer_identities"].find_one({"customer_id": customer_id}) is None
