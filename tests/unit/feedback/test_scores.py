"""Score arithmetic worked out by hand, empty populations, scale bounds, and the latest answer winning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_events import SurveyKind
from helpdesk_feedback.scores import (
    SCALES,
    SurveyAnswer,
    ces,
    csat,
    is_low,
    is_praise,
    latest_answers,
    nps,
    response_rate,
    summary,
    validate_score,
)

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def answer(survey_id: str, kind: SurveyKind, score: int, minutes: int = 0) -> SurveyAnswer:
    return SurveyAnswer(
        survey_id=survey_id, kind=kind, score=score, answered_at=T0 + timedelta(minutes=minutes)
    )


def scores_of(kind: SurveyKind) -> st.SearchStrategy[int]:
    low, high = SCALES[kind]
    return st.integers(min_value=low, max_value=high)


# --- validate_score ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "low", "high"),
    [(SurveyKind.CSAT, 1, 5), (SurveyKind.NPS, 0, 10), (SurveyKind.CES, 1, 7)],
)
def test_each_kind_accepts_its_scale_and_refuses_one_past_each_end(
    kind: SurveyKind, low: int, high: int
) -> None:
    assert validate_score(kind, low) == low
    assert validate_score(kind, high) == high
    for outside in (low - 1, high + 1):
        with pytest.raises(ValueError, match=f"from {low} to {high}"):
            validate_score(kind, outside)


@pytest.mark.parametrize("not_a_score", [True, 3.0, "4", None])
def test_a_score_must_be_a_whole_number(not_a_score: object) -> None:
    with pytest.raises(ValueError, match="from 1 to 5"):
        validate_score(SurveyKind.CSAT, not_a_score)  # type: ignore[arg-type]


def test_kind_given_as_its_string_value_is_understood() -> None:
    assert validate_score("nps", 0) == 0  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        validate_score("ces", 0)  # type: ignore[arg-type]


# --- csat / nps / ces / response rate by hand ---------------------------------------------------------------


def test_csat_is_the_share_of_fours_and_fives() -> None:
    # 4, 5, 5 satisfied; 1, 2, 3 not: 3 of 6.
    assert csat([1, 2, 3, 4, 5, 5]) == 0.5
    assert csat([3, 3, 3, 4]) == 0.25
    assert csat([5]) == 1.0
    assert csat([3]) == 0.0


def test_nps_is_promoters_minus_detractors_in_points() -> None:
    # promoters 9, 10, 10 (3); passives 7, 8 (2); detractors 0, 6 (2); 7 answers: (3 - 2) / 7 * 100.
    assert nps([9, 10, 10, 7, 8, 0, 6]) == pytest.approx(100 / 7)
    assert nps([10, 10]) == 100.0
    assert nps([0, 6]) == -100.0
    assert nps([7, 8]) == 0.0
    # one promoter, three detractors of four: (1 - 3) / 4 = -50.
    assert nps([9, 1, 2, 3]) == -50.0


def test_passives_dilute_nps() -> None:
    assert nps([10, 0, 10]) == pytest.approx(100 / 3)
    assert nps([10, 0, 10, 8]) == 25.0


def test_ces_is_the_mean() -> None:
    assert ces([1, 2, 6]) == 3.0
    assert ces([7, 6]) == 6.5
    assert ces([4]) == 4.0


def test_response_rate_is_answered_over_sent() -> None:
    assert response_rate(3, 12) == 0.25
    assert response_rate(0, 5) == 0.0
    assert response_rate(5, 5) == 1.0


@pytest.mark.parametrize("score", [csat, nps, ces])
def test_no_answers_means_no_score(score) -> None:  # type: ignore[no-untyped-def]
    assert score([]) is None
    assert score(iter([])) is None


def test_no_survey_sent_means_no_response_rate() -> None:
    assert response_rate(0, 0) is None


@pytest.mark.parametrize(("answered", "sent"), [(6, 5), (1, 0), (-1, 3), (0, -1)])
def test_impossible_counts_are_refused(answered: int, sent: int) -> None:
    with pytest.raises(ValueError):
        response_rate(answered, sent)


@pytest.mark.parametrize(("score", "stray"), [(csat, 0), (csat, 6), (nps, -1), (nps, 11), (ces, 0), (ces, 8)])
def test_a_stray_score_is_refused_not_skipped(score, stray: int) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        score([3, stray])


def test_scores_accept_any_iterable() -> None:
    assert csat(s for s in (4, 1)) == 0.5


# --- properties ---------------------------------------------------------------------------------------------


@given(st.lists(scores_of(SurveyKind.NPS), min_size=1))
def test_nps_stays_between_minus_and_plus_one_hundred(scores: list[int]) -> None:
    value = nps(scores)
    assert value is not None
    assert -100 <= value <= 100


@given(st.lists(scores_of(SurveyKind.NPS), min_size=1))
def test_nps_matches_counting_each_group(scores: list[int]) -> None:
    promoters = len([s for s in scores if s in (9, 10)])
    detractors = len([s for s in scores if s <= 6])
    assert nps(scores) == pytest.approx((promoters - detractors) * 100 / len(scores))


@given(st.lists(scores_of(SurveyKind.CSAT), min_size=1))
def test_csat_is_a_share_and_ignores_order(scores: list[int]) -> None:
    value = csat(scores)
    assert value is not None and 0 <= value <= 1
    assert csat(sorted(scores)) == value


@given(st.lists(scores_of(SurveyKind.CES), min_size=1))
def test_ces_lies_within_the_answers(scores: list[int]) -> None:
    value = ces(scores)
    assert value is not None
    assert min(scores) <= value <= max(scores)


@given(st.integers(min_value=0, max_value=500), st.integers(min_value=0, max_value=500))
def test_response_rate_is_a_share(answered: int, sent: int) -> None:
    if answered > sent:
        with pytest.raises(ValueError):
            response_rate(answered, sent)
    elif sent == 0:
        assert response_rate(answered, sent) is None
    else:
        rate = response_rate(answered, sent)
        assert rate is not None and 0 <= rate <= 1


# --- follow-up and shout-outs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "low_scores"),
    [(SurveyKind.CSAT, {1, 2}), (SurveyKind.NPS, {0, 1, 2, 3, 4, 5, 6}), (SurveyKind.CES, {6, 7})],
)
def test_low_scores_per_kind(kind: SurveyKind, low_scores: set[int]) -> None:
    low, high = SCALES[kind]
    assert {score for score in range(low, high + 1) if is_low(kind, score)} == low_scores


def test_is_low_refuses_a_score_off_the_scale() -> None:
    with pytest.raises(ValueError):
        is_low(SurveyKind.CSAT, 0)


@pytest.mark.parametrize(
    ("kind", "praised"),
    [(SurveyKind.CSAT, {4, 5}), (SurveyKind.NPS, {9, 10}), (SurveyKind.CES, set())],
)
def test_praise_needs_a_high_score_and_a_comment(kind: SurveyKind, praised: set[int]) -> None:
    low, high = SCALES[kind]
    scale = range(low, high + 1)
    assert {score for score in scale if is_praise(kind, score, "Sam sorted it in minutes!")} == praised
    for no_words in (None, "", "   \n\t"):
        assert not any(is_praise(kind, score, no_words) for score in scale)


def test_a_low_effort_answer_with_kind_words_is_still_not_praise() -> None:
    assert not is_praise(SurveyKind.CES, 1, "so easy, thank you")


def test_is_praise_refuses_a_score_off_the_scale() -> None:
    with pytest.raises(ValueError):
        is_praise(SurveyKind.NPS, 11, "great")


# --- latest answers -----------------------------------------------------------------------------------------


def test_a_changed_answer_counts_once_and_the_latest_wins() -> None:
    first = answer("s-1", SurveyKind.CSAT, 1, minutes=0)
    changed = answer("s-1", SurveyKind.CSAT, 5, minutes=10)
    other = answer("s-2", SurveyKind.CSAT, 3, minutes=5)
    assert latest_answers([first, other, changed]) == [changed, other]
    # Order of arrival does not matter: the later answered_at wins.
    assert latest_answers([changed, other, first]) == [changed, other]


def test_on_a_tie_the_answer_given_last_wins() -> None:
    one = answer("s-1", SurveyKind.NPS, 3)
    two = answer("s-1", SurveyKind.NPS, 9)
    assert latest_answers([one, two]) == [two]
    assert latest_answers([two, one]) == [one]


def test_latest_answers_of_nothing_is_nothing() -> None:
    assert latest_answers([]) == []


@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 1000), scores_of(SurveyKind.NPS)),
        unique_by=lambda row: (row[0], row[1]),
    )
)
def test_latest_answers_keeps_exactly_the_newest_per_survey(rows: list[tuple[str, int, int]]) -> None:
    answers = [answer(survey, SurveyKind.NPS, score, minutes) for survey, minutes, score in rows]
    kept = latest_answers(answers)
    assert sorted(a.survey_id for a in kept) == sorted({a.survey_id for a in answers})
    for survivor in kept:
        assert survivor.answered_at == max(
            a.answered_at for a in answers if a.survey_id == survivor.survey_id
        )


# --- summary ------------------------------------------------------------------------------------------------


def test_summary_per_kind_by_hand() -> None:
    answers = [
        answer("c-1", SurveyKind.CSAT, 2, minutes=0),
        answer("c-1", SurveyKind.CSAT, 4, minutes=30),  # changed its mind: only the 4 counts
        answer("c-2", SurveyKind.CSAT, 1),
        answer("c-3", SurveyKind.CSAT, 5),
        answer("c-4", SurveyKind.CSAT, 3),
        answer("n-1", SurveyKind.NPS, 10),
        answer("n-2", SurveyKind.NPS, 6),
        answer("n-3", SurveyKind.NPS, 8),
    ]
    result = summary(answers, sent={SurveyKind.CSAT: 8, SurveyKind.NPS: 3, SurveyKind.CES: 2})

    assert result.csat.answered == 4
    assert result.csat.score == 0.5  # 4 and 5 of [4, 1, 5, 3]
    assert result.csat.response_rate == 0.5  # 4 of 8
    assert result.csat.low == 1  # the 1; the overwritten 2 no longer counts

    assert result[SurveyKind.NPS].score == 0.0  # one promoter, one detractor, one passive
    assert result.nps.response_rate == 1.0
    assert result.nps.low == 1

    assert result.ces.answered == 0
    assert result.ces.score is None
    assert result.ces.response_rate == 0.0
    assert result.ces.sent == 2


def test_summary_of_nothing_has_no_scores() -> None:
    result = summary([], sent={})
    for kind in SurveyKind:
        assert result[kind].kind is kind
        assert result[kind].score is None
        assert result[kind].response_rate is None
        assert (result[kind].sent, result[kind].answered, result[kind].low) == (0, 0, 0)


def test_summary_refuses_answers_to_surveys_never_counted_as_sent() -> None:
    with pytest.raises(ValueError, match="more surveys answered"):
        summary([answer("c-1", SurveyKind.CSAT, 5)], sent={})


def test_summary_refuses_an_answer_off_its_scale() -> None:
    with pytest.raises(ValueError, match="from 1 to 7"):
        summary([answer("e-1", SurveyKind.CES, 0)], sent={SurveyKind.CES: 1})
