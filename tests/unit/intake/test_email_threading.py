"""Threading a mail into its ticket, and the events a decision becomes (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpdesk_events import TicketCreated, TicketMessageAdded, TicketStatus, TicketStatusChanged
from helpdesk_intake.channels.email_events import (
    MAX_TEXT_CHARS,
    TRUNCATED,
    decide,
    inbound_key,
    planned_events,
)
from helpdesk_intake.channels.email_message import parse_email
from helpdesk_intake.channels.email_threading import (
    answered_message_ids,
    subject_ticket_reference,
    thread_by_message_id,
)
from helpdesk_intake.intake import created_event_id

EMAILS = Path(__file__).parent / "emails"
TICKET = "7d7a1f4e-2b8c-4e3f-9a1d-5c6b7e8f9a0b"


def sample(name: str):
    return parse_email((EMAILS / name).read_bytes())


def test_in_reply_to_first_then_references_newest_first() -> None:
    mail = sample("gmail_reply.eml")
    assert answered_message_ids(mail) == ["ack-1@helpdesk.local", "CAF1234.alt@mail.example.com"]
    assert thread_by_message_id(mail, {"CAF1234.alt@mail.example.com": "t-old"}) == "t-old"
    assert (
        thread_by_message_id(mail, {"ack-1@helpdesk.local": "t-ack", "CAF1234.alt@mail.example.com": "t-old"})
        == "t-ack"
    )
    assert thread_by_message_id(mail, {}) is None


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (f"Re: [#{TICKET}] We received your request: Printer on fire", TICKET),
        (f"AW: [#{TICKET.upper()}] x", TICKET),
        ("Re: [#123] not a ticket id", None),
        (f"Re: #{TICKET} without brackets", None),
        ("", None),
    ],
)
def test_subject_reference(subject: str, expected: str | None) -> None:
    assert subject_ticket_reference(subject) == expected


def test_a_new_conversation_opens_a_ticket() -> None:
    mail = sample("multipart_alternative.eml")
    decision = decide(inbound_key(mail), threaded_ticket=None, status=None, new_ticket_id="t-new")
    assert (decision.outcome, decision.ticket_id, decision.reopen_from) == ("created", "t-new", None)
    [event] = planned_events(mail, decision)
    assert isinstance(event.payload, TicketCreated)
    assert event.payload.channel == "email" and event.payload.message_id == "<CAF1234.alt@mail.example.com>"
    assert (
        event.payload.requester.email == "ada@example.com" and event.payload.requester.name == "Ada Lovelace"
    )
    assert event.event_id == created_event_id("t-new")


@pytest.mark.parametrize(
    ("status", "reopen_from"),
    [
        (TicketStatus.OPEN, None),
        (TicketStatus.NEW, None),
        (TicketStatus.ON_HOLD, None),
        (TicketStatus.SOLVED, TicketStatus.SOLVED),
        (TicketStatus.PENDING, TicketStatus.PENDING),
        (None, None),  # the read model has not seen it yet: a follow-up all the same
    ],
)
def test_a_reply_is_a_follow_up_and_reopens_solved_tickets(status: TicketStatus | None, reopen_from) -> None:
    mail = sample("gmail_reply.eml")
    decision = decide(inbound_key(mail), threaded_ticket=TICKET, status=status, new_ticket_id="unused")
    assert (decision.outcome, decision.ticket_id, decision.reopen_from) == ("appended", TICKET, reopen_from)
    events = planned_events(mail, decision)
    message = events[0].payload
    assert isinstance(message, TicketMessageAdded)
    assert (message.author_kind, message.channel, message.public) == ("customer", "email", True)
    assert message.body == "It is still smoking, and now the fire alarm is going off."
    if reopen_from is None:
        assert len(events) == 1
    else:
        reopened = events[1].payload
        assert isinstance(reopened, TicketStatusChanged)
        assert (reopened.from_status, reopened.to_status, reopened.changed_by) == (
            reopen_from,
            "open",
            "customer",
        )


def test_a_reply_to_a_closed_ticket_opens_a_new_one() -> None:
    decision = decide("email:x@y", threaded_ticket=TICKET, status=TicketStatus.CLOSED, new_ticket_id="t-new")
    assert (decision.outcome, decision.ticket_id) == ("created", "t-new")


def test_event_ids_are_the_same_for_the_same_mail_and_decision() -> None:
    mail = sample("gmail_reply.eml")
    decision = decide(
        inbound_key(mail), threaded_ticket=TICKET, status=TicketStatus.SOLVED, new_ticket_id="x"
    )
    first = [planned.event_id for planned in planned_events(mail, decision)]
    again = [planned.event_id for planned in planned_events(sample("gmail_reply.eml"), decision)]
    assert first == again and len(set(first)) == 2
    other = decide("email:other@x", threaded_ticket=TICKET, status=TicketStatus.SOLVED, new_ticket_id="x")
    assert not set(first) & {planned.event_id for planned in planned_events(mail, other)}


def test_a_huge_text_is_truncated_to_fit_in_one_kafka_record() -> None:
    raw = b"From: a@example.com\r\nMessage-ID: <big@x>\r\n\r\n" + b"log line\r\n" * 50_000
    mail = parse_email(raw)
    decision = decide(inbound_key(mail), threaded_ticket=None, status=None, new_ticket_id="t")
    [event] = planned_events(mail, decision)
    assert len(event.payload.body) == MAX_TEXT_CHARS + len(TRUNCATED)
    assert event.payload.body.endswith(TRUNCATED)
