"""What the notifier says: the acknowledgement email and the agent's Slack message."""

from __future__ import annotations

from datetime import UTC, datetime

from helpdesk_events import Requester, TicketAssigned, TicketCreated
from helpdesk_notifier.messages import (
    TicketSummary,
    build_email,
    compose_acknowledgement,
    compose_assignment,
    slack_escape,
)

MESSAGE_ID = "<171234.1.42@helpdesk.test>"
NOW = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)


def created(**changes: object) -> TicketCreated:
    fields: dict[str, object] = {
        "subject": "Printer on fire",
        "body": "It is on fire.",
        "requester": Requester(email="ada@example.com", name="Ada Lovelace"),
        "channel": "web",
        "message_id": "m-1",
        "priority": "high",
    }
    return TicketCreated(**{**fields, **changes})


def assigned(**changes: object) -> TicketAssigned:
    fields: dict[str, object] = {
        "agent_id": "a1", "agent_name": "Grace", "slack_user_id": "U123", "team": "hardware"
    }
    return TicketAssigned(**{**fields, **changes})


def test_acknowledgement_subject_carries_the_ticket_reference_and_the_customer_subject() -> None:
    email = compose_acknowledgement("T-42", created(), message_id=MESSAGE_ID)

    assert email.subject == "[#T-42] We received your request: Printer on fire"
    assert email.message_id == MESSAGE_ID
    assert email.to == "Ada Lovelace <ada@example.com>"
    assert "Hello Ada Lovelace," in email.text
    assert "ticket #T-42" in email.text
    assert "[#T-42]" in email.text  # tells the requester how to reply into the ticket


def test_a_subject_with_line_breaks_becomes_one_header_line() -> None:
    injected = created(subject="Broken\r\nBcc: everyone@example.com")
    email = compose_acknowledgement("T-1", injected, message_id=MESSAGE_ID)

    assert email.subject == "[#T-1] We received your request: Broken Bcc: everyone@example.com"
    message = build_email(email, sender="Support <support@helpdesk.test>", ticket_id="T-1", date=NOW)
    assert message["Bcc"] is None


def test_the_html_part_escapes_what_the_customer_wrote() -> None:
    email = compose_acknowledgement(
        "T-1",
        created(
            subject="<script>alert(1)</script>",
            requester=Requester(email="a@example.com", name="A & B"),
        ),
        message_id=MESSAGE_ID,
    )

    assert "<script>" not in email.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html
    assert "Hello A &amp; B," in email.html


def test_email_has_text_and_html_parts_and_the_platform_headers() -> None:
    content = compose_acknowledgement("T-42", created(), message_id=MESSAGE_ID)
    message = build_email(content, sender="Support <support@helpdesk.test>", ticket_id="T-42", date=NOW)

    assert message["Message-ID"] == MESSAGE_ID
    assert message["Subject"] == "[#T-42] We received your request: Printer on fire"
    assert message["From"] == "Support <support@helpdesk.test>"
    assert message["To"] == "Ada Lovelace <ada@example.com>"
    assert message["Date"] == "Mon, 23 Nov 2026 17:00:00 +0000"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["X-Helpdesk-Ticket-Id"] == "T-42"
    assert message["In-Reply-To"] is None  # a web ticket has no mail to answer
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert message.get_body(("plain",)).get_content() == content.text
    assert message.get_body(("html",)).get_content() == content.html


def test_a_ticket_opened_by_email_gets_an_answer_threaded_to_the_customer_mail() -> None:
    content = compose_acknowledgement(
        "T-7", created(channel="email", message_id="<abc@mail.example.com>"), message_id=MESSAGE_ID
    )
    message = build_email(content, sender="support@helpdesk.test", ticket_id="T-7", date=NOW)

    assert message["In-Reply-To"] == "<abc@mail.example.com>"
    assert message["References"] == "<abc@mail.example.com>"


def test_a_requester_without_a_name_is_greeted_and_addressed_plainly() -> None:
    nameless = created(requester=Requester(email="bob@example.com"))
    email = compose_acknowledgement("T-1", nameless, message_id=MESSAGE_ID)

    assert email.to == "bob@example.com"
    assert email.text.startswith("Hello there,")


def test_assignment_message_goes_to_the_agent_and_summarizes_the_ticket() -> None:
    ticket = TicketSummary.from_created(created())
    message = compose_assignment("T-42", assigned(), ticket, channel="U123")

    assert message.channel == "U123"
    assert message.text == (
        "Ticket #T-42 is assigned to you: Printer on fire "
        "(priority high, from Ada Lovelace &lt;ada@example.com&gt; via web)"
    )
    header, subject, fields, context = message.blocks
    assert header["type"] == "header"
    assert header["text"] == {"type": "plain_text", "text": "Ticket #T-42 assigned to you"}
    assert subject["text"] == {"type": "mrkdwn", "text": "*Printer on fire*"}
    assert [field["text"] for field in fields["fields"]] == [
        "*Requester*\nAda Lovelace &lt;ada@example.com&gt;",
        "*Channel*\nweb",
        "*Priority*\nhigh",
        "*Ticket*\n#T-42",
    ]
    assert context["elements"][0]["text"] == "Assigned to Grace · team hardware"
    assert message.metadata == {
        "event_type": "helpdesk_ticket_assigned",
        "event_payload": {"ticket_id": "T-42", "agent_id": "a1"},
    }


def test_assignment_of_a_ticket_never_seen_says_what_is_unknown() -> None:
    message = compose_assignment("T-9", assigned(team=None), None, channel="U123")

    assert "(subject unknown)" in message.text
    fields = message.blocks[2]["fields"]
    assert fields[0]["text"] == "*Requester*\nunknown"
    assert fields[3]["text"] == "*Ticket*\n#T-9"
    assert message.blocks[3]["elements"][0]["text"] == "Assigned to Grace"


def test_slack_text_escapes_its_control_characters_and_long_values_are_cut_to_slack_limits() -> None:
    assert slack_escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"
    ticket = TicketSummary.from_created(created(subject="x" * 5000))
    message = compose_assignment("T-1", assigned(), ticket, channel="U1")
    assert len(message.blocks[1]["text"]["text"]) == 2000
    assert message.blocks[1]["text"]["text"].endswith("…")


def test_chat_message_round_trips_through_the_delivery_record() -> None:
    from helpdesk_notifier.ports import ChatMessage

    message = compose_assignment("T-1", assigned(), None, channel="U1")
    assert ChatMessage.from_content(message.as_content()) == message
