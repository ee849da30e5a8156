"""Router section of `make bench`: how fast the router alone assigns a burst of tickets to a large roster.

The router runs as its own process on the bench's Kafka and MongoDB, under a topic prefix, a consumer
group and a database of its own, so nothing else on the servers reads or writes its data. The bench
talks to it only as the other services do: agents go in over HTTP, tickets go in as `ticket.created`
envelopes on the tickets topic, and the answers (`ticket.assigned`, `ticket.queued`) are read back from
that topic. Every figure is counted from records actually read back within the time budget: when the
router cannot get through all tickets in the budget, the table says how many it did, not a projection.

Where the time goes is read from the router's own /metrics (handler and produce-acknowledgement
histograms, before and after) and from the CPU time each process used over the measured window.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from bench.hops import cpu_seconds, percentiles
from devtools.platform import ServiceProcess
from devtools.servers import free_port
from helpdesk_events import Requester, TicketCreated, Topic, TopicNames
from helpdesk_events.envelope import new_envelope
from helpdesk_events.publisher import event_headers
from helpdesk_events.registry import encode

# Topics of the work an agent can do; each ticket is tagged with one and a triage rule turns the tag
# into a required skill, so the router filters the roster by skill as it does in production.
TOPICS = ("billing", "technical", "shipping", "returns")
LANGUAGES = ("english", "french", "german", "spanish", "dutch")
PRIORITIES = ("low", "normal", "normal", "normal", "high", "urgent")
ANSWERS = {"ticket.assigned", "ticket.queued"}


@dataclass(frozen=True)
class RouterBenchPlan:
    agents: int
    tickets: int
    seconds: float
    capacity: int | None = None  # per agent; None: enough for every ticket to find a free agent
    seed_concurrency: int = 32

    def agent_capacity(self) -> int:
        """Total capacity covers the tickets (and each topic's share twice over), within the API's limit of 1000."""
        if self.capacity is not None:
            return self.capacity
        return min(1000, max(1, math.ceil(self.tickets / max(1, self.agents))))


def agent_profile(n: int, capacity: int) -> dict:
    """Two work topics per agent (each topic held by half the roster) and a language, so skills vary."""
    return {
        "name": f"Bench Agent {n}",
        "email": f"bench.agent{n}@example.com",
        "slack_user_id": f"UBENCH{n}",
        "skills": [TOPICS[n % len(TOPICS)], TOPICS[(n + 1) % len(TOPICS)], LANGUAGES[n % len(LANGUAGES)]],
        "capacity": capacity,
        "status": "online",
    }


def triage_rules() -> dict:
    return {
        "rules": [
            {"name": f"{topic} needs {topic} skill", "when": {"tags_any": [topic]},
             "then": {"required_skills": [topic]}}
            for topic in TOPICS
        ]
    }


def ticket_created(n: int, run: str) -> tuple[str, bytes, list[tuple[str, bytes]]]:
    """One ticket.created record as intake would publish it: ticket id, encoded envelope, headers."""
    ticket_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-router/{run}/{n}"))
    payload = TicketCreated(
        subject=f"Bench ticket {n}: my {TOPICS[n % len(TOPICS)]} question",
        body="My order has not arrived yet and the tracking page shows nothing. " * 3,
        requester=Requester(email=f"customer{n}@example.com", name=f"Customer {n}"),
        channel="web",
        message_id=f"bench-{run}-{n}-m1",
        priority=PRIORITIES[n % len(PRIORITIES)],
        tags=("bench", TOPICS[n % len(TOPICS)]),
    )
    envelope = new_envelope(payload, source="intake", ticket_id=ticket_id)
    return ticket_id, encode(envelope), event_headers(envelope)


async def seed_roster(client: httpx.AsyncClient, plan: RouterBenchPlan) -> float:
    """PUT every agent, `seed_concurrency` at a time; returns agents per second."""
    capacity = plan.agent_capacity()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(plan.agents):
        queue.put_nowait(n)

    async def worker() -> None:
        while not queue.empty():
            n = queue.get_nowait()
            for _attempt in range(5):
                response = await client.put(f"/v1/agents/bench-{n}", json=agent_profile(n, capacity))
                if response.status_code != 409:  # 409: concurrent update, send again
                    break
            response.raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(plan.seed_concurrency)))
    return plan.agents / (time.perf_counter() - started)


async def router_metrics(client: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The router's /metrics as {(sample name, labels): value}."""
    response = await client.get("/metrics")
    response.raise_for_status()
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def metric_delta(before: dict, after: dict, name: str, **labels: str) -> dict[tuple, float]:
    """Increase of every series of `name` whose labels include `labels`, keyed by the remaining labels."""
    found: dict[tuple, float] = {}
    for (sample, series), value in after.items():
        if sample != name or any(dict(series).get(k) != v for k, v in labels.items()):
            continue
        rest = tuple((k, v) for k, v in series if k not in labels)
        found[rest] = value - before.get((sample, series), 0.0)
    return found


def where_time_goes(before: dict, after: dict, window: float) -> dict:
    """Per event type: events handled, mean handler time; and how much of it waited for Kafka acks."""
    counts = metric_delta(before, after, "helpdesk_event_handle_seconds_count", service="router")
    sums = metric_delta(before, after, "helpdesk_event_handle_seconds_sum", service="router")
    handled = {}
    for series, count in counts.items():
        if count > 0:
            event_type = dict(series).get("type", "?")
            handled[event_type] = {
                "events": int(count),
                "mean_ms": round(1000 * sums.get(series, 0.0) / count, 2),
                "handler_seconds": round(sums.get(series, 0.0), 1),
            }
    produce_count = sum(metric_delta(before, after, "helpdesk_event_produce_seconds_count", service="router").values())
    produce_sum = sum(metric_delta(before, after, "helpdesk_event_produce_seconds_sum", service="router").values())
    handler_seconds = sum(row["handler_seconds"] for row in handled.values())
    return {
        "handled": handled,
        "events_produced": int(produce_count),
        "produce_ack_mean_ms": round(1000 * produce_sum / produce_count, 2) if produce_count else None,
        "produce_ack_seconds": round(produce_sum, 1),
        # Above 1: handlers overlap (partitions in parallel); the rest of handler time is MongoDB and CPU.
        "handler_seconds_per_wall_second": round(handler_seconds / window, 2) if window > 0 else None,
    }


class Answers:
    """Reads the tickets topic from the start and notes when each bench ticket was assigned or queued."""

    def __init__(self, bootstrap: str, topic: str, ticket_ids: set[str]) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self._ticket_ids = ticket_ids
        self.assigned: dict[str, float] = {}
        self.queued: dict[str, float] = {}
        self.event_ids: set[str] = set()
        self.answer_records = 0  # above len(event_ids): some answers were emitted twice (a replay)
        self._consumer: AIOKafkaConsumer | None = None

    @property
    def settled(self) -> int:
        return len(self.assigned.keys() | self.queued.keys())

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50)
        await consumer.start()
        partitions = consumer.partitions_for_topic(self._topic) or set()
        if not partitions:
            await consumer.stop()
            raise RuntimeError(f"the router did not create {self._topic}")
        consumer.assign([TopicPartition(self._topic, p) for p in sorted(partitions)])
        await consumer.seek_to_beginning()
        self._consumer = consumer

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def read_until(self, deadline: float) -> None:
        assert self._consumer is not None
        while self.settled < len(self._ticket_ids) and time.perf_counter() < deadline:
            batches = await self._consumer.getmany(timeout_ms=200, max_records=10_000)
            now = time.perf_counter()
            for records in batches.values():
                for record in records:
                    event_type = next((v.decode() for k, v in record.headers if k == "event-type"), None)
                    if event_type not in ANSWERS:
                        continue
                    document = json.loads(record.value)
                    ticket_id = document.get("ticket_id")
                    if ticket_id not in self._ticket_ids:
                        continue
                    self.answer_records += 1
                    self.event_ids.add(document["id"])  # replays re-emit the same id
                    seen = self.assigned if event_type == "ticket.assigned" else self.queued
                    seen.setdefault(ticket_id, now)


