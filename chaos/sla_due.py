"""Whether each ticket's SLA clocks are correct, pure: what the tap remembered in, wrong clocks out.

A clock is correct when every `sla.started` told for it names the policy, and carries the due time, that
the SLA service's own rules give for the ticket's events, to the second. The expected clocks come from
replaying the ticket's events through the service's pure domain code: `SlaConfig.choose` picks the policy
and `helpdesk_sla.clocks` (start, retarget, on_status, on_message) decides the due times on the policy's
business calendar. Nothing here counts business time itself.

The moment each event counts from is the event's own `occurred_at`, not when the SLA service read it: the
desk (helpdesk_sla/desk.py) passes `envelope.occurred_at` to the clocks. So the first-reply and resolution
clocks run from when intake created the ticket, and a ticket the SLA service only reads after a restart is
still due a target after its creation, not after the catch-up.

The glue between events and the clocks follows SlaDesk (ticket_created, ticket_triaged, priority_changed,
message_added, status_changed): which priority and named policy each event chooses with. Not replayed:
the timer's warnings and breaches (they tell no `sla.started`; an escalation on breach is told as
`ticket.priority_changed` at the breach, which is replayed like any priority change) and a policy change
by PUT /v1/policies while tickets run (the expected clocks use one document, the one in force).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from helpdesk_events.sla import SlaStarted
from helpdesk_sla import clocks
from helpdesk_sla.policies import ChosenPolicy, SlaConfig

# Due times are compared to the second: both sides come from the same occurred_at and the same arithmetic,
# so anything a second or more apart was decided differently, not rounded differently.
TOLERANCE = timedelta(seconds=1)


class TicketOpened(NamedTuple):
    """What `ticket.created` says that chooses the policy and starts the clocks."""

    at: datetime  # the event's occurred_at
    priority: str
    channel: str
    customer_tier: str | None


class Triaged(NamedTuple):
    event_id: str
    at: datetime
    priority: str
    sla_policy: str | None


class PriorityChanged(NamedTuple):
    event_id: str
    at: datetime
    to_priority: str


class StatusChanged(NamedTuple):
    event_id: str
    at: datetime
    to_status: str


class MessageAdded(NamedTuple):
    event_id: str
    at: datetime
    author_kind: str
    public: bool


# The later ticket events that can start, re-target, pause or resume a clock, in the order of the topic.
ClockChange = Triaged | PriorityChanged | StatusChanged | MessageAdded
_EVENT_TYPE = {
    Triaged: "ticket.triaged",
    PriorityChanged: "ticket.priority_changed",
    StatusChanged: "ticket.status_changed",
    MessageAdded: "ticket.message_added",
}


class StartedClock(NamedTuple):
    """One `sla.started` as told."""

    event_id: str
    ticket_id: str
    metric: str
    policy: str
    due_at: datetime | None


class ExpectedClock(NamedTuple):
    """One `sla.started` the service's rules call for, and the event that calls for it."""

    metric: str
    policy: str
    target: timedelta
    due_at: datetime | None
    cause: str


@dataclass(frozen=True)
class ClockFindings:
    """metrics_at_creation: ticket -> metrics its policy starts at ticket.created (() when no policy
    covers it). starts_expected: (ticket, metric) -> how many sla.started its events explain (a re-target
    tells the clock again). wrong: ticket -> what is wrong with its clocks, in words."""

    metrics_at_creation: dict[str, tuple[str, ...]] = field(default_factory=dict)
    starts_expected: Counter[tuple[str, str]] = field(default_factory=Counter)
    wrong: dict[str, str] = field(default_factory=dict)


def expected_starts(
    opened: TicketOpened, changes: Iterable[ClockChange], config: SlaConfig
) -> list[ExpectedClock]:
    """Every `sla.started` the SLA service tells for a ticket with these events, in order."""
    chosen = config.choose(opened.priority, customer_tier=opened.customer_tier, channel=opened.channel)
    if chosen is None:
        return []  # no policy covers the ticket: it runs no clocks, and a later event starts none
    ticket, told = clocks.start(
        "expected",
        priority=opened.priority,
        channel=opened.channel,
        customer_tier=opened.customer_tier,
        at=opened.at,
        chosen=chosen,
    )
    expected = _started(told, "ticket.created")
    applied: set[str] = set()
    for change in changes:
        if change.event_id in applied:
            continue  # a redelivered event: the desk applies an event id once
        applied.add(change.event_id)
        ticket, told = _apply(ticket, change, opened, config)
        expected += _started(told, _EVENT_TYPE[type(change)])
    return expected


