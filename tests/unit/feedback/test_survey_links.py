"""Survey email links: the page link and one one-click link per score, each token verified back to its
ticket, survey, score and expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_events import RatingLink, SurveyKind
from helpdesk_feedback.scores import SCALES
from helpdesk_feedback.survey_links import SURVEY_PATH, SurveyLinks
from helpdesk_feedback.surveys import Survey, TicketSurvey, send
from helpdesk_feedback.tokens import SurveyClaim, TokenExpired, TokenInvalid, verify

SECRET = b"current-secret-0123456789abcdef!"
PUBLIC_URL = "https://feedback.example.com"
LINKS = SurveyLinks(public_url=PUBLIC_URL, secret=SECRET)
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
LINK_TTL = timedelta(days=7)


def survey_of(ticket_id: str = "T-1042", kind: SurveyKind = SurveyKind.CSAT) -> Survey:
    sent = send(TicketSurvey(ticket_id, requester_email="sam@example.com"), kind, now=T0, link_ttl=LINK_TTL)
    assert sent.survey is not None
    return sent.survey


def claim_of(url: str, *, now: datetime = T0, secrets: object = SECRET) -> SurveyClaim:
    prefix = f"{PUBLIC_URL}{SURVEY_PATH}/"
    assert url.startswith(prefix)
    token = url.removeprefix(prefix)
    assert "/" not in token and "?" not in token
    return verify(secrets, token, now=now)  # type: ignore[arg-type]


# ---- the survey page ---------------------------------------------------------------------------------------


def test_the_page_link_carries_the_ticket_and_survey_until_the_survey_expires() -> None:
    survey = survey_of()
    assert claim_of(LINKS.page("T-1042", survey)) == SurveyClaim(
        ticket_id="T-1042", survey_id=survey.survey_id, expires_at=T0 + LINK_TTL, score=None
    )


def test_a_page_link_with_a_score_carries_it() -> None:
    assert claim_of(LINKS.page("T-1042", survey_of(), 3)).score == 3


def test_the_links_expire_with_the_survey() -> None:
    url = LINKS.page("T-1042", survey_of())
    assert claim_of(url, now=T0 + LINK_TTL - timedelta(microseconds=1)).ticket_id == "T-1042"
    with pytest.raises(TokenExpired):
        claim_of(url, now=T0 + LINK_TTL)


def test_links_are_signed_with_the_current_secret() -> None:
    url = LINKS.page("T-1042", survey_of())
    with pytest.raises(TokenInvalid):
        claim_of(url, secrets=b"another-secret-0123456789abcdef!")
    # After a rotation the old secret still verifies until the links expire.
    assert claim_of(url, secrets=[b"next-secret-0123456789abcdefghi!", SECRET]).ticket_id == "T-1042"


def test_each_ticket_gets_its_own_link() -> None:
    assert LINKS.page("T-1042", survey_of("T-1042")) != LINKS.page("T-1043", survey_of("T-1043"))


def test_the_public_url_may_have_a_path() -> None:
    links = SurveyLinks(public_url="https://help.example.com/feedback", secret=SECRET)
    assert links.page("T-1042", survey_of()).startswith(f"https://help.example.com/feedback{SURVEY_PATH}/")


def test_a_survey_with_a_naive_expiry_makes_no_link() -> None:
    survey = Survey("s-1", SurveyKind.CSAT, sent_at=T0, expires_at=datetime(2024, 5, 8, 9, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        LINKS.page("T-1042", survey)


# ---- one-click ratings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "scores"),
    [(SurveyKind.CSAT, range(1, 6)), (SurveyKind.NPS, range(11)), (SurveyKind.CES, range(1, 8))],
)
def test_one_rating_link_per_score_of_the_kinds_scale(kind: SurveyKind, scores: range) -> None:
    survey = survey_of(kind=kind)
    ratings = LINKS.ratings("T-1042", survey)
    assert all(isinstance(rating, RatingLink) for rating in ratings)
    assert [rating.score for rating in ratings] == list(scores)
    assert len({rating.url for rating in ratings}) == len(ratings)
    for rating in ratings:
        assert claim_of(rating.url) == SurveyClaim("T-1042", survey.survey_id, T0 + LINK_TTL, rating.score)


def test_a_rating_link_is_the_page_link_with_its_score() -> None:
    survey = survey_of()
    for rating in LINKS.ratings("T-1042", survey):
        assert rating.url == LINKS.page("T-1042", survey, rating.score)
        assert rating.url != LINKS.page("T-1042", survey)


@given(st.text(min_size=1, max_size=80), st.sampled_from(list(SurveyKind)))
def test_any_ticket_id_and_kind_give_verifiable_links(ticket_id: str, kind: SurveyKind) -> None:
    survey = survey_of(ticket_id, kind)
    low, high = SCALES[kind]
    page = claim_of(LINKS.page(ticket_id, survey))
    assert (page.ticket_id, page.survey_id, page.score) == (ticket_id, survey.survey_id, None)
    claims = [claim_of(rating.url) for rating in LINKS.ratings(ticket_id, survey)]
    assert [claim.score for claim in claims] == list(range(low, high + 1))
    assert {(claim.ticket_id, claim.survey_id, claim.expires_at) for claim in claims} == {
        (ticket_id, survey.survey_id, T0 + LINK_TTL)
    }
