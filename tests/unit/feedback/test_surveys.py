"""A ticket's survey lifecycle: scheduling on solved, withdrawing on reopen, sending, answering within the
change window and before expiry, follow-up once per move into low, comments, and the stored document."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_events import SurveyKind
from helpdesk_feedback.scores import SCALES, is_low
from helpdesk_feedback.surveys import (
    COMMENT_MAX_LENGTH,
    AnswerRefused,
    Survey,
    SurveyAnswer,
    SurveyRules,
    TicketSurvey,
    answer,
    clean_comment,
    is_due,
    on_status,
    send,
    skip,
    survey_id_for,
    why_not_send,
)

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
DELAY = timedelta(hours=1)
LINK_TTL = timedelta(days=7)
WINDOW = timedelta(hours=24)
MICRO = timedelta(microseconds=1)
BACK_TO_WORK = ["new", "open", "pending", "on_hold"]


def ticket(**fields: object) -> TicketSurvey:
    base: dict[str, object] = {
        "ticket_id": "T-1042", "requester_email": "sam@example.com", "subject": "Cannot log in",
        "language": "en", "channel": "email", "team": "support", "agent_id": "agent-ada", "status": "open",
    }  # fmt: skip
    base.update(fields)
    return TicketSurvey(**base)  # type: ignore[arg-type]


def sent(kind: SurveyKind = SurveyKind.CSAT, *, at: datetime = T0, **fields: object) -> TicketSurvey:
    return send(ticket(status="solved", **fields), kind, now=at, link_ttl=LINK_TTL)


def scores_of(kind: SurveyKind) -> st.SearchStrategy[int]:
    low, high = SCALES[kind]
    return st.integers(low, high)


# ---- survey ids --------------------------------------------------------------------------------------------


def test_the_survey_id_follows_from_the_ticket_id() -> None:
    assert survey_id_for("T-1042") == survey_id_for("T-1042")
    assert survey_id_for("T-1042") != survey_id_for("T-1043")
    assert uuid.UUID(survey_id_for("T-1042")).version == 5


def test_a_retried_send_makes_the_same_survey() -> None:
    assert sent().survey == sent().survey
    assert sent().survey.survey_id == survey_id_for("T-1042")  # type: ignore[union-attr]


# ---- Survey ------------------------------------------------------------------------------------------------


def test_latest_is_the_last_answer_taken_or_none() -> None:
    survey = Survey("s-1", SurveyKind.CSAT, sent_at=T0, expires_at=T0 + LINK_TTL)
    assert survey.latest is None
    first, second = SurveyAnswer(5, T0), SurveyAnswer(1, T0 + timedelta(minutes=5), "changed my mind")
    assert replace(survey, answers=(first, second)).latest == second


def test_unanswered_survey_is_open_until_it_expires() -> None:
    survey = Survey("s-1", SurveyKind.CSAT, sent_at=T0, expires_at=T0 + LINK_TTL)
    assert survey.open_until(WINDOW) == T0 + LINK_TTL


def test_answered_survey_is_open_for_the_window_after_the_first_answer() -> None:
    first = SurveyAnswer(5, T0 + timedelta(days=1))
    later = SurveyAnswer(4, T0 + timedelta(days=1, hours=20))
    survey = Survey("s-1", SurveyKind.CSAT, sent_at=T0, expires_at=T0 + LINK_TTL, answers=(first, later))
    # The window counts from the first answer, not from the latest change.
    assert survey.open_until(WINDOW) == first.answered_at + WINDOW


def test_the_change_window_never_outlives_the_links() -> None:
    first = SurveyAnswer(5, T0 + LINK_TTL - timedelta(hours=1))
    survey = Survey("s-1", SurveyKind.CSAT, sent_at=T0, expires_at=T0 + LINK_TTL, answers=(first,))
    assert survey.open_until(WINDOW) == T0 + LINK_TTL


# ---- on_status ---------------------------------------------------------------------------------------------


def test_solved_schedules_the_survey_after_the_delay() -> None:
    solved = on_status(ticket(), "solved", at=T0, delay=DELAY)
    assert (solved.status, solved.due_at, solved.survey) == ("solved", T0 + DELAY, None)


def test_solved_again_clears_an_earlier_reason_for_skipping() -> None:
    skipped = skip(ticket(status="solved", due_at=T0), "the customer was surveyed within the interval")
    solved = on_status(on_status(skipped, "open", at=T0, delay=DELAY), "solved", at=T0 + DELAY, delay=DELAY)
    assert (solved.due_at, solved.skipped) == (T0 + 2 * DELAY, None)


@pytest.mark.parametrize("status", BACK_TO_WORK)
def test_back_to_work_withdraws_a_scheduled_survey(status: str) -> None:
    reopened = on_status(on_status(ticket(), "solved", at=T0, delay=DELAY), status, at=T0, delay=DELAY)
    assert (reopened.status, reopened.due_at) == (status, None)
    assert not is_due(reopened, T0 + 10 * DELAY)


def test_solved_again_after_a_reopen_schedules_anew_from_the_new_time() -> None:
    t = on_status(ticket(), "solved", at=T0, delay=DELAY)
    t = on_status(t, "open", at=T0 + timedelta(minutes=10), delay=DELAY)
    t = on_status(t, "solved", at=T0 + timedelta(hours=5), delay=DELAY)
    assert t.due_at == T0 + timedelta(hours=5) + DELAY


def test_closing_a_solved_ticket_keeps_its_schedule() -> None:
    closed = on_status(on_status(ticket(), "solved", at=T0, delay=DELAY), "closed", at=T0, delay=DELAY)
    assert (closed.status, closed.due_at) == ("closed", T0 + DELAY)
    assert is_due(closed, T0 + DELAY)


def test_solved_after_the_survey_was_sent_schedules_nothing_more() -> None:
    t = sent()
    t = on_status(t, "open", at=T0 + timedelta(days=1), delay=DELAY)
    t = on_status(t, "solved", at=T0 + timedelta(days=2), delay=DELAY)
    assert t.due_at is None
    assert t.survey == sent().survey  # the survey and its answers stay with the ticket
    assert t.status == "solved"


def test_status_change_keeps_what_feedback_knows_of_the_ticket() -> None:
    before = ticket()
    after = on_status(before, "solved", at=T0, delay=DELAY)
    assert replace(after, status=before.status, due_at=None) == before


# A small model of the rules in the module docstring, checked against any sequence of ticket statuses.
@given(
    st.lists(st.sampled_from([*BACK_TO_WORK, "solved", "closed"]), max_size=12),
    st.booleans(),
)
def test_after_any_status_sequence_the_schedule_follows_the_last_solved_and_reopen(
    statuses: list[str], already_sent: bool
) -> None:
    t = sent() if already_sent else ticket(status="new")
    expected_due = None
    for minute, status in enumerate(statuses):
        at = T0 + timedelta(minutes=minute)
        t = on_status(t, status, at=at, delay=DELAY)
        if status == "solved" and not already_sent:
            expected_due = at + DELAY
        elif status in BACK_TO_WORK:
            expected_due = None
        assert t.status == status
    assert t.due_at == expected_due
    assert (t.survey is not None) == already_sent


# ---- is_due / why_not_send / skip --------------------------------------------------------------------------


def test_due_from_due_at_on() -> None:
    scheduled = ticket(status="solved", due_at=T0 + DELAY)
    assert not is_due(scheduled, T0 + DELAY - MICRO)
    assert is_due(scheduled, T0 + DELAY)
    assert is_due(scheduled, T0 + 30 * DELAY)


def test_due_is_compared_across_timezones() -> None:
    scheduled = ticket(status="solved", due_at=T0 + DELAY)
    assert is_due(scheduled, (T0 + DELAY).astimezone(timezone(timedelta(hours=-7))))


def test_never_due_without_a_schedule_or_with_a_survey_already() -> None:
    assert not is_due(ticket(status="solved"), T0 + 1000 * DELAY)
    assert not is_due(replace(sent(), due_at=T0), T0 + DELAY)


def test_a_ticket_with_an_email_and_no_survey_may_be_sent() -> None:
    assert why_not_send(ticket(status="solved", due_at=T0)) is None


@pytest.mark.parametrize("email", [None, ""])
def test_no_survey_without_an_email_address(email: str | None) -> None:
    assert why_not_send(ticket(requester_email=email)) == "the requester has no email address"


def test_no_second_survey_for_a_ticket() -> None:
    assert why_not_send(sent()) == "the ticket already had a survey"
    assert why_not_send(sent(requester_email=None)) == "the ticket already had a survey"


def test_skip_unschedules_and_keeps_the_reason() -> None:
    skipped = skip(ticket(status="solved", due_at=T0), "the requester has no email address")
    assert (skipped.due_at, skipped.skipped, skipped.survey) == (
        None,
        "the requester has no email address",
        None,
    )
    assert not is_due(skipped, T0 + DELAY)


# ---- send --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(SurveyKind))
def test_send_issues_the_survey_expiring_after_the_link_ttl(kind: SurveyKind) -> None:
    scheduled = ticket(status="solved", due_at=T0, skipped="earlier reason")
    done = send(scheduled, kind, now=T0 + DELAY, link_ttl=LINK_TTL)
    assert done.survey == Survey(
        survey_id_for("T-1042"), kind, sent_at=T0 + DELAY, expires_at=T0 + DELAY + LINK_TTL, answers=()
    )
    assert (done.due_at, done.skipped) == (None, None)
    assert replace(done, survey=None, due_at=T0, skipped="earlier reason") == scheduled


# ---- clean_comment -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("blank", [None, "", "   ", "\r\n\t \n"])
def test_a_blank_comment_is_no_comment(blank: str | None) -> None:
    assert clean_comment(blank) is None


def test_comments_are_trimmed_and_windows_newlines_normalized() -> None:
    assert clean_comment("  Thanks,\r\nAda was great!\r\n  ") == "Thanks,\nAda was great!"


def test_a_comment_of_exactly_the_maximum_is_taken_whole() -> None:
    text = "é" * COMMENT_MAX_LENGTH
    assert clean_comment(text) == text
    assert clean_comment(f"  {text}\n") == text  # surrounding blanks are not part of the comment


def test_a_windows_newline_counts_as_one_character() -> None:
    text = "a" * (COMMENT_MAX_LENGTH - 2) + "\r\n" + "b"  # 2001 as sent, 2000 once normalized
    assert clean_comment(text) == "a" * (COMMENT_MAX_LENGTH - 2) + "\nb"


def test_a_comment_one_past_the_maximum_is_refused_not_cut() -> None:
    with pytest.raises(AnswerRefused) as refused:
        clean_comment("x" * (COMMENT_MAX_LENGTH + 1))
    assert refused.value.reason == "comment_too_long"
    assert str(COMMENT_MAX_LENGTH) in str(refused.value)


@given(st.text(max_size=COMMENT_MAX_LENGTH + 50))
def test_a_clean_comment_is_trimmed_and_within_bounds(text: str) -> None:
    try:
        cleaned = clean_comment(text)
    except AnswerRefused as refused:
        assert refused.reason == "comment_too_long"
        assert len(text.replace("\r\n", "\n").strip()) > COMMENT_MAX_LENGTH
        return
    if cleaned is None:
        assert not text.strip()
    else:
        assert cleaned == cleaned.strip() and "\r\n" not in cleaned
        assert 0 < len(cleaned) <= COMMENT_MAX_LENGTH


# ---- answer ------------------------------------------------------------------------------------------------


def test_the_first_answer_is_taken_with_its_comment() -> None:
    taken = answer(sent(), 4, "  Quick fix, thanks \r\n", now=T0 + DELAY, change_window=WINDOW)
    assert taken.answer == SurveyAnswer(4, T0 + DELAY, "Quick fix, thanks")
    assert (taken.revision, taken.previous, taken.follow_up) == (1, None, False)
    assert taken.ticket.survey.answers == (taken.answer,)  # type: ignore[union-attr]
    assert replace(taken.ticket, survey=sent().survey) == sent()


def test_a_changed_answer_keeps_the_history_and_the_latest_counts() -> None:
    first = answer(sent(), 5, None, now=T0 + DELAY, change_window=WINDOW)
    second = answer(first.ticket, 3, "on reflection", now=T0 + 2 * DELAY, change_window=WINDOW)
    assert (second.revision, second.previous) == (2, first.answer)
    survey = second.ticket.survey
    assert survey is not None
    assert [a.score for a in survey.answers] == [5, 3]
    assert survey.latest == SurveyAnswer(3, T0 + 2 * DELAY, "on reflection")


def test_a_ticket_without_a_survey_takes_no_answer() -> None:
    with pytest.raises(AnswerRefused) as refused:
        answer(ticket(status="solved"), 5, None, now=T0, change_window=WINDOW)
    assert refused.value.reason == "unknown"
    assert "T-1042" in str(refused.value)


@pytest.mark.parametrize("kind", list(SurveyKind))
def test_scores_off_the_kinds_scale_are_refused(kind: SurveyKind) -> None:
    low, high = SCALES[kind]
    for score in (low, high):
        assert answer(sent(kind), score, None, now=T0, change_window=WINDOW).answer.score == score
    for score in (low - 1, high + 1):
        with pytest.raises(AnswerRefused) as refused:
            answer(sent(kind), score, None, now=T0, change_window=WINDOW)
        assert refused.value.reason == "score_out_of_range"
        assert f"from {low} to {high}" in str(refused.value)


@pytest.mark.parametrize("not_a_score", [True, 4.0, "4"])
def test_a_score_that_is_not_a_whole_number_is_refused(not_a_score: object) -> None:
    with pytest.raises(AnswerRefused) as refused:
        answer(sent(), not_a_score, None, now=T0, change_window=WINDOW)  # type: ignore[arg-type]
    assert refused.value.reason == "score_out_of_range"


def test_a_too_long_comment_refuses_the_answer() -> None:
    with pytest.raises(AnswerRefused) as refused:
        answer(sent(), 5, "x" * (COMMENT_MAX_LENGTH + 1), now=T0, change_window=WINDOW)
    assert refused.value.reason == "comment_too_long"


def test_a_survey_past_its_expiry_says_so_whatever_the_answer() -> None:
    # Fixing the score or the comment would not help: the customer learns the survey is over.
    late = T0 + LINK_TTL
    for score, comment in ((99, None), (5, "x" * (COMMENT_MAX_LENGTH + 1))):
        with pytest.raises(AnswerRefused) as refused:
            answer(sent(), score, comment, now=late, change_window=WINDOW)
        assert refused.value.reason == "expired"


def test_the_first_answer_is_taken_until_the_last_microsecond_before_expiry() -> None:
    expires = T0 + LINK_TTL
    assert answer(sent(), 5, None, now=expires - MICRO, change_window=WINDOW).revision == 1
    for late in (expires, expires + timedelta(days=30)):
        with pytest.raises(AnswerRefused) as refused:
            answer(sent(), 5, None, now=late, change_window=WINDOW)
        assert refused.value.reason == "expired"


def test_changes_are_taken_within_the_window_after_the_first_answer_only() -> None:
    first = answer(sent(), 5, None, now=T0 + DELAY, change_window=WINDOW).ticket
    second = answer(first, 4, None, now=T0 + DELAY + WINDOW - MICRO, change_window=WINDOW).ticket
    with pytest.raises(AnswerRefused) as refused:
        answer(second, 1, None, now=T0 + DELAY + WINDOW, change_window=WINDOW)
    assert refused.value.reason == "closed"


def test_a_change_after_the_links_expired_is_refused_even_within_the_window() -> None:
    expires = T0 + LINK_TTL
    first = answer(sent(), 5, None, now=expires - timedelta(hours=1), change_window=WINDOW).ticket
    with pytest.raises(AnswerRefused) as refused:
        answer(first, 1, None, now=expires, change_window=WINDOW)
    assert refused.value.reason == "closed"


# ---- follow-up ---------------------------------------------------------------------------------------------


def follow_ups(kind: SurveyKind, scores: list[int]) -> list[bool]:
    t, flags = sent(kind), []
    for minute, score in enumerate(scores):
        taken = answer(t, score, None, now=T0 + timedelta(minutes=minute), change_window=WINDOW)
        t = taken.ticket
        flags.append(taken.follow_up)
    return flags


@pytest.mark.parametrize(
    ("kind", "scores", "expected"),
    [
        (SurveyKind.CSAT, [1], [True]),
        (SurveyKind.CSAT, [3], [False]),
        (SurveyKind.CSAT, [2, 1], [True, False]),  # still low: the team lead is not paged twice
        (SurveyKind.CSAT, [5, 1], [False, True]),
        (SurveyKind.CSAT, [1, 5, 1], [True, False, True]),
        (SurveyKind.CSAT, [1, 3], [True, False]),
        (SurveyKind.NPS, [6, 7, 0], [True, False, True]),
        (SurveyKind.NPS, [9, 8, 7], [False, False, False]),
        (SurveyKind.CES, [1, 6, 7, 2], [False, True, False, False]),  # effort: high is bad
        (SurveyKind.CES, [5, 7], [False, True]),
    ],
)
def test_follow_up_once_each_time_the_answer_becomes_low(
    kind: SurveyKind, scores: list[int], expected: list[bool]
) -> None:
    assert follow_ups(kind, scores) == expected


@given(st.data(), st.sampled_from(list(SurveyKind)))
def test_follow_up_fires_exactly_on_transitions_into_low(data: st.DataObject, kind: SurveyKind) -> None:
    scores = data.draw(st.lists(scores_of(kind), max_size=8), label="scores")
    lows = [is_low(kind, score) for score in scores]
    expected = [low and (i == 0 or not lows[i - 1]) for i, low in enumerate(lows)]
    assert follow_ups(kind, scores) == expected


# ---- the stored document -----------------------------------------------------------------------------------


def answered_ticket() -> TicketSurvey:
    t = answer(sent(SurveyKind.NPS), 3, "slow", now=T0 + DELAY, change_window=WINDOW).ticket
    return answer(t, 9, None, now=T0 + 2 * DELAY, change_window=WINDOW).ticket


def test_the_document_is_plain_json_with_times_as_iso_text() -> None:
    document = answered_ticket().document()
    assert json.loads(json.dumps(document)) == document
    survey = document["survey"]
    assert survey["kind"] == "nps"
    assert survey["sent_at"] == T0.isoformat()
    assert survey["expires_at"] == (T0 + LINK_TTL).isoformat()
    assert survey["answers"] == [
        {"score": 3, "answered_at": (T0 + DELAY).isoformat(), "comment": "slow"},
        {"score": 9, "answered_at": (T0 + 2 * DELAY).isoformat(), "comment": None},
    ]


@pytest.mark.parametrize(
    "original",
    [
        TicketSurvey("T-1"),
        ticket(status="solved", due_at=T0 + DELAY),
        skip(ticket(status="solved", due_at=T0), "the requester has no email address"),
        sent(SurveyKind.CES),
        answered_ticket(),
    ],
    ids=["bare", "scheduled", "skipped", "sent", "answered"],
)
def test_document_round_trip(original: TicketSurvey) -> None:
    assert TicketSurvey.from_document(json.loads(json.dumps(original.document()))) == original


def test_from_document_ignores_store_fields_and_defaults_missing_ones() -> None:
    assert TicketSurvey.from_document({"_id": "T-9", "ticket_id": "T-9", "revision": 4}) == TicketSurvey(
        "T-9"
    )
    raw = sent().document()
    del raw["survey"]["answers"]
    assert TicketSurvey.from_document(raw).survey.answers == ()  # type: ignore[union-attr]


def test_round_trip_keeps_the_instant_and_the_offset() -> None:
    paris = timezone(timedelta(hours=2))
    moment = datetime(2024, 5, 1, 11, 0, 0, 123456, tzinfo=paris)
    back = TicketSurvey.from_document(ticket(due_at=moment).document()).due_at
    assert back == moment
    assert back is not None and back.utcoffset() == timedelta(hours=2) and back.microsecond == 123456


offsets = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
moments = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC) | offsets
)
optional_text = st.none() | st.text(max_size=30)


@st.composite
def surveys_(draw: st.DrawFn) -> Survey:
    kind = draw(st.sampled_from(list(SurveyKind)))
    answers = draw(
        st.lists(st.builds(SurveyAnswer, scores_of(kind), moments, optional_text), max_size=4).map(tuple)
    )
    return Survey(draw(st.text(min_size=1, max_size=40)), kind, draw(moments), draw(moments), answers)


tickets = st.builds(
    TicketSurvey,
    ticket_id=st.text(min_size=1, max_size=40),
    requester_email=optional_text,
    subject=optional_text,
    language=optional_text,
    channel=optional_text,
    team=optional_text,
    agent_id=optional_text,
    status=st.none() | st.sampled_from(["new", "open", "pending", "on_hold", "solved", "closed"]),
    due_at=st.none() | moments,
    survey=st.none() | surveys_(),
    skipped=optional_text,
)


@given(tickets)
def test_any_ticket_survey_round_trips_through_its_json_document(original: TicketSurvey) -> None:
    text = json.dumps(original.document())
    back = TicketSurvey.from_document(json.loads(text))
    assert back == original
    assert back.document() == original.document()  # same offsets too, not only the same instants


# ---- SurveyRules -------------------------------------------------------------------------------------------


RULES = SurveyRules(
    default_kind=SurveyKind.CSAT,
    kinds_by_channel={"chat": SurveyKind.CES},
    kinds_by_team={"sales": SurveyKind.NPS},
    reopen_on_low_score=False,
    reopen_by_team={"billing": True, "vip": False},
)


@pytest.mark.parametrize(
    ("team", "channel", "kind"),
    [
        ("sales", "chat", SurveyKind.NPS),  # the team's choice wins over its channel's
        ("sales", "email", SurveyKind.NPS),
        ("support", "chat", SurveyKind.CES),  # a team without a choice falls back to the channel
        (None, "chat", SurveyKind.CES),
        (None, None, SurveyKind.CSAT),
        ("support", "email", SurveyKind.CSAT),
    ],
)
def test_kind_for_prefers_team_then_channel_then_default(
    team: str | None, channel: str | None, kind: SurveyKind
) -> None:
    assert RULES.kind_for(ticket(team=team, channel=channel)) is kind


def test_default_rules_give_everyone_csat_and_never_reopen() -> None:
    rules = SurveyRules()
    assert rules.kind_for(ticket(team="sales", channel="chat")) is SurveyKind.CSAT
    assert not rules.reopens("billing") and not rules.reopens(None)


@pytest.mark.parametrize(
    ("default", "team", "reopens"),
    [
        (False, "billing", True),
        (False, "support", False),
        (False, None, False),
        (True, "vip", False),  # a team's explicit no wins over the default yes
        (True, "support", True),
        (True, None, True),
    ],
)
def test_reopens_prefers_the_teams_setting(default: bool, team: str | None, reopens: bool) -> None:
    assert replace(RULES, reopen_on_low_score=default).reopens(team) is reopens
