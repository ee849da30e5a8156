"""A ticket's survey, from solved to answered: pure decisions over plain data, no I/O.

The life of one ticket's survey:

- `ticket.status_changed` to solved schedules it `delay` later (SURVEY_DELAY_SECONDS). Any later move
  back to work (open, pending, on hold: a reopen) withdraws the schedule; being solved again schedules
  it anew. Closing a solved ticket keeps it: closed is the normal end of solved.
- When it falls due the survey is sent, unless the ticket already had one (at most one per ticket),
  the requester has no email address, or the customer was surveyed less than the interval ago; the
  reason for skipping is kept.
- The customer answers before the links expire; they may change the answer within a window after the
  first one. Every answer is kept (history); the latest counts.
- A low score (see `scores.is_low`) asks for follow-up once each time the answer becomes low: a customer
  who changes 2 to 1 does not page the team lead twice, one who changes 5 to 1 does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from helpdesk_events import SurveyKind
from helpdesk_feedback.scores import is_low, validate_score

COMMENT_MAX_LENGTH = 2000
_SURVEY_IDS = uuid.UUID("3f0c3a8e-9a43-4c55-8f57-1b2b8e0f5d21")  # namespace: one survey id per ticket

# Statuses that put a solved ticket back to work, withdrawing a survey not yet sent.
_BACK_TO_WORK = frozenset({"new", "open", "pending", "on_hold"})


def survey_id_for(ticket_id: str) -> str:
    """At most one survey per ticket: its id follows from the ticket's, so a retry makes the same one."""
    return str(uuid.uuid5(_SURVEY_IDS, ticket_id))


@dataclass(frozen=True)
class SurveyAnswer:
    score: int
    answered_at: datetime
    comment: str | None = None


@dataclass(frozen=True)
class Survey:
    survey_id: str
    kind: SurveyKind
    sent_at: datetime
    expires_at: datetime
    answers: tuple[SurveyAnswer, ...] = ()

    @property
    def latest(self) -> SurveyAnswer | None:
        return self.answers[-1] if self.answers else None

    def open_until(self, change_window: timedelta) -> datetime:
        """Until when an answer is taken: the links' expiry before the first answer; after it, the
        change window from the first answer (whichever ends first)."""
        if not self.answers:
            return self.expires_at
        return min(self.expires_at, self.answers[0].answered_at + change_window)

    def closed_reason(self, now: datetime, change_window: timedelta) -> str | None:
        """Why it takes no answer at `now`: 'expired' before any answer, 'closed' after one; None: open."""
        if now < self.open_until(change_window):
            return None
        return "closed" if self.answers else "expired"


@dataclass(frozen=True)
class TicketSurvey:
    """What feedback knows of one ticket (from the ticket stream) and its survey."""

    ticket_id: str
    requester_email: str | None = None
    subject: str | None = None
    language: str | None = None
    channel: str | None = None
    team: str | None = None
    agent_id: str | None = None
    status: str | None = None
    due_at: datetime | None = None  # when the survey is to be sent; None: not scheduled
    survey: Survey | None = None
    skipped: str | None = None  # why no survey was sent

    def document(self) -> dict[str, Any]:
        """Plain JSON-able data for the store (times as ISO text, so every server keeps them exactly)."""
        survey = self.survey
        return {
            "ticket_id": self.ticket_id, "requester_email": self.requester_email, "subject": self.subject,
            "language": self.language, "channel": self.channel, "team": self.team, "agent_id": self.agent_id,
            "status": self.status, "due_at": _iso(self.due_at), "skipped": self.skipped,
            "survey": None if survey is None else {
                "survey_id": survey.survey_id, "kind": survey.kind.value, "sent_at": _iso(survey.sent_at),
                "expires_at": _iso(survey.expires_at),
                "answers": [{"score": a.score, "answered_at": _iso(a.answered_at), "comment": a.comment}
                            for a in survey.answers],
            },
        }  # fmt: skip

    @classmethod
    def from_document(cls, data: dict[str, Any]) -> TicketSurvey:
        raw = data.get("survey")
        survey = None
        if raw is not None:
            survey = Survey(
                survey_id=raw["survey_id"], kind=SurveyKind(raw["kind"]), sent_at=_time(raw["sent_at"]),
                expires_at=_time(raw["expires_at"]),
                answers=tuple(SurveyAnswer(a["score"], _time(a["answered_at"]), a.get("comment"))
                              for a in raw.get("answers") or ()),
            )  # fmt: skip
        return cls(
            ticket_id=data["ticket_id"], requester_email=data.get("requester_email"), subject=data.get("subject"),
            language=data.get("language"), channel=data.get("channel"), team=data.get("team"),
            agent_id=data.get("agent_id"), status=data.get("status"),
            due_at=_time(data["due_at"]) if data.get("due_at") else None, survey=survey,
            skipped=data.get("skipped"),
        )  # fmt: skip


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


# ---- the ticket stream ---------------------------------------------------------------------------


