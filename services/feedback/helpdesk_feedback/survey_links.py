"""The links of a survey email: one to the survey page, one per score for one-click rating.

Each link carries a signed token (`tokens.py`) bound to the ticket and the survey and expiring with
the survey. Following a link records nothing: the page asks the customer to confirm with a POST.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk_events import RatingLink
from helpdesk_feedback import tokens
from helpdesk_feedback.scores import SCALES
from helpdesk_feedback.surveys import Survey

SURVEY_PATH = "/s"


@dataclass(frozen=True)
class SurveyLinks:
    public_url: str  # FEEDBACK_PUBLIC_URL, without a trailing slash
    secret: bytes  # the current signing secret

    def page(self, ticket_id: str, survey: Survey, score: int | None = None) -> str:
        token = tokens.issue(
            self.secret, ticket_id=ticket_id, survey_id=survey.survey_id, expires_at=survey.expires_at, score=score
        )
        return f"{self.public_url}{SURVEY_PATH}/{token}"

    def ratings(self, ticket_id: str, survey: Survey) -> tuple[RatingLink, ...]:
        low, high = SCALES[survey.kind]
        return tuple(RatingLink(score=score, url=self.page(ticket_id, survey, score)) for score in range(low, high + 1))
