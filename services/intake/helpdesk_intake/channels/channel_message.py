"""A customer message from chat, social or voice, normalized, and the events it becomes.

Pure. Every message names its sender's identity (kind + value + display name): the seam where
customer records attach (one customer per person across email, phone and social handles).
`TicketCreated.requester` needs an email address; a sender known only by a phone number, a social
handle or a chat visitor id gets one under the reserved `.invalid` top-level domain (RFC 2606),
which no mail ever reaches, so nothing is sent to an address nobody gave.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from helpdesk_events import Channel, Priority, Requester, TicketCreated
from helpdesk_intake.channels.inbound_events import PlannedEvent, bounded, follow_up_events
from helpdesk_intake.channels.inbound_messages import InboundDecision
from helpdesk_intake.customers import KnownCustomer
from helpdesk_intake.intake import created_event_id
from helpdesk_intake.ticket_view import TicketView
from helpdesk_intake.web_form import MAX_SUBJECT_CHARS

IdentityKind = Literal["email", "phone", "social", "chat_visitor"]

_UNSAFE_LOCAL_PART = re.compile(r"[^A-Za-z0-9.+_-]+")


@dataclass(frozen=True)
class SenderIdentity:
    """Who wrote: an email address, an E.164 phone number, "<network>:<handle>" or a chat visitor id."""

    kind: IdentityKind
    value: str
    display_name: str | None = None

    def contact_address(self) -> str:
        """The requester's email: the real one, else an undeliverable stand-in naming the identity."""
        if self.kind == "email":
            return self.value
        local = _UNSAFE_LOCAL_PART.sub("-", self.value).strip("-.")[:64] or "unknown"
        return f"{local}@{self.kind.replace('_', '-')}.invalid"


def _any_ticket(_: TicketView) -> bool:
    return True


@dataclass(frozen=True)
class ThreadRef:
    """A thread the message may continue (`channel_threads` key), and which of its tickets qualify;
    the first that holds a qualifying ticket wins. The message's ticket is remembered under all."""

    key: str
    accepts: Callable[[TicketView], bool] = _any_ticket


@dataclass(frozen=True)
class ChannelMessage:
    channel: Channel
    external_id: str  # the channel's own id of this message: chat message id, delivery id, CallSid+event
    sender: SenderIdentity
    subject: str
    text: str
    threads: tuple[ThreadRef, ...] = field(default=())
    language: str | None = None  # a lower-case BCP 47 tag, when the channel says (`language.LanguageTag`)

    @property
    def key(self) -> str:
        """The message's key in `inbound_messages` and the Redis guard."""
        return f"{self.channel.value}:{self.external_id}"


def planned_events(
    message: ChannelMessage, decision: InboundDecision, customer: KnownCustomer | None = None
) -> list[PlannedEvent]:
    """`customer`: the sender's customer record (`customer_of`): its id and tier go on a new ticket."""
    address = message.sender.contact_address()
    if decision.outcome == "created":
        created = TicketCreated(
            subject=message.subject[:MAX_SUBJECT_CHARS],
            body=bounded(message.text),
            requester=Requester(email=address, name=message.sender.display_name),
            channel=message.channel,
            message_id=message.key,
            priority=Priority.NORMAL,
            customer_id=customer.customer_id if customer is not None else None,
            customer_tier=customer.tier if customer is not None else None,
            language=message.language,
        )
        return [PlannedEvent(created, created_event_id(decision.ticket_id))]
    return follow_up_events(
        decision, message_id=message.key, author_id=address, channel=message.channel, text=message.text
    )


def subject_from(text: str, *, prefix: str, limit: int = 80) -> str:
    """A subject for channels without one: the prefix and the start of the first line."""
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if len(first_line) > limit:
        first_line = first_line[: limit - 1].rstrip() + "…"
    return f"{prefix}: {first_line}" if first_line else prefix
