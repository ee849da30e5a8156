"""Chat, social and voice without servers: signatures, payloads, the voice window, channel choice."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import ValidationError

from helpdesk_events import Channel, TicketCreated, TicketMessageAdded, TicketStatus, TicketStatusChanged
from helpdesk_intake.__main__ import channels_argument
from helpdesk_intake.bootstrap import create_app
from helpdesk_intake.channels.channel_message import SenderIdentity, planned_events, subject_from
from helpdesk_intake.channels.chat_message import ChatMessageIn, chat_message
from helpdesk_intake.channels.inbound_events import decide
from helpdesk_intake.channels.selection import ALL_CHANNELS, UnknownChannel, parse_channels
from helpdesk_intake.channels.social_message import SocialEventIn, social_message
from helpdesk_intake.channels.voice_call import (
    BadCall,
    call_message,
    continues_caller_ticket,
    normalize_phone,
    parse_call,
)
from helpdesk_intake.channels.webhook_signature import BadSignature, body_signature, verify_body_signature
from helpdesk_intake.settings import Settings
from helpdesk_intake.ticket_view import TicketView

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def hub_signature(secret: bytes, body: bytes) -> str:
    """Computed here independently of the service's code, as Meta documents it."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


# --- signatures ---------------------------------------------------------------------------------


def test_the_signature_is_the_hex_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"delivery_id":"d1"}'
    assert body_signature("It's a Secret to Everybody", body) == hub_signature(
        b"It's a Secret to Everybody", body
    )
    # A fixed vector: HMAC-SHA256(key="key", "The quick brown fox jumps over the lazy dog").
    assert body_signature("key", b"The quick brown fox jumps over the lazy dog") == (
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )


def test_a_correct_signature_passes_upper_case_hex_too() -> None:
    body = b"CallSid=CA1&From=%2B33612345678"
    verify_body_signature("s3cret", "X-Helpdesk-Signature", hub_signature(b"s3cret", body), body)
    verify_body_signature(
        "s3cret", "X-Helpdesk-Signature", "sha256=" + hub_signature(b"s3cret", body)[7:].upper(), body
    )


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (None, "X-Hub-Signature-256 is missing"),
        ("", "X-Hub-Signature-256 is missing"),
        ("sha1=abc", "must be sha256="),
        (hub_signature(b"other secret", b"{}"), "does not match"),
        (hub_signature(b"s3cret", b"{} "), "does not match"),
        ("sha256=é", "does not match"),
    ],
)
def test_a_bad_signature_is_refused_with_its_reason(signature: str | None, reason: str) -> None:
    with pytest.raises(BadSignature, match=reason):
        verify_body_signature("s3cret", "X-Hub-Signature-256", signature, b"{}")


# --- chat ---------------------------------------------------------------------------------------


def test_a_chat_message_is_keyed_by_its_id_and_threaded_by_its_conversation() -> None:
    chat = ChatMessageIn.model_validate(
        {
            "conversation_id": "c1",
            "message_id": "m1",
            "text": "Hi\nmy printer",
            "visitor": {"email": "Ada@Example.com", "name": "Ada"},
        }
    )
    message = chat_message(chat)
    assert (message.channel, message.key, message.subject) == (Channel.CHAT, "chat:m1", "Chat: Hi")
    assert message.sender == SenderIdentity("email", "ada@example.com", "Ada")
    assert [thread.key for thread in message.threads] == ["chat:c1"]


def test_an_anonymous_visitor_is_known_by_visitor_id_else_conversation() -> None:
    by_id = chat_message(
        ChatMessageIn.model_validate(
            {"conversation_id": "c1", "message_id": "m", "text": "x", "visitor": {"id": "v 9"}}
        )
    )
    anonymous = chat_message(
        ChatMessageIn.model_validate({"conversation_id": "c1", "message_id": "m", "text": "x"})
    )
    assert by_id.sender == SenderIdentity("chat_visitor", "v 9")
    assert anonymous.sender.value == "c1"
    assert by_id.sender.contact_address() == "v-9@chat-visitor.invalid"


