"""Survey score arithmetic: CSAT, NPS, CES, response rate and follow-up triggers.

Pure functions over scores and answers, with no I/O, so the summary endpoint, the Prometheus gauges and the
follow-up policy all compute the same numbers from the same rules.

Conventions, chosen once here so every caller reports the same thing:

- CSAT and the response rate are shares between 0.0 and 1.0 (the Prometheus convention for ratios); NPS is
  in points from -100 to 100, as the industry quotes it; CES is a mean on its own 1 to 7 scale.
- An empty population has no score: the functions return ``None`` rather than 0, because "nobody answered"
  is not the same as "everybody was unhappy", and a dashboard must be able to tell the two apart.
- Scores outside a kind's scale raise ``ValueError`` instead of being clamped or skipped: a stray value means
  a bug upstream (a CSAT answer filed as NPS, say) and silently dropping it would skew the score.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from helpdesk_events import SurveyKind

SCALES: Mapping[SurveyKind, tuple[int, int]] = {
    SurveyKind.CSAT: (1, 5),
    SurveyKind.NPS: (0, 10),
    SurveyKind.CES: (1, 7),
}
"""Lowest and highest allowed score per survey kind, both inclusive."""

CSAT_SATISFIED = 4
"""CSAT answers at or above this count as satisfied (4 and 5)."""
CSAT_LOW = 2
"""CSAT answers at or below this trigger follow-up (1 and 2)."""
NPS_PROMOTER = 9
"""NPS answers at or above this are promoters (9 and 10)."""
NPS_DETRACTOR = 6
"""NPS answers at or below this are detractors (0 to 6); passives (7 and 8) count only in the total."""
CES_HIGH_EFFORT = 6
"""CES answers at or above this mean the customer had to work hard (6 and 7): effort, so high is bad."""


def validate_score(kind: SurveyKind, score: int) -> int:
    """Return ``score`` if it is on ``kind``'s scale, else raise ``ValueError`` naming the allowed range.

    Booleans are refused although Python treats them as ints: ``True`` as a rating is always a bug.
    """
    kind = SurveyKind(kind)
    low, high = SCALES[kind]
    if isinstance(score, bool) or not isinstance(score, int):
        raise ValueError(
            f"{kind.value.upper()} score must be a whole number from {low} to {high}, got {score!r}"
        )
    if not low <= score <= high:
        raise ValueError(f"{kind.value.upper()} score must be from {low} to {high}, got {score}")
    return score


def _validated(kind: SurveyKind, scores: Iterable[int]) -> list[int]:
    return [validate_score(kind, score) for score in scores]


def csat(scores: Iterable[int]) -> float | None:
    """Share of satisfied answers (4 and 5) among CSAT answers, from 0.0 to 1.0; ``None`` if none."""
    answers = _validated(SurveyKind.CSAT, scores)
    if not answers:
        return None
    return sum(1 for score in answers if score >= CSAT_SATISFIED) / len(answers)


def nps(scores: Iterable[int]) -> float | None:
    """Net Promoter Score: % promoters (9-10) minus % detractors (0-6), from -100 to 100; ``None`` if empty.

    Passives (7-8) are in the denominator but in neither group, which is why NPS can move when only passives
    are added.
    """
    answers = _validated(SurveyKind.NPS, scores)
    if not answers:
        return None
    promoters = sum(1 for score in answers if score >= NPS_PROMOTER)
    detractors = sum(1 for score in answers if score <= NPS_DETRACTOR)
    return 100 * (promoters - detractors) / len(answers)


def ces(scores: Iterable[int]) -> float | None:
    """Customer Effort Score: the mean answer, 1 to 7 (higher is more effort, so worse); ``None`` if empty."""
    answers = _validated(SurveyKind.CES, scores)
    if not answers:
        return None
    return sum(answers) / len(answers)


def response_rate(answered: int, sent: int) -> float | None:
    """Share of sent surveys that were answered, from 0.0 to 1.0; ``None`` if no survey was sent.

    ``answered`` must count surveys (not answers: a changed answer is one survey) from the same population
    as ``sent``; more answered than sent, or negative counts, raise ``ValueError``: the rate would be a lie.
    """
    if answered < 0 or sent < 0:
        raise ValueError(f"survey counts cannot be negative, got answered={answered}, sent={sent}")
    if answered > sent:
        raise ValueError(f"more surveys answered ({answered}) than sent ({sent})")
    if sent == 0:
        return None
    return answered / sent


def is_low(kind: SurveyKind, score: int) -> bool:
    """Whether an answer should trigger follow-up (team lead notified, ticket perhaps reopened).

    Low means: CSAT 1-2, NPS detractor (0-6), or CES 6-7. CES measures *effort*, so on that scale a high
    number is the bad one: 6 and 7 mean the customer struggled.
    """
    kind = SurveyKind(kind)
    validate_score(kind, score)
    if kind is SurveyKind.CSAT:
        return score <= CSAT_LOW
    if kind is SurveyKind.NPS:
        return score <= NPS_DETRACTOR
    return score >= CES_HIGH_EFFORT


def is_praise(kind: SurveyKind, score: int, comment: str | None) -> bool:
    """Whether an answer becomes a Slack shout-out: CSAT 4-5 or NPS 9-10 with a comment that is not blank.

    A bare high score is not shared, since a shout-out needs words to quote. CES never counts: low effort is
    good service, but it is not praise of the agent.
    """
    kind = SurveyKind(kind)
    validate_score(kind, score)
    if comment is None or not comment.strip():
        return False
    if kind is SurveyKind.CSAT:
        return score >= CSAT_SATISFIED
    if kind is SurveyKind.NPS:
        return score >= NPS_PROMOTER
    return False


class DatedAnswer(Protocol):
    """What ``latest_answers`` needs from an answer (a stored record, an event payload, ``SurveyAnswer``)."""

    @property
    def survey_id(self) -> str: ...

    @property
    def answered_at(self) -> datetime: ...


class Answer(DatedAnswer, Protocol):
    """What ``summary`` needs from an answer."""

    @property
    def kind(self) -> SurveyKind: ...

    @property
    def score(self) -> int: ...


@dataclass(frozen=True)
class SurveyAnswer:
    """One answer to a survey; a changed answer is a new ``SurveyAnswer`` for the same survey."""

    survey_id: str
    kind: SurveyKind
    score: int
    answered_at: datetime
    comment: str | None = None


AnswerT = TypeVar("AnswerT", bound=DatedAnswer)


def latest_answers(answers: Iterable[AnswerT]) -> list[AnswerT]:
    """Keep only the latest answer per survey, so a customer who changed their mind counts once.

    The latest is the one with the greatest ``answered_at``; on a tie the one given last wins, so replaying
    the history in stored order is deterministic. Surveys come out in the order they first appear.
    ``answered_at`` values must be comparable (all timezone-aware, or all naive).
    """
    latest: dict[str, AnswerT] = {}
    for answer in answers:
        current = latest.get(answer.survey_id)
        if current is None or answer.answered_at >= current.answered_at:
            latest[answer.survey_id] = answer
    return list(latest.values())


@dataclass(frozen=True)
class KindSummary:
    """The numbers for one survey kind: its score, the response rate and how many answers need follow-up."""

    kind: SurveyKind
    sent: int
    answered: int
    score: float | None
    """CSAT share (0-1), NPS points (-100 to 100) or CES mean (1-7); ``None`` when nobody answered."""
    response_rate: float | None
    low: int
    """Answers that trigger follow-up (see ``is_low``)."""


@dataclass(frozen=True)
class Summary:
    """Scores for every survey kind over one population of surveys (an agent, a team, a channel, a period)."""

    csat: KindSummary
    nps: KindSummary
    ces: KindSummary

    def __getitem__(self, kind: SurveyKind) -> KindSummary:
        return {SurveyKind.CSAT: self.csat, SurveyKind.NPS: self.nps, SurveyKind.CES: self.ces}[
            SurveyKind(kind)
        ]


_SCORE_OF_KIND = {SurveyKind.CSAT: csat, SurveyKind.NPS: nps, SurveyKind.CES: ces}


def summary(answers: Iterable[Answer], *, sent: Mapping[SurveyKind, int]) -> Summary:
    """Summarise answers per kind, counting only the latest answer of each survey.

    ``sent`` is the number of surveys of each kind sent to the same population (a missing kind means none);
    it must cover every answered survey, or the response rate raises ``ValueError``.
    """
    by_kind: dict[SurveyKind, list[int]] = {kind: [] for kind in SurveyKind}
    for answer in latest_answers(answers):
        by_kind[SurveyKind(answer.kind)].append(answer.score)

    def of(kind: SurveyKind) -> KindSummary:
        scores: Sequence[int] = by_kind[kind]
        sent_of_kind = sent.get(kind, 0)
        return KindSummary(
            kind=kind,
            sent=sent_of_kind,
            answered=len(scores),
            score=_SCORE_OF_KIND[kind](scores),
            response_rate=response_rate(len(scores), sent_of_kind),
            low=sum(1 for score in scores if is_low(kind, score)),
        )

    return Summary(csat=of(SurveyKind.CSAT), nps=of(SurveyKind.NPS), ces=of(SurveyKind.CES))
