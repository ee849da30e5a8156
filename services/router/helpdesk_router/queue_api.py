"""HTTP API of the router's queue: what waits for an agent, for how long, and why."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from helpdesk_events import Channel, Priority
from helpdesk_router.queue_view import QueueDepth, QueueView, WaitingExplained
from helpdesk_router.roster import normalize_label


class QueueDepthView(BaseModel):
    """Tickets of one team and priority waiting for an agent."""

    team: str | None = Field(description="The team triage gave the tickets; null for tickets with no team.")
    priority: Priority
    waiting: int = Field(ge=1, description="How many of them wait.")
    oldest_waiting_seconds: float = Field(
        ge=0, description="How long the oldest of them has waited, in seconds."
    )

    @classmethod
    def of(cls, depth: QueueDepth) -> QueueDepthView:
        return cls(
            team=depth.team,
            priority=depth.priority,
            waiting=depth.waiting,
            oldest_waiting_seconds=depth.oldest_waiting_seconds,
        )


class WaitingTicketView(BaseModel):
    """A ticket waiting for an agent."""

    ticket_id: str
    priority: Priority
    team: str | None = Field(description="Only members of this team may take it; null: any team.")
    channel: Channel | None = Field(description="The channel it came in by (per-channel capacity applies).")
    required_skills: list[str] = Field(description="Skills an agent needs, all of them, to take it.")
    declined_by: list[str] = Field(description="Agents who declined it or asked for it to go elsewhere.")
    queued_at: datetime = Field(description="When it started waiting (UTC).")
    waiting_seconds: float = Field(ge=0, description="Time in queue so far, in seconds.")
    reason_when_queued: str = Field(
        description="Why nobody could take it when it queued (told in ticket.queued)."
    )
    why_now: str = Field(
        description="Why nobody can take it now, against the roster as it is at this request."
    )

    @classmethod
    def of(cls, waiting: WaitingExplained) -> WaitingTicketView:
        entry = waiting.entry
        return cls(
            ticket_id=entry.ticket_id,
            priority=entry.priority,
            team=entry.team,
            channel=entry.channel,
            required_skills=list(entry.required_skills),
            declined_by=list(entry.declined_by),
            queued_at=entry.queued_at,
            waiting_seconds=waiting.waiting_seconds,
            reason_when_queued=entry.reason,
            why_now=waiting.why_now,
        )


class QueueSnapshot(BaseModel):
    """The router's queue at the time of the request."""

    depth: list[QueueDepthView] = Field(
        description=(
            "Every waiting ticket (of the team and priority asked, when given; `limit` does not apply) "
            "counted per team and priority, most urgent first."
        )
    )
    waiting: list[WaitingTicketView] = Field(
        description=(
            "The waiting tickets in the order they are offered to agents: most urgent first, then oldest."
        )
    )


def _queue_view(request: Request) -> QueueView:
    return request.app.state.queue_view


QueueViewDep = Annotated[QueueView, Depends(_queue_view)]

router = APIRouter(prefix="/v1", tags=["queue"])


@router.get(
    "/queue",
    operation_id="get_queue",
    response_model=QueueSnapshot,
    summary="What waits for an agent, and why",
    description=(
        "The tickets nobody could take yet, most urgent then oldest first, with their time in queue, the "
        "reason they queued and why they still wait against the roster now (say, the only agent with the "
        "skill went offline). `depth` counts them per team and priority. Also refreshes the queue and load "
        "gauges of /metrics."
    ),
)
async def get_queue(
    view: QueueViewDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="Most waiting tickets listed.")] = 100,
    team: Annotated[
        str | None,
        Query(description="Only tickets of this team (normalized like agents' teams).", examples=["tier-2"]),
    ] = None,
    priority: Annotated[Priority | None, Query(description="Only tickets of this priority.")] = None,
) -> QueueSnapshot:
    if team is not None:
        try:
            team = normalize_label(team)
        except ValueError as error:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"team: {error}") from None
    report = await view.report(limit, team=team, priority=priority)
    return QueueSnapshot(
        depth=[QueueDepthView.of(depth) for depth in report.depth],
        waiting=[WaitingTicketView.of(waiting) for waiting in report.waiting],
    )
