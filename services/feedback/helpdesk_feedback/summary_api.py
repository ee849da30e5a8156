"""HTTP API and Prometheus gauges of the feedback scores.

`GET /v1/feedback/summary?from=&to=&group_by=agent|team|channel` scores the surveys *sent* in
[from, to) (see summary.py); without group_by, one summary for everything. The last 30 days per team
are also Prometheus gauges that `refresh_metrics` updates (the service's timer calls it every minute).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from prometheus_client import Gauge
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from helpdesk_events.metrics import GaugeSeries
from helpdesk_events.report_window import report_window
from helpdesk_feedback.scores import KindSummary
from helpdesk_feedback.summary import GROUP_BYS, GroupSummary, summarize
from helpdesk_feedback.survey_store import MongoSurveyBook

router = APIRouter(prefix="/v1/feedback", tags=["feedback"])

GAUGE_WINDOW = timedelta(days=30)
NO_GROUP = "none"  # the label of surveys without a team

SCORE = Gauge(
    "helpdesk_feedback_score",
    "Score of the surveys sent in the last 30 days, per team: CSAT share 0-1, NPS points, CES mean.",
    ["kind", "team"],
)
RESPONSE_RATIO = Gauge(
    "helpdesk_feedback_response_ratio", "Share of the last 30 days' surveys that were answered.", ["kind", "team"]
)
SENT = Gauge("helpdesk_feedback_surveys", "Surveys sent in the last 30 days.", ["kind", "team"])
LOW = Gauge("helpdesk_feedback_low_scores", "Latest answers of the last 30 days' surveys that are low.", ["kind", "team"])
_SCORE, _RESPONSE, _SENT, _LOW = (GaugeSeries(gauge) for gauge in (SCORE, RESPONSE_RATIO, SENT, LOW))


class KindScores(BaseModel):
    model_config = ConfigDict(frozen=True)

    sent: int = Field(ge=0, description="Surveys of this kind sent in the window.")
    answered: int = Field(ge=0, description="Of them, surveys answered (a changed answer counts once).")
    score: float | None = Field(
        description="CSAT: share of 4-5 (0..1); NPS: % promoters minus % detractors; CES: mean (1..7). "
        "null when nobody answered."
    )
    response_rate: float | None = Field(description="answered / sent (0..1); null when none was sent.")
    low: int = Field(ge=0, description="Latest answers that are low (CSAT 1-2, NPS 0-6, CES 6-7).")

    @classmethod
    def of(cls, kind: KindSummary) -> KindScores:
        return cls.model_validate(kind, from_attributes=True)


class SummaryGroup(BaseModel):
    model_config = ConfigDict(frozen=True)

    group: str | None = Field(description="The agent id, team or channel; null for surveys without one, or all.")
    csat: KindScores
    nps: KindScores
    ces: KindScores

    @classmethod
    def of(cls, row: GroupSummary) -> SummaryGroup:
        scores = row.scores
        return cls(group=row.group, csat=KindScores.of(scores.csat), nps=KindScores.of(scores.nps),
                   ces=KindScores.of(scores.ces))  # fmt: skip


class FeedbackSummary(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    from_: AwareDatetime = Field(alias="from", description="Start of the window (surveys sent at or after).")
    to: AwareDatetime = Field(description="End of the window (surveys sent before).")
    group_by: str | None = Field(description="agent, team, channel, or null for one summary of everything.")
    groups: list[SummaryGroup] = Field(description="One per group that was sent surveys, by name; null last.")


@router.get(
    "/summary",
    operation_id="feedback_summary",
    response_model=FeedbackSummary,
    response_model_by_alias=True,
    summary="CSAT, NPS, CES and response rate per agent, team or channel over the surveys sent in a period",
    responses={422: {"description": "A missing or bad from/to, a bad group_by, from not before to."}},
)
async def get_summary(
    request: Request,
    start: Annotated[
        str | None, Query(alias="from", description="ISO 8601 date-time with offset: surveys sent at or after.")
    ] = None,
    end: Annotated[
        str | None, Query(alias="to", description="ISO 8601 date-time with offset: surveys sent before.")
    ] = None,
    group_by: Annotated[
        str | None, Query(description="How to group the surveys.", json_schema_extra={"enum": list(GROUP_BYS)})
    ] = None,
) -> dict[str, Any]:
    since, until, grouping = report_window(start, end, group_by, group_bys=GROUP_BYS, group_by_required=False)
    book: MongoSurveyBook = request.app.state.surveys
    rows = summarize(await book.sent_between(since, until), grouping)  # type: ignore[arg-type]
    return FeedbackSummary(
        from_=since, to=until, group_by=grouping, groups=[SummaryGroup.of(row) for row in rows]
    ).model_dump(by_alias=True)


async def refresh_metrics(book: MongoSurveyBook, *, now: datetime | None = None) -> list[GroupSummary]:
    """Recompute the gauges from the surveys sent in the last 30 days, per team; the rows used."""
    until = now if now is not None else datetime.now(UTC)
    rows = summarize(await book.sent_between(until - GAUGE_WINDOW, until), "team")
    score, response, sent, low = {}, {}, {}, {}
    for row in rows:
        team = row.group if row.group is not None else NO_GROUP
        for kind in (row.scores.csat, row.scores.nps, row.scores.ces):
            if kind.sent == 0:
                continue
            labels = (kind.kind.value, team)
            score[labels], response[labels] = kind.score, kind.response_rate
            sent[labels], low[labels] = float(kind.sent), float(kind.low)
    _SCORE.show(score)
    _RESPONSE.show(response)
    _SENT.show(sent)
    _LOW.show(low)
    return rows
