"""What an accepted channel message becomes, whatever the channel: a new ticket or a follow-up.

Pure. Event ids are derived from the message's inbound key (uuid5), and the decision is stored
before anything is published, so a retry after a crash publishes the very same events. Follow-ups
obey the ticket lifecycle of `ticket_rules` (a customer message reopens a solved or pending
ticket); a message continuing a closed ticket opens a new one, since a closed ticket is final.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from helpdesk_events import (
    Attachment,
    AuthorKind,
    Channel,
    EventPayload,
    TicketMessageAdded,
    TicketStatus,
    TicketStatusChanged,
)
from helpdesk_intake.channels.inbound_messages import InboundDecision
from helpdesk_intake.ticket_rules import REOPENED_BY_CUSTOMER

# Namespace of events caused by a channel message (first used by email; keys carry the channel).
_INBOUND_EVENT_IDS = uuid.UUID("3d6f0b8a-5e27-4c1d-8f3b-9a7e2c4d1b06")
CUSTOMER = "customer"
# Kafka refuses records over 1 MB by default; a message's text rarely comes close, a pasted log might.
MAX_TEXT_CHARS = 200_000
TRUNCATED = "\n\n[message truncated]"


@dataclass(frozen=True)
class PlannedEvent:
    payload: EventPayload
    event_id: uuid.UUID


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


def follow_up_events(
    decision: InboundDecision,
    *,
    message_id: str,
    author_id: str,
    channel: Channel,
    text: str,
    attachments: tuple[Attachment, ...] = (),
) -> list[PlannedEvent]:
    """The customer's message on the threaded ticket, then its reopening when the decision says so."""
    events = [
        PlannedEvent(
            TicketMessageAdded(
                message_id=message_id,
                author_kind=AuthorKind.CUSTOMER,
                author_id=author_id,
                channel=channel,
                body=bounded(text),
                public=True,
                attachments=attachments,
            ),
            uuid.uuid5(_INBOUND_EVENT_IDS, f"{decision.key}\nmessage_added"),
        )
    ]
    if decision.reopen_from is not None:
        events.append(
            PlannedEvent(
                TicketStatusChanged(
                    from_status=decision.reopen_from, to_status=TicketStatus.OPEN, changed_by=CUSTOMER
                ),
                uuid.uuid5(_INBOUND_EVENT_IDS, f"{decision.key}\nreopened"),
            )
        )
    return events


def bounded(text: str) -> str:
    return text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS] + TRUNCATED
