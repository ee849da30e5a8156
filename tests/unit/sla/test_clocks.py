"""The SLA clock state machine: every transition, pauses over weekends, reopen, re-target, warnings and
breaches told exactly once, and properties over random event sequences."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk_events.sla import SlaBreached, SlaMet, SlaMetric, SlaPaused, SlaResumed, SlaStarted, SlaWarning
from helpdesk_events.ticket import AuthorKind, Priority, TicketStatus
from helpdesk_sla import clocks as sla
from helpdesk_sla.calendar import ALWAYS_OPEN, BusinessCalendar
from helpdesk_sla.clocks import ClockState, Phase, TicketClocks
from helpdesk_sla.policies import ChosenPolicy, Targets

PARIS = ZoneInfo("Europe/Paris")
FIRST, NEXT, RESOLUTION = SlaMetric.FIRST_REPLY, SlaMetric.NEXT_REPLY, SlaMetric.RESOLUTION
H = timedelta(hours=1)
M = timedelta(minutes=1)
NO_LATE = timedelta(seconds=30)

OFFICE = BusinessCalendar(
    name="office-paris",
    timezone="Europe/Paris",
    weekly={day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    holidays=[date(2025, 1, 1)],
)


def policy(
    name: str = "standard",
    calendar: BusinessCalendar = ALWAYS_OPEN,
    *,
    first_reply: str | None = "PT1H",
    next_reply: str | None = "PT2H",
    resolution: str | None = "PT8H",
) -> ChosenPolicy:
    return ChosenPolicy(
        name, calendar, Targets(first_reply=first_reply, next_reply=next_reply, resolution=resolution)
    )


STANDARD = policy()
T0 = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)  # a Monday, 09:00 in Paris


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of January 2025 in Paris (the 6th is a Monday)."""
    return datetime(2025, 1, day, hour, minute, tzinfo=PARIS)


def opened(chosen: ChosenPolicy = STANDARD, at: datetime = T0, priority: str = "urgent") -> TicketClocks:
    ticket, _ = sla.start(
        "T-1", priority=priority, channel="email", customer_tier="gold", at=at, chosen=chosen
    )
    return ticket


def message(ticket, author, at, chosen=STANDARD, public=True):
    return sla.on_message(ticket, author_kind=author, public=public, at=at, chosen=chosen)


def status(ticket, to, at, chosen=STANDARD, on_hold_pauses=True):
    return sla.on_status(ticket, to_status=to, at=at, chosen=chosen, on_hold_pauses=on_hold_pauses)


def tell_due(ticket, now, chosen=STANDARD, share=0.75, late_after=NO_LATE):
    return sla.due(ticket, now=now, chosen=chosen, warning_share=share, late_after=late_after)


def kinds(events) -> list[tuple[str, str]]:
    return [(event.event_type, event.metric.value) for event in events]


# --- start ---------------------------------------------------------------------------------------------


def test_start_runs_first_reply_and_resolution_with_due_times() -> None:
    ticket, events = sla.start(
        "T-1", priority=Priority.URGENT, channel="chat", customer_tier=None, at=T0, chosen=STANDARD
    )

    assert kinds(events) == [("sla.started", "first_reply"), ("sla.started", "resolution")]
    assert [event.due_at for event in events] == [T0 + H, T0 + 8 * H]
    assert all(isinstance(event, SlaStarted) and event.policy == "standard" for event in events)
    assert set(ticket.clocks) == {FIRST, RESOLUTION}
    first = ticket.clock(FIRST)
    assert first.state is ClockState.RUNNING and first.running_since == T0 and first.elapsed == timedelta(0)
    assert (ticket.status, ticket.priority, ticket.policy_name) == (
        TicketStatus.NEW,
        Priority.URGENT,
        "standard",
    )
    assert ticket.channel == "chat" and not ticket.agent_replied and not ticket.paused


def test_a_metric_without_target_runs_no_clock() -> None:
    ticket, events = sla.start(
        "T-1", priority="low", channel=None, customer_tier=None, at=T0, chosen=policy(first_reply=None)
    )
    assert kinds(events) == [("sla.started", "resolution")]
    assert set(ticket.clocks) == {RESOLUTION}


def test_naive_moments_are_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        opened(at=datetime(2025, 1, 6, 9))


