"""Adapters that read what the platform did: every helpdesk topic from the beginning, intake's read model.

The tap keeps only what the checks need (assignments, SLA clocks started, dead letters, when each event
type was produced), so a 10,000-ticket run does not hold every record in memory.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from dataclasses import dataclass

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from helpdesk_events import EventDecodeError, Topic, TopicNames, decode


@dataclass(frozen=True)
class Assignment:
    event_id: str
    ticket_id: str
    agent_id: str


class BrokerTap:
    """Reads every helpdesk topic from offset 0 until stopped."""

    def __init__(self, bootstrap: str, names: TopicNames | None = None) -> None:
        self._bootstrap = bootstrap
        self.names = names or TopicNames()
        self.assignments: dict[str, Assignment] = {}  # by event id: a replayed event is one assignment
        self.sla_started: dict[str, tuple[str, str]] = {}  # event id -> (ticket id, metric)
        self.produced_at: dict[str, list[float]] = defaultdict(list)  # event type -> record timestamps
        self.dead_letters: Counter[tuple[str, str]] = Counter()  # (record key, consumer group) -> copies
        self.dead_letter_at: dict[str, float] = {}  # record key -> last copy's timestamp
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50
        )
        await consumer.start()
        wanted = [self.names.name(topic) for topic in Topic]
        partitions: list[TopicPartition] = []
        for _ in range(100):  # the services create their topics as they start
            partitions = [
                TopicPartition(name, p)
                for name in wanted
                for p in sorted(consumer.partitions_for_topic(name) or ())
            ]
            if {tp.topic for tp in partitions} == set(wanted):
                break
            await consumer._client.force_metadata_update()
            await asyncio.sleep(0.2)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        self._consumer = consumer
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._consumer is not None
        dead_letter_topic = self.names.name(Topic.DEAD_LETTER)
        while True:
            batches = await self._consumer.getmany(timeout_ms=200, max_records=5000)
            for records in batches.values():
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
            self.sla_started[event_id] = (envelope.ticket_id, str(envelope.payload.metric))

    def agents_told(self, tickets: set[str]) -> tuple[dict[str, set[str]], Counter[str]]:
        agents: dict[str, set[str]] = defaultdict(set)
        events: Counter[str] = Counter()
        for each in list(self.assignments.values()):
            if each.ticket_id in tickets:
                agents[each.ticket_id].add(each.agent_id)
                events[each.ticket_id] += 1
        return dict(agents), events

    def clocks_started(self, tickets: set[str]) -> Counter[tuple[str, str]]:
        return Counter(pair for pair in list(self.sla_started.values()) if pair[0] in tickets)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._consumer is not None:
            await self._consumer.stop()


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
