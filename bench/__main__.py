"""`make bench`: figures for the whole platform on the embedded stack, printed and written as JSON.

- broker ceiling: a plain aiokafka produce-and-consume loop on the same broker (500-byte records, acks=all);
- intake accept rate: concurrent POST /v1/tickets, each answered after Kafka acknowledged;
- per hop, in the same phases: ticket.created, ticket.assigned, sla.* and notification.sent produced per
  second, from the services' own /metrics (bench/hops.py), each also as a share of the broker pass-through;
- end to end: from POST to ticket.assigned and to the Slack message recorded by the fake Slack Web API,
  at fixed offered loads (an open model: latency counts from when each ticket was due, not sent);
- memory: peak resident size of each service process, read after the load (the kernel's high-water mark);
- bad input: a mix of valid and malformed requests to every intake endpoint (bench/bad_input.py);
- router: the router alone, assignments per second with a large roster and a burst of tickets (bench/router.py).

Figures only, no pass/fail: targets are read from the table by people.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.bad_input import BadInputPlan, SeedTicket, Targets, bad_input_section, print_bad_input
from bench.hops import HOPS, AssignmentTap, HopSampler
from bench.router import RouterBenchPlan, print_router, router_bench
from devtools.fake_slack import FakeSlack
from devtools.platform import SERVICES, Platform, interrupt_on_sigterm
from devtools.servers import EmbeddedKafka, EmbeddedMongo, EmbeddedRedis, SmtpCapture, free_port
from helpdesk_events import Topic, TopicNames
from helpdesk_intake.settings import Settings as IntakeSettings

RESULTS = Path(__file__).parent / "results"
TOKEN = "xoxb-bench"
# The webhooks' secrets, so the bad-input section can sign valid requests (and forge the others).
SOCIAL_NETWORK, SOCIAL_SECRET = "facebook", "bench-social-secret"
VOICE_SECRET = "bench-voice-secret"
SLACK_SIGNING_SECRET = "bench-slack-signing-secret"


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def broker_ceiling(bootstrap: str, count: int) -> dict:
    topic = f"bench-ceiling-{uuid.uuid4().hex[:6]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 6, 1)])
    await admin.close()
    value = b"x" * 500
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await producer.start()
    await consumer.start()
    consumer.assign([TopicPartition(topic, p) for p in range(6)])
    await consumer.seek_to_beginning()
    received = 0

    async def consume() -> None:
        nonlocal received
        while received < count:
            batches = await consumer.getmany(timeout_ms=200, max_records=5000)
            received += sum(len(records) for records in batches.values())

    started = time.perf_counter()
    reader = asyncio.create_task(consume())
    pending = [await producer.send(topic, value, key=str(n).encode()) for n in range(count)]
    await asyncio.gather(*pending)
    produced_at = time.perf_counter()
    await reader
    finished = time.perf_counter()
    await producer.stop()
    await consumer.stop()
    return {
        "records": count,
        "produce_per_second": round(count / (produced_at - started)),
        "pass_through_per_second": round(count / (finished - started)),
    }


def ticket_body(n: int) -> dict:
    return {
        "subject": f"Bench ticket {n}",
        "body": "My order has not arrived yet and the tracking page shows nothing. " * 3,
        "requester": {"email": f"customer{n}@example.com", "name": f"Customer {n}"},
        "tags": ["bench"],
    }


TICKET_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
LATENCY_SHARES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))


def latency_ms(values: list[float]) -> dict[str, float]:
    return {k: round(percentile(values, q) * 1000, 1) for k, q in LATENCY_SHARES}


class Announcements:
    """Ticket id -> when its first Slack message reached the fake Slack, read incrementally: the bench
    shares its CPU with the services, so it does not rescan thousands of calls every half second."""

    def __init__(self, slack: FakeSlack) -> None:
        self._slack = slack
        self._seen_calls = 0
        self.at: dict[str, float] = {}

    def refresh(self) -> dict[str, float]:
        calls = self._slack.calls("chat.postMessage")
        for call in calls[self._seen_calls:]:
            for ticket_id in set(TICKET_ID.findall(json.dumps(call["body"]))):
                self.at.setdefault(ticket_id, call["at"])
        self._seen_calls = len(calls)
        return self.at

    async def wait_for(self, ticket_ids: set[str], timeout: float = 600) -> dict[str, float]:
        deadline = time.monotonic() + timeout
        while True:
            seen = self.refresh()
            if ticket_ids <= seen.keys() or time.monotonic() > deadline:
                return {ticket_id: seen[ticket_id] for ticket_id in ticket_ids if ticket_id in seen}
            await asyncio.sleep(0.5)


@dataclass
class Pipeline:
    """What every load phase needs: the services, the fakes around them and the taps on their output."""

    platform: Platform
    slack: FakeSlack
    smtp: SmtpCapture
    announcements: Announcements
    tap: AssignmentTap
    ceiling: int
    sample_interval: float
    server_pids: dict[str, int]

    @property
    def intake(self) -> str:
        return self.platform.url("intake")

    def sampler(self, client: httpx.AsyncClient) -> HopSampler:
        urls = {hop.service: self.platform.url(hop.service) for hop in HOPS}
        # Every process on the machine's two cores that the load goes through, and the bench itself.
        pids = {name: process.pid for name, process in self.platform.processes.items() if process.pid}
        return HopSampler(client, urls, interval=self.sample_interval,
                          pids={**pids, **self.server_pids, "bench": os.getpid()})

    def delivered(self) -> tuple[int, int, int]:
        """Slack messages posted, Slack messages updated, and emails captured, so far."""
        posts = len(self.slack.calls("chat.postMessage"))
        updates = len(self.slack.calls("chat.update"))
        return posts, updates, len(self.smtp.messages)


async def measured(pipeline: Pipeline, phase: Callable[[], Awaitable[tuple[dict, dict[str, float]]]]) -> dict:
    """Run `phase` with the hop sampler on; then wait for its tickets in Slack and for the hops to go quiet.

    `phase()` returns (figures, {ticket_id: when its POST was due}); the rest is added here.
    """
    posts_before, updates_before, mails_before = pipeline.delivered()
    async with httpx.AsyncClient(timeout=30) as metrics_client:
        sampler = pipeline.sampler(metrics_client)
        await sampler.start()
        try:
            figures, due = await phase()
            done = await pipeline.announcements.wait_for(set(due), timeout=600)
            await sampler.settle()
        finally:
            await sampler.stop()
    posts_after, updates_after, mails_after = pipeline.delivered()
    to_slack = [done[t] - due[t] for t in done]
    to_assigned = [pipeline.tap.assigned_at[t] - due[t] for t in due if t in pipeline.tap.assigned_at]
    first_due = min(due.values(), default=float("nan"))
    arrivals = sorted(done.values())
    figures.update({
        "announced_in_slack": len(done),
        "assigned_seen": len(to_assigned),
        # Over the whole phase, from the first POST due to the last Slack message (as in earlier results).
        "pipeline_per_second": round(len(done) / (arrivals[-1] - first_due), 1) if done else None,
        # The rate Slack messages came out at, first to last: the pipeline's own pace, its latency left out.
        "slack_rate_per_second": (
            round((len(arrivals) - 1) / (arrivals[-1] - arrivals[0]), 1)
            if len(arrivals) > 1 and arrivals[-1] > arrivals[0] else None
        ),
        "last_in_slack_after_seconds": round(max(done.values()) - first_due, 1) if done else None,
        "post_to_assigned_ms": latency_ms(to_assigned),
        "post_to_slack_ms": latency_ms(to_slack),
        "slack_messages": posts_after - posts_before + updates_after - updates_before,
        # Each ticket's message is posted once and updated as the ticket changes (chat.update).
        "slack_posts": posts_after - posts_before,
        "slack_updates": updates_after - updates_before,
        "emails": mails_after - mails_before,
        **sampler.figures(pipeline.ceiling),
    })
    if due:
        # What one ticket costs the machine, all processes together: on a saturated machine, the cores
        # divided by this is about the most tickets per second it can carry.
        used = sampler.cpu_used()
        figures["cpu_ms_per_ticket"] = {name: round(1000 * seconds / len(due), 1) for name, seconds in used.items()}
        figures["cpu_ms_per_ticket"]["all"] = round(1000 * sum(used.values()) / len(due), 1)
    return figures


async def intake_accept_rate(pipeline: Pipeline, count: int, concurrency: int) -> dict:
    """A burst of tickets: how fast intake accepts them, then how fast each hop and the pipeline get through them."""

    async def burst() -> tuple[dict, dict[str, float]]:
        latencies: list[float] = []
        due: dict[str, float] = {}
        errors: Counter[str] = Counter()
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(count):
            queue.put_nowait(n)

        async def worker(client: httpx.AsyncClient) -> None:
            while not queue.empty():
                n = queue.get_nowait()
                wall, sent = time.time(), time.perf_counter()
                try:
                    response = await client.post(f"{pipeline.intake}/v1/tickets", json=ticket_body(n))
                except httpx.TransportError as error:
                    errors[type(error).__name__] += 1
                    continue
                latencies.append(time.perf_counter() - sent)
                if response.status_code == 201:
                    due[response.json()["ticket_id"]] = wall
                else:
                    errors[str(response.status_code)] += 1

        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            started = time.perf_counter()
            await asyncio.gather(*(worker(client) for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
        return {
            "tickets": count,
            "concurrency": concurrency,
            "accepted": len(due),
            "accepted_per_second": round(len(due) / elapsed),
            "errors": sum(errors.values()),
            "error_kinds": dict(errors),
            "latency_ms": latency_ms(latencies),
        }, due

    return await measured(pipeline, burst)


async def end_to_end(pipeline: Pipeline, rate: int, seconds: float, max_tickets: int) -> dict:
    """Offer `rate` tickets per second for `seconds`, or until `max_tickets` were offered. An open model:
    each POST is due at its slot, and its latencies count from that slot, so a client or server that
    falls behind cannot hide the delay."""
    total = min(int(rate * seconds), max_tickets)
    seconds = total / rate

    async def offered() -> tuple[dict, dict[str, float]]:
        due: dict[str, float] = {}
        answers: list[float] = []
        errors: Counter[str] = Counter()
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200)) as client:

            async def post(n: int, slot: float) -> None:
                try:
                    response = await client.post(f"{pipeline.intake}/v1/tickets", json=ticket_body(n))
                except httpx.TransportError as error:
                    errors[type(error).__name__] += 1
                    return
                answers.append(time.time() - slot)
                if response.status_code == 201:
                    due[response.json()["ticket_id"]] = slot
                else:
                    errors[str(response.status_code)] += 1

            started_wall, started = time.time(), time.perf_counter()
            tasks = []
            for n in range(total):
                delay = started + n / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(post(n, started_wall + n / rate)))
            sent_in = time.perf_counter() - started
            await asyncio.gather(*tasks)
            answered_in = time.perf_counter() - started
        return {
            "offered_per_second": rate,
            "seconds": seconds,
            "tickets": total,
            "sent_in_seconds": round(sent_in, 1),
            "accepted": len(due),
            "accepted_per_second": round(len(due) / answered_in, 1),
            "errors": sum(errors.values()),
            "error_kinds": dict(errors),
            "post_answer_ms": latency_ms(answers),
        }, due

    figures = await measured(pipeline, offered)
    # Kept up: every ticket accepted and announced, Slack messages coming out as fast as tickets went in (within 10%).
    figures["kept_up"] = bool(
        figures["accepted"] == total
        and figures["announced_in_slack"] == total
        and figures["slack_rate_per_second"]
        and figures["slack_rate_per_second"] >= 0.9 * rate
    )
    return figures


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


async def seed_agents(router: str, count: int) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        for n in range(count):
            response = await client.put(
                f"{router}/v1/agents/bench-{n}",
                json={"name": f"Agent {n}", "email": f"agent{n}@example.com", "slack_user_id": f"UBENCH{n}",
                      "skills": ["english"], "capacity": 1_000, "status": "online"},
            )
            response.raise_for_status()


async def run(args: argparse.Namespace) -> dict:
    results: dict = {"started_at": datetime.now(UTC).isoformat(), "machine": {"cpus": os.cpu_count()},
                     "settings": {k: v for k, v in vars(args).items()}}
    logs = RESULTS / "logs"  # the services' logs of the last run, for when a figure looks wrong
    if args.only == "router":
        with EmbeddedKafka() as kafka, EmbeddedMongo() as mongo:
            print("broker ceiling ...", flush=True)
            results["broker_ceiling"] = await broker_ceiling(kafka.bootstrap_servers, args.ceiling_records)
            results["router"] = await router_section(args, kafka, mongo, results["broker_ceiling"], logs)
        return results
    with EmbeddedKafka() as kafka, EmbeddedMongo() as mongo, \
            EmbeddedRedis() as redis, SmtpCapture() as smtp, FakeSlack(token=TOKEN) as slack:
        print("broker ceiling ...", flush=True)
        results["broker_ceiling"] = await broker_ceiling(kafka.bootstrap_servers, args.ceiling_records)
        platform = Platform(
            kafka_bootstrap_servers=kafka.bootstrap_servers, mongodb_url=mongo.url, redis_url=redis.url,
            smtp_host=smtp.host, smtp_port=smtp.port, run_dir=logs,
            ports={name: free_port() for name in SERVICES},
            email_smtp_port=free_port(),
            env={
                "SLACK_API_URL": slack.url, "SLACK_BOT_TOKEN": TOKEN, "LOG_LEVEL": "WARNING",
                "SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET, "VOICE_WEBHOOK_SECRET": VOICE_SECRET,
                "SOCIAL_WEBHOOK_SECRETS": json.dumps({SOCIAL_NETWORK: SOCIAL_SECRET}),
                "KAFKA_TOPIC_PARTITIONS": str(args.partitions),
            },
        )
        tap = AssignmentTap(kafka.bootstrap_servers, TopicNames().name(Topic.TICKETS))
        try:
            print("starting the five services ...", flush=True)
            platform.start()
            await seed_agents(platform.url("router"), args.agents)
            await tap.start()
            pipeline = Pipeline(
                platform=platform, slack=slack, smtp=smtp, announcements=Announcements(slack), tap=tap,
                ceiling=results["broker_ceiling"]["pass_through_per_second"], sample_interval=args.sample_interval,
                server_pids={k: v for k, v in {"tansu": kafka.pid, "nx-27017": mongo.pid}.items() if v},
            )
            if args.only != "bad-input":
                print(f"intake accept rate and hops: a burst of {args.tickets} tickets ...", flush=True)
                results["intake"] = await intake_accept_rate(pipeline, args.tickets, args.concurrency)
                results["end_to_end"] = []
                for rate in args.rates + ([500] if args.include_500 else []):
                    tickets = min(int(rate * args.seconds), args.max_tickets_per_rate)
                    print(f"end to end at {rate} tickets/s: {tickets} tickets in {tickets / rate:g} s ...", flush=True)
                    results["end_to_end"].append(
                        await end_to_end(pipeline, rate, args.seconds, args.max_tickets_per_rate)
                    )
                # The kernel's high-water mark: the most each process held at any moment of the load above.
                results["peak_rss_mb"] = {name: peak_rss_mb(process.pid) for name, process in platform.processes.items()}
            if args.bad_input_seconds > 0 and args.only != "pipeline":
                print(f"bad input: {args.bad_input_seconds:g} s, {args.bad_input_concurrency} at a time ...", flush=True)
                results["bad_input"] = await bad_input(args, platform)
        finally:
            await tap.stop()
            platform.stop()
        if args.only is None:
            # After the platform stopped, so its five services do not share the CPU with the router measured.
            results["router"] = await router_section(args, kafka, mongo, results["broker_ceiling"], logs)
    return results


async def bad_input(args: argparse.Namespace, platform: Platform) -> dict:
    intake = platform.processes["intake"]

    def targets(seeds: list[SeedTicket]) -> Targets:
        return Targets(
            max_body_bytes=IntakeSettings.model_fields["max_body_bytes"].default,
            social_network=SOCIAL_NETWORK, social_secret=SOCIAL_SECRET, voice_secret=VOICE_SECRET,
            slack_secret=SLACK_SIGNING_SECRET, tickets=seeds,
        )

    assert intake.pid is not None
    return await bad_input_section(
        intake_url=intake.url, intake_pid=intake.pid, intake_log=intake.log_path, targets=targets,
        plan=BadInputPlan(seconds=args.bad_input_seconds, concurrency=args.bad_input_concurrency),
        peak_rss_mb=peak_rss_mb,
    )


async def router_section(
    args: argparse.Namespace, kafka: EmbeddedKafka, mongo: EmbeddedMongo, ceiling: dict, logs: Path
) -> dict:
    """The router alone on the same servers, beside the broker pass-through measured in this run."""
    print(f"router: {args.router_agents:,} agents, {args.router_tickets:,} tickets, "
          f"budget {args.router_seconds:.0f} s ...", flush=True)
    plan = RouterBenchPlan(
        agents=args.router_agents, tickets=args.router_tickets, seconds=args.router_seconds,
        capacity=args.router_capacity,
    )
    return await router_bench(
        kafka_bootstrap=kafka.bootstrap_servers, mongodb_url=mongo.url, log_dir=logs, plan=plan,
        broker_pass_through=ceiling["pass_through_per_second"], peak_rss_mb=peak_rss_mb,
        server_pids={"tansu": kafka.pid, "nx-27017": mongo.pid},
    )


def _share(rate: float | None, ceiling: int) -> str:
    return f"{100 * rate / ceiling:.2f}%" if rate else "n/a"


def print_hops(phase: dict, ceiling: int) -> None:
    for name, hop in phase["hops"].items():
        rate = hop["per_second"]
        print(f"  {name:<9} {hop['what']:<27} {hop['events']:>6} in {hop['seconds'] or 0:>5} s = "
              f"{rate if rate is not None else 'n/a':>6}/s  ({_share(rate, ceiling)} of the broker)")


def print_where_time_goes(phase: dict) -> None:
    for service, handled in phase["handlers"].items():
        slowest = sorted(handled.items(), key=lambda item: -item[1]["seconds"])[:3]
        if slowest:
            print(f"  {service} handlers: " + ", ".join(
                f"{t} {row['events']} x {row['mean_ms']} ms" for t, row in slowest))
    print("  cpu, % of one core: " + ", ".join(f"{k} {v}" for k, v in phase["cpu_percent"].items()))
    if "cpu_ms_per_ticket" in phase:
        print("  cpu ms per ticket: " + ", ".join(f"{k} {v}" for k, v in phase["cpu_ms_per_ticket"].items()))


def print_table(results: dict) -> None:
    ceiling = results["broker_ceiling"]["pass_through_per_second"]
    print()
    print(f"broker pass-through (aiokafka, 500 B, acks=all): {ceiling:>7} records/s "
          f"(produce alone {results['broker_ceiling']['produce_per_second']}/s)")
    if "intake" in results:
        intake = results["intake"]
        print(f"intake accepted tickets (burst of {intake['tickets']}):     {intake['accepted_per_second']:>7} /s "
              f"= {_share(intake['accepted_per_second'], ceiling)} of the broker; "
              f"p50 {intake['latency_ms']['p50']} ms, p99 {intake['latency_ms']['p99']} ms, errors {intake['errors']}")
        print(f"whole pipeline, POST to Slack message:            {intake['pipeline_per_second']:>7} tickets/s "
              f"({intake['announced_in_slack']} of {intake['tickets']} announced; Slack messages came out at "
              f"{intake['slack_rate_per_second']}/s); "
              f"{intake['slack_messages']} Slack messages ({intake['slack_posts']} posted, "
              f"{intake['slack_updates']} updates), {intake['emails']} emails")
        print("per hop, in the burst (events each service produced, while it was producing):")
        print_hops(intake, ceiling)
        print_where_time_goes(intake)
    if results.get("end_to_end"):
        print()
        print(f"{'offered/s':>10} {'accepted':>9} {'acc/s':>6} {'in Slack':>9} {'Slack/s':>7} {'kept up':>8} "
              f"{'assigned p50/p95/p99 ms':>26} {'Slack p50/p95/p99 ms':>26} {'router/s':>9} {'sla/s':>6} "
              f"{'notif/s':>8}")
        for row in results["end_to_end"]:
            assigned, slack = row["post_to_assigned_ms"], row["post_to_slack_ms"]
            hops = row["hops"]
            print(f"{row['offered_per_second']:>10} {row['accepted']:>9} {row['accepted_per_second']:>6} "
                  f"{row['announced_in_slack']:>9} {row['slack_rate_per_second'] or 'n/a':>7} "
                  f"{'yes' if row['kept_up'] else 'no':>8} "
                  f"{assigned['p50']:>8}/{assigned['p95']:>8}/{assigned['p99']:>8} "
                  f"{slack['p50']:>8}/{slack['p95']:>8}/{slack['p99']:>8} "
                  f"{hops['router']['per_second'] or 'n/a':>9} {hops['sla']['per_second'] or 'n/a':>6} "
                  f"{hops['notifier']['per_second'] or 'n/a':>8}")
            if row["errors"]:
                print(f"{'':>10} errors: {row['error_kinds']}")
    if "peak_rss_mb" in results:
        print()
        print("peak resident memory under load (MB): "
              + ", ".join(f"{k} {v}" for k, v in results["peak_rss_mb"].items()))
    if "bad_input" in results:
        print()
        print_bad_input(results["bad_input"])
    if "router" in results:
        print()
        print_router(results["router"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ceiling-records", type=int, default=20_000)
    parser.add_argument("--tickets", type=int, default=300, help="tickets in the burst (accept rate and hops)")
    parser.add_argument("--concurrency", type=int, default=32)
    # Enough agents that Slack's one message per second per channel, which the notifier keeps to, is not
    # what the bench measures: 20 agents would cap the Slack side near 20 calls/s, ~8 tickets/s.
    parser.add_argument("--agents", type=int, default=200, help="agents on the roster (one Slack DM channel each)")
    parser.add_argument(
        "--partitions", type=int, default=6,
        help="partitions per topic (default 6, the services' own default; `make up` and `make chaos` use 4, "
        "which survives a restart of the embedded broker and, with lanes, carries about as many tickets)",
    )  # fmt: skip
    parser.add_argument("--rates", type=int, nargs="+", default=[5, 10, 50, 200],
                        help="offered loads, tickets per second, each for --seconds")
    parser.add_argument("--include-500", action="store_true", help="also offer 500 tickets/s (long: the "
                        "pipeline drains the backlog at its own rate)")
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each fixed-load run")
    parser.add_argument("--max-tickets-per-rate", type=int, default=400,
                        help="a fixed-load run stops offering after this many tickets: above what the pipeline "
                        "sustains, more only lengthen the drain")
    parser.add_argument("--sample-interval", type=float, default=0.5, help="seconds between /metrics samples")
    parser.add_argument("--only", choices=["pipeline", "bad-input", "router"],
                        help="run only this section (and the broker ceiling beside it); pipeline: the burst, "
                        "the fixed loads and memory")
    parser.add_argument("--bad-input-seconds", type=float, default=20.0, help="length of the bad-input run; 0 skips it")
    parser.add_argument("--bad-input-concurrency", type=int, default=16, help="bad-input requests in flight")
    parser.add_argument("--router-agents", type=int, default=1_000, help="agents on the router bench's roster")
    # 20,000 and 60 s: the router gets through about 1,600 in that budget, so more tickets change nothing but
    # the time spent encoding them, and its rate is steady from the first seconds on (see docs/performance.md).
    parser.add_argument("--router-tickets", type=int, default=20_000, help="tickets produced in one burst")
    parser.add_argument("--router-seconds", type=float, default=60.0,
                        help="time budget: answers read back after this are not counted")
    parser.add_argument("--router-capacity", type=int, default=None,
                        help="capacity of each agent (default: enough for every ticket, at most 1000)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    interrupt_on_sigterm()
    results = asyncio.run(run(args))
    results["run_seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"\nwhole run {results['run_seconds']:.0f} s; written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
