"""The ticket lifecycle rules every channel shares: transitions, replies, customer follow-ups."""

from __future__ import annotations

import pytest

from helpdesk_events import TicketStatus as S
from helpdesk_intake.ticket_rules import (
    TRANSITIONS,
    ActionRefused,
    StatusChange,
    after_agent_message,
    after_customer_message,
    ensure_answerable,
    status_change,
)

ALLOWED = {(current, target) for current, targets in TRANSITIONS.items() for target in targets}
PAIRS = [(current, target) for current in S for target in S if current != target]


def test_the_transition_table() -> None:
    assert ALLOWED == {
        (S.NEW, S.OPEN), (S.NEW, S.PENDING), (S.NEW, S.ON_HOLD), (S.NEW, S.SOLVED),
        (S.OPEN, S.PENDING), (S.OPEN, S.ON_HOLD), (S.OPEN, S.SOLVED),
        (S.PENDING, S.OPEN), (S.PENDING, S.ON_HOLD), (S.PENDING, S.SOLVED),
        (S.ON_HOLD, S.OPEN), (S.ON_HOLD, S.PENDING), (S.ON_HOLD, S.SOLVED),
        (S.SOLVED, S.OPEN), (S.SOLVED, S.CLOSED),
    }  # fmt: skip


@pytest.mark.parametrize(("current", "target"), PAIRS)
def test_a_status_change_follows_the_table_or_says_why_not(current: S, target: S) -> None:
    if (current, target) in ALLOWED:
        assert status_change(current, target) == StatusChange(current, target)
    else:
        with pytest.raises(ActionRefused, match=r"\w+"):
            status_change(current, target)


@pytest.mark.parametrize("status", list(S))
def test_asking_for_the_current_status_is_a_no_op(status: S) -> None:
    assert status_change(status, status) is None


@pytest.mark.parametrize(
    ("current", "target", "reason"),
    [
        (S.CLOSED, S.OPEN, "closed ticket is final"),
        (S.OPEN, S.NEW, "no ticket goes back to new"),
        (S.OPEN, S.CLOSED, "only a solved ticket can be closed; this one is open"),
    ],
)
def test_refusals_give_their_reason(current: S, target: S, reason: str) -> None:
    with pytest.raises(ActionRefused, match=reason):
        status_change(current, target)


def test_the_first_public_reply_opens_a_new_ticket_and_a_note_does_not() -> None:
    assert after_agent_message(S.NEW, public=True) == StatusChange(S.NEW, S.OPEN)
    assert after_agent_message(S.NEW, public=False) is None
    for status in (S.OPEN, S.PENDING, S.ON_HOLD, S.SOLVED):
        assert after_agent_message(status, public=True) is None


@pytest.mark.parametrize("public", [True, False])
def test_a_closed_ticket_takes_no_agent_message(public: bool) -> None:
    with pytest.raises(ActionRefused, match="closed"):
        after_agent_message(S.CLOSED, public=public)


def test_a_customer_message_reopens_a_solved_or_pending_ticket_only() -> None:
    assert after_customer_message(S.SOLVED) == StatusChange(S.SOLVED, S.OPEN)
    assert after_customer_message(S.PENDING) == StatusChange(S.PENDING, S.OPEN)
    for status in (S.NEW, S.OPEN, S.ON_HOLD):
        assert after_customer_message(status) is None
    with pytest.raises(ActionRefused, match="new ticket"):
        after_customer_message(S.CLOSED)


def test_only_the_assignee_answers_an_assignment_on_a_ticket_still_open_to_agents() -> None:
    ensure_answerable(S.OPEN, "A-7", "A-7")
    for assignee, agent in [("A-7", "A-8"), ("A-7", None), (None, None), (None, "A-7")]:
        with pytest.raises(ActionRefused, match="only its assignee can answer"):
            ensure_answerable(S.OPEN, assignee, agent)
    with pytest.raises(ActionRefused, match="closed"):
        ensure_answerable(S.CLOSED, "A-7", "A-7")