def test_a_ticket_created_outside_business_hours_counts_from_the_next_opening() -> None:
    office = policy("office", OFFICE, first_reply="PT4H", resolution="PT16H")
    # Friday 18:00: the office is closed until Monday 09:00.
    ticket, events = sla.start(
        "T-1", priority="high", channel=None, customer_tier=None, at=paris(10, 18), chosen=office
    )

    assert events[0].due_at == paris(13, 13)
    assert events[1].due_at == paris(14, 17)  # Monday 8h + Tuesday 8h
    # A reply on Monday 10:30 took 1h30 of business time, not the weekend.
    _, met = message(ticket, "agent", paris(13, 10, 30), chosen=office)
    assert met[0].elapsed == timedelta(hours=1, minutes=30) and met[0].within_target


# --- messages -------------------------------------------------------------------------------------------


def test_a_public_agent_reply_meets_the_first_reply() -> None:
    ticket = opened()
    ticket, events = message(ticket, AuthorKind.AGENT, T0 + 20 * M)

    assert kinds(events) == [("sla.met", "first_reply")]
    (met,) = events
    assert isinstance(met, SlaMet) and met.within_target and met.elapsed == 20 * M and met.due_at == T0 + H
    clock = ticket.clock(FIRST)
    assert clock.state is ClockState.MET and clock.stopped_at == T0 + 20 * M and clock.due_at is None
    assert ticket.clock(RESOLUTION).state is ClockState.RUNNING and ticket.agent_replied


@pytest.mark.parametrize(
    ("author", "public"), [("agent", False), ("system", True), ("customer", True), ("customer", False)]
)
def test_notes_system_and_customer_messages_do_not_meet_the_first_reply(author: str, public: bool) -> None:
    ticket = opened()
    after, events = message(ticket, author, T0 + M, public=public)
    assert events == [] and after == ticket


def test_next_reply_starts_at_a_customer_message_after_an_agent_reply_and_stops_at_the_next_reply() -> None:
    ticket = opened()
    ticket, _ = message(ticket, "agent", T0 + 10 * M)
    ticket, events = message(ticket, "customer", T0 + 30 * M)
    assert kinds(events) == [("sla.started", "next_reply")]
    assert events[0].due_at == T0 + 30 * M + 2 * H

    # A second customer message while waiting does not restart it: it counts from the oldest one.
    ticket, events = message(ticket, "customer", T0 + 50 * M)
    assert events == [] and ticket.clock(NEXT).started_at == T0 + 30 * M

    # An internal note answers nobody.
    ticket, events = message(ticket, "agent", T0 + 55 * M, public=False)
    assert events == []

    ticket, events = message(ticket, "agent", T0 + 90 * M)
    assert kinds(events) == [("sla.met", "next_reply")]
    assert events[0].elapsed == H and events[0].within_target

    # The next customer message starts a fresh clock.
    ticket, events = message(ticket, "customer", T0 + 3 * H)
    assert kinds(events) == [("sla.started", "next_reply")]
    fresh = ticket.clock(NEXT)
    assert (
        fresh.started_at == T0 + 3 * H and fresh.elapsed == timedelta(0) and fresh.state is ClockState.RUNNING
    )


def test_customer_messages_before_any_agent_reply_start_no_next_reply() -> None:
    ticket = opened()
    ticket, events = message(ticket, "customer", T0 + M)
    assert events == [] and ticket.clock(NEXT) is None


def test_agent_reply_meets_a_paused_clock_too() -> None:
    ticket = opened()
    ticket, _ = status(ticket, "pending", T0 + 10 * M)
    ticket, events = message(ticket, "agent", T0 + 5 * H)

    assert kinds(events) == [("sla.met", "first_reply")]
    assert events[0].elapsed == 10 * M and events[0].due_at is None
    assert ticket.clock(RESOLUTION).state is ClockState.PAUSED


# --- pauses ---------------------------------------------------------------------------------------------


def test_pending_pauses_every_running_clock_and_open_resumes_them() -> None:
    ticket = opened()
    ticket, events = status(ticket, "pending", T0 + 15 * M)
    assert kinds(events) == [("sla.paused", "first_reply"), ("sla.paused", "resolution")]
    assert all(isinstance(event, SlaPaused) and event.due_at is None for event in events)
    assert ticket.paused and all(clock.state is ClockState.PAUSED for clock in ticket.ordered())
    assert ticket.clock(FIRST).elapsed == 15 * M and ticket.clock(FIRST).due_at is None

    ticket, events = status(ticket, "open", T0 + 3 * H)
    assert kinds(events) == [("sla.resumed", "first_reply"), ("sla.resumed", "resolution")]
    assert all(isinstance(event, SlaResumed) for event in events)
    # 45 minutes of the hour were left.
    assert events[0].due_at == T0 + 3 * H + 45 * M
    assert events[1].due_at == T0 + 3 * H + 8 * H - 15 * M
    assert not ticket.paused and ticket.clock(FIRST).running_since == T0 + 3 * H


