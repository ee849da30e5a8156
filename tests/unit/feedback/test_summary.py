"""Scores by agent, team and channel: worked out by hand, the latest answer of each survey counting once,
groups sorted with the group-less last, and properties over any answers and changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_events import SurveyKind
from helpdesk_feedback.scores import SCALES, is_low
from helpdesk_feedback.summary import GROUP_BYS, GroupSummary, summarize
from helpdesk_feedback.surveys import TicketSurvey, answer, send

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
LINK_TTL = timedelta(days=7)
WINDOW = timedelta(days=1)


def surveyed(
    ticket_id: str,
    kind: SurveyKind,
    scores: list[int],
    *,
    agent: str | None = None,
    team: str | None = None,
    channel: str | None = None,
) -> TicketSurvey:
    """A ticket surveyed at T0 and answered `scores` in turn, each a change of the one before."""
    t = TicketSurvey(ticket_id, requester_email="sam@example.com", channel=channel, team=team, agent_id=agent)
    t = send(t, kind, now=T0, link_ttl=LINK_TTL)
    for minute, score in enumerate(scores, start=1):
        t = answer(t, score, None, now=T0 + timedelta(minutes=minute), change_window=WINDOW).ticket
    return t


# T1-T3 agent ada (support), T4-T5 agent bo (sales), T6 nobody's; T7 was solved but not surveyed yet.
TICKETS = [
    surveyed("T1", SurveyKind.CSAT, [2, 4], agent="ada", team="support", channel="email"),
    surveyed("T2", SurveyKind.CSAT, [5], agent="ada", team="support", channel="chat"),
    surveyed("T3", SurveyKind.CSAT, [], agent="ada", team="support", channel="email"),
    surveyed("T4", SurveyKind.NPS, [10, 3], agent="bo", team="sales", channel="email"),
    surveyed("T5", SurveyKind.NPS, [9], agent="bo", team="sales", channel="chat"),
    surveyed("T6", SurveyKind.CES, [6], channel="chat"),
    TicketSurvey("T7", agent_id="ada", team="support", status="solved", due_at=T0),
]


def numbers(group: GroupSummary, kind: SurveyKind) -> tuple[int, int, float | None, float | None, int]:
    k = group.scores[kind]
    return k.sent, k.answered, k.score, k.response_rate, k.low


def test_by_agent_worked_out_by_hand() -> None:
    ada, bo, nobody = summarize(TICKETS, "agent")
    assert (ada.group, bo.group, nobody.group) == ("ada", "bo", None)
    # ada: CSAT sent 3, answered 2 (T1's latest 4, T2's 5), both satisfied; T1's first 2 no longer counts.
    assert numbers(ada, SurveyKind.CSAT) == (3, 2, 1.0, pytest.approx(2 / 3), 0)
    assert numbers(ada, SurveyKind.NPS) == (0, 0, None, None, 0)
    assert numbers(ada, SurveyKind.CES) == (0, 0, None, None, 0)
    # bo: NPS 3 (detractor, changed from 10) and 9 (promoter): 50% - 50% = 0 points.
    assert numbers(bo, SurveyKind.NPS) == (2, 2, 0.0, 1.0, 1)
    assert numbers(bo, SurveyKind.CSAT) == (0, 0, None, None, 0)
    # nobody: one CES 6, high effort.
    assert numbers(nobody, SurveyKind.CES) == (1, 1, 6.0, 1.0, 1)


def test_by_team_sorted_with_the_teamless_last() -> None:
    groups = summarize(TICKETS, "team")
    assert [g.group for g in groups] == ["sales", "support", None]
    assert numbers(groups[1], SurveyKind.CSAT) == (3, 2, 1.0, pytest.approx(2 / 3), 0)
    assert numbers(groups[0], SurveyKind.NPS) == (2, 2, 0.0, 1.0, 1)


def test_by_channel() -> None:
    chat, email = summarize(TICKETS, "channel")
    assert (chat.group, email.group) == ("chat", "email")
    assert numbers(chat, SurveyKind.CSAT) == (1, 1, 1.0, 1.0, 0)
    assert numbers(chat, SurveyKind.NPS) == (1, 1, 100.0, 1.0, 0)
    assert numbers(chat, SurveyKind.CES) == (1, 1, 6.0, 1.0, 1)
    assert numbers(email, SurveyKind.CSAT) == (2, 1, 1.0, 0.5, 0)
    assert numbers(email, SurveyKind.NPS) == (1, 1, -100.0, 1.0, 1)
    assert numbers(email, SurveyKind.CES) == (0, 0, None, None, 0)


def test_without_group_by_one_summary_for_the_whole_period() -> None:
    (everything,) = summarize(TICKETS)
    assert everything.group is None
    assert numbers(everything, SurveyKind.CSAT) == (3, 2, 1.0, pytest.approx(2 / 3), 0)
    assert numbers(everything, SurveyKind.NPS) == (2, 2, 0.0, 1.0, 1)
    assert numbers(everything, SurveyKind.CES) == (1, 1, 6.0, 1.0, 1)


def test_an_empty_period_has_one_empty_summary_or_no_groups() -> None:
    (everything,) = summarize([])
    assert everything.group is None
    for kind in SurveyKind:
        assert numbers(everything, kind) == (0, 0, None, None, 0)
    for group_by in GROUP_BYS:
        assert summarize([], group_by) == []  # type: ignore[arg-type]


def test_tickets_without_a_survey_count_nowhere() -> None:
    unsurveyed = [TicketSurvey("T8", agent_id="cy", status="solved", due_at=T0), TicketSurvey("T9")]
    assert summarize(unsurveyed, "agent") == []
    assert [g.group for g in summarize([*TICKETS, *unsurveyed], "agent")] == ["ada", "bo", None]


def test_the_latest_answer_counts_not_the_first_nor_the_worst() -> None:
    (changed_down,) = summarize([surveyed("T1", SurveyKind.CSAT, [5, 1])])
    assert numbers(changed_down, SurveyKind.CSAT) == (1, 1, 0.0, 1.0, 1)
    (changed_up,) = summarize([surveyed("T1", SurveyKind.CSAT, [1, 2, 5])])
    assert numbers(changed_up, SurveyKind.CSAT) == (1, 1, 1.0, 1.0, 0)


def test_groups_are_sorted_by_name() -> None:
    tickets = [surveyed(f"T{n}", SurveyKind.CSAT, [5], agent=agent) for n, agent in enumerate("zbay")]
    assert [g.group for g in summarize(tickets, "agent")] == ["a", "b", "y", "z"]


# ---- properties --------------------------------------------------------------------------------------------


@st.composite
def surveyed_tickets(draw: st.DrawFn, ticket_id: str) -> TicketSurvey:
    kind = draw(st.sampled_from(list(SurveyKind)))
    low, high = SCALES[kind]
    pick = st.none() | st.sampled_from(["a", "b", "c"])
    scores = draw(st.lists(st.integers(low, high), max_size=5))
    return surveyed(ticket_id, kind, scores, agent=draw(pick), team=draw(pick), channel=draw(pick))


@st.composite
def periods(draw: st.DrawFn) -> list[TicketSurvey]:
    """Tickets of a period, some surveyed (with any answers and changes), some not yet."""
    count = draw(st.integers(0, 12))
    return [
        draw(surveyed_tickets(f"T{i}")) if draw(st.booleans()) else TicketSurvey(f"T{i}")
        for i in range(count)
    ]


@given(periods(), st.sampled_from([None, *GROUP_BYS]))
def test_one_latest_answer_per_survey_and_response_rates_never_above_one(
    tickets: list[TicketSurvey], group_by: str | None
) -> None:
    groups = summarize(tickets, group_by)  # type: ignore[arg-type]
    surveys = [t.survey for t in tickets if t.survey is not None]
    answered = [s for s in surveys if s.answers]
    kinds = list(SurveyKind)
    assert sum(g.scores[k].sent for g in groups for k in kinds) == len(surveys)
    assert sum(g.scores[k].answered for g in groups for k in kinds) == len(answered)
    assert sum(g.scores[k].low for g in groups for k in kinds) == sum(
        is_low(s.kind, s.answers[-1].score) for s in answered
    )
    for group in groups:
        for kind in kinds:
            numbers_ = group.scores[kind]
            assert 0 <= numbers_.answered <= numbers_.sent
            assert (numbers_.response_rate is None) == (numbers_.sent == 0)
            assert numbers_.response_rate is None or 0.0 <= numbers_.response_rate <= 1.0
            assert (numbers_.score is None) == (numbers_.answered == 0)
    names = [g.group for g in groups]
    assert len(set(names)) == len(names)
    assert names == sorted(names, key=lambda name: (name is None, name or ""))


@given(periods(), st.sampled_from(GROUP_BYS))
def test_grouping_splits_the_period_without_losing_or_adding_surveys(
    tickets: list[TicketSurvey], group_by: str
) -> None:
    (everything,) = summarize(tickets)
    groups = summarize(tickets, group_by)  # type: ignore[arg-type]
    for kind in SurveyKind:
        for count in ("sent", "answered", "low"):
            assert sum(getattr(g.scores[kind], count) for g in groups) == getattr(
                everything.scores[kind], count
            )
    field = {"agent": "agent_id", "team": "team", "channel": "channel"}[group_by]
    assert {g.group for g in groups} == {getattr(t, field) for t in tickets if t.survey is not None}
