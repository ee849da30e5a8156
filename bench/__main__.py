"""`make bench`: figures for the whole platform on the embedded stack, printed and written as JSON.

- broker ceiling: a plain aiokafka produce-and-consume loop on the same broker (500-byte records, acks=all);
- intake accept rate: concurrent POST /v1/tickets, each answered after Kafka acknowledged;
- end to end: from POST to the Slack message recorded by the fake Slack Web API, at fixed offered loads;
- memory: peak resident size of each service process;
- router: the router alone, assignments per second with a large roster and a burst of tickets (bench/router.py).

Figures only, no pass/fail: targets are read from the table by people.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.router import RouterBenchPlan, print_router, router_bench
from devtools.fake_slack import FakeSlack
from devtools.platform import SERVICES, Platform
from devtools.servers import EmbeddedKafka, EmbeddedMongo, EmbeddedRedis, SmtpCapture, free_port

RESULTS = Path(__file__).parent / "results"
TOKEN = "xoxb-bench"


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


def announced(slack: FakeSlack) -> dict[str, float]:
    """Ticket id -> when its assignment message reached Slack."""
    found: dict[str, float] = {}
    for call in slack.calls("chat.postMessage"):
        for ticket_id in set(TICKET_ID.findall(json.dumps(call["body"]))):
            found.setdefault(ticket_id, call["at"])
    return found


async def wait_until_announced(slack: FakeSlack, ticket_ids: set[str], timeout: float = 600) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while True:
        seen = announced(slack)
        if ticket_ids <= seen.keys() or time.monotonic() > deadline:
            return {ticket_id: seen[ticket_id] for ticket_id in ticket_ids if ticket_id in seen}
        await asyncio.sleep(0.5)


async def intake_accept_rate(intake: str, slack: FakeSlack, count: int, concurrency: int) -> dict:
    """A burst of tickets: how fast intake accepts them, then how fast the pipeline announces them all."""
    latencies: list[float] = []
    accepted: set[str] = set()
    errors = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while not queue.empty():
            n = queue.get_nowait()
            sent = time.perf_counter()
            try:
                response = await client.post(f"{intake}/v1/tickets", json=ticket_body(n))
            except httpx.TransportError:
                errors += 1
                continue
            latencies.append(time.perf_counter() - sent)
            if response.status_code == 201:
                accepted.add(response.json()["ticket_id"])
            else:
                errors += 1

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        started_wall, started = time.time(), time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    done = await wait_until_announced(slack, accepted)
    pipeline_seconds = max(done.values()) - started_wall if done else float("nan")
    return {
        "tickets": count,
        "concurrency": concurrency,
        "accepted_per_second": round(count / elapsed),
        "announced_in_slack": len(done),
        "pipeline_per_second": round(len(done) / pipeline_seconds, 1),
        "errors": errors,
        "latency_ms": {k: round(percentile(latencies, q) * 1000, 1) for k, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))},
    }


async def end_to_end(intake: str, slack: FakeSlack, rate: int, seconds: float) -> dict:
    """Offer `rate` tickets per second; latency = Slack call recorded minus POST sent."""
    sent_at: dict[str, float] = {}
    total = int(rate * seconds)
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200)) as client:

        async def post(n: int) -> None:
            wall = time.time()
            try:
                response = await client.post(f"{intake}/v1/tickets", json=ticket_body(n))
            except httpx.TransportError:
                return
            if response.status_code == 201:
                sent_at[response.json()["ticket_id"]] = wall

        started = time.perf_counter()
        tasks = []
        for n in range(total):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(n)))
        await asyncio.gather(*tasks)
    done = await wait_until_announced(slack, set(sent_at), timeout=300)
    values = [done[ticket_id] - sent_at[ticket_id] for ticket_id in done]
    return {
        "offered_per_second": rate,
        "tickets": total,
        "accepted": len(sent_at),
        "announced_in_slack": len(values),
        "latency_ms": {k: round(percentile(values, q) * 1000, 1) for k, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))},
        "mean_ms": round(statistics.fmean(values) * 1000, 1) if values else None,
    }


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
    results: dict = {"started_at": datetime.now(UTC).isoformat(), "machine": {"cpus": os.cpu_count()}}
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
            env={"SLACK_API_URL": slack.url, "SLACK_BOT_TOKEN": TOKEN, "LOG_LEVEL": "WARNING"},
        )
        try:
            print("starting the five services ...", flush=True)
            platform.start()
            await seed_agents(platform.url("router"), args.agents)
            print("intake accept rate ...", flush=True)
            results["intake"] = await intake_accept_rate(platform.url("intake"), slack, args.tickets, args.concurrency)
            results["end_to_end"] = []
            for rate in args.rates:
                print(f"end to end at {rate} tickets/s ...", flush=True)
                slack.clear_calls()
                results["end_to_end"].append(await end_to_end(platform.url("intake"), slack, rate, args.seconds))
            results["peak_rss_mb"] = {name: peak_rss_mb(process.pid) for name, process in platform.processes.items()}
        finally:
            platform.stop()
        # After the platform stopped, so its five services do not share the CPU with the router measured.
        results["router"] = await router_section(args, kafka, mongo, results["broker_ceiling"], logs)
    return results


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


def print_table(results: dict) -> None:
    ceiling = results["broker_ceiling"]["pass_through_per_second"]
    print()
    print(f"broker pass-through (aiokafka, 500 B, acks=all): {ceiling:>7} records/s "
          f"(produce alone {results['broker_ceiling']['produce_per_second']}/s)")
    if "intake" in results:
        intake = results["intake"]
        print(f"intake accepted tickets (burst of {intake['tickets']}):     {intake['accepted_per_second']:>7} /s "
              f"= {100 * intake['accepted_per_second'] / ceiling:.1f}% of the broker; "
              f"p50 {intake['latency_ms']['p50']} ms, p99 {intake['latency_ms']['p99']} ms, errors {intake['errors']}")
        print(f"whole pipeline, POST to Slack message:            {intake['pipeline_per_second']:>7} tickets/s "
              f"({intake['announced_in_slack']} of {intake['tickets']} announced)")
    if results.get("end_to_end"):
        print()
        print(f"{'offered/s':>10} {'accepted':>9} {'in Slack':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
        for row in results["end_to_end"]:
            lat = row["latency_ms"]
            print(f"{row['offered_per_second']:>10} {row['accepted']:>9} {row['announced_in_slack']:>9} "
                  f"{lat['p50']:>8} {lat['p95']:>8} {lat['p99']:>8}")
    if "peak_rss_mb" in results:
        print()
        print("peak resident memory (MB): " + ", ".join(f"{k} {v}" for k, v in results["peak_rss_mb"].items()))
    if "router" in results:
        print()
        print_router(results["router"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ceiling-records", type=int, default=20_000)
    parser.add_argument("--tickets", type=int, default=500, help="tickets for the accept-rate run")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--rates", type=int, nargs="+", default=[10, 25])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each fixed-load run")
    parser.add_argument("--only", choices=["router"], help="run only this section (and the broker ceiling beside it)")
    parser.add_argument("--router-agents", type=int, default=1_000, help="agents on the router bench's roster")
    parser.add_argument("--router-tickets", type=int, default=100_000, help="tickets produced in one burst")
    parser.add_argument("--router-seconds", type=float, default=120.0,
                        help="time budget: answers read back after this are not counted")
    parser.add_argument("--router-capacity", type=int, default=None,
                        help="capacity of each agent (default: enough for every ticket, at most 1000)")
    args = parser.parse_args(argv)
    results = asyncio.run(run(args))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
