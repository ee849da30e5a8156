"""What the notifier says: the requester's acknowledgement email and the agent's Slack message. Pure.

Text is built with plain string formatting; every value from a ticket is escaped for the medium
it lands in (HTML for the email's HTML part, Slack's `&`, `<`, `>` for mrkdwn).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from enum import StrEnum
from typing import Any

from helpdesk_events import Channel, TicketAssigned, TicketCreated
from helpdesk_notifier.ports import ChatMessage

# Slack's limits: header text 150 characters, a section's text 3,000, a field's 2,000.
_HEADER_MAX = 150
_TEXT_MAX = 2_000
UNKNOWN = "unknown"


@dataclass(frozen=True)
class TicketSummary:
    """The notifier's own view of a ticket: what its messages mention."""

    subject: str
    requester_email: str
    requester_name: str | None
    channel: str
    priority: str

    @classmethod
    def from_created(cls, created: TicketCreated) -> TicketSummary:
        return cls(
            subject=created.subject,
            requester_email=created.requester.email,
            requester_name=created.requester.name,
            channel=created.channel.value,
            priority=created.priority.value,
        )

    @property
    def requester(self) -> str:
        if self.requester_name:
            return f"{self.requester_name} <{self.requester_email}>"
        return self.requester_email


# ---- the acknowledgement email -----------------------------------------------------------------


@dataclass(frozen=True)
class AcknowledgementEmail:
    """The email's content, kept in the delivery record so a re-send is the same mail."""

    to: str
    subject: str
    text: str
    html: str
    message_id: str
    in_reply_to: str | None = None


def ticket_reference(ticket_id: str) -> str:
    """The tag in subjects that lets a reply find its ticket."""
    return f"[#{ticket_id}]"


def compose_acknowledgement(
    ticket_id: str, created: TicketCreated, *, message_id: str, signature: str = "Support"
) -> AcknowledgementEmail:
    subject = _one_line(created.subject)
    greeting = created.requester.name or "there"
    reference = ticket_reference(ticket_id)
    text = (
        f"Hello {greeting},\n\n"
        f"Thank you for contacting us. We have received your request and opened ticket #{ticket_id}:\n\n"
        f"    {subject}\n\n"
        f"We will get back to you as soon as we can. To add anything, reply to this email and keep "
        f"{reference} in the subject line.\n\n"
        f"{signature}\n"
    )
    e = html.escape
    html_part = (
        "<!DOCTYPE html>\n<html><body>\n"
        f"<p>Hello {e(greeting)},</p>\n"
        f"<p>Thank you for contacting us. We have received your request and opened ticket "
        f"<strong>#{e(ticket_id)}</strong>:</p>\n"
        f"<blockquote>{e(subject)}</blockquote>\n"
        f"<p>We will get back to you as soon as we can. To add anything, reply to this email and keep "
        f"<code>{e(reference)}</code> in the subject line.</p>\n"
        f"<p>{e(signature)}</p>\n"
        "</body></html>\n"
    )
    # A ticket opened by email: the acknowledgement answers that mail, so clients thread them.
    answers_a_mail = created.channel is Channel.EMAIL and _is_msgid(created.message_id)
    in_reply_to = created.message_id if answers_a_mail else None
    return AcknowledgementEmail(
        to=formataddr((created.requester.name or "", created.requester.email)),
        subject=f"{reference} We received your request: {subject}",
        text=text,
        html=html_part,
        message_id=message_id,
        in_reply_to=in_reply_to,
    )


def build_email(
    content: AcknowledgementEmail, *, sender: str, ticket_id: str, date: datetime
) -> EmailMessage:
    """The MIME message: text/plain and text/html alternatives under the platform's Message-ID."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = content.to
    message["Subject"] = content.subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = content.message_id
    if content.in_reply_to:
        message["In-Reply-To"] = content.in_reply_to
        message["References"] = content.in_reply_to
    message["Auto-Submitted"] = "auto-replied"  # RFC 3834: other robots must not answer it
    message["X-Helpdesk-Ticket-Id"] = ticket_id
    message.set_content(content.text)
    message.add_alternative(content.html, subtype="html")
    return message


def _one_line(value: str) -> str:
    # A subject with a line break would break the header; a customer's subject may have one.
    return re.sub(r"\s+", " ", value).strip() or "(no subject)"


def _is_msgid(value: str) -> bool:
    return value.startswith("<") and value.endswith(">") and "@" in value


# ---- the agent's Slack message -----------------------------------------------------------------


class BlockId(StrEnum):
    HEADER = "ticket_assigned_header"
    SUBJECT = "ticket_assigned_subject"
    FIELDS = "ticket_assigned_fields"
    CONTEXT = "ticket_assigned_context"


def compose_assignment(
    ticket_id: str, assigned: TicketAssigned, ticket: TicketSummary | None, *, channel: str
) -> ChatMessage:
    """Tell the agent a ticket is theirs; `ticket` is None when its creation was never seen."""
    subject = _one_line(ticket.subject) if ticket else "(subject unknown)"
    requester = ticket.requester if ticket else UNKNOWN
    source = ticket.channel if ticket else UNKNOWN
    priority = ticket.priority if ticket else UNKNOWN
    text = (
        f"Ticket #{ticket_id} is assigned to you: {subject} "
        f"(priority {priority}, from {requester} via {source})"
    )
    context = f"Assigned to {assigned.agent_name}" + (f" · team {assigned.team}" if assigned.team else "")
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "block_id": BlockId.HEADER.value,
            "text": {"type": "plain_text", "text": _cut(f"Ticket #{ticket_id} assigned to you", _HEADER_MAX)},
        },
        {
            "type": "section",
            "block_id": BlockId.SUBJECT.value,
            "text": {"type": "mrkdwn", "text": _cut(f"*{slack_escape(subject)}*", _TEXT_MAX)},
        },
        {
            "type": "section",
            "block_id": BlockId.FIELDS.value,
            "fields": [
                _field("Requester", requester),
                _field("Channel", source),
                _field("Priority", priority),
                _field("Ticket", f"#{ticket_id}"),
            ],
        },
        {
            "type": "context",
            "block_id": BlockId.CONTEXT.value,
            "elements": [{"type": "mrkdwn", "text": _cut(slack_escape(context), _TEXT_MAX)}],
        },
    ]
    return ChatMessage(
        channel=channel,
        text=slack_escape(text),
        blocks=tuple(blocks),
        # Lets a later reconciliation find this post in the conversation's history.
        metadata={
            "event_type": "helpdesk_ticket_assigned",
            "event_payload": {"ticket_id": ticket_id, "agent_id": assigned.agent_id},
        },
    )


def slack_escape(value: str) -> str:
    """Slack's three control characters in text; anything else is shown as written."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _field(label: str, value: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": _cut(f"*{label}*\n{slack_escape(value)}", _TEXT_MAX)}


def _cut(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
