"""Response-time report arithmetic: nearest-rank medians and p90, averages, first contact
resolution, within-SLA share, business against calendar hours on an office calendar."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from helpdesk_sla.calendar import ALWAYS_OPEN, BusinessCalendar
from helpdesk_sla.reports import first_contact_resolution, percentile, response_times, sla_outcome
from helpdesk_sla.ticket_facts import TicketFacts

PARIS = ZoneInfo("Europe/Paris")
HOUR = 3600.0
OFFICE = BusinessCalendar(
    name="office",
    timezone="Europe/Paris",
    weekly={day: (("09:00", "17:00"),) for day in ("mon", "tue", "wed", "thu", "fri")},
)


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in March 2026 in Paris (the 2nd is a Monday; summer time starts on the 29th)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=PARIS)


def ticket(number: int, *, created: datetime = paris(2, 9), reply_after: float | None = None,
           solve_after: float | None = None, **changes) -> TicketFacts:  # fmt: skip
    """A ticket created at `created`, replied and solved so many hours later (24/7 arithmetic)."""
    return TicketFacts(
        ticket_id=f"T-{number}",
        created_at=created,
        first_agent_reply_at=created + timedelta(hours=reply_after) if reply_after is not None else None,
        solved_at=created + timedelta(hours=solve_after) if solve_after is not None else None,
        **changes,
    )


def always(_: TicketFacts) -> BusinessCalendar:
    return ALWAYS_OPEN


def office(_: TicketFacts) -> BusinessCalendar:
    return OFFICE


def test_percentiles_are_by_nearest_rank() -> None:
    assert percentile(range(1, 11), 0.5) == 5
    assert percentile(range(1, 11), 0.9) == 9
    assert percentile([4, 1, 3, 2], 0.5) == 2  # the lower middle of an even count, a real wait
    assert percentile([7.5], 0.9) == 7.5
    assert percentile([3, 1, 2], 0.9) == 3  # fewer than ten: p90 is the slowest
    assert percentile(range(1, 101), 0.9) == 90  # exact rank, no float rounding up to 91
    assert percentile([], 0.5) is None
    with pytest.raises(ValueError):
        percentile([1], 0)


def test_first_reply_median_and_p90_per_team() -> None:
    replies = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]  # hours, given out of order below
    tickets = [ticket(n, reply_after=hours, team="billing") for n, hours in enumerate(reversed(replies))]
    tickets.append(ticket(99, team="billing"))  # not replied yet: counted in volume only
    [row] = response_times(tickets, group_by="team", calendar_of=always)
    assert (row.group, row.volume, row.replied) == ("billing", 11, 10)
    assert row.first_reply_median_calendar_seconds == 5 * HOUR
    assert row.first_reply_p90_calendar_seconds == 9 * HOUR
    assert row.first_reply_median_business_seconds == 5 * HOUR  # 24/7: every hour is business


def test_business_hours_leave_out_the_night_and_the_weekend() -> None:
    # Friday 16:00 to Monday 10:00: 66 hours of waiting, 2 of them in office hours.
    friday = TicketFacts(
        "T-1", created_at=paris(6, 16), first_agent_reply_at=paris(9, 10), solved_at=paris(10, 12)
    )
    [row] = response_times([friday], group_by="team", calendar_of=office)
    assert row.group is None
    assert row.first_reply_median_calendar_seconds == 66 * HOUR
    assert row.first_reply_median_business_seconds == 2 * HOUR
    assert row.first_reply_p90_business_seconds == 2 * HOUR
    # ...and to Tuesday 12:00: 1 (Fri) + 8 (Mon) + 3 (Tue) business hours, 92 calendar hours.
    assert row.resolution_average_business_seconds == 12 * HOUR
    assert row.resolution_average_calendar_seconds == 92 * HOUR


def test_a_reply_before_the_office_opens_counts_no_business_time() -> None:
    night = TicketFacts("T-1", created_at=paris(3, 2), first_agent_reply_at=paris(3, 8, 30))
    [row] = response_times([night], group_by="channel", calendar_of=office)
    assert row.first_reply_median_business_seconds == 0.0
    assert row.first_reply_median_calendar_seconds == 6.5 * HOUR


def test_average_resolution_counts_solved_tickets_only() -> None:
    tickets = [ticket(1, solve_after=2, agent_id="ada"), ticket(2, solve_after=7, agent_id="ada"),
               ticket(3, agent_id="ada")]  # fmt: skip
    [row] = response_times(tickets, group_by="agent", calendar_of=always)
    assert row.solved == 2
    assert row.resolution_average_calendar_seconds == 4.5 * HOUR


def test_first_contact_resolution_is_one_agent_reply_and_no_reopen_among_solved_tickets() -> None:
    one_touch = ticket(1, reply_after=1, solve_after=1, agent_replies=1)
    two_touches = ticket(2, reply_after=1, solve_after=3, agent_replies=2)
    reopened = ticket(3, reply_after=1, solve_after=1, agent_replies=1, reopened=True)
    unanswered_solve = ticket(4, solve_after=1, agent_replies=0)
    still_open = ticket(5, reply_after=1, agent_replies=1)
    solves = (one_touch, two_touches, reopened, unanswered_solve, still_open)
    assert [first_contact_resolution(t) for t in solves] == [
        True, False, False, False, None,
    ]  # fmt: skip
    [row] = response_times(
        [one_touch, two_touches, reopened, unanswered_solve, still_open],
        group_by="priority",
        calendar_of=always,
    )
    assert row.first_contact_resolution_share == 1 / 4


def test_within_sla_counts_tickets_with_a_known_outcome() -> None:
    kept = ticket(1, solve_after=1, first_reply_within=True, resolution_within=True)
    late_reply = ticket(2, solve_after=1, first_reply_within=False, resolution_within=True)
    breached_running = ticket(3, breaches=1)  # out already, though not solved
    running = ticket(4, first_reply_within=True)  # resolution may still breach: unknown
    no_clock = ticket(5, solve_after=1)  # no policy covered it
    assert [sla_outcome(t) for t in (kept, late_reply, breached_running, running, no_clock)] == [
        True, False, False, None, None,
    ]  # fmt: skip
    [row] = response_times(
        [kept, late_reply, breached_running, running, no_clock], group_by="team", calendar_of=always
    )
    assert row.within_sla_share == 1 / 3
    assert row.breaches == 1


def test_groups_without_data_give_none_and_groups_are_ordered_with_none_last() -> None:
    tickets = [
        ticket(1, channel="web", reply_after=1, breaches=2),
        ticket(2, channel="chat"),
        ticket(3, channel=None, reply_after=3),
        replace(ticket(4, channel="web"), created_at=None),  # only SLA events seen: left out
    ]
    rows = response_times(tickets, group_by="channel", calendar_of=always)
    assert [(row.group, row.volume) for row in rows] == [("chat", 1), ("web", 1), (None, 1)]
    chat = rows[0]
    assert chat.replied == chat.solved == 0
    assert chat.first_reply_median_business_seconds is None and chat.first_reply_p90_calendar_seconds is None
    assert chat.resolution_average_calendar_seconds is None
    assert chat.first_contact_resolution_share is None and chat.within_sla_share is None
    assert chat.breaches == 0
    assert rows[1].breaches == 2
    assert response_times([], group_by="agent", calendar_of=always) == []


def test_each_ticket_is_measured_on_its_own_calendar() -> None:
    friday = TicketFacts("T-1", created_at=paris(6, 16), first_agent_reply_at=paris(9, 10), team="a")
    monday = TicketFacts("T-2", created_at=paris(9, 9), first_agent_reply_at=paris(9, 10), team="b")
    rows = response_times(
        [friday, monday], group_by="team", calendar_of=lambda t: ALWAYS_OPEN if t.team == "a" else OFFICE
    )
    assert [row.first_reply_median_business_seconds for row in rows] == [66 * HOUR, 1 * HOUR]


def test_an_unknown_grouping_is_refused() -> None:
    with pytest.raises(ValueError, match="group_by"):
        response_times([ticket(1)], group_by="customer", calendar_of=always)