@pytest.mark.parametrize(
    "body",
    [
        {"message_id": "m", "text": "x"},
        {"conversation_id": "c", "message_id": "m", "text": "   "},
        {"conversation_id": "", "message_id": "m", "text": "x"},
        {"conversation_id": "c", "message_id": "m", "text": "x", "visitor": {"email": "not an email"}},
        {"conversation_id": "c", "message_id": "m", "text": "x", "sent_at": "2026-01-01T00:00:00"},
    ],
)
def test_broken_chat_messages_are_refused(body: dict) -> None:
    with pytest.raises(ValidationError):
        ChatMessageIn.model_validate(body)


def test_the_first_message_opens_a_chat_ticket_and_a_later_one_on_a_solved_ticket_reopens_it() -> None:
    message = chat_message(
        ChatMessageIn.model_validate(
            {"conversation_id": "c", "message_id": "m", "text": "x", "visitor": {"id": "v"}}
        )
    )
    [created] = planned_events(
        message, decide(message.key, threaded_ticket=None, status=None, new_ticket_id="T")
    )
    assert isinstance(created.payload, TicketCreated)
    assert (created.payload.channel, created.payload.message_id) == (Channel.CHAT, "chat:m")
    assert created.payload.requester.email == "v@chat-visitor.invalid"
    added, reopened = planned_events(
        message, decide(message.key, threaded_ticket="T", status=TicketStatus.SOLVED, new_ticket_id="U")
    )
    assert isinstance(added.payload, TicketMessageAdded) and added.payload.channel == Channel.CHAT
    assert (
        isinstance(reopened.payload, TicketStatusChanged) and reopened.payload.to_status == TicketStatus.OPEN
    )


def test_a_subject_is_made_from_the_first_line() -> None:
    assert subject_from("\n  hello there \nmore", prefix="Chat") == "Chat: hello there"
    assert subject_from("x" * 100, prefix="Chat").endswith("…")


# --- social -------------------------------------------------------------------------------------


def social(**overrides: object) -> SocialEventIn:
    body = {
        "delivery_id": "d1",
        "kind": "direct_message",
        "sender": {"handle": "@Ada", "name": "Ada"},
        "text": "Help",
    }
    return SocialEventIn.model_validate({**body, **overrides})


def test_a_social_message_threads_by_thread_then_by_sender() -> None:
    message = social_message("facebook", social(thread_id="t9"))
    assert message.key == "social:facebook:d1"
    assert message.sender == SenderIdentity("social", "facebook:ada", "Ada")
    assert [thread.key for thread in message.threads] == [
        "social-thread:facebook:t9",
        "social-sender:facebook:ada",
    ]
    assert message.subject == "Direct message from @ada on facebook: Help"
    assert [t.key for t in social_message("x", social(kind="mention")).threads] == ["social-sender:x:ada"]


def test_the_sender_fallback_takes_only_a_ticket_still_being_worked_on() -> None:
    by_sender = social_message("x", social()).threads[-1]
    assert by_sender.accepts(ticket(TicketStatus.PENDING, NOW))
    assert not by_sender.accepts(ticket(TicketStatus.SOLVED, NOW))
    assert not by_sender.accepts(ticket(TicketStatus.CLOSED, NOW))


@pytest.mark.parametrize("overrides", [{"kind": "like"}, {"sender": {}}, {"delivery_id": None}, {"text": ""}])
def test_broken_social_events_are_refused(overrides: dict) -> None:
    with pytest.raises(ValidationError):
        social(**overrides)


# --- voice --------------------------------------------------------------------------------------


def ticket(status: TicketStatus, updated_at: datetime) -> TicketView:
    return TicketView.model_validate(
        {
            "ticket_id": "T",
            "subject": "s",
            "status": status,
            "priority": "normal",
            "channel": "voice",
            "requester": {"email": "x@phone.invalid"},
            "assignee_id": None,
            "team": None,
            "category": None,
            "queue": None,
            "tags": [],
            "messages": [],
            "created_at": updated_at,
            "updated_at": updated_at,
        }
    )


@pytest.mark.parametrize(
    ("status", "updated", "joins"),
    [
        (TicketStatus.OPEN, NOW - timedelta(hours=23), True),
        (TicketStatus.SOLVED, NOW - DAY, True),  # the window's edge is inside
        (TicketStatus.OPEN, NOW - DAY - timedelta(seconds=1), False),
        (TicketStatus.CLOSED, NOW - timedelta(minutes=5), False),
    ],
)
def test_a_call_joins_the_callers_ticket_only_within_the_window_and_not_closed(
    status: TicketStatus, updated: datetime, joins: bool
) -> None:
    assert continues_caller_ticket(ticket(status, updated), now=NOW, window=DAY) is joins


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("+33 6 12-34.56(78)", "+33612345678"),
        ("0033612345678", "+33612345678"),
        ("anonymous", None),
        ("+1", None),
    ],
)
def test_phone_numbers_are_normalized(raw: str, normalized: str | None) -> None:
    assert normalize_phone(raw) == normalized


