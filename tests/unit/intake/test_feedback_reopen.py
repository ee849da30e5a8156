"""When a feedback follow-up reopens a ticket: only a solved one, once per follow-up."""

from __future__ import annotations

import uuid

import pytest

from helpdesk_events import TicketStatus as S
from helpdesk_intake.feedback_reopen import reopen_event_id, reopening_after_feedback, why_left_alone
from helpdesk_intake.ticket_rules import StatusChange


def test_a_solved_ticket_reopens() -> None:
    assert reopening_after_feedback(S.SOLVED) == StatusChange(S.SOLVED, S.OPEN)


@pytest.mark.parametrize("current", [s for s in S if s != S.SOLVED])
def test_any_other_ticket_is_left_alone(current: S) -> None:
    # closed is final, and new/open/pending/on_hold tickets are still someone's work
    assert reopening_after_feedback(current) is None


def test_the_log_says_why_nothing_happened() -> None:
    assert why_left_alone(S.CLOSED) == "it is closed, and a closed ticket is final"
    assert why_left_alone(S.OPEN) == "it is open, not solved"


def test_one_follow_up_names_one_reopening_and_another_follow_up_another() -> None:
    follow_up, other = uuid.uuid4(), uuid.uuid4()
    assert reopen_event_id(follow_up) == reopen_event_id(uuid.UUID(str(follow_up)))
    assert reopen_event_id(follow_up) != reopen_event_id(other)
    assert reopen_event_id(follow_up) != follow_up  # the reopening is its own event, not the follow-up
