"""The notifier's own view of a ticket, built from the events it consumes. Pure data.

Services never read each other's databases: what the notifier's messages mention (subject,
requester, priority, assignee, SLA due times, the customer's language, the team) and where it
posted the assignment message (to update it later) is kept here, in collection `tickets`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class SlackPost:
    """A Slack message the notifier posted and may update: conversation id, ts, whose it is, the
    delivery that posted it, and the digest of what it shows now (`ChatMessage.digest`; "" for a
    message posted before digests were kept, which is then always updated)."""

    conversation: str
    ts: str
    agent_id: str
    delivery_key: str = ""
    shown: str = ""


@dataclass(frozen=True)
class TicketView:
    ticket_id: str
    subject: str = "(subject unknown)"
    requester_email: str | None = None
    requester_name: str | None = None
    channel: str = "unknown"  # the channel the ticket came in by (email, web, chat, ...)
    priority: str = "normal"
    status: str = "new"
    language: str | None = None  # BCP 47, lower case ("fr", "pt-br"), when the channel told it
    team: str | None = None
    agent_id: str | None = None  # the current assignee
    agent_name: str | None = None
    slack_user_id: str | None = None
    accepted: bool = False  # the current assignee accepted it
    # First-reply, next-reply and resolution due times (sla.* events); None while a clock is paused.
    sla_due: dict[str, datetime | None] = field(default_factory=dict)
    # Message-IDs of the customer's emails in this ticket, oldest first: replies answer the last one.
    customer_message_ids: tuple[str, ...] = ()
    # Assignment messages posted to agents, oldest first (one per assignment round).
    slack_posts: tuple[SlackPost, ...] = ()
    known: bool = False  # ticket.created was seen (else only later events were)

    @property
    def requester(self) -> str:
        if self.requester_name and self.requester_email:
            return f"{self.requester_name} <{self.requester_email}>"
        return self.requester_email or self.requester_name or "unknown"

    @property
    def next_sla_due(self) -> datetime | None:
        """The earliest running clock's due time."""
        due = [moment for moment in self.sla_due.values() if moment is not None]
        return min(due) if due else None