def test_a_voicemail_becomes_a_message_with_transcript_duration_and_recording() -> None:
    call = parse_call(
        {
            "CallSid": "CA1",
            "From": "+33 6 12 34 56 78",
            "CallStatus": "completed",
            "CallDuration": "65",
            "TranscriptionText": "My printer is on fire",
            "RecordingUrl": "https://rec.example/CA1",
        }
    )
    assert call.event == "voicemail"
    message = call_message(call, now=NOW, window=DAY)
    assert (message.key, message.subject) == ("voice:CA1:voicemail", "Voicemail from +33612345678")
    assert message.text == "My printer is on fire\n\nDuration: 1 min 5 s\nRecording: https://rec.example/CA1"
    assert [t.key for t in message.threads] == ["voice-caller:+33612345678"]
    assert message.sender.contact_address() == "+33612345678@phone.invalid"


def test_call_events_come_from_event_or_status() -> None:
    assert parse_call({"CallSid": "CA", "From": "+3361", "CallStatus": "completed"}).event == "call_ended"
    assert parse_call({"CallSid": "CA", "From": "+3361", "CallStatus": "ringing"}).event is None
    assert parse_call({"CallSid": "CA", "From": "+3361", "Event": "voicemail"}).event == "voicemail"
    anonymous = call_message(
        parse_call({"CallSid": "CA", "From": "anonymous", "Event": "call_ended"}), now=NOW, window=DAY
    )
    assert anonymous.threads == () and anonymous.subject == "Call from anonymous"


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"From": "+33612345678", "CallStatus": "completed"}, "CallSid is missing"),
        ({"CallSid": "CA", "CallStatus": "completed"}, "From is missing"),
        ({"CallSid": "CA", "From": "+33612345678"}, "CallStatus or Event"),
        ({"CallSid": "CA", "From": "+33612345678", "Event": "hangup"}, "Event must be one of"),
        (
            {"CallSid": "CA", "From": "+33612345678", "Event": "call_ended", "CallDuration": "a"},
            "whole number",
        ),
    ],
)
def test_unusable_call_reports_are_refused_with_a_reason(form: dict[str, str], reason: str) -> None:
    with pytest.raises(BadCall, match=reason):
        parse_call(form)


# --- choosing channels --------------------------------------------------------------------------


def test_channels_are_chosen_by_comma_list_and_unknown_names_refused() -> None:
    assert parse_channels(" Chat,social ,chat") == ("chat", "social")
    assert Settings().intake_channels == ALL_CHANNELS
    assert Settings(intake_channels="email").intake_channels == ("email",)
    with pytest.raises(UnknownChannel, match="unknown intake channel 'fax'"):
        parse_channels("chat,fax")
    with pytest.raises(UnknownChannel, match="no intake channel"):
        parse_channels(" , ")
    with pytest.raises(ValidationError, match="unknown intake channel"):
        Settings(intake_channels="sms")


def test_the_channels_option_overrides_and_refuses_unknown_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert channels_argument([]) is None
    assert channels_argument(["--channels", "chat,social"]) == ("chat", "social")
    with pytest.raises(SystemExit):
        channels_argument(["--channels", "chat,fax"])
    assert "unknown intake channel 'fax'" in capsys.readouterr().err


def test_only_the_chosen_channels_routes_are_mounted() -> None:
    paths = set(create_app(Settings(intake_channels=["chat"])).openapi()["paths"])
    assert (
        "/v1/channels/chat/messages" in paths and "/v1/tickets/{ticket_id}" in paths and "/healthz" in paths
    )
    assert not paths & {
        "/v1/channels/email/inbound",
        "/v1/channels/voice/webhook",
        "/v1/tickets",
        "/v1/channels/social/{network}/webhook",
    }


