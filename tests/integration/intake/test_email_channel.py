"""The email channel on the real servers: HTTP and SMTP in, ticket events out, threaded, once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import httpx
import pytest
from fastapi import FastAPI
from pymongo import AsyncMongoClient

from devtools.servers import EmbeddedKafka, free_port
from helpdesk_events import DeliveryChannel, Envelope, NotificationSent, TicketStatusChanged
from helpdesk_events.publisher import EventPublisher
from helpdesk_intake.bootstrap import create_app
from helpdesk_intake.channels.inbound_messages import InboundDecision, InboundMessages
from helpdesk_intake.settings import Settings
from tests.integration.intake.helpers import open_ticket, poll, poll_ticket, started
from tests.support.apps import running_app
from tests.support.kafka import EventTap

pytestmark = pytest.mark.integration

EMAILS = Path(__file__).parents[2] / "unit" / "intake" / "emails"
RFC822 = {"Content-Type": "message/rfc822"}


def mail(
    body: str = "My printer is on fire.",
    *,
    subject: str = "Printer on fire",
    sender: str = "Ada Lovelace <ada@example.com>",
    in_reply_to: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[str, bytes]:
    """A fresh Message-ID and the raw mail carrying it."""
    message_id = f"<{uuid.uuid4()}@mail.example.com>"
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "Support <support@helpdesk.local>"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message_id, message.as_bytes()


Watch = Callable[[], EventTap]


@pytest.fixture
def watch(kafka_bootstrap: str, topic_prefix: str) -> Watch:
    """Watching this test's tickets topic: `async with watch() as tap`."""
    return lambda: EventTap(kafka_bootstrap, f"{topic_prefix}tickets")