def test_on_hold_pauses_only_when_the_document_says_so() -> None:
    ticket = opened()
    paused, events = status(ticket, "on_hold", T0 + M, on_hold_pauses=True)
    assert len(events) == 2 and paused.paused

    running, events = status(ticket, "on_hold", T0 + M, on_hold_pauses=False)
    assert events == [] and not running.paused and running.status is TicketStatus.ON_HOLD

    # From pending (paused) to an on_hold that does not pause: the clocks run again.
    pending, _ = status(ticket, "pending", T0 + M)
    resumed, events = status(pending, "on_hold", T0 + 2 * M, on_hold_pauses=False)
    assert kinds(events) == [("sla.resumed", "first_reply"), ("sla.resumed", "resolution")]

    # From pending to a pausing on_hold (and back): nothing to tell, they stay paused.
    held, events = status(pending, "on_hold", T0 + 2 * M, on_hold_pauses=True)
    assert events == [] and held.paused
    back, events = status(held, "pending", T0 + 3 * M)
    assert events == [] and back.paused


def test_a_status_the_ticket_already_has_changes_nothing() -> None:
    ticket = opened()
    ticket, _ = status(ticket, "open", T0 + M)
    same, events = status(ticket, "open", T0 + 2 * M)
    assert events == [] and same is ticket


def test_a_pause_over_the_weekend_counts_no_time_on_an_office_calendar() -> None:
    office = policy("office", OFFICE, first_reply=None, resolution="PT16H")
    ticket = opened(office, at=paris(9, 10))  # Thursday 10:00
    # Pending on Friday 10:00: Thursday 7h + Friday 1h used.
    ticket, _ = status(ticket, "pending", paris(10, 10), chosen=office)
    assert ticket.clock(RESOLUTION).elapsed == 8 * H
    # The customer answers on Monday 15:00: 8h remain, Monday 2h and Tuesday 6h.
    ticket, events = status(ticket, "open", paris(13, 15), chosen=office)
    assert events[0].due_at == paris(14, 15)
    assert ticket.clock(RESOLUTION).elapsed_at(paris(14, 9), OFFICE) == 10 * H


def test_a_pause_over_the_weekend_counts_no_time_on_24_7_either() -> None:
    ticket = opened(at=datetime(2025, 1, 10, 16, tzinfo=UTC))
    ticket, _ = status(ticket, "pending", datetime(2025, 1, 10, 17, tzinfo=UTC))
    ticket, events = status(ticket, "open", datetime(2025, 1, 13, 9, tzinfo=UTC))
    assert events[1].due_at == datetime(2025, 1, 13, 16, tzinfo=UTC)  # 7 of 8 hours left


def test_a_clock_starting_on_a_paused_ticket_starts_paused() -> None:
    ticket = opened()
    ticket, _ = message(ticket, "agent", T0 + M)
    ticket, _ = status(ticket, "pending", T0 + 2 * M)
    ticket, events = message(ticket, "customer", T0 + H)
    assert kinds(events) == [("sla.started", "next_reply")] and events[0].due_at is None
    assert ticket.clock(NEXT).state is ClockState.PAUSED

    ticket, events = status(ticket, "open", T0 + H)
    assert kinds(events) == [("sla.resumed", "next_reply"), ("sla.resumed", "resolution")]
    assert events[0].due_at == T0 + 3 * H


# --- solve, reopen, close -------------------------------------------------------------------------------


def test_solved_meets_resolution_and_open_reply_clocks() -> None:
    ticket = opened()
    ticket, events = status(ticket, "solved", T0 + 2 * H)
    assert kinds(events) == [("sla.met", "first_reply"), ("sla.met", "resolution")]
    assert [event.within_target for event in events] == [False, True]
    assert events[1].elapsed == 2 * H
    assert all(clock.state is ClockState.MET for clock in ticket.ordered())
    assert sla.next_wakeup(ticket, STANDARD, 0.75) is None


