"""What an accepted email becomes: the decision (new ticket or follow-up) and its events.

Pure. Event ids are derived from the message's key (uuid5), and the decision is stored before
anything is published, so a retry after a crash publishes the very same events. Follow-ups obey
the ticket lifecycle of `ticket_rules` (a customer message reopens a solved or pending ticket);
mail answering a closed ticket opens a new one, since a closed ticket is final.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from helpdesk_events import (
    AuthorKind,
    Channel,
    EventPayload,
    Priority,
    Requester,
    TicketCreated,
    TicketMessageAdded,
    TicketStatus,
    TicketStatusChanged,
)
from helpdesk_intake.channels.email_message import InboundEmail, normalize_message_id
from helpdesk_intake.channels.inbound_messages import InboundDecision
from helpdesk_intake.intake import created_event_id
from helpdesk_intake.ticket_rules import REOPENED_BY_CUSTOMER
from helpdesk_intake.web_form import MAX_SUBJECT_CHARS

_EMAIL_EVENT_IDS = uuid.UUID("3d6f0b8a-5e27-4c1d-8f3b-9a7e2c4d1b06")  # namespace of events caused by a mail
CUSTOMER = "customer"
NO_SUBJECT = "(no subject)"
# Kafka refuses records over 1 MB by default; a mail's text rarely comes close, a pasted log might.
MAX_TEXT_CHARS = 200_000
TRUNCATED = "\n\n[message truncated]"


@dataclass(frozen=True)
class PlannedEvent:
    payload: EventPayload
    event_id: uuid.UUID


def inbound_key(mail: InboundEmail) -> str:
    """The mail's key in `inbound_messages`, `ignored_messages` and the Redis guard."""
    return "email:" + normalize_message_id(mail.message_id)


def decide(
    key: str, *, threaded_ticket: str | None, status: TicketStatus | None, new_ticket_id: str
) -> InboundDecision:
    """A follow-up of `threaded_ticket` (whose read-model status is `status`, None when not yet
    known), or a new ticket under `new_ticket_id`."""
    if threaded_ticket is None or status is TicketStatus.CLOSED:
        return InboundDecision(key=key, ticket_id=new_ticket_id, outcome="created")
    return InboundDecision(
        key=key,
        ticket_id=threaded_ticket,
        outcome="appended",
        reopen_from=status if status in REOPENED_BY_CUSTOMER else None,
    )


def planned_events(mail: InboundEmail, decision: InboundDecision) -> list[PlannedEvent]:
    if decision.outcome == "created":
        created = TicketCreated(
            subject=(mail.subject or NO_SUBJECT)[:MAX_SUBJECT_CHARS],
            body=_bounded(mail.text),
            requester=Requester(email=mail.from_address, name=mail.from_name),
            channel=Channel.EMAIL,
            message_id=mail.message_id,
            priority=Priority.NORMAL,
            attachments=mail.attachments,
        )
        return [PlannedEvent(created, created_event_id(decision.ticket_id))]
    events = [
        PlannedEvent(
            TicketMessageAdded(
                message_id=mail.message_id,
                author_kind=AuthorKind.CUSTOMER,
                author_id=mail.from_address,
                channel=Channel.EMAIL,
                body=_bounded(mail.text),
                public=True,
                attachments=mail.attachments,
            ),
            uuid.uuid5(_EMAIL_EVENT_IDS, f"{decision.key}\nmessage_added"),
        )
    ]
    if decision.reopen_from is not None:
        events.append(
            PlannedEvent(
                TicketStatusChanged(
                    from_status=decision.reopen_from, to_status=TicketStatus.OPEN, changed_by=CUSTOMER
                ),
                uuid.uuid5(_EMAIL_EVENT_IDS, f"{decision.key}\nreopened"),
            )
        )
    return events


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS] + TRUNCATED
