"""What the response-time reports need to know about one ticket, folded from its events.

The clocks (clocks.py) say whether a ticket is on time *now*; the reports look back over many
tickets: when the first agent reply came, how many agent replies the first solve took, whether the
ticket was reopened, how its clocks ended. Those facts are kept per ticket, one small immutable
record changed by pure functions, one per event:

- `ticket.created`: creation time, channel, priority as created.
- `ticket.triaged`: the priority triage decided (and the team it routed to, when it names one).
- `ticket.assigned`: the agent, and the team when the assignment names one. A reassignment moves
  the ticket to the new agent: reports count a ticket for whoever holds it now.
- `ticket.message_added`: a *public agent* reply sets the first reply time (once) and, before the
  first solve, counts towards `agent_replies`; notes, customer and system messages count nothing.
- `ticket.status_changed`: the first move to solved (or straight to closed) sets `solved_at`; a move
  away from solved/closed afterwards marks the ticket `reopened` (first solve stays as it was).
- `sla.breached`: `breaches` + 1; a breached first-reply or resolution clock is missed for good.
- `sla.met`: `within_target` of the first-reply or resolution clock. A miss is final: a later
  "met within target" (say, the resolution clock after a reopen) does not turn it back to on time.

Events of the SLA topic may overtake the ticket's `ticket.created` (another topic, another
partition), so every function accepts facts not seen yet (`None`) and then starts a record whose
`created_at` is None until `ticket.created` fills it in; reports skip tickets without a creation time.
Replays are the store's business: it keeps the ids of the events applied (see facts_store.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

AGENT = "agent"
SOLVED = "solved"
CLOSED = "closed"
FIRST_REPLY = "first_reply"
RESOLUTION = "resolution"


@dataclass(frozen=True)
class TicketFacts:
    ticket_id: str
    created_at: datetime | None = None  # None until ticket.created is seen
    channel: str | None = None
    priority: str | None = None
    agent_id: str | None = None
    team: str | None = None
    first_agent_reply_at: datetime | None = None
    agent_replies: int = 0  # public agent messages before the first solve
    solved_at: datetime | None = None  # the first solve
    reopened: bool = False
    first_reply_within: bool | None = None  # None: the clock has not ended (or the ticket runs none)
    resolution_within: bool | None = None
    breaches: int = 0


def _known(facts: TicketFacts | None, ticket_id: str) -> TicketFacts:
    return facts if facts is not None else TicketFacts(ticket_id=ticket_id)


def _value(kind: object) -> str:
    """An enum member's value, or the string itself: callers pass either."""
    return str(getattr(kind, "value", kind))


def ticket_created(
    facts: TicketFacts | None, *, ticket_id: str, at: datetime, channel: str | None, priority: str | None
) -> TicketFacts:
    known = _known(facts, ticket_id)
    return replace(
        known,
        created_at=at,
        channel=_value(channel) if channel is not None else known.channel,
        # Triage normally follows creation; if it came first, its priority is the newer one.
        priority=known.priority or (_value(priority) if priority is not None else None),
    )


def ticket_triaged(
    facts: TicketFacts | None, *, ticket_id: str, priority: str, team: str | None = None
) -> TicketFacts:
    known = _known(facts, ticket_id)
    return replace(known, priority=_value(priority), team=team if team is not None else known.team)


def ticket_assigned(
    facts: TicketFacts | None, *, ticket_id: str, agent_id: str, team: str | None = None
) -> TicketFacts:
    known = _known(facts, ticket_id)
    return replace(known, agent_id=agent_id, team=team if team is not None else known.team)


def message_added(
    facts: TicketFacts | None, *, ticket_id: str, author_kind: str, public: bool, at: datetime
) -> TicketFacts:
    known = _known(facts, ticket_id)
    if _value(author_kind) != AGENT or not public:
        return known
    first = known.first_agent_reply_at
    return replace(
        known,
        first_agent_reply_at=at if first is None or at < first else first,
        agent_replies=known.agent_replies + (1 if known.solved_at is None else 0),
    )


def status_changed(facts: TicketFacts | None, *, ticket_id: str, to_status: str, at: datetime) -> TicketFacts:
    known = _known(facts, ticket_id)
    to = _value(to_status)
    if to in (SOLVED, CLOSED):
        return known if known.solved_at is not None else replace(known, solved_at=at)
    if known.solved_at is not None:
        return replace(known, reopened=True)
    return known


def sla_breached(facts: TicketFacts | None, *, ticket_id: str, metric: str) -> TicketFacts:
    known = _known(facts, ticket_id)
    kind = _value(metric)
    return replace(
        known,
        breaches=known.breaches + 1,
        first_reply_within=False if kind == FIRST_REPLY else known.first_reply_within,
        resolution_within=False if kind == RESOLUTION else known.resolution_within,
    )


def sla_met(facts: TicketFacts | None, *, ticket_id: str, metric: str, within_target: bool) -> TicketFacts:
    known = _known(facts, ticket_id)
    kind = _value(metric)
    if kind == FIRST_REPLY:
        return replace(known, first_reply_within=_worst(known.first_reply_within, within_target))
    if kind == RESOLUTION:
        return replace(known, resolution_within=_worst(known.resolution_within, within_target))
    return known  # a late next reply shows as its sla.breached


def _worst(before: bool | None, now: bool) -> bool:
    """A missed target stays missed."""
    return now if before is None else before and now