def check_clocks(
    tickets: Iterable[str],
    opened: Mapping[str, TicketOpened],
    changes: Mapping[str, Sequence[ClockChange]],
    started: Mapping[str, Sequence[StartedClock]],
    config: SlaConfig,
) -> ClockFindings:
    """Each ticket's told clocks against its expected ones. A ticket whose ticket.created was not seen is
    left out (nothing to measure it against; the other checks see it)."""
    findings = ClockFindings()
    for ticket in tickets:
        if ticket not in opened:
            continue
        expected = expected_starts(opened[ticket], changes.get(ticket, ()), config)
        at_creation = tuple(
            dict.fromkeys(clock.metric for clock in expected if clock.cause == "ticket.created")
        )
        findings.metrics_at_creation[ticket] = at_creation
        told = started.get(ticket, ())
        problems: list[str] = []
        for metric in dict.fromkeys([*(c.metric for c in expected), *(c.metric for c in told)]):
            wanted = [clock for clock in expected if clock.metric == metric]
            got = [clock for clock in told if clock.metric == metric]
            findings.starts_expected[(ticket, metric)] = len(wanted)
            problems += _compare(metric, wanted, got, at_creation)
        if problems:
            findings.wrong[ticket] = "; ".join(problems)
    return findings


def _compare(
    metric: str, wanted: list[ExpectedClock], got: list[StartedClock], at_creation: tuple[str, ...]
) -> list[str]:
    if not wanted:
        return [f"{metric} started (policy {got[0].policy!r}) though its policy runs no such clock"]
    if not got:
        # One owed from creation is "sla_clock_not_started"; one a later event starts is wrong here.
        return [] if metric in at_creation else [f"{metric} never started; {_said(wanted[0])}"]
    problems = []
    for index, clock in enumerate(got):
        # A start told more often than expected is judged against the last expected (a duplicate of it
        # is counted as duplicated, not as wrong).
        should = wanted[min(index, len(wanted) - 1)]
        if clock.policy != should.policy or not _same_time(clock.due_at, should.due_at):
            problems.append(
                f"{metric} told policy {clock.policy!r} due {_shown(clock.due_at)}; {_said(should)}"
            )
    if len(got) < len(wanted):
        problems.append(
            f"{metric} told {len(got)} of {len(wanted)} starts; last missing: {_said(wanted[-1])}"
        )
    return problems


def _apply(
    ticket: clocks.TicketClocks, change: ClockChange, opened: TicketOpened, config: SlaConfig
) -> tuple[clocks.TicketClocks, list]:
    """One later event, as SlaDesk applies it."""

    def choose(priority: str, named: str | None) -> ChosenPolicy | None:
        return config.choose(
            priority, customer_tier=opened.customer_tier, channel=opened.channel, named=named
        )

    if isinstance(change, Triaged):
        # Triage may name a policy; when none covers the triaged priority the clocks stay as they were.
        chosen = choose(change.priority, change.sla_policy)
        if chosen is None:
            return ticket, []
        updated, told = clocks.retarget(ticket, priority=change.priority, at=change.at, chosen=chosen)
        return updated, told
    if isinstance(change, PriorityChanged):
        if ticket.priority == change.to_priority:
            return ticket, []
        chosen = choose(change.to_priority, ticket.policy_name)
        if chosen is None:
            return replace(ticket, priority=change.to_priority), []
        updated, told = clocks.retarget(ticket, priority=change.to_priority, at=change.at, chosen=chosen)
        return updated, told
    chosen = choose(ticket.priority, ticket.policy_name)
    if chosen is None:
        return ticket, []
    if isinstance(change, StatusChanged):
        updated, told = clocks.on_status(
            ticket,
            to_status=change.to_status,
            at=change.at,
            chosen=chosen,
            on_hold_pauses=config.on_hold_pauses,
        )
        return updated, told
    return clocks.on_message(
        ticket, author_kind=change.author_kind, public=change.public, at=change.at, chosen=chosen
    )


def _started(told: list, cause: str) -> list[ExpectedClock]:
    return [
        ExpectedClock(event.metric.value, event.policy, event.target, event.due_at, cause)
        for event in told
        if isinstance(event, SlaStarted)
    ]


def _same_time(told: datetime | None, expected: datetime | None) -> bool:
    if told is None or expected is None:
        return told is expected
    return abs(told - expected) < TOLERANCE


def _shown(moment: datetime | None) -> str:
    return "none (paused)" if moment is None else moment.astimezone(UTC).isoformat(timespec="seconds")


def _said(clock: ExpectedClock) -> str:
    return f"expected policy {clock.policy!r} due {_shown(clock.due_at)} (target {clock.target}, from {clock.cause})"
