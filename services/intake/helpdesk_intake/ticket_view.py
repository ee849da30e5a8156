"""What `GET /v1/tickets/{ticket_id}` shows: the read model's ticket, without its bookkeeping."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from helpdesk_events import Attachment, AuthorKind, Channel, Priority, Requester, SlaMetric, TicketStatus


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


class SlaClockView(BaseModel):
    """One SLA clock of the ticket, as the last `sla.*` event about it told it."""

    metric: SlaMetric = Field(description="Which clock: first_reply, next_reply or resolution.")
    policy: str = Field(description="The SLA policy that set the target.")
    target: timedelta = Field(description="The target in business time, an ISO 8601 duration such as PT4H.")
    due_at: AwareDatetime | None = Field(
        description="When the clock breaches if nothing happens; null while it is paused."
    )
    state: Literal["running", "paused", "met", "breached"] = Field(
        description="running (started, resumed or warned), paused (pending on the customer, or on hold "
        "by policy), met (stopped: see within_target) or breached (passed its target, still open)."
    )
    warned: bool = Field(
        default=False,
        description="True once the clock used the warning share of its target (75% by default).",
    )
    within_target: bool | None = Field(
        default=None, description="Set when the clock is met: true if before its due time, false if after."
    )
    updated_at: AwareDatetime = Field(description="When the event that last changed this clock happened.")


# How GET lists the clocks: in the order a ticket meets them.
SLA_CLOCK_ORDER = (SlaMetric.FIRST_REPLY, SlaMetric.NEXT_REPLY, SlaMetric.RESOLUTION)


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
    updated_at: AwareDatetime = Field(description="When the last ticket event applied to it happened.")
    sla: list[SlaClockView] = Field(
        default_factory=list,
        description="The ticket's SLA clocks, first_reply, next_reply then resolution; only those the SLA "
        "service has started (none before it has, or without a policy).",
    )

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> TicketView:
        clocks = document.get("sla") or {}
        sla = [clocks[metric.value] for metric in SLA_CLOCK_ORDER if metric.value in clocks]
        return cls.model_validate({**document, "ticket_id": document["_id"], "sla": sla})
