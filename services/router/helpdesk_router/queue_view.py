"""What waits in the router's queue, and why: read-only views of MongoDB for people and for Prometheus.

Nothing here changes a ticket or an agent. `QueueView.report` answers GET /v1/queue; `QueueView.refresh`
sets the queue and load gauges, so a dashboard sees the backlog per team and priority, how long the oldest
ticket has waited and how full each agent is, even when nobody asks the API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Gauge
from pymongo.asynchronous.database import AsyncDatabase

from helpdesk_events import Priority
from helpdesk_events.metrics import GaugeSeries
from helpdesk_events.times import stored_time
from helpdesk_router.assignment import PRIORITY_RANK, QueueEntry, QueueState, fits, why_nobody_fits
from helpdesk_router.roster import Agent
from helpdesk_router.store import MongoRoster, _queue_entry

SERVICE_LABEL = "router"
# Prometheus has no null: a ticket triaged to no team is counted under team="".
NO_TEAM_LABEL = ""

QUEUE_DEPTH = Gauge(
    "helpdesk_router_queue_depth",
    "Tickets waiting in the router's queue for an agent, by team (empty: no team) and priority.",
    ["service", "team", "priority"],
)
QUEUE_OLDEST_SECONDS = Gauge(
    "helpdesk_router_queue_oldest_seconds",
    "How long the oldest ticket waiting in the queue has waited, by team (empty: no team) and priority.",
    ["service", "team", "priority"],
)
AGENT_LOAD = Gauge(
    "helpdesk_router_agent_load",
    "Open tickets each agent on the roster holds.",
    ["service", "agent_id"],
)
AGENT_CAPACITY = Gauge(
    "helpdesk_router_agent_capacity",
    "Most open tickets each agent on the roster may hold at once.",
    ["service", "agent_id"],
)

Document = dict[str, Any]
Clock = Callable[[], datetime]
LabelValues = tuple[str, ...]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class WaitingTicket:
    """One ticket in the queue, as stored: enough to group it, order it and explain it."""

    ticket_id: str
    priority: Priority
    team: str | None
    queued_at: datetime

    @property
    def order(self) -> tuple[int, datetime, str]:
        """Queue order: most urgent first, then oldest, then by id (as the desk offers them)."""
        return PRIORITY_RANK[self.priority], self.queued_at, self.ticket_id


@dataclass(frozen=True)
class QueueDepth:
    """How many tickets of one team and priority wait, and for how long the oldest of them has."""

    team: str | None
    priority: Priority
    waiting: int
    oldest_waiting_seconds: float


@dataclass(frozen=True)
class WaitingExplained:
    """A waiting ticket, with why it queued then and why nobody can take it now."""

    entry: QueueEntry
    waiting_seconds: float
    why_now: str


@dataclass(frozen=True)
class QueueReport:
    depth: list[QueueDepth]
    waiting: list[WaitingExplained]


def waiting_seconds(queued_at: datetime, now: datetime) -> float:
    """Time in queue; never negative, even when routers' clocks disagree a little."""
    return max(0.0, (now - queued_at).total_seconds())


def queue_depth(waiting: Iterable[WaitingTicket], now: datetime) -> list[QueueDepth]:
    """The waiting tickets counted per (team, priority): most urgent first, then by team (no team first).

    Grouped here rather than in MongoDB: nx-27017 cannot `$group` on a compound key.
    """
    groups: dict[tuple[str | None, Priority], list[datetime]] = {}
    for ticket in waiting:
        groups.setdefault((ticket.team, ticket.priority), []).append(ticket.queued_at)
    return [
        QueueDepth(team, priority, len(times), waiting_seconds(min(times), now))
        for (team, priority), times in sorted(
            groups.items(), key=lambda item: (PRIORITY_RANK[item[0][1]], item[0][0] or "")
        )
    ]


