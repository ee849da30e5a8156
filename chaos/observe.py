"""Adapters that read what the platform did: every helpdesk topic from the beginning, intake's read model.

The tap keeps only what the checks need (assignments, SLA clocks started, dead letters, when each event
type was produced, and of each ticket the few fields its SLA clocks depend on), so a 10,000-ticket run does
not hold every record in memory.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from chaos.sla_due import (
    ClockChange,
    MessageAdded,
    PriorityChanged,
    StartedClock,
    StatusChanged,
    TicketOpened,
    Triaged,
)
from devtools.topic_reader import TopicReader
from helpdesk_events import EventDecodeError, Topic, TopicNames, decode
from helpdesk_sla.policies import DEFAULT_CONFIG, SlaConfig, load_config_file


@dataclass(frozen=True)
class Assignment:
    event_id: str
    ticket_id: str
    agent_id: str


class BrokerTap:
    """Reads every helpdesk topic from offset 0 until stopped."""

    def __init__(self, bootstrap: str, names: TopicNames | None = None, fetch_max_wait_ms: int = 50) -> None:
        self.names = names or TopicNames()
        self.assignments: dict[str, Assignment] = {}  # by event id: a replayed event is one assignment
        self.sla_started: dict[str, StartedClock] = {}  # by event id, in the order told
        self.tickets_opened: dict[str, TicketOpened] = {}  # by ticket id, from ticket.created
        self.clock_changes: dict[str, list[ClockChange]] = defaultdict(list)  # by ticket id, in topic order
        self.produced_at: dict[str, list[float]] = defaultdict(list)  # event type -> record timestamps
        self.dead_letters: Counter[tuple[str, str]] = Counter()  # (record key, consumer group) -> copies
        self.dead_letter_at: dict[str, float] = {}  # record key -> last copy's timestamp
        # Topics the services create as they start; an embedded broker restarted comes back empty.
        self._reader = TopicReader(bootstrap, [self.names.name(topic) for topic in Topic], self._take,
                                   wait_for_topics=20, poll_ms=200, follow_broker_restart=True,
                                   fetch_max_wait_ms=fetch_max_wait_ms)  # fmt: skip

    async def start(self) -> None:
        await self._reader.start()

    async def _take(self, records: list) -> None:
        dead_letter_topic = self.names.name(Topic.DEAD_LETTER)
        for record in records:
            if record.topic == dead_letter_topic:
                self._dead_letter(record)
            else:
                self._event(record)

    def _dead_letter(self, record) -> None:
        headers = {k: v.decode(errors="replace") for k, v in record.headers}
        key = record.key.decode(errors="replace") if record.key else ""
        self.dead_letters[(key, headers.get("dlq-consumer-group", "?"))] += 1
        self.dead_letter_at[key] = record.timestamp / 1000

    def _event(self, record) -> None:
        try:
            envelope = decode(record.value)
        except EventDecodeError:
            return  # poison (ours or not): the dead-letter topic is where it is counted
        self.produced_at[envelope.type].append(record.timestamp / 1000)
        event_id = str(envelope.id)
        if envelope.type == "ticket.assigned":
            self.assignments[event_id] = Assignment(event_id, envelope.ticket_id, envelope.payload.agent_id)
        elif envelope.type == "sla.started":
            started = envelope.payload
            self.sla_started[event_id] = StartedClock(
                event_id, envelope.ticket_id, started.metric.value, sys.intern(started.policy), started.due_at
            )
        elif envelope.type.startswith("ticket."):
            self._ticket_event(envelope, event_id)

    def _ticket_event(self, envelope, event_id: str) -> None:
        """What the SLA clocks of a ticket depend on: who chose the policy and when each event happened."""
        ticket_id, payload, at = envelope.ticket_id, envelope.payload, envelope.occurred_at
        if envelope.type == "ticket.created":
            if ticket_id not in self.tickets_opened:  # the SLA service starts clocks on the first only
                self.tickets_opened[ticket_id] = TicketOpened(
                    at, payload.priority.value, payload.channel.value, payload.customer_tier
                )
            return
        change: ClockChange
        if ticket_id not in self.tickets_opened:
            return  # a ticket whose creation was not seen cannot be checked: keep nothing of it
        elif envelope.type == "ticket.triaged":
            change = Triaged(event_id, at, payload.priority.value, payload.sla_policy)
        elif envelope.type == "ticket.priority_changed":
            change = PriorityChanged(event_id, at, payload.to_priority.value)
        elif envelope.type == "ticket.status_changed":
            change = StatusChanged(event_id, at, payload.to_status.value)
        elif envelope.type == "ticket.message_added":
            change = MessageAdded(event_id, at, payload.author_kind.value, payload.public)
        else:
            return
        changes = self.clock_changes[ticket_id]
        if all(known.event_id != event_id for known in changes):  # a redelivery is one event
            changes.append(change)

    def agents_told(self, tickets: set[str]) -> tuple[dict[str, set[str]], Counter[str]]:
        agents: dict[str, set[str]] = defaultdict(set)
        events: Counter[str] = Counter()
        for each in list(self.assignments.values()):
            if each.ticket_id in tickets:
                agents[each.ticket_id].add(each.agent_id)
                events[each.ticket_id] += 1
        return dict(agents), events

    def clocks_started(self, tickets: set[str]) -> Counter[tuple[str, str]]:
        return Counter(
            (clock.ticket_id, clock.metric)
            for clock in list(self.sla_started.values())
            if clock.ticket_id in tickets
        )

    def sla_clocks(
        self, tickets: set[str]
    ) -> tuple[dict[str, TicketOpened], dict[str, list[ClockChange]], dict[str, list[StartedClock]]]:
        """Of these tickets: how each opened, its later clock events, and its sla.started as told, in order."""
        opened = {t: self.tickets_opened[t] for t in tickets if t in self.tickets_opened}
        changes = {t: list(self.clock_changes[t]) for t in opened if t in self.clock_changes}
        started: dict[str, list[StartedClock]] = defaultdict(list)
        for clock in list(self.sla_started.values()):
            if clock.ticket_id in tickets:
                started[clock.ticket_id].append(clock)
        return opened, changes, dict(started)

    async def stop(self) -> None:
        await self._reader.stop()


def sla_policies_in_force(service_env: Mapping[str, str], cwd: Path) -> SlaConfig:
    """The SLA policies the platform's sla service runs on, found as it finds them (helpdesk_sla settings
    and bootstrap): SLA_POLICIES_FILE from its environment (ours with the platform's on top, names in any
    case), relative to its working directory; unset, the built-in DEFAULT_CONFIG. Its MongoDB is new with
    each chaos run and nobody PUTs /v1/policies, so the file (or the default) is what stays in force."""
    env = {**os.environ, **service_env}
    path = next((value for name, value in env.items() if name.upper() == "SLA_POLICIES_FILE" and value), None)
    return load_config_file(cwd / path) if path else DEFAULT_CONFIG


async def read_model_assignees(
    intake_url: str, tickets: set[str], concurrency: int = 20
) -> dict[str, str | None]:
    """Ticket id -> assignee in intake's read model (None: there, unassigned); absent tickets left out."""
    found: dict[str, str | None] = {}
    queue = list(tickets)

    async def worker(client: httpx.AsyncClient) -> None:
        while queue:
            ticket_id = queue.pop()
            response = await client.get(f"{intake_url}/v1/tickets/{ticket_id}")
            if response.status_code == 200:
                found[ticket_id] = response.json().get("assignee_id")

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return found