async def router_bench(
    *,
    kafka_bootstrap: str,
    mongodb_url: str,
    log_dir: Path,
    plan: RouterBenchPlan,
    broker_pass_through: int,
    peak_rss_mb: Callable[[int], float],
    server_pids: dict[str, int | None] | None = None,
) -> dict:
    """Start a router, seed the roster, produce every ticket, count the answers read back within the budget."""
    run = uuid.uuid4().hex[:8]
    topics = TopicNames(f"bench-router-{run}.")
    tickets_topic = topics.name(Topic.TICKETS)
    router = ServiceProcess(
        "router",
        free_port(),
        {
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "MONGODB_URL": mongodb_url,
            "MONGODB_DATABASE": f"bench_router_{run}",
            "KAFKA_TOPIC_PREFIX": topics.prefix,
            "ROUTER_CONSUMER_GROUP": f"bench-router-{run}",
            # The embedded broker: short session so the group joins fast, short fetch wait (see devtools/platform.py).
            "KAFKA_SESSION_TIMEOUT_MS": "3000",
            "KAFKA_HEARTBEAT_INTERVAL_MS": "500",
            "KAFKA_FETCH_MAX_WAIT_MS": "50",
            # No periodic re-offer of queued tickets during the run: every answer comes from a ticket.created.
            "ROUTER_SWEEP_SECONDS": "86400",
            "LOG_LEVEL": "WARNING",
        },
        log_dir,
    )
    print(f"  encoding {plan.tickets:,} ticket.created envelopes ...", flush=True)
    records = [ticket_created(n, run) for n in range(plan.tickets)]
    ticket_ids = {ticket_id for ticket_id, _, _ in records}
    router.start()
    answers = Answers(kafka_bootstrap, tickets_topic, ticket_ids)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=False, linger_ms=5)
    try:
        async with httpx.AsyncClient(base_url=router.url, timeout=30) as client:
            (await client.put("/v1/rules", json=triage_rules())).raise_for_status()
            print(f"  seeding {plan.agents:,} agents (capacity {plan.agent_capacity()} each) ...", flush=True)
            seeded_per_second = await seed_roster(client, plan)
            await answers.start()
            await producer.start()
            before = await router_metrics(client)
            pids = {"router": router.pid, **{k: v for k, v in (server_pids or {}).items() if v}}
            cpu_before = cpu_seconds(pids)
            print(f"  producing {plan.tickets:,} tickets; reading answers for up to {plan.seconds:.0f} s ...",
                  flush=True)
            started = time.perf_counter()
            deadline = started + plan.seconds
            reader = asyncio.create_task(answers.read_until(deadline))
            sent_at: dict[str, float] = {}
            pending = []
            for ticket_id, value, headers in records:
                sent_at[ticket_id] = time.perf_counter()
                pending.append(
                    await producer.send(tickets_topic, value, key=ticket_id.encode(), headers=headers)
                )
            await asyncio.gather(*pending)
            produced_in = time.perf_counter() - started
            await reader
            window = time.perf_counter() - started
            cpu_after = cpu_seconds(pids)
            after = await router_metrics(client)
            peak_rss = peak_rss_mb(router.pid)
    finally:
        await producer.stop()
        await answers.stop()
        router.stop()

    assigned_times = sorted(answers.assigned.values())
    steady = (
        (len(assigned_times) - 1) / (assigned_times[-1] - assigned_times[0])
        if len(assigned_times) > 1 and assigned_times[-1] > assigned_times[0]
        else None
    )
    answered = {**answers.queued, **answers.assigned}
    rate = round(steady, 1) if steady is not None else None
    return {
        "agents": plan.agents,
        "capacity_per_agent": plan.agent_capacity(),
        "tickets": plan.tickets,
        "budget_seconds": plan.seconds,
        "seconds_measured": round(window, 1),
        "agents_seeded_per_second": round(seeded_per_second, 1),
        "tickets_produced_per_second": round(plan.tickets / produced_in),
        "assigned": len(answers.assigned),
        "queued": len(answers.queued.keys() - answers.assigned.keys()),
        "not_answered_in_budget": plan.tickets - answers.settled,
        # From the first assignment read back to the last: the router's steady rate, group join excluded.
        "assignments_per_second": rate,
        # Everything assigned over the whole window, from the first ticket sent (group join included).
        "assigned_per_second_over_window": round(len(answers.assigned) / window, 1),
        "first_assignment_after_seconds": round(assigned_times[0] - started, 2) if assigned_times else None,
        "broker_pass_through_per_second": broker_pass_through,
        "share_of_broker_pass_through_percent": round(100 * rate / broker_pass_through, 2) if rate else None,
        # Tickets were produced as one burst: this includes the time each waited behind earlier ones.
        "burst_latency_ms": percentiles([answered[t] - sent_at[t] for t in answered]),
        "answer_records": answers.answer_records,
        "answer_events_distinct": len(answers.event_ids),
        "peak_rss_mb": peak_rss,
        "cpu_percent": {
            name: round(100 * (cpu_after[name] - cpu_before[name]) / window, 1)
            for name in cpu_after
            if name in cpu_before
        },
        "router_metrics": where_time_goes(before, after, window),
    }


