"""Chat, social and voice on the real servers: a ticket per conversation, thread or caller, follow-ups
threaded, each channel message once (also concurrently), forged webhooks refused before Kafka."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from pydantic import SecretStr
from pymongo import AsyncMongoClient

from helpdesk_intake.bootstrap import create_app
from helpdesk_intake.settings import Settings
from tests.integration.intake.helpers import running_intake
from tests.support.apps import running_app
from tests.support.kafka import EventTap

pytestmark = pytest.mark.integration

SOCIAL_SECRET = b"social-s3cret"
VOICE_SECRET = b"voice-s3cret"
CHAT = "/v1/channels/chat/messages"
SOCIAL = "/v1/channels/social/facebook/webhook"
VOICE = "/v1/channels/voice/webhook"

Watch = Callable[[], EventTap]


def signed(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


@pytest.fixture
def channel_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "social_webhook_secrets": {"facebook": SecretStr(SOCIAL_SECRET.decode())},
            "voice_webhook_secret": SecretStr(VOICE_SECRET.decode()),
        }
    )


@pytest.fixture
def watch(kafka_bootstrap: str, topic_prefix: str) -> Watch:
    return lambda: EventTap(kafka_bootstrap, f"{topic_prefix}tickets")


async def chat(
    client: httpx.AsyncClient, conversation: str, text: str, message_id: str | None = None
) -> httpx.Response:
    body = {
        "conversation_id": conversation,
        "message_id": message_id or str(uuid.uuid4()),
        "text": text,
        "visitor": {"email": "ada@example.com", "name": "Ada"},
    }
    return await client.post(CHAT, json=body)


async def social(client: httpx.AsyncClient, secret: bytes = SOCIAL_SECRET, **fields: Any) -> httpx.Response:
    event = {
        "delivery_id": str(uuid.uuid4()),
        "kind": "direct_message",
        "sender": {"handle": "@ada"},
        "text": "Help",
        **fields,
    }
    body = httpx.Request("POST", "/", json=event).content
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signed(secret, body)}
    return await client.post(SOCIAL, content=body, headers=headers)


async def call(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    form = {
        "CallSid": f"CA{uuid.uuid4().hex}",
        "From": "+33 6 12 34 56 78",
        "To": "+3318000",
        "CallStatus": "completed",
        **fields,
    }
    body = urlencode(form).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Helpdesk-Signature": signed(VOICE_SECRET, body),
    }
    return await client.post(VOICE, content=body, headers=headers)


def events_of(tap: EventTap, ticket_id: str, event_type: str) -> list:
    return [e for e in tap.envelopes if e.ticket_id == ticket_id and e.type == event_type]


async def test_a_chat_conversation_is_one_ticket_and_reopens_when_solved(
    channel_settings: Settings, watch: Watch
) -> None:
    conversation = str(uuid.uuid4())
    async with running_intake(channel_settings) as client, watch() as tap:
        first = await chat(client, conversation, "Hi, my printer is on fire")
        assert (first.status_code, first.json()["outcome"]) == (201, "created"), first.text
        ticket_id = first.json()["ticket_id"]
        created = await tap.wait_for("ticket.created", lambda e: e.ticket_id == ticket_id)
        assert (created.payload.channel, created.payload.subject) == (
            "chat",
            "Chat: Hi, my printer is on fire",
        )
        assert created.payload.requester.email == "ada@example.com"

        solved = await client.post(
            f"/v1/tickets/{ticket_id}/status", json={"status": "solved", "agent_id": "a1"}
        )
        assert solved.status_code == 200, solved.text
        later = await chat(client, conversation, "It is smoking again")
        assert (later.status_code, later.json()) == (200, {"outcome": "appended", "ticket_id": ticket_id})
        added = await tap.wait_for("ticket.message_added", lambda e: e.ticket_id == ticket_id)
        assert (added.payload.channel, added.payload.body) == ("chat", "It is smoking again")
        reopened = await tap.wait_for(
            "ticket.status_changed", lambda e: e.ticket_id == ticket_id and e.payload.to_status == "open"
        )
        assert reopened.payload.changed_by == "customer"

        other = await chat(client, str(uuid.uuid4()), "Another question")
        assert other.status_code == 201 and other.json()["ticket_id"] != ticket_id


async def test_the_same_chat_message_is_one_event_even_concurrently(
    channel_settings: Settings, watch: Watch
) -> None:
    conversation, message_id = str(uuid.uuid4()), str(uuid.uuid4())
    async with running_intake(channel_settings) as client, watch() as tap:
        answers = await asyncio.gather(*(chat(client, conversation, "Hello", message_id) for _ in range(5)))
        assert sorted(a.status_code for a in answers) == [200, 200, 200, 200, 201], [a.text for a in answers]
        ticket_ids = {a.json()["ticket_id"] for a in answers}
        assert len(ticket_ids) == 1
        [ticket_id] = ticket_ids
        again = await chat(client, conversation, "Hello", message_id)
        assert again.json() == {"outcome": "duplicate", "ticket_id": ticket_id}
        # A later message of the same ticket comes after any duplicate on its partition.
        marker = await chat(client, conversation, "marker")
        assert marker.status_code == 200
        await tap.wait_for(
            "ticket.message_added", lambda e: e.ticket_id == ticket_id and e.payload.body == "marker"
        )
        assert len(events_of(tap, ticket_id, "ticket.created")) == 1
        assert len(events_of(tap, ticket_id, "ticket.message_added")) == 1


async def test_social_threads_by_thread_then_by_sender_and_once_per_delivery(
    channel_settings: Settings, watch: Watch
) -> None:
    handle, thread = f"@ada{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    async with running_intake(channel_settings) as client, watch() as tap:
        first = await social(
            client, sender={"handle": handle, "name": "Ada"}, thread_id=thread, text="My order is late"
        )
        assert first.status_code == 201, first.text
        ticket_id = first.json()["ticket_id"]
        created = await tap.wait_for("ticket.created", lambda e: e.ticket_id == ticket_id)
        assert created.payload.channel == "social"
        assert created.payload.requester.name == "Ada"

        delivery = str(uuid.uuid4())
        by_thread = await social(
            client, delivery_id=delivery, sender={"handle": "@someone-else"}, thread_id=thread, text="+1"
        )
        redelivered = await social(
            client, delivery_id=delivery, sender={"handle": "@someone-else"}, thread_id=thread, text="+1"
        )
        by_sender = await social(
            client, kind="mention", sender={"handle": handle.upper()}, text="Still waiting"
        )
        assert by_thread.json() == {"outcome": "appended", "ticket_id": ticket_id}
        assert redelivered.json() == {"outcome": "duplicate", "ticket_id": ticket_id}
        assert by_sender.json() == {"outcome": "appended", "ticket_id": ticket_id}
        await tap.wait_for(
            "ticket.message_added", lambda e: e.ticket_id == ticket_id and e.payload.body == "Still waiting"
        )
        assert [e.payload.body for e in events_of(tap, ticket_id, "ticket.message_added")] == [
            "+1",
            "Still waiting",
        ]


async def test_a_forged_social_webhook_is_refused_and_nothing_reaches_kafka(
    channel_settings: Settings, watch: Watch
) -> None:
    forged_delivery = str(uuid.uuid4())
    async with running_intake(channel_settings) as client, watch() as tap:
        forged = await social(client, secret=b"guess", delivery_id=forged_delivery, text="forged")
        assert forged.status_code == 401 and "does not match" in forged.json()["detail"]
        genuine = await social(client, text="genuine")
        assert genuine.status_code == 201
        await tap.wait_for("ticket.created", lambda e: e.ticket_id == genuine.json()["ticket_id"])
        assert not [e for e in tap.envelopes if getattr(e.payload, "body", None) == "forged"]
    mongo: AsyncMongoClient = AsyncMongoClient(channel_settings.mongodb_url)
    try:
        inbound = mongo[channel_settings.mongodb_database]["inbound_messages"]
        assert await inbound.find_one({"_id": f"social:facebook:{forged_delivery}"}) is None
    finally:
        await mongo.close()


async def test_calls_thread_by_caller_within_the_window_once_per_call_event(
    channel_settings: Settings, watch: Watch
) -> None:
    caller = f"+33 6 {uuid.uuid4().int % 10**8:08d}"
    app = create_app(channel_settings)
    async with running_app(app, base_url="http://intake", startup_timeout=15) as client, watch() as tap:
        voicemail = await call(
            client,
            From=caller,
            TranscriptionText="Printer on fire",
            RecordingUrl="https://rec.example/1",
            CallDuration="42",
        )
        assert voicemail.status_code == 201, voicemail.text
        ticket_id = voicemail.json()["ticket_id"]
        created = await tap.wait_for("ticket.created", lambda e: e.ticket_id == ticket_id)
        number = caller.replace(" ", "")
        assert (created.payload.channel, created.payload.subject) == ("voice", f"Voicemail from {number}")
        assert created.payload.body == "Printer on fire\n\nDuration: 42 s\nRecording: https://rec.example/1"

        sid = f"CA{uuid.uuid4().hex}"
        ended = await call(client, From=caller, CallSid=sid, CallDuration="300")
        repeated = await call(client, From=caller, CallSid=sid, CallDuration="300")
        assert ended.json() == {"outcome": "appended", "ticket_id": ticket_id}
        assert repeated.json() == {"outcome": "duplicate", "ticket_id": ticket_id}
        same_call_voicemail = await call(
            client, From=caller, CallSid=sid, Event="voicemail", TranscriptionText="p.s."
        )
        assert same_call_voicemail.json() == {"outcome": "appended", "ticket_id": ticket_id}
        await tap.wait_for(
            "ticket.message_added", lambda e: e.ticket_id == ticket_id and e.payload.body.startswith("p.s.")
        )
        assert len(events_of(tap, ticket_id, "ticket.message_added")) == 2

        app.state.voice_thread_window_seconds = 0  # the caller's ticket is now outside the window
        late = await call(client, From=caller)
        assert late.status_code == 201 and late.json()["ticket_id"] != ticket_id


async def test_a_chat_only_intake_serves_chat_and_nothing_of_email_or_voice(
    channel_settings: Settings, watch: Watch
) -> None:
    chat_only = channel_settings.model_copy(update={"intake_channels": ("chat",), "email_smtp_port": 0})
    app = create_app(chat_only)
    async with running_app(app, base_url="http://intake", startup_timeout=15) as client, watch() as tap:
        email = await client.post(
            "/v1/channels/email/inbound",
            content=b"From: a@b.c\r\n\r\nhi",
            headers={"Content-Type": "message/rfc822"},
        )
        voice = await call(client)
        form = await client.post(
            "/v1/tickets", json={"subject": "s", "body": "b", "requester": {"email": "ada@example.com"}}
        )
        assert (email.status_code, voice.status_code, form.status_code) == (404, 404, 404)
        with pytest.raises(RuntimeError, match="not started"):
            _ = app.state.email_channel.smtp.port
        opened = await chat(client, str(uuid.uuid4()), "Hello")
        assert opened.status_code == 201
        ticket_id = opened.json()["ticket_id"]
        await tap.wait_for("ticket.created", lambda e: e.ticket_id == ticket_id)
        assert (await client.get(f"/v1/tickets/{ticket_id}")).json()["channel"] == "chat"
        assert (await client.get("/healthz")).status_code == 200


async def test_channel_senders_become_customers_shared_with_the_other_channels(
    channel_settings: Settings, watch: Watch
) -> None:
    """A chat visitor with an email is the same customer as that email on the web form; a caller and a
    social handle get customers of their own; an anonymous visitor opens a ticket with no customer."""
    email = f"ada-{uuid.uuid4().hex[:6]}@example.com"
    async with running_intake(channel_settings) as client, watch() as tap:
        web = await client.post(
            "/v1/tickets", json={"subject": "Printer", "body": "On fire", "requester": {"email": email}}
        )
        assert web.status_code == 201, web.text
        chatted = await client.post(
            CHAT,
            json={"conversation_id": str(uuid.uuid4()), "message_id": str(uuid.uuid4()), "text": "Hello",
                  "visitor": {"email": email.upper(), "name": "Ada"}},
        )
        anonymous = await client.post(
            CHAT, json={"conversation_id": str(uuid.uuid4()), "message_id": str(uuid.uuid4()), "text": "Hi"}
        )
        called = await call(client, From=f"+44 20 7946 {uuid.uuid4().int % 10000:04d}")
        posted = await social(client, sender={"handle": f"@ada{uuid.uuid4().hex[:6]}"})
        assert [r.status_code for r in (chatted, anonymous, called, posted)] == [201] * 4

        def customer(response: httpx.Response):
            ticket_id = response.json()["ticket_id"]
            return lambda: tap.wait_for("ticket.created", lambda e: e.ticket_id == ticket_id)

        web_created, chat_created, anonymous_created, call_created, social_created = [
            await customer(r)() for r in (web, chatted, anonymous, called, posted)
        ]
        assert web_created.payload.customer_id and chat_created.payload.customer_id == web_created.payload.customer_id
        assert anonymous_created.payload.customer_id is None
        assert call_created.payload.customer_id and social_created.payload.customer_id
        assert len({web_created.payload.customer_id, call_created.payload.customer_id,
                    social_created.payload.customer_id}) == 3

        record = await client.get(f"/v1/customers/{web_created.payload.customer_id}")
        assert record.status_code == 200 and record.json()["ticket_count"] == 2


async def test_first_messages_of_a_new_conversation_arriving_together_make_one_ticket(
    channel_settings: Settings, watch: Watch
) -> None:
    conversation = str(uuid.uuid4())
    async with running_intake(channel_settings) as client, watch() as tap:
        answers = await asyncio.gather(*(chat(client, conversation, f"Message {n}") for n in range(4)))
        assert sorted(r.status_code for r in answers) == [200, 200, 200, 201], [r.text for r in answers]
        ticket_ids = {r.json()["ticket_id"] for r in answers}
        assert len(ticket_ids) == 1
        [ticket_id] = ticket_ids
        await tap.wait_for("ticket.created", lambda e: e.ticket_id == ticket_id)
        for _ in range(100):
            if len(events_of(tap, ticket_id, "ticket.message_added")) == 3:
                break
            await asyncio.sleep(0.1)
    assert len([e for e in tap.envelopes if e.type == "ticket.created" and e.payload.channel == "chat"
                and e.payload.body.startswith("Message ") and e.ticket_id in ticket_ids]) == 1
    assert len(events_of(tap, ticket_id, "ticket.message_added")) == 3


async def test_a_phone_number_attached_to_an_email_customer_counts_later_calls_for_them(
    channel_settings: Settings, watch: Watch
) -> None:
    email = f"ada-{uuid.uuid4().hex[:6]}@example.com"
    phone, other_phone = (f"+44 20 7946 {uuid.uuid4().int % 10000:04d}" for _ in range(2))
    async with running_intake(channel_settings) as client, watch() as tap:
        web = await client.post("/v1/tickets", json={"subject": "Hi", "body": "Help", "requester": {"email": email}})
        ticket = await client.get(f"/v1/tickets/{web.json()['ticket_id']}")
        customer_id = ticket.json()["customer_id"]
        path = f"/v1/customers/{customer_id}/identities"

        added = await client.post(path, json={"kind": "phone", "value": phone})
        assert added.status_code == 201, added.text
        again = await client.post(path, json={"kind": "phone", "value": phone.replace(" ", "")})
        assert again.status_code == 200
        assert len(again.json()["identities"]) == 2

        called = await call(client, From=phone)
        created = await tap.wait_for("ticket.created", lambda e: e.ticket_id == called.json()["ticket_id"])
        assert created.payload.customer_id == customer_id

        stranger = await call(client, From=other_phone)  # a customer of its own
        assert stranger.status_code == 201
        taken = await client.post(path, json={"kind": "phone", "value": other_phone})
        assert taken.status_code == 409 and "not merged" in taken.json()["detail"]
        assert (await client.post(path, json={"kind": "phone", "value": "12"})).status_code == 422
        assert (await client.post(path, json={"kind": "fax", "value": "1"})).status_code == 422
        unknown = await client.post(f"/v1/customers/{uuid.uuid4()}/identities", json={"kind": "phone", "value": phone})
        assert unknown.status_code == 404
        assert (await client.get(f"/v1/customers/{customer_id}")).json()["ticket_count"] == 2