def why_waiting_now(roster: Sequence[Agent], entry: QueueEntry, now: datetime) -> str:
    """Why the ticket still waits, against the roster as it is now (it may differ from when it queued)."""
    ticket = entry.ticket
    if any(fits(agent, ticket, now) for agent in roster):
        # Capacity freed since the last offer: the desk's next pass over the queue gives it out.
        return "an agent can take it now; it goes out at the next offer of the queue"
    return why_nobody_fits(roster, ticket, now)


# The series shown per gauge, for the process: gauges are process-wide in prometheus-client, so the record of
# what is published must be too (a test process builds several routers).
_QUEUE_DEPTH = GaugeSeries(QUEUE_DEPTH)
_QUEUE_OLDEST = GaugeSeries(QUEUE_OLDEST_SECONDS)
_AGENT_LOAD = GaugeSeries(AGENT_LOAD)
_AGENT_CAPACITY = GaugeSeries(AGENT_CAPACITY)


def publish(depth: Sequence[QueueDepth], roster: Sequence[Agent]) -> None:
    """Set the gauges to this snapshot of the whole queue and roster."""
    by_group: dict[LabelValues, QueueDepth] = {
        (SERVICE_LABEL, group.team or NO_TEAM_LABEL, group.priority.value): group for group in depth
    }
    _QUEUE_DEPTH.show({labels: group.waiting for labels, group in by_group.items()})
    _QUEUE_OLDEST.show({labels: group.oldest_waiting_seconds for labels, group in by_group.items()})
    _AGENT_LOAD.show({(SERVICE_LABEL, agent.agent_id): agent.load for agent in roster})
    _AGENT_CAPACITY.show({(SERVICE_LABEL, agent.agent_id): agent.profile.capacity for agent in roster})


def _waiting_ticket(document: Document) -> WaitingTicket:
    return WaitingTicket(
        ticket_id=document["_id"],
        priority=Priority(document["priority"]),
        team=document.get("team"),
        queued_at=stored_time(document["queued_at"]),  # type: ignore[arg-type]
    )


def _matches(ticket: WaitingTicket, team: str | None, priority: Priority | None) -> bool:
    return (team is None or ticket.team == team) and (priority is None or ticket.priority is priority)


class QueueView:
    """Read-only queries on the router's `queue` and `agents` collections."""

    def __init__(self, db: AsyncDatabase, clock: Clock = utc_now) -> None:
        self._queue = db.queue
        self._roster = MongoRoster(db)
        self._clock = clock

    async def _waiting(self, projection: Mapping[str, int] | None = None) -> list[Document]:
        return [
            document async for document in self._queue.find({"state": QueueState.WAITING.value}, projection)
        ]

    async def report(
        self, limit: int, team: str | None = None, priority: Priority | None = None
    ) -> QueueReport:
        """The depth of the queue (of the team and priority asked, if any) and its first `limit` tickets,
        each explained against the roster read once, now. The gauges are set from the same reads."""
        # Every waiting ticket, ordered here: a time may be a date or (rewritten on nx-27017) text,
        # which MongoDB would order by type before value.
        in_order = sorted(
            ((_waiting_ticket(document), document) for document in await self._waiting()),
            key=lambda pair: pair[0].order,
        )
        roster = await self._roster.agents()
        now = self._clock()
        tickets = [ticket for ticket, _ in in_order]
        publish(queue_depth(tickets, now), roster)

        chosen = [document for ticket, document in in_order if _matches(ticket, team, priority)]
        waiting = []
        for document in chosen[:limit]:
            entry = _queue_entry(document)
            waiting.append(
                WaitingExplained(
                    entry=entry,
                    waiting_seconds=waiting_seconds(entry.queued_at, now),
                    why_now=why_waiting_now(roster, entry, now),
                )
            )
        depth = queue_depth((ticket for ticket in tickets if _matches(ticket, team, priority)), now)
        return QueueReport(depth=depth, waiting=waiting)

    async def refresh(self) -> None:
        """Set the queue and agent gauges from MongoDB (the router's periodic timer calls this)."""
        documents = await self._waiting({"priority": 1, "team": 1, "queued_at": 1})
        roster = await self._roster.agents()
        publish(queue_depth((_waiting_ticket(document) for document in documents), self._clock()), roster)
