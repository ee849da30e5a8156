"""Surveys and the answers customers give."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from helpdesk_events.envelope import EventPayload
from helpdesk_events.ticket import Channel
from helpdesk_events.topics import Topic


class SurveyKind(StrEnum):
    CSAT = "csat"  # 1 to 5
    NPS = "nps"  # 0 to 10
    CES = "ces"  # 1 to 7


class RatingLink(BaseModel):
    """A one-click rating in the survey email: the page opens with `score` chosen, the customer confirms."""

    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)

    score: int = Field(ge=0, le=10)
    url: str


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
    rating_links: tuple[RatingLink, ...] = Field(
        default=(),
        description="One link per score of the kind's scale, lowest first. Following one records nothing: "
        "the page asks the customer to confirm, so a mail scanner that opens links cannot rate.",
    )
    language: str | None = Field(default=None, description="The customer's language (BCP 47), if known.")
    expires_at: AwareDatetime | None = Field(default=None, description="When the links stop working.")


class _Answer(EventPayload):
    """What every event about an answer says: the survey, the score, and whose work it judges."""

    survey_id: str
    kind: SurveyKind
    score: int = Field(ge=0, le=10)
    comment: str | None = None
    agent_id: str | None = None
    team: str | None = None
    channel: Channel | None = None


class FeedbackReceived(_Answer):
    event_type = "feedback.received"
    topic = Topic.FEEDBACK
    summary = "A customer answered a survey (the latest answer counts)."

    revision: int = Field(default=1, ge=1, description="1 for the first answer; each change adds one.")
    previous_score: int | None = Field(default=None, description="The score this answer replaces, if any.")


class FeedbackFollowUpRequested(_Answer):
    event_type = "feedback.follow_up_requested"
    topic = Topic.FEEDBACK
    summary = (
        "A low score (CSAT 1-2, NPS detractor, CES 6-7) needs a person: the notifier tells the team lead, "
        "and intake reopens the ticket when `reopen` is set."
    )

    reopen: bool = Field(default=False, description="The feedback policy asks intake to reopen the ticket.")