def test_a_reopen_resumes_resolution_with_the_time_used() -> None:
    ticket = opened()
    ticket, _ = message(ticket, "agent", T0 + 10 * M)
    ticket, _ = status(ticket, "solved", T0 + 2 * H)

    # The customer writes on the solved ticket (a next reply starts) and intake reopens it.
    ticket, events = message(ticket, "customer", T0 + 5 * H)
    assert kinds(events) == [("sla.started", "next_reply")]
    ticket, events = status(ticket, "open", T0 + 5 * H)
    assert kinds(events) == [("sla.resumed", "resolution")]
    assert events[0].due_at == T0 + 5 * H + 6 * H
    clock = ticket.clock(RESOLUTION)
    assert clock.state is ClockState.RUNNING and clock.elapsed == 2 * H and clock.within_target is None
    assert ticket.clock(FIRST).state is ClockState.MET  # reply clocks stay met

    ticket, events = status(ticket, "solved", T0 + 6 * H)
    assert ("sla.met", "resolution") in kinds(events)
    met = next(event for event in events if event.metric is RESOLUTION)
    assert met.elapsed == 3 * H and met.within_target


def test_a_reopen_into_pending_keeps_resolution_paused() -> None:
    ticket = opened()
    ticket, _ = status(ticket, "solved", T0 + H)
    ticket, events = status(ticket, "pending", T0 + 2 * H)
    assert kinds(events) == [("sla.paused", "resolution")]
    assert ticket.clock(RESOLUTION).state is ClockState.PAUSED and ticket.clock(RESOLUTION).elapsed == H


def test_closed_ends_everything_for_good() -> None:
    ticket = opened()
    ticket, _ = status(ticket, "solved", T0 + H)
    ticket, events = status(ticket, "closed", T0 + 2 * H)
    assert events == [] and ticket.closed

    for after, later in [
        message(ticket, "customer", T0 + 3 * H),
        status(ticket, "open", T0 + 3 * H),
        tell_due(ticket, T0 + 30 * H),
    ]:
        assert later == [] and after == ticket
    assert sla.next_wakeup(ticket, STANDARD, 0.75) is None


def test_a_ticket_closed_without_being_solved_meets_its_clocks_at_the_close() -> None:
    ticket = opened()
    ticket, _ = status(ticket, "pending", T0 + H)
    ticket, events = status(ticket, "closed", T0 + 9 * H)
    assert kinds(events) == [("sla.met", "first_reply"), ("sla.met", "resolution")]
    assert events[1].elapsed == H and events[1].within_target and ticket.closed


# --- re-targeting ---------------------------------------------------------------------------------------


def test_a_priority_change_retargets_open_clocks_keeping_their_time() -> None:
    ticket = opened(priority="normal", chosen=policy(first_reply="PT8H", resolution="P3D"))
    ticket, events = sla.retarget(ticket, priority="urgent", at=T0 + 30 * M, chosen=STANDARD)

    assert kinds(events) == [("sla.started", "first_reply"), ("sla.started", "resolution")]
    assert [event.target for event in events] == [H, 8 * H]
    assert [event.due_at for event in events] == [T0 + H, T0 + 8 * H]
    clock = ticket.clock(FIRST)
    assert clock.elapsed == 30 * M and clock.running_since == T0 + 30 * M and clock.started_at == T0
    assert ticket.priority is Priority.URGENT


def test_retarget_leaves_met_clocks_and_paused_clocks_get_no_due_time() -> None:
    ticket = opened()
    ticket, _ = message(ticket, "agent", T0 + 10 * M)
    ticket, _ = status(ticket, "pending", T0 + H)
    met_before = ticket.clock(FIRST)
    ticket, events = sla.retarget(ticket, priority="low", at=T0 + 2 * H, chosen=policy(resolution="P5D"))

    assert kinds(events) == [("sla.started", "resolution")] and events[0].due_at is None
    assert ticket.clock(FIRST) == met_before
    assert ticket.clock(RESOLUTION).target == timedelta(days=5) and ticket.clock(RESOLUTION).due_at is None


def test_retarget_to_the_same_targets_tells_nothing() -> None:
    ticket = opened()
    after, events = sla.retarget(ticket, priority="urgent", at=T0 + M, chosen=STANDARD)
    assert events == [] and after.clocks == ticket.clocks


