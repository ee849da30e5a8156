"""What `GET /v1/tickets/{ticket_id}` shows: the read model's ticket, without its bookkeeping."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from helpdesk_events import Attachment, AuthorKind, Channel, Priority, Requester, TicketStatus


class MessageView(BaseModel):
    message_id: str
    author_kind: AuthorKind
    author_id: str | None = Field(description="Agent id, or the customer's email, when known.")
    channel: Channel
    body: str
    public: bool = Field(description="False for an agent's internal note.")
    attachments: list[Attachment] = Field(default_factory=list, description="Files that came with it (recorded, not kept).")
    created_at: AwareDatetime


class QueueView(BaseModel):
    """Why the ticket waits for an agent, since when, and where."""

    team: str | None
    reason: str
    required_skills: list[str]
    since: AwareDatetime


class TicketView(BaseModel):
    ticket_id: str
    subject: str
    status: TicketStatus
    priority: Priority
    channel: Channel
    requester: Requester
    customer_id: str | None = Field(default=None, description="The requester's customer record, when known.")
    assignee_id: str | None = Field(description="The agent working on it; null until assigned.")
    team: str | None
    category: str | None = Field(description="Set by triage.")
    queue: QueueView | None = Field(description="Set while no agent could take the ticket.")
    tags: list[str]
    messages: list[MessageView]
    created_at: AwareDatetime
    updated_at: AwareDatetime = Field(description="When the last event applied to it happened.")

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> TicketView:
        return cls.model_validate({**document, "ticket_id": document["_id"]})
