"""The ticket lifecycle: created, messages, status, triage and assignment."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from helpdesk_events.envelope import EventPayload
from helpdesk_events.topics import Topic


class Channel(StrEnum):
    """Where a customer message came in."""

    EMAIL = "email"
    WEB = "web"
    API = "api"
    CHAT = "chat"
    SOCIAL = "social"
    VOICE = "voice"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    SOLVED = "solved"
    CLOSED = "closed"


class AuthorKind(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"


class AssignmentAnswer(StrEnum):
    """What an agent said to a ticket the router gave them."""

    ACCEPTED = "accepted"
    DECLINED = "declined"
    REASSIGN_REQUESTED = "reassign_requested"


class Requester(BaseModel):
    """The customer who asked."""

    model_config = ConfigDict(frozen=True, extra="ignore", json_schema_serialization_defaults_required=True)

    email: str = Field(description="Requester's email address.")
    name: str | None = Field(default=None, description="Display name, when known.")


class Attachment(BaseModel):
    """A file that came with a customer message: recorded, not carried (the bytes stay out of Kafka)."""

    model_config = ConfigDict(frozen=True, extra="ignore", json_schema_serialization_defaults_required=True)

    filename: str | None = Field(default=None, description="The name the sender gave it, when any.")
    content_type: str = Field(description="MIME type, e.g. application/pdf.")
    size: int = Field(ge=0, description="Size in bytes, decoded.")
    too_large: bool = Field(default=False, description="Over the channel's attachment size limit.")


class TicketCreated(EventPayload):
    event_type = "ticket.created"
    topic = Topic.TICKETS
    summary = "A customer opened a ticket through a channel; carries the first message."

    subject: str
    body: str = Field(description="Text of the first customer message.")
    requester: Requester
    channel: Channel
    message_id: str = Field(description="Id of the first message (channel message id or generated).")
    priority: Priority = Priority.NORMAL
    tags: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = Field(default=(), description="Files that came with the message.")
    customer_id: str | None = Field(
        default=None, description="The customer record of the requester in intake (one per person across channels)."
    )
    # Added after version 1 shipped, optional with a None default: an older event simply lacks them
    # and older subscribers ignore unknown fields, so the event stays version 1.
    language: str | None = Field(
        default=None,
        description=(
            "The customer's language as a BCP 47 tag, as they wrote it but lower case, e.g. \"fr\" or \"pt-br\";"
            " null when the channel did not say."
        ),
        examples=["fr", "pt-br"],
    )
    customer_tier: str | None = Field(
        default=None,
        description=(
            "The customer's support tier label in intake's customer record when the ticket opened, lower case,"
            " e.g. \"gold\"; null when the customer has no tier or is not known."
        ),
        examples=["gold"],
    )


class TicketMessageAdded(EventPayload):
    event_type = "ticket.message_added"
    topic = Topic.TICKETS
    summary = "A customer or an agent added a message to a ticket (public reply or internal note)."

    message_id: str
    author_kind: AuthorKind
    author_id: str | None = Field(default=None, description="Agent id, or customer email, when known.")
    channel: Channel
    body: str
    public: bool = Field(default=True, description="False for an agent's internal note.")
    attachments: tuple[Attachment, ...] = Field(default=(), description="Files that came with the message.")


class TicketStatusChanged(EventPayload):
    event_type = "ticket.status_changed"
    topic = Topic.TICKETS
    summary = "A ticket moved from one status to another."

    from_status: TicketStatus | None
    to_status: TicketStatus
    changed_by: str | None = Field(default=None, description="Agent id, 'customer' or the emitting service.")


class TicketTriaged(EventPayload):
    event_type = "ticket.triaged"
    topic = Topic.TICKETS
    summary = "Triage rules decided priority, category, skills, team and SLA policy."

    priority: Priority
    category: str | None = None
    tags: tuple[str, ...] = ()
    required_skills: tuple[str, ...] = ()
    team: str | None = None
    sla_policy: str | None = None
    matched_rules: tuple[str, ...] = Field(default=(), description="Names of the rules that matched, in order.")


class TicketPriorityChanged(EventPayload):
    event_type = "ticket.priority_changed"
    topic = Topic.TICKETS
    summary = "A ticket's priority changed after triage (an SLA breach escalated it, say)."

    from_priority: Priority | None
    to_priority: Priority
    reason: str = Field(description="Why, e.g. 'first_reply breached (policy standard)'.")
    changed_by: str = Field(description="The service or agent that changed it.")


class TicketAssigned(EventPayload):
    event_type = "ticket.assigned"
    topic = Topic.TICKETS
    summary = "The router gave the ticket to an agent."

    agent_id: str
    agent_name: str
    agent_email: str | None = None
    slack_user_id: str | None = None
    team: str | None = None
    previous_agent_id: str | None = None


class TicketQueued(EventPayload):
    event_type = "ticket.queued"
    topic = Topic.TICKETS
    summary = "No agent could take the ticket yet; it waits in a queue."

    reason: str = Field(description="Why nobody fits, e.g. 'no online agent with free capacity'.")
    priority: Priority = Priority.NORMAL
    team: str | None = None
    required_skills: tuple[str, ...] = ()


class TicketUnassigned(EventPayload):
    event_type = "ticket.unassigned"
    topic = Topic.TICKETS
    summary = "A ticket was taken back from its agent (agent away, declined, reassigned)."

    agent_id: str
    reason: str


class TicketAssignmentAnswered(EventPayload):
    event_type = "ticket.assignment_answered"
    topic = Topic.TICKETS
    summary = (
        "The assigned agent accepted or declined the ticket, or asked for it to be reassigned "
        "(a Slack button, say); the router acts on declines and reassignment requests."
    )

    answer: AssignmentAnswer
    agent_id: str | None = Field(default=None, description="The agent's id, when the channel knows it.")
    slack_user_id: str | None = Field(default=None, description="Slack user who answered, for Slack answers.")
    channel: str = Field(description="Where the agent answered, e.g. 'slack' or 'api'.")