def test_a_policy_change_names_the_new_policy_and_a_missing_target_keeps_the_old() -> None:
    ticket = opened()
    vip = policy("vip", first_reply="PT15M", resolution=None)
    ticket, events = sla.retarget(ticket, priority="urgent", at=T0 + 5 * M, chosen=vip)

    assert kinds(events) == [("sla.started", "first_reply")] and events[0].policy == "vip"
    assert ticket.policy_name == "vip"
    assert ticket.clock(RESOLUTION).policy == "standard" and ticket.clock(RESOLUTION).target == 8 * H


def test_a_retarget_below_the_time_used_breaches_at_once() -> None:
    ticket = opened()
    at = T0 + 40 * M
    ticket, _ = sla.retarget(ticket, priority="urgent", at=at, chosen=policy(first_reply="PT30M"))
    assert ticket.clock(FIRST).due_at == at
    assert sla.next_wakeup(ticket, STANDARD, 0.75) == at

    ticket, events = tell_due(ticket, at)
    assert kinds(events) == [("sla.breached", "first_reply")]  # the warning is skipped
    assert not events[0].late and ticket.clock(FIRST).state is ClockState.BREACHED


def test_a_retarget_below_the_time_used_while_paused_breaches_without_due_time() -> None:
    ticket = opened()
    ticket, _ = status(ticket, "pending", T0 + 40 * M)
    ticket, _ = sla.retarget(ticket, priority="urgent", at=T0 + H, chosen=policy(first_reply="PT30M"))
    assert ticket.clock(FIRST).state is ClockState.BREACHED
    ticket, events = tell_due(ticket, T0 + H)
    assert kinds(events) == [("sla.breached", "first_reply")] and events[0].due_at is None
    assert tell_due(ticket, T0 + 2 * H)[1] == []


# --- warnings and breaches ------------------------------------------------------------------------------


def test_warning_at_the_share_then_breach_each_told_once() -> None:
    ticket = opened()
    assert sla.next_wakeup(ticket, STANDARD, 0.75) == T0 + 45 * M

    ticket, events = tell_due(ticket, T0 + 44 * M)
    assert events == []

    ticket, events = tell_due(ticket, T0 + 45 * M)
    assert kinds(events) == [("sla.warning", "first_reply")]
    (warning,) = events
    assert isinstance(warning, SlaWarning) and warning.elapsed_share == 0.75 and warning.due_at == T0 + H
    assert tell_due(ticket, T0 + 50 * M)[1] == []
    assert sla.next_wakeup(ticket, STANDARD, 0.75) == T0 + H

    ticket, events = tell_due(ticket, T0 + H)
    assert kinds(events) == [("sla.breached", "first_reply")]
    (breach,) = events
    assert isinstance(breach, SlaBreached) and not breach.late and breach.due_at == T0 + H
    assert ticket.clock(FIRST).state is ClockState.BREACHED
    assert tell_due(ticket, T0 + 2 * H)[1] == []
    # Next: the resolution clock's warning at 6h.
    assert sla.next_wakeup(ticket, STANDARD, 0.75) == T0 + 6 * H


def test_a_breach_told_long_after_its_due_time_is_late_and_skips_the_warning() -> None:
    ticket = opened()
    ticket, events = tell_due(ticket, T0 + H + 5 * M, late_after=timedelta(minutes=1))
    assert kinds(events) == [("sla.breached", "first_reply")]
    assert events[0].late

    on_time, events = tell_due(opened(), T0 + H + 30 * timedelta(seconds=1), late_after=timedelta(minutes=1))
    assert not events[0].late


def test_due_tells_several_clocks_in_time_order() -> None:
    ticket = opened()
    ticket, events = tell_due(ticket, T0 + 7 * H)
    assert kinds(events) == [("sla.breached", "first_reply"), ("sla.warning", "resolution")]
    assert events[1].elapsed_share == 0.875


def test_a_breached_clock_that_is_then_met_is_met_late() -> None:
    ticket = opened()
    ticket, _ = tell_due(ticket, T0 + H)
    ticket, events = message(ticket, "agent", T0 + 2 * H)
    assert kinds(events) == [("sla.met", "first_reply")]
    assert not events[0].within_target and events[0].elapsed == 2 * H
    assert ticket.clock(FIRST).state is ClockState.MET and ticket.clock(FIRST).within_target is False


def test_a_clock_met_exactly_at_its_target_is_not_within_it() -> None:
    _, events = message(opened(), "agent", T0 + H)
    assert not events[0].within_target