def on_status(ticket: TicketSurvey, to_status: str, *, at: datetime, delay: timedelta) -> TicketSurvey:
    """Solved schedules the survey (once a ticket has one, nothing more is scheduled); back to work
    withdraws a schedule not yet sent."""
    ticket = replace(ticket, status=to_status)
    if to_status == "solved" and ticket.survey is None:
        return replace(ticket, due_at=at + delay, skipped=None)
    if to_status in _BACK_TO_WORK:
        return replace(ticket, due_at=None)
    return ticket


# ---- sending -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurveyRules:
    """Which kind of survey a ticket gets, and what a low score does (the feedback config file)."""

    default_kind: SurveyKind = SurveyKind.CSAT
    kinds_by_channel: dict[str, SurveyKind] = field(default_factory=dict)
    kinds_by_team: dict[str, SurveyKind] = field(default_factory=dict)
    reopen_on_low_score: bool = False
    reopen_by_team: dict[str, bool] = field(default_factory=dict)

    def kind_for(self, ticket: TicketSurvey) -> SurveyKind:
        """The team's kind wins over the channel's, which wins over the default."""
        if ticket.team is not None and ticket.team in self.kinds_by_team:
            return self.kinds_by_team[ticket.team]
        if ticket.channel is not None and ticket.channel in self.kinds_by_channel:
            return self.kinds_by_channel[ticket.channel]
        return self.default_kind

    def reopens(self, team: str | None) -> bool:
        if team is not None and team in self.reopen_by_team:
            return self.reopen_by_team[team]
        return self.reopen_on_low_score


def is_due(ticket: TicketSurvey, now: datetime) -> bool:
    return ticket.due_at is not None and ticket.survey is None and ticket.due_at <= now


def why_not_send(ticket: TicketSurvey) -> str | None:
    """A reason not to send a due survey that the ticket alone gives; None: go ahead (the customer's
    interval is checked against the store, which knows every ticket of the customer)."""
    if ticket.survey is not None:
        return "the ticket already had a survey"
    if not ticket.requester_email:
        return "the requester has no email address"
    return None


def skip(ticket: TicketSurvey, reason: str) -> TicketSurvey:
    return replace(ticket, due_at=None, skipped=reason)


def send(ticket: TicketSurvey, kind: SurveyKind, *, now: datetime, link_ttl: timedelta) -> TicketSurvey:
    survey = Survey(survey_id_for(ticket.ticket_id), kind, sent_at=now, expires_at=now + link_ttl)
    return replace(ticket, due_at=None, skipped=None, survey=survey)


# ---- answers -------------------------------------------------------------------------------------


class AnswerRefused(Exception):
    """The answer cannot be taken; `reason` is a key the survey page translates."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Answered:
    """An answer taken: the ticket with it, whether it changed an earlier one, whether it needs follow-up."""

    ticket: TicketSurvey
    answer: SurveyAnswer
    revision: int
    previous: SurveyAnswer | None
    follow_up: bool


def clean_comment(comment: str | None) -> str | None:
    """Blank is no comment; longer than COMMENT_MAX_LENGTH is refused (the form says so, nothing is cut)."""
    if comment is None:
        return None
    text = comment.replace("\r\n", "\n").strip()
    if len(text) > COMMENT_MAX_LENGTH:
        raise AnswerRefused("comment_too_long", f"the comment is longer than {COMMENT_MAX_LENGTH} characters")
    return text or None


def answer(
    ticket: TicketSurvey, score: int, comment: str | None, *, now: datetime, change_window: timedelta
) -> Answered:
    """Take a customer's answer: the first before the links expire, changes within the window after it."""
    survey = ticket.survey
    if survey is None:
        raise AnswerRefused("unknown", f"ticket {ticket.ticket_id} has no survey")
    # A survey that takes no more answers says so, whatever the answer: fixing it would not help.
    closed = survey.closed_reason(now, change_window)
    if closed is not None:
        raise AnswerRefused(closed, f"survey {survey.survey_id} takes no more answers")
    try:
        validate_score(survey.kind, score)
    except ValueError as error:
        raise AnswerRefused("score_out_of_range", str(error)) from None
    text = clean_comment(comment)
    previous = survey.latest
    taken = SurveyAnswer(score=score, answered_at=now, comment=text)
    updated = replace(ticket, survey=replace(survey, answers=(*survey.answers, taken)))
    follow_up = is_low(survey.kind, score) and (previous is None or not is_low(survey.kind, previous.score))
    return Answered(updated, taken, len(updated.survey.answers), previous, follow_up)  # type: ignore[union-attr]


# ---- erasure -------------------------------------------------------------------------------------


def erase(ticket: TicketSurvey) -> TicketSurvey:
    """The customer asked to be forgotten: their address, the subject and their comments go; the scores
    stay (tied to a ticket id only), so the summaries keep adding up. A survey not sent yet never will be."""
    survey = ticket.survey
    if survey is not None:
        survey = replace(survey, answers=tuple(replace(answer, comment=None) for answer in survey.answers))
    skipped = ticket.skipped
    if ticket.survey is None and ticket.due_at is not None:
        skipped = "the customer was erased"
    return replace(
        ticket, requester_email=None, subject=None, survey=survey,
        due_at=None if ticket.survey is None else ticket.due_at, skipped=skipped,
    )  # fmt: skip
