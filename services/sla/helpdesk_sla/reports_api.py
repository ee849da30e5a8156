"""HTTP API and Prometheus gauges of the response-time reports.

`GET /v1/reports/response-times?from=&to=&group_by=` reports the tickets *created* in [from, to)
(see reports.py for every figure). It reads `request.app.state.facts` (a `FactsBook`: the
MongoDB `ticket_facts` collection in the service) and `request.app.state.calendar_of`, an async
callable giving, for the policies in force, the function ticket facts -> business calendar.

The same figures for the last day, per team, are Prometheus gauges that `refresh_metrics` updates
(the service's timer calls it every minute), so dashboards and alerts need no report request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Query, Request
from prometheus_client import Gauge
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from helpdesk_events.metrics import GaugeSeries
from helpdesk_events.report_window import report_window
from helpdesk_sla.calendar import BusinessCalendar
from helpdesk_sla.reports import GROUP_BYS, ReportRow, response_times
from helpdesk_sla.ticket_facts import TicketFacts

CalendarOf = Callable[[TicketFacts], BusinessCalendar]
CalendarsInForce = Callable[[], Awaitable[CalendarOf]]


class FactsBook(Protocol):
    async def created_between(self, start: datetime, end: datetime) -> list[TicketFacts]: ...


router = APIRouter(prefix="/v1/reports", tags=["reports"])


class ResponseTimesRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    group: str | None = Field(
        description="The agent id, team, channel or priority; null for tickets without one (unassigned, say)."
    )
    volume: int = Field(ge=0, description="Tickets created in the window in this group.")
    replied: int = Field(ge=0, description="Of them, tickets that got a public agent reply.")
    solved: int = Field(ge=0, description="Of them, tickets solved at least once.")
    first_reply_median_business_seconds: float | None = Field(
        description="Median time to the first public agent reply, business hours only (nearest rank)."
    )
    first_reply_p90_business_seconds: float | None = Field(
        description="90th percentile of the first reply time in business hours (nearest rank)."
    )
    first_reply_median_calendar_seconds: float | None = Field(
        description="Median time to the first public agent reply, counting every hour (nearest rank)."
    )
    first_reply_p90_calendar_seconds: float | None = Field(
        description="90th percentile of the first reply time in calendar hours (nearest rank)."
    )
    resolution_average_business_seconds: float | None = Field(
        description="Average time from creation to the first solve, business hours only."
    )
    resolution_average_calendar_seconds: float | None = Field(
        description="Average time from creation to the first solve, every hour."
    )
    first_contact_resolution_share: float | None = Field(
        description="Share of solved tickets solved after one public agent reply and never reopened (0..1)."
    )
    within_sla_share: float | None = Field(
        description=(
            "Share of tickets with a known SLA outcome that met every clock within target (0..1). A ticket "
            "is out as soon as a clock breaches; in once it is solved with its ended clocks on time."
        )
    )
    breaches: int = Field(
        ge=0, description="sla.breached events of these tickets (a ticket may breach several clocks)."
    )

    @classmethod
    def of(cls, row: ReportRow) -> ResponseTimesRow:
        return cls.model_validate(row, from_attributes=True)


class ResponseTimesReport(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    from_: AwareDatetime = Field(
        alias="from", description="Start of the window (tickets created at or after)."
    )
    to: AwareDatetime = Field(description="End of the window (tickets created before).")
    group_by: str = Field(description="agent, team, channel or priority.")
    volume: int = Field(ge=0, description="Tickets created in the window, all groups.")
    rows: list[ResponseTimesRow] = Field(
        description="One row per group that has tickets, by group name; null last."
    )


@router.get(
    "/response-times",
    operation_id="response_times_report",
    response_model=ResponseTimesReport,
    response_model_by_alias=True,
    summary="First reply, resolution, first contact resolution and SLA figures per group",
    responses={
        422: {"description": "A missing or bad from/to/group_by, from not before to, or more than 366 days."}
    },
)
async def get_response_times(
    request: Request,
    start: Annotated[
        str | None,
        Query(alias="from", description="ISO 8601 date-time with offset: tickets created at or after."),
    ] = None,
    end: Annotated[
        str | None, Query(alias="to", description="ISO 8601 date-time with offset: tickets created before.")
    ] = None,
    group_by: Annotated[
        str | None,
        Query(description="How to group the tickets.", json_schema_extra={"enum": list(GROUP_BYS)}),
    ] = None,
) -> dict[str, Any]:
    since, until, grouping = report_window(start, end, group_by, group_bys=GROUP_BYS)
    facts = await request.app.state.facts.created_between(since, until)
    calendar_of = await request.app.state.calendar_of()
    rows = response_times(facts, group_by=grouping, calendar_of=calendar_of)
    return ResponseTimesReport(
        from_=since, to=until, group_by=grouping, volume=sum(row.volume for row in rows),
        rows=[ResponseTimesRow.of(row) for row in rows],
    ).model_dump(by_alias=True)  # fmt: skip


# ---- Prometheus ---------------------------------------------------------------------------------

FIRST_REPLY_SECONDS = Gauge(
    "helpdesk_sla_first_reply_seconds",
    "First reply time of the tickets created in the last window (a day), nearest-rank quantile per group.",
    ["group_by", "group", "quantile", "hours"],
)
WITHIN_TARGET_RATIO = Gauge(
    "helpdesk_sla_within_target_ratio",
    "Share of the last window's tickets with a known SLA outcome that met every clock, per team.",
    ["team"],
)
BREACHES = Gauge(
    "helpdesk_sla_breaches", "SLA breaches of the tickets created in the last window, per team.", ["team"]
)
TICKETS = Gauge("helpdesk_sla_tickets", "Tickets created in the last window, per team.", ["team"])
_FIRST_REPLY, _WITHIN, _BREACHES, _TICKETS = (
    GaugeSeries(gauge) for gauge in (FIRST_REPLY_SECONDS, WITHIN_TARGET_RATIO, BREACHES, TICKETS)
)

NO_GROUP = "none"  # the label of tickets without a team


def _label(group: str | None) -> str:
    return group if group is not None else NO_GROUP


async def refresh_metrics(
    facts_store: FactsBook,
    calendar_of: CalendarsInForce,
    window: timedelta = timedelta(days=1),
    *,
    now: datetime | None = None,
) -> list[ReportRow]:
    """Recompute the gauges from the tickets created in the last `window`; the per-team rows used."""
    until = now if now is not None else datetime.now(UTC)
    facts = await facts_store.created_between(until - window, until)
    rows = response_times(facts, group_by="team", calendar_of=await calendar_of())
    quantiles: dict[tuple[str, ...], float | None] = {}
    for row in rows:
        team = _label(row.group)
        quantiles[("team", team, "0.5", "business")] = row.first_reply_median_business_seconds
        quantiles[("team", team, "0.9", "business")] = row.first_reply_p90_business_seconds
        quantiles[("team", team, "0.5", "calendar")] = row.first_reply_median_calendar_seconds
        quantiles[("team", team, "0.9", "calendar")] = row.first_reply_p90_calendar_seconds
    _FIRST_REPLY.show(quantiles)
    _WITHIN.show({(_label(row.group),): row.within_sla_share for row in rows})
    _BREACHES.show({(_label(row.group),): float(row.breaches) for row in rows})
    _TICKETS.show({(_label(row.group),): float(row.volume) for row in rows})
    return rows