def test_paused_clocks_are_never_warned_and_have_no_wakeup() -> None:
    ticket = opened()
    ticket, _ = status(ticket, "pending", T0 + 10 * M)
    assert sla.next_wakeup(ticket, STANDARD, 0.75) is None
    ticket, events = tell_due(ticket, T0 + 100 * H)
    assert events == []


def test_warnings_and_breaches_follow_business_hours() -> None:
    office = policy("office", OFFICE, first_reply="PT4H", resolution=None)
    ticket = opened(office, at=paris(10, 15))  # Friday 15:00: 2h on Friday, 2h on Monday
    assert sla.next_wakeup(ticket, office, 0.75) == paris(13, 10)
    ticket, events = tell_due(ticket, paris(12, 12), chosen=office)  # Sunday: nothing yet
    assert events == []
    ticket, events = tell_due(ticket, paris(13, 10), chosen=office)
    assert kinds(events) == [("sla.warning", "first_reply")] and events[0].elapsed_share == 0.75
    assert sla.next_wakeup(ticket, office, 0.75) == paris(13, 11)


def test_holidays_do_not_count() -> None:
    office = policy("office", OFFICE, first_reply="PT4H", resolution=None)
    ticket = opened(office, at=datetime(2024, 12, 31, 15, tzinfo=PARIS))  # Tue 31 Dec 15:00
    # 2h on the 31st, nothing on New Year's Day, 2h on Thursday the 2nd.
    assert ticket.clock(FIRST).due_at == paris(2, 11)


def test_warning_threshold_rounds_up_to_the_second() -> None:
    assert sla.warning_threshold(timedelta(seconds=10), 0.75) == timedelta(seconds=8)
    assert sla.warning_threshold(H, 0.75) == 45 * M
    assert sla.warning_threshold(timedelta(seconds=3), 0.5) == timedelta(seconds=2)


def test_state_at_shows_a_breach_before_it_is_told() -> None:
    clock = opened().clock(FIRST)
    assert clock.state_at(T0 + 59 * M) is ClockState.RUNNING
    assert clock.state_at(T0 + H) is ClockState.BREACHED
    assert clock.elapsed_at(T0 + 90 * M, ALWAYS_OPEN) == 90 * M


def test_the_stored_document_round_trips() -> None:
    ticket = opened()
    ticket, _ = message(ticket, "agent", T0 + 10 * M)
    ticket, _ = message(ticket, "customer", T0 + 20 * M)
    ticket, _ = status(ticket, "pending", T0 + 30 * M)
    ticket, _ = tell_due(ticket, T0 + 30 * M)
    document = ticket.document()
    assert TicketClocks.from_document(document) == ticket
    # Mongo may hand datetimes back as naive UTC datetimes instead of strings.
    document["created_at"] = T0.replace(tzinfo=None)
    assert TicketClocks.from_document(document) == ticket


# --- properties -----------------------------------------------------------------------------------------

NIGHT_OWL = BusinessCalendar(
    name="night-owl",
    timezone="America/New_York",
    weekly={
        "mon": [["09:00", "12:00"], ["22:00", "02:00"]],
        "wed": [["08:00", "24:00"]],
        "fri": [["20:00", "06:00"]],
    },
    holidays=[date(2025, 3, 12)],
)

CALENDARS = [ALWAYS_OPEN, OFFICE, NIGHT_OWL]
POLICIES = [
    lambda calendar: policy("fast", calendar, first_reply="PT10S", next_reply="PT20S", resolution="PT1M"),
    lambda calendar: policy("slow", calendar, first_reply="PT4H", next_reply=None, resolution="P2D"),
    lambda calendar: policy("mid", calendar, first_reply="PT30M", next_reply="PT1H", resolution="PT3H"),
]