def test_webhook_secrets_are_secret_and_never_blank() -> None:
    settings = Settings(social_webhook_secrets={"Facebook": "s"}, voice_webhook_secret="v")
    assert settings.social_webhook_secrets["facebook"].get_secret_value() == "s"
    assert "s" not in repr(settings.social_webhook_secrets) and settings.voice_thread_window_seconds == 86_400
    with pytest.raises(ValidationError, match="blank"):
        Settings(social_webhook_secrets={"x": " "})
    with pytest.raises(ValidationError, match="VOICE_WEBHOOK_SECRET is blank"):
        Settings(voice_webhook_secret="")


# --- the endpoints' answers before anything needs Kafka or MongoDB ------------------------------


def client_of(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings)), base_url="http://intake"
    )


async def test_the_social_webhook_refuses_unknown_networks_bad_signatures_and_non_json() -> None:
    body = b'{"delivery_id": "d"}'
    good = {"X-Hub-Signature-256": hub_signature(b"s3cret", body), "Content-Type": "application/json"}
    async with client_of(Settings(social_webhook_secrets={"facebook": "s3cret"})) as client:
        unknown = await client.post("/v1/channels/social/myspace/webhook", content=body, headers=good)
        unsigned = await client.post(
            "/v1/channels/social/facebook/webhook", content=body, headers={"Content-Type": "application/json"}
        )
        forged = await client.post(
            "/v1/channels/social/facebook/webhook",
            content=body,
            headers={**good, "X-Hub-Signature-256": hub_signature(b"guess", body)},
        )
        as_text = await client.post(
            "/v1/channels/social/facebook/webhook",
            content=body,
            headers={**good, "Content-Type": "text/plain"},
        )
        invalid = await client.post("/v1/channels/social/facebook/webhook", content=body, headers=good)
    assert unknown.status_code == 404 and "myspace" in unknown.json()["detail"]
    assert (unsigned.status_code, unsigned.json()["detail"]) == (
        401,
        "bad signature: X-Hub-Signature-256 is missing",
    )
    assert forged.status_code == 401 and "does not match" in forged.json()["detail"]
    assert as_text.status_code == 415
    assert invalid.status_code == 422 and {e["loc"][-1] for e in invalid.json()["detail"]} >= {
        "kind",
        "sender",
        "text",
    }


async def test_the_voice_webhook_is_off_without_a_secret_and_checks_signature_and_form() -> None:
    body = b"CallSid=CA1&From=%2B33612345678"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    async with client_of(Settings()) as client:
        off = await client.post("/v1/channels/voice/webhook", content=body, headers=form)
    async with client_of(Settings(voice_webhook_secret="v0ice")) as client:
        signed = {**form, "X-Helpdesk-Signature": hub_signature(b"v0ice", body)}
        forged = await client.post(
            "/v1/channels/voice/webhook",
            content=body,
            headers={**signed, "X-Helpdesk-Signature": "sha256=00"},
        )
        as_json = await client.post(
            "/v1/channels/voice/webhook", content=body, headers={**signed, "Content-Type": "application/json"}
        )
        no_status = await client.post("/v1/channels/voice/webhook", content=body, headers=signed)
        latin1 = "CallSid=CA1&From=\xe9".encode("latin-1")
        not_utf8 = await client.post(
            "/v1/channels/voice/webhook",
            content=latin1,
            headers={**form, "X-Helpdesk-Signature": hub_signature(b"v0ice", latin1)},
        )
        ringing_body = body + b"&CallStatus=ringing"
        ringing = await client.post(
            "/v1/channels/voice/webhook",
            content=ringing_body,
            headers={**form, "X-Helpdesk-Signature": hub_signature(b"v0ice", ringing_body)},
        )
    assert off.status_code == 503 and "not configured" in off.json()["detail"] and off.headers["Retry-After"]
    assert forged.status_code == 401
    assert as_json.status_code == 415
    assert (no_status.status_code, no_status.json()["detail"]) == (422, "CallStatus or Event is required")
    assert not_utf8.status_code == 400
    assert (ringing.status_code, ringing.json()["outcome"]) == (202, "ignored")


async def test_the_chat_endpoint_wants_json() -> None:
    async with client_of(Settings()) as client:
        response = await client.post(
            "/v1/channels/chat/messages", content=b"hi", headers={"Content-Type": "text/plain"}
        )
    assert response.status_code == 415
