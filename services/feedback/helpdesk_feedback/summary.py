"""Scores by agent, team or channel over the surveys sent in a period (pure).

The population of a period is the surveys *sent* in it, with their latest answers whenever they came:
so a response rate never exceeds 1, and a score does not move when an old ticket's customer answers
late into the next period's figures.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from helpdesk_events import SurveyKind
from helpdesk_feedback.scores import Summary, SurveyAnswer, summary
from helpdesk_feedback.surveys import TicketSurvey

GroupBy = Literal["agent", "team", "channel"]
GROUP_BYS: tuple[str, ...] = ("agent", "team", "channel")


@dataclass(frozen=True)
class GroupSummary:
    group: str | None  # the agent id, team or channel; None: tickets without one (or the whole period)
    scores: Summary


def _group_of(ticket: TicketSurvey, group_by: GroupBy | None) -> str | None:
    if group_by is None:
        return None
    return {"agent": ticket.agent_id, "team": ticket.team, "channel": ticket.channel}[group_by]


def summarize(tickets: Iterable[TicketSurvey], group_by: GroupBy | None = None) -> list[GroupSummary]:
    """One summary per group (sorted, the group-less last); without `group_by`, one for everything."""
    sent: dict[str | None, Counter[SurveyKind]] = defaultdict(Counter)
    answers: dict[str | None, list[SurveyAnswer]] = defaultdict(list)
    for ticket in tickets:
        survey = ticket.survey
        if survey is None:
            continue
        group = _group_of(ticket, group_by)
        sent[group][survey.kind] += 1
        latest = survey.latest
        if latest is not None:
            answers[group].append(
                SurveyAnswer(survey.survey_id, survey.kind, latest.score, latest.answered_at, latest.comment)
            )
    groups = sorted(sent, key=lambda group: (group is None, group or ""))
    if group_by is None and not groups:
        groups = [None]
    return [GroupSummary(group, summary(answers[group], sent=sent[group])) for group in groups]
