"""What an accepted email becomes: a new ticket or a follow-up (the shared `inbound_events`).

Pure. The decision and follow-up events are every channel's (`inbound_events`); the mail adds
its subject, sender, Message-ID and attachments.
"""

from __future__ import annotations

from helpdesk_events import Channel, Priority, Requester, TicketCreated
from helpdesk_intake.channels.email_message import InboundEmail, normalize_message_id
from helpdesk_intake.channels.inbound_events import (
    MAX_TEXT_CHARS,
    TRUNCATED,
    PlannedEvent,
    bounded,
    decide,
    follow_up_events,
)
from helpdesk_intake.channels.inbound_messages import InboundDecision
from helpdesk_intake.customers import KnownCustomer
from helpdesk_intake.intake import created_event_id
from helpdesk_intake.language import content_language
from helpdesk_intake.web_form import MAX_SUBJECT_CHARS

__all__ = ["MAX_TEXT_CHARS", "TRUNCATED", "PlannedEvent", "decide", "inbound_key", "planned_events"]

NO_SUBJECT = "(no subject)"


def inbound_key(mail: InboundEmail) -> str:
    """The mail's key in `inbound_messages`, `ignored_messages` and the Redis guard."""
    return "email:" + normalize_message_id(mail.message_id)


def header(mail: InboundEmail, name: str) -> str | None:
    """The first header `name` (case-insensitive) of the mail, or None."""
    wanted = name.lower()
    return next((value for key, value in mail.headers if key.lower() == wanted), None)


def planned_events(
    mail: InboundEmail, decision: InboundDecision, customer: KnownCustomer | None = None
) -> list[PlannedEvent]:
    """`customer`: the sender's customer record (`customers.customer_of`): its id and tier go on a
    new ticket, with the language of the mail's Content-Language header (a malformed one is ignored)."""
    if decision.outcome == "created":
        created = TicketCreated(
            subject=(mail.subject or NO_SUBJECT)[:MAX_SUBJECT_CHARS],
            body=bounded(mail.text),
            requester=Requester(email=mail.from_address, name=mail.from_name),
            channel=Channel.EMAIL,
            message_id=mail.message_id,
            priority=Priority.NORMAL,
            attachments=mail.attachments,
            customer_id=customer.customer_id if customer is not None else None,
            customer_tier=customer.tier if customer is not None else None,
            language=content_language(header(mail, "Content-Language")),
        )
        return [PlannedEvent(created, created_event_id(decision.ticket_id))]
    return follow_up_events(
        decision,
        message_id=mail.message_id,
        author_id=mail.from_address,
        channel=Channel.EMAIL,
        text=mail.text,
        attachments=mail.attachments,
    )
