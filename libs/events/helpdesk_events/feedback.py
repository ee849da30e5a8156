"""Surveys and the answers customers give."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from helpdesk_events.envelope import EventPayload
from helpdesk_events.ticket import Channel
from helpdesk_events.topics import Topic


class SurveyKind(StrEnum):
    CSAT = "csat"  # 1 to 5
    NPS = "nps"  # 0 to 10
    CES = "ces"  # 1 to 7


class SurveySent(EventPayload):
    event_type = "survey.sent"
    topic = Topic.FEEDBACK
    summary = "A survey was issued for a solved ticket; the notifier emails it."

    survey_id: str
    kind: SurveyKind
    requester_email: str
    survey_url: str = Field(description="Link to the survey page.")
    agent_id: str | None = None
    team: str | None = None
    channel: Channel | None = None


class FeedbackReceived(EventPayload):
    event_type = "feedback.received"
    topic = Topic.FEEDBACK
    summary = "A customer answered a survey (the latest answer counts)."

    survey_id: str
    kind: SurveyKind
    score: int = Field(ge=0, le=10)
    comment: str | None = None
    agent_id: str | None = None
    team: str | None = None
    channel: Channel | None = None