step = st.one_of(
    st.tuples(st.just("message"), st.sampled_from(["customer", "agent", "system"]), st.booleans()),
    st.tuples(
        st.just("status"),
        st.sampled_from([s.value for s in TicketStatus if s is not TicketStatus.NEW]),
        st.booleans(),
    ),
    st.tuples(st.just("retarget"), st.integers(0, len(POLICIES) - 1), st.sampled_from(list(Priority))),
    st.tuples(st.just("due"), st.none(), st.none()),
)
gap = st.one_of(st.integers(0, 30), st.integers(0, 4 * 3600), st.integers(0, 4 * 86400))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    calendar=st.sampled_from(CALENDARS),
    first_policy=st.integers(0, len(POLICIES) - 1),
    start_at=st.integers(0, 60 * 86400),
    steps=st.lists(st.tuples(gap, step), max_size=40),
)
def test_random_event_sequences_keep_the_clock_invariants(calendar, first_policy, start_at, steps) -> None:
    chosen = POLICIES[first_policy](calendar)
    now = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=start_at)
    ticket, events = sla.start(
        "T-9", priority="high", channel="web", customer_tier=None, at=now, chosen=chosen
    )
    told: dict[tuple[str, SlaMetric, datetime], int] = {}
    # An independent account of each clock's time: business time since it started, less the business
    # time it spent not counting (paused, or met before a reopen). key -> (not counting since, total).
    off: dict[tuple[SlaMetric, datetime], tuple[datetime | None, timedelta]] = {}

    def record(before: TicketClocks, after: TicketClocks, events: list, action: str) -> None:
        for event in events:
            if isinstance(event, SlaWarning | SlaBreached):
                clock = before.clock(event.metric)
                key = (event.event_type, event.metric, clock.started_at)
                told[key] = told.get(key, 0) + 1
                assert told[key] == 1, f"{event.event_type} told twice for {event.metric}"
        for clock in after.ordered():
            assert clock.is_open or clock.due_at is None
            if clock.phase is Phase.PAUSED:
                assert clock.due_at is None and clock.running_since is None
            if clock.phase is Phase.RUNNING:
                assert clock.due_at is not None and clock.running_since is not None
                # While a ticket waits none of its clocks run, and when it does not wait none is paused.
                assert not after.paused
            elif clock.phase is Phase.PAUSED:
                assert after.paused
            previous = before.clock(clock.metric)
            if previous is None or previous.started_at != clock.started_at:
                continue  # a fresh clock (a new next-reply wait)
            assert clock.elapsed >= previous.elapsed, "elapsed went back"
            assert previous.warned <= clock.warned and previous.breach_told <= clock.breach_told
            reopened = clock.metric is RESOLUTION and before.status is TicketStatus.SOLVED
            if not previous.is_open and not reopened:
                assert clock == previous, "a met clock changed"
            if calendar is ALWAYS_OPEN:
                assert clock.elapsed_at(now, calendar) <= now - clock.started_at
        for clock in after.ordered():
            key = (clock.metric, clock.started_at)
            since, total = off.get(key, (clock.started_at, timedelta(0)))
            counting = clock.phase is Phase.RUNNING
            if counting and since is not None:
                since, total = None, total + calendar.elapsed(since, now)
            elif not counting and since is None:
                since = now
            off[key] = (since, total)
            used = calendar.elapsed(clock.started_at, now if since is None else since) - total
            assert clock.elapsed_at(now, calendar) == used, (
                f"{clock.metric} counted {clock.elapsed_at(now, calendar)}"
            )
        for metric in after.clocks.keys() - before.clocks.keys():
            assert metric is NEXT or action == "start"

    record(TicketClocks("T-9", Priority.HIGH, TicketStatus.NEW, "", now), ticket, events, "start")
    for seconds, (action, first, second) in steps:
        now += timedelta(seconds=seconds)
        # As the service does: tell what fell due before applying the event.
        before = ticket
        ticket, events = tell_due(ticket, now, chosen=chosen)
        record(before, ticket, events, "due")
        before = ticket
        if action == "message":
            ticket, events = message(ticket, first, now, chosen=chosen, public=second)
        elif action == "status":
            ticket, events = status(ticket, first, now, chosen=chosen, on_hold_pauses=second)
        elif action == "retarget":
            chosen = POLICIES[first](calendar)
            ticket, events = sla.retarget(ticket, priority=second, at=now, chosen=chosen)
        else:
            ticket, events = tell_due(ticket, now, chosen=chosen)
        record(before, ticket, events, action)
        wakeup = sla.next_wakeup(ticket, chosen, 0.75)
        if wakeup is not None:
            # The wakeup is never in the past once due() has run at `now`, and firing then tells something.
            assert wakeup > now or action != "due"
            fired, events = tell_due(ticket, max(wakeup, now), chosen=chosen)
            assert events, "a wakeup that tells nothing"
        assert TicketClocks.from_document(ticket.document()) == ticket