def summary_line(result: dict) -> str:
    rate = result["assignments_per_second"]
    share = result["share_of_broker_pass_through_percent"]
    return (
        f"router: assigned {result['assigned']:,} of {result['tickets']:,} tickets to {result['agents']:,} agents "
        f"in {result['seconds_measured']:.0f} s = {rate if rate is not None else 'n/a'}/s "
        f"(broker pass-through {result['broker_pass_through_per_second']:,}/s, "
        f"{share if share is not None else 'n/a'}%)"
    )


def print_router(result: dict) -> None:
    print(summary_line(result))
    lat = result["burst_latency_ms"]
    print(f"  queued {result['queued']:,}, unanswered when the budget ran out {result['not_answered_in_budget']:,}; "
          f"first assignment after {result['first_assignment_after_seconds']} s; "
          f"{result['assigned_per_second_over_window']}/s over the whole window")
    print(f"  produced at {result['tickets_produced_per_second']:,} tickets/s; agents seeded at "
          f"{result['agents_seeded_per_second']}/s; ticket to answer in the burst p50 {lat['p50']} ms, "
          f"p95 {lat['p95']} ms, p99 {lat['p99']} ms")
    metrics = result["router_metrics"]
    handled = ", ".join(f"{t} {row['events']:,} x {row['mean_ms']} ms" for t, row in metrics["handled"].items())
    print(f"  router handlers: {handled or 'none'}; {metrics['events_produced']:,} events produced, "
          f"ack wait {metrics['produce_ack_mean_ms']} ms each ({metrics['produce_ack_seconds']} s in all); "
          f"handler-seconds per second {metrics['handler_seconds_per_wall_second']}")
    print("  cpu over the window: " + ", ".join(f"{k} {v}%" for k, v in result["cpu_percent"].items())
          + f"; router peak RSS {result['peak_rss_mb']} MB")