@asynccontextmanager
async def intake(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with running_app(app, base_url="http://intake", startup_timeout=15) as client:
        yield app, client


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[Any]:
    client: AsyncMongoClient = AsyncMongoClient(settings.mongodb_url)
    try:
        yield client[settings.mongodb_database]
    finally:
        await client.close()


async def post(client: httpx.AsyncClient, raw: bytes) -> httpx.Response:
    return await client.post("/v1/channels/email/inbound", content=raw, headers=RFC822)


async def wait_for_document(collection: Any, _id: str, timeout: float = 15.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while (document := await collection.find_one({"_id": _id})) is None:
            await asyncio.sleep(0.05)
    return document


async def emit_as(settings: Settings, source: str, payload: Any, ticket_id: str) -> None:
    """Publish an event as another service would (the notifier, an agent's action)."""
    async with started(
        EventPublisher(settings.kafka(client_id=f"{source}-test"), source=source)
    ) as publisher:
        await publisher.emit(payload, ticket_id=ticket_id)


async def open_by_email(client: httpx.AsyncClient, raw: bytes) -> str:
    response = await post(client, raw)
    assert response.status_code == 201, response.text
    return response.json()["ticket_id"]


async def acknowledge(settings: Settings, ticket_id: str) -> str:
    """Publish the notifier's `notification.sent` for an acknowledgement; returns its Message-ID."""
    ack_id = f"<{uuid.uuid4()}@helpdesk.local>"
    sent = NotificationSent(
        delivery_key=f"{uuid.uuid4()}:email:ada@example.com",
        channel=DeliveryChannel.EMAIL,
        recipient="ada@example.com",
        trigger_event_id=uuid.uuid4(),
        trigger_event_type="ticket.created",
        attempts=1,
        external_id=ack_id,
    )
    await emit_as(settings, "notifier", sent, ticket_id)
    async with database(settings) as db:  # intake's consumer has recorded it: a reply can thread
        await wait_for_document(db["email_threads"], ack_id.strip("<>"))
    return ack_id


async def test_a_new_email_opens_a_ticket(settings: Settings, watch: Watch) -> None:
    message_id, raw = mail("Hello,\n\nMy printer is on fire.\n\nAda")
    async with intake(settings) as (_, client), watch() as tap:
        response = await post(client, raw)
        assert response.status_code == 201, response.text
        assert response.json()["outcome"] == "created"
        ticket_id = response.json()["ticket_id"]

        created = await tap.wait_for("ticket.created", lambda e: e.ticket_id == ticket_id)
        assert created.payload.channel == "email" and created.payload.message_id == message_id
        assert created.payload.requester.email == "ada@example.com"

        ticket = (await client.get(f"/v1/tickets/{ticket_id}")).json()
        assert (ticket["channel"], ticket["subject"], ticket["requester"]["name"]) == (
            "email",
            "Printer on fire",
            "Ada Lovelace",
        )
        assert ticket["messages"][0]["body"] == "Hello,\n\nMy printer is on fire.\n\nAda"


async def test_a_reply_to_the_acknowledgement_joins_its_ticket(settings: Settings, watch: Watch) -> None:
    _, first = mail()
    async with intake(settings) as (_, client), watch() as tap:
        ticket_id = await open_by_email(client, first)
        ack_id = await acknowledge(settings, ticket_id)

        reply_id, reply = mail(
            "Still burning.\n\nOn Mon, 23 Nov 2026 at 10:31, Support wrote:\n> Hello Ada,\n> We received it.",
            subject="Re: We received your request: Printer on fire",
            in_reply_to=ack_id,
        )
        response = await post(client, reply)
        assert response.status_code == 200, response.text
        assert response.json() == {"ticket_id": ticket_id, "outcome": "appended"}

        added = await tap.wait_for("ticket.message_added", lambda e: e.ticket_id == ticket_id)
        assert (added.payload.message_id, added.payload.body) == (reply_id, "Still burning.")
        assert (added.payload.author_kind, added.payload.channel, added.payload.public) == (
            "customer",
            "email",
            True,
        )
        ticket = await poll_ticket(client, ticket_id, lambda t: len(t["messages"]) == 2)
        assert ticket["messages"][1]["author_id"] == "ada@example.com"

        # A reply to the customer's own earlier mail threads too: intake records received Message-IDs.
        _, again = mail("One more thing.", in_reply_to=reply_id)
        assert (await post(client, again)).json() == {"ticket_id": ticket_id, "outcome": "appended"}


async def test_attachments_are_recorded_on_the_event_and_the_ticket(settings: Settings, watch: Watch) -> None:
    settings = settings.model_copy(update={"email_max_attachment_bytes": 1500})
    raw = (EMAILS / "nested_mixed_attachments.eml").read_bytes()
    async with intake(settings) as (_, client), watch() as tap:
        ticket_id = await open_by_email(client, raw)
        created = await tap.wait_for("ticket.created", lambda e: e.ticket_id == ticket_id)
        names = {(a.filename, a.content_type, a.size, a.too_large) for a in created.payload.attachments}
        assert names == {
            (None, "image/png", 1032, False),
            ("invoice-4711.pdf", "application/pdf", 2009, True),
            ("notes.txt", "text/plain", 11, False),
        }
        [message] = (await client.get(f"/v1/tickets/{ticket_id}")).json()["messages"]
        assert {a["filename"]: a["too_large"] for a in message["attachments"]} == {
            None: False,
            "invoice-4711.pdf": True,
            "notes.txt": False,
        }


async def test_a_ticket_reference_in_the_subject_threads_without_headers(settings: Settings) -> None:
    async with intake(settings) as (_, client):
        ticket_id = await open_ticket(client)  # a web ticket: the reply is by email all the same
        _, reply = mail("Any news?", subject=f"Re: [#{ticket_id}] We received your request: Printer on fire")
        response = await post(client, reply)
        assert response.json() == {"ticket_id": ticket_id, "outcome": "appended"}

        # An unknown ticket in the tag opens a new ticket rather than a message nobody sees.
        _, stray = mail("Hello?", subject=f"Re: [#{uuid.uuid4()}] something")
        response = await post(client, stray)
        assert response.status_code == 201 and response.json()["ticket_id"] != ticket_id


async def test_a_reply_to_a_solved_ticket_reopens_it(settings: Settings, watch: Watch) -> None:
    first_id, first = mail()
    async with intake(settings) as (_, client), watch() as tap:
        ticket_id = await open_by_email(client, first)
        solved = TicketStatusChanged(from_status="new", to_status="solved", changed_by="agent-1")
        await emit_as(settings, "intake", solved, ticket_id)
        await poll_ticket(client, ticket_id, lambda t: t["status"] == "solved")

        _, reply = mail("It is burning again.", in_reply_to=first_id)
        assert (await post(client, reply)).json() == {"ticket_id": ticket_id, "outcome": "appended"}

        def reopened(envelope: Envelope) -> bool:
            return envelope.ticket_id == ticket_id and envelope.payload.to_status == "open"

        change = await tap.wait_for("ticket.status_changed", reopened)
        assert (change.payload.from_status, change.payload.changed_by) == ("solved", "customer")
        ticket = await poll_ticket(client, ticket_id, lambda t: t["status"] == "open")
        assert [m["body"] for m in ticket["messages"]] == ["My printer is on fire.", "It is burning again."]


async def test_the_same_message_twice_makes_one_ticket(settings: Settings, watch: Watch) -> None:
    message_id, raw = mail()
    async with intake(settings) as (_, client), watch() as tap:
        answers = await asyncio.gather(post(client, raw), post(client, raw))
        assert sorted(answer.status_code for answer in answers) == [200, 201]
        bodies = [answer.json() for answer in answers]
        ticket_id = bodies[0]["ticket_id"]
        assert {body["ticket_id"] for body in bodies} == {ticket_id}
        assert sorted(body["outcome"] for body in bodies) == ["created", "duplicate"]

        later = await post(client, raw)  # a provider's retry, long after
        assert (later.status_code, later.json()) == (200, {"ticket_id": ticket_id, "outcome": "duplicate"})

        # A follow-up on the same ticket lands on the same partition, after anything the duplicates
        # could have published: once it is seen, a second ticket.created would have been seen too.
        _, follow_up = mail("Sentinel.", in_reply_to=message_id)
        assert (await post(client, follow_up)).json()["ticket_id"] == ticket_id
        await tap.wait_for("ticket.message_added", lambda e: e.ticket_id == ticket_id)
        created = [
            e for e in tap.envelopes if e.type == "ticket.created" and e.payload.message_id == message_id
        ]
        assert len(created) == 1

        async with database(settings) as db:
            record = await db["inbound_messages"].find_one({"_id": "email:" + message_id.strip("<>")})
        assert (
            record is not None and record["ticket_id"] == ticket_id and bool(record["published"])
        )  # nx-27017 stores a $set true as 1
        assert record["event_ids"] == [str(created[0].id)]


async def test_an_auto_reply_opens_nothing_and_is_recorded(settings: Settings, watch: Watch) -> None:
    raw = (EMAILS / "out_of_office.eml").read_bytes()
    async with intake(settings) as (_, client), watch() as tap:
        response = await post(client, raw)
        assert response.status_code == 202
        assert response.json() == {"outcome": "ignored", "reason": "auto-submitted: auto-replied"}
        bounce = await post(client, (EMAILS / "dsn_bounce.eml").read_bytes())
        assert bounce.status_code == 202 and bounce.json()["outcome"] == "ignored"

        async with database(settings) as db:
            ignored = await db["ignored_messages"].find_one({"_id": "email:ooo-1@example.net"})
            assert ignored is not None and ignored["reason"] == "auto-submitted: auto-replied"
            assert ignored["sender"] == "bob@example.net"
            assert await db["inbound_messages"].count_documents({}) == 0

        _, sentinel = mail("A person writing.")
        ticket_id = await open_by_email(client, sentinel)
        await tap.wait_for("ticket.created", lambda e: e.ticket_id == ticket_id)
        assert [e.ticket_id for e in tap.envelopes] == [ticket_id]


async def test_racing_decisions_for_one_message_agree_on_the_first(settings: Settings) -> None:
    async with database(settings) as db:
        inbound = InboundMessages(db["inbound_messages"])
        key = f"email:{uuid.uuid4()}@example.com"
        first, second = (
            InboundDecision(key=key, ticket_id=ticket_id, outcome="created") for ticket_id in ("t-1", "t-2")
        )
        decided = await asyncio.gather(
            inbound.decide(first, event_ids=["e-1"], message_id="<m>"),
            inbound.decide(second, event_ids=["e-2"], message_id="<m>"),
        )
        assert decided[0] == decided[1] and decided[0].ticket_id in ("t-1", "t-2")
        assert (await inbound.find(key)) == decided[0]


async def test_bad_requests_are_refused_with_a_reason(settings: Settings) -> None:
    async with intake(settings) as (_, client):
        wrong_type = await client.post(
            "/v1/channels/email/inbound", content=b"x", headers={"Content-Type": "text/plain"}
        )
        assert wrong_type.status_code == 415 and "message/rfc822" in wrong_type.json()["detail"]
        no_sender = await post(client, b"Subject: hello\r\n\r\nNobody sent this.\r\n")
        assert no_sender.status_code == 400 and "no From header" in no_sender.json()["detail"]
        too_large = await post(client, b"From: a@example.com\r\n\r\n" + b"x" * settings.max_body_bytes)
        assert too_large.status_code == 413


async def test_the_smtp_listener_opens_a_ticket(settings: Settings, watch: Watch) -> None:
    message_id, raw = mail("Sent by SMTP.", subject="Over the wire")
    async with intake(settings) as (app, client), watch() as tap:
        port = app.state.email_channel.smtp.port
        errors, answer = await aiosmtplib.send(
            raw,
            sender="ada@example.com",
            recipients=["support@helpdesk.local"],
            hostname="127.0.0.1",
            port=port,
        )
        assert errors == {} and answer.startswith("2.0.0 OK created ticket ")
        created = await tap.wait_for("ticket.created", lambda e: e.payload.message_id == message_id)
        ticket = (await client.get(f"/v1/tickets/{created.ticket_id}")).json()
        assert (ticket["channel"], ticket["subject"]) == ("email", "Over the wire")

        with pytest.raises(aiosmtplib.SMTPDataError) as refused:
            await aiosmtplib.send(
                b"Subject: no sender\r\n\r\nx\r\n",
                sender="a@example.com",
                recipients=["s@x"],
                hostname="127.0.0.1",
                port=port,
            )
        assert refused.value.code == 550


async def test_without_kafka_both_ways_in_ask_for_a_retry_and_the_retry_succeeds(settings: Settings) -> None:
    port = free_port()
    settings = settings.model_copy(
        update={"kafka_bootstrap_servers": f"127.0.0.1:{port}", "kafka_connect_retry_seconds": 0.2}
    )
    broker = EmbeddedKafka(port=port)
    _, raw = mail()
    try:
        async with intake(settings) as (app, client):
            refused = await post(client, raw)
            assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
            smtp_port = app.state.email_channel.smtp.port
            with pytest.raises(aiosmtplib.SMTPDataError) as deferred:
                await aiosmtplib.send(
                    raw, sender="a@example.com", recipients=["s@x"], hostname="127.0.0.1", port=smtp_port
                )
            assert deferred.value.code == 451

            async with database(settings) as db:
                [decided] = await db["inbound_messages"].find({}).to_list()
            assert not decided["published"]  # decided and stored, not on Kafka: the answer was "retry"

            await asyncio.to_thread(broker.start)
            await poll(client, "/readyz", lambda r: r.status_code == 200)
            # The provider's retry: the decision stored the first time holds.
            accepted = await post(client, raw)
            assert accepted.status_code == 201, accepted.text
            assert accepted.json()["ticket_id"] == decided["ticket_id"]
            errors, answer = await aiosmtplib.send(
                raw, sender="a@example.com", recipients=["s@x"], hostname="127.0.0.1", port=smtp_port
            )
            assert errors == {}
            assert answer == f"2.0.0 OK duplicate ticket {accepted.json()['ticket_id']}"
    finally:
        broker.stop()
