"""A social-network direct message or mention, in our normalized webhook body, and the message
it becomes.

Pure. A provider adapter maps each network's own webhook to `SocialEventIn`. Threading: the
network's thread (a DM conversation, a post's replies) when there is one, else the sender's
ticket that is still being worked on (not solved or closed: a mention weeks later is news).
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from helpdesk_events import Channel, TicketStatus
from helpdesk_intake.channels.channel_message import ChannelMessage, SenderIdentity, ThreadRef, subject_from
from helpdesk_intake.language import LanguageTag
from helpdesk_intake.message_body import MessageBody
from helpdesk_intake.ticket_view import TicketView

_FINISHED = frozenset({TicketStatus.SOLVED, TicketStatus.CLOSED})
_KIND_LABEL = {"direct_message": "Direct message", "mention": "Mention"}


class SocialSender(BaseModel):
    model_config = ConfigDict(extra="ignore")

    handle: str = Field(min_length=1, max_length=200, examples=["@ada"])
    name: str | None = Field(default=None, max_length=200, examples=["Ada Lovelace"])


class SocialEventIn(BaseModel):
    """One direct message or mention, normalized from the network's own webhook by its adapter."""

    model_config = ConfigDict(extra="ignore")

    delivery_id: str = Field(
        min_length=1, max_length=200, description="Unique per event: a redelivery is a duplicate."
    )
    kind: Literal["direct_message", "mention"]
    thread_id: str | None = Field(default=None, min_length=1, max_length=200)
    sender: SocialSender
    text: MessageBody
    sent_at: AwareDatetime | None = None
    language: LanguageTag | None = Field(
        default=None, description="The message's language when the network tells (BCP 47, e.g. fr); for triage."
    )


def normalized_handle(handle: str) -> str:
    """Handles are case-insensitive on the networks we know, and "@ada" is "ada"."""
    return handle.strip().lstrip("@").casefold()


def _still_worked_on(ticket: TicketView) -> bool:
    return ticket.status not in _FINISHED


def social_message(network: str, event: SocialEventIn) -> ChannelMessage:
    handle = normalized_handle(event.sender.handle) or event.sender.handle
    threads = [ThreadRef(f"social-thread:{network}:{event.thread_id}")] if event.thread_id else []
    threads.append(ThreadRef(f"social-sender:{network}:{handle}", accepts=_still_worked_on))
    return ChannelMessage(
        channel=Channel.SOCIAL,
        external_id=f"{network}:{event.delivery_id}",
        sender=SenderIdentity("social", f"{network}:{handle}", event.sender.name),
        subject=subject_from(event.text, prefix=f"{_KIND_LABEL[event.kind]} from @{handle} on {network}"),
        text=event.text,
        threads=tuple(threads),
        language=event.language,
    )
