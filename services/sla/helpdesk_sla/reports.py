"""Response-time reports: how fast tickets got their first reply and their solve, per group.

Pure arithmetic over `TicketFacts`; the caller chooses the tickets (created in a window) and gives
the business calendar of each ticket (the one of the SLA policy that covers it), because a manager
asks both "how long did customers wait" (calendar hours) and "how long did we take while open"
(business hours). Per group (agent, team, channel or priority; tickets without one form the group
None) a row gives:

- `volume`: tickets in the group.
- First reply time, from creation to the first public agent reply, of the tickets that got one:
  median and 90th percentile, in business seconds (`calendar.elapsed`) and in calendar seconds.
  Percentiles are by **nearest rank**: the p-th percentile of n sorted values is the value at rank
  ceil(p/100 * n) (1-based). So the median is always a time some ticket really waited (of an even
  count, the lower middle one), and p90 of fewer than ten tickets is the slowest one.
- Average resolution time, from creation to the first solve, of the solved tickets, both ways.
- First contact resolution share, among solved tickets: solved after exactly one public agent
  reply and never reopened.
- Within-SLA share, among tickets whose outcome is known (`sla_outcome`): those that met every
  clock within target.
- Breaches: sla.breached events of the group's tickets (a ticket may breach more than one clock).

Times are float seconds; a figure without data (no reply yet, nothing solved) is None, never 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Literal, get_args

from helpdesk_sla.calendar import BusinessCalendar
from helpdesk_sla.ticket_facts import TicketFacts

GroupBy = Literal["agent", "team", "channel", "priority"]
GROUP_BYS: tuple[str, ...] = get_args(GroupBy)

_GROUP_FIELD = {"agent": "agent_id", "team": "team", "channel": "channel", "priority": "priority"}


@dataclass(frozen=True)
class ReportRow:
    group: str | None  # None: tickets without an agent, team, channel or priority
    volume: int
    replied: int  # tickets with a first agent reply
    solved: int  # tickets solved at least once
    first_reply_median_business_seconds: float | None
    first_reply_p90_business_seconds: float | None
    first_reply_median_calendar_seconds: float | None
    first_reply_p90_calendar_seconds: float | None
    resolution_average_business_seconds: float | None
    resolution_average_calendar_seconds: float | None
    first_contact_resolution_share: float | None  # among solved tickets
    within_sla_share: float | None  # among tickets whose SLA outcome is known
    breaches: int


def percentile(values: Iterable[float], share: float) -> float | None:
    """Nearest-rank percentile (`share` 0.5 for the median, 0.9 for p90); None of no values."""
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")
    ordered = sorted(values)
    if not ordered:
        return None
    # Exact rank: in floats 0.9 * 100 is 90.00000000000001, whose ceiling would skip a rank.
    return ordered[max(1, math.ceil(Fraction(str(share)) * len(ordered))) - 1]


def _average(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _share(hits: int, out_of: int) -> float | None:
    return hits / out_of if out_of else None


def first_contact_resolution(facts: TicketFacts) -> bool | None:
    """Solved after exactly one public agent reply and never reopened; None while not solved."""
    if facts.solved_at is None:
        return None
    return facts.agent_replies == 1 and not facts.reopened


def sla_outcome(facts: TicketFacts) -> bool | None:
    """Whether the ticket kept its SLA: False as soon as a clock breached or ended late (a miss is
    final); True once it is solved with every ended clock within target (at least one); None while
    it may still go either way, or when it runs no clock at all."""
    ended = [state for state in (facts.first_reply_within, facts.resolution_within) if state is not None]
    if facts.breaches > 0 or False in ended:
        return False
    if facts.solved_at is not None and ended:
        return True
    return None


def _seconds(calendar: BusinessCalendar, start: datetime, end: datetime) -> tuple[float, float]:
    """(business, calendar) seconds from start to end; zero when end is not after start."""
    return calendar.elapsed(start, end).total_seconds(), max(0.0, (end - start).total_seconds())


def group_of(facts: TicketFacts, group_by: str) -> str | None:
    if group_by not in _GROUP_FIELD:
        raise ValueError(f"group_by must be one of {', '.join(GROUP_BYS)}, got {group_by!r}")
    return getattr(facts, _GROUP_FIELD[group_by])


def response_times(
    facts: list[TicketFacts], *, group_by: str, calendar_of: Callable[[TicketFacts], BusinessCalendar]
) -> list[ReportRow]:
    """One row per group that has tickets, by group name (the group None last).

    Tickets whose creation is not known yet (only SLA events seen) are left out.
    """
    groups: dict[str | None, list[TicketFacts]] = {}
    for ticket in facts:
        if ticket.created_at is not None:
            groups.setdefault(group_of(ticket, group_by), []).append(ticket)
    ordered = sorted(groups, key=lambda name: (name is None, name or ""))
    return [_row(name, groups[name], calendar_of) for name in ordered]


def _row(
    name: str | None, tickets: list[TicketFacts], calendar_of: Callable[[TicketFacts], BusinessCalendar]
) -> ReportRow:
    reply_business: list[float] = []
    reply_calendar: list[float] = []
    solve_business: list[float] = []
    solve_calendar: list[float] = []
    outcomes: list[bool] = []
    one_touch = 0
    for ticket in tickets:
        assert ticket.created_at is not None
        calendar = calendar_of(ticket)
        if ticket.first_agent_reply_at is not None:
            business, wall = _seconds(calendar, ticket.created_at, ticket.first_agent_reply_at)
            reply_business.append(business)
            reply_calendar.append(wall)
        if ticket.solved_at is not None:
            business, wall = _seconds(calendar, ticket.created_at, ticket.solved_at)
            solve_business.append(business)
            solve_calendar.append(wall)
            one_touch += bool(first_contact_resolution(ticket))
        outcome = sla_outcome(ticket)
        if outcome is not None:
            outcomes.append(outcome)
    return ReportRow(
        group=name,
        volume=len(tickets),
        replied=len(reply_business),
        solved=len(solve_business),
        first_reply_median_business_seconds=percentile(reply_business, 0.5),
        first_reply_p90_business_seconds=percentile(reply_business, 0.9),
        first_reply_median_calendar_seconds=percentile(reply_calendar, 0.5),
        first_reply_p90_calendar_seconds=percentile(reply_calendar, 0.9),
        resolution_average_business_seconds=_average(solve_business),
        resolution_average_calendar_seconds=_average(solve_calendar),
        first_contact_resolution_share=_share(one_touch, len(solve_business)),
        within_sla_share=_share(sum(outcomes), len(outcomes)),
        breaches=sum(ticket.breaches for ticket in tickets),
    )
