"""`make chaos`: one fault per run under a steady load of tickets, then check nothing was lost or doubled.

    python -m chaos [--tickets N] [--rate R] [--faults kill-router,kill-sla,...]

One platform (embedded Tansu, nx-27017, Redis, SMTP capture, fake Slack, the five services as processes;
with `--apache-kafka`, Apache Kafka in a Docker container instead of Tansu) serves every fault in turn;
each fault has its own N tickets, and its checks look at those tickets only. A third of the way through
the load the fault is injected; after the load the pipeline is given a bounded time to drain, then the
checks of chaos/checks.py run. A table is printed and the figures are written to
bench/results/chaos-<timestamp>.json. See docs/reliability.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer

from chaos.checks import (
    CONSUMER_GROUPS_OF_TOPIC,
    Observed,
    Verdict,
    dead_letter_gaps,
    judge,
    recovery_seconds,
    table,
    ticket_evidence,
)
from chaos.observe import BrokerTap, read_model_assignees, sla_policies_in_force
from chaos.sla_due import StartedClock, check_clocks
from chaos.slack_shown import messages_out_of_date
from devtools.containers import ApacheKafka, docker_unavailable
from devtools.fake_slack import FakeSlack
from devtools.platform import SERVICES, Platform, interrupt_on_sigterm
from devtools.servers import EmbeddedKafka, EmbeddedMongo, EmbeddedRedis, EmbeddedS3, SmtpCapture, free_port
from helpdesk_events import Topic
from helpdesk_intake.channels.webhook_signature import body_signature

RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results"
TOKEN = "xoxb-chaos"
SOCIAL_NETWORK, SOCIAL_SECRET = "facebook", "chaos-social-secret"
FAULTS = (
    "kill-router",
    "kill-sla",
    "kill-notifier",
    "kill-intake",
    "poison",
    "duplicate-webhooks",
    "slack-500",
    "slack-429",
    "smtp-down",
    "restart-broker",
)
# The hop whose output shows a faulted service flowing again (event type on the broker, or a Slack post).
FLOWING_AGAIN = {
    "kill-router": "ticket.assigned",
    "kill-sla": "sla.started",
    "kill-notifier": "slack",
    "kill-intake": "ticket.created",
}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class Stack:
    platform: Platform
    slack: FakeSlack
    smtp: SmtpCapture
    tap: BrokerTap
    bootstrap: str
    mail_at: list[float] = field(default_factory=list)  # when each email reached the SMTP capture
    smtp_down_seconds: float = 60.0
    slack_down_seconds: float = 180.0
    kafka: EmbeddedKafka | ApacheKafka | None = None  # the broker, restarted by the restart-broker fault
    broker_down_seconds: float = 10.0

    @property
    def intake(self) -> str:
        return self.platform.url("intake")

    def slack_assignment_posts(self) -> tuple[Counter[str], list[float]]:
        """Successful "assigned to you" posts per ticket, and when each was made."""
        posts: Counter[str] = Counter()
        times = []
        for call in self.slack.calls("chat.postMessage"):
            if call["status"] != 200:
                continue
            text = json.dumps(call["body"])
            if "assigned to you" not in text:
                continue
            times.append(call["at"])
            for ticket_id in set(UUID.findall(text)):
                posts[ticket_id] += 1
        return posts, times

    def messages_out_of_date(
        self, tickets: set[str], told: dict[str, list[StartedClock]] | None = None
    ) -> dict[str, str]:
        """Of these tickets, those whose assignment message shows another SLA due time than their clocks
        (`told`: their sla.started as the tap's `sla_clocks` gives them, when already at hand)."""
        if told is None:
            told = self.tap.sla_clocks(tickets)[2]
        return messages_out_of_date(self.slack.messages(), told, tickets)

    def ack_emails(self) -> Counter[str]:
        """Emails to the requester per ticket (X-Helpdesk-Ticket-Id); the agents' addresses are left out."""
        return Counter(ticket for ticket, _message in self._requester_mails())

    def ack_message_ids(self, tickets: set[str]) -> dict[str, set[str]]:
        """The distinct Message-IDs of the emails to the requesters of these tickets."""
        ids: dict[str, set[str]] = {}
        for ticket, message in self._requester_mails():
            if ticket in tickets:
                ids.setdefault(ticket, set()).add(str(message["Message-ID"]))
        return ids

    def _requester_mails(self) -> Iterator[tuple[str, EmailMessage]]:
        """(ticket id, email) of every email to a requester (X-Helpdesk-Ticket-Id; agents left out)."""
        for message in self.smtp.messages:
            if message["X-Helpdesk-Ticket-Id"] and "chaos-agent" not in str(message["To"]):
                yield str(message["X-Helpdesk-Ticket-Id"]), message


@dataclass
class Run:
    """One fault's load: what intake accepted, and when the fault struck."""

    fault: str
    accepted: set[str] = field(default_factory=set)
    posted_at: dict[str, float] = field(default_factory=dict)  # accepted ticket id -> when its POST was sent
    # Tickets a broker restart may have taken with it: not counted as lost when they did not come through.
    at_risk: set[str] = field(default_factory=set)
    expects_email: set[str] = field(default_factory=set)
    errors: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    fault_at: float | None = None
    notes: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


# ---- load ---------------------------------------------------------------------------------------


def web_ticket(tag: str, n: int) -> dict:
    return {
        "subject": f"Chaos ticket {n}",
        "body": "My order has not arrived yet and the tracking page shows nothing.",
        "requester": {"email": f"customer-{tag}-{n}@example.com", "name": f"Customer {n}"},
        "tags": ["chaos"],
    }


async def steady_load(stack: Stack, run: Run, tickets: int, rate: float) -> None:
    """POST /v1/tickets at `rate` per second (an open model: a slow answer does not slow the offer)."""
    tag = uuid.uuid4().hex[:6]
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=100)) as client:

        async def post(n: int) -> None:
            posted = time.time()
            try:
                response = await client.post(f"{stack.intake}/v1/tickets", json=web_ticket(tag, n))
            except httpx.TransportError as error:
                run.errors[type(error).__name__] += 1
                return
            if response.status_code == 201:
                ticket_id = response.json()["ticket_id"]
                run.accepted.add(ticket_id)
                run.posted_at[ticket_id] = posted
                run.expects_email.add(ticket_id)
            else:
                run.errors[str(response.status_code)] += 1

        started = time.perf_counter()
        tasks = []
        for n in range(tickets):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(n)))
            run.sent = n + 1
        await asyncio.gather(*tasks)


async def duplicated_webhooks(stack: Stack, run: Run, tickets: int, rate: float) -> None:
    """Every delivery sent twice at once (a provider retrying before our first answer came back), spread
    over the chat, social and email webhooks. The first answer's ticket is the one checked; a second
    ticket from the same delivery counts as duplicated."""
    tag = uuid.uuid4().hex[:6]
    run.fault_at = time.time()
    created_by: dict[str, set[str]] = {}

    def delivery(n: int) -> tuple[str, str, dict[str, str], bytes, bool]:
        channel = ("chat", "social", "email")[n % 3]
        if channel == "chat":
            body = json.dumps(
                {
                    "conversation_id": f"chaos-{tag}-{n}",
                    "message_id": f"chaos-{tag}-{n}",
                    "text": "Hi, my printer is on fire",
                    "visitor": {"email": f"chat-{tag}-{n}@example.com"},
                }
            ).encode()
            return channel, "/v1/channels/chat/messages", {"Content-Type": "application/json"}, body, True
        if channel == "social":
            body = json.dumps(
                {
                    "delivery_id": f"chaos-{tag}-{n}",
                    "kind": "direct_message",
                    "sender": {"handle": f"@fan-{tag}-{n}", "name": "Fan"},
                    "text": "My order is late",
                }
            ).encode()
            headers = {
                "Content-Type": "application/json",
                "X-Hub-Signature-256": body_signature(SOCIAL_SECRET, body),
            }
            return channel, f"/v1/channels/social/{SOCIAL_NETWORK}/webhook", headers, body, False
        body = (
            f"From: Mail Customer {n} <mail-{tag}-{n}@example.com>\r\nTo: support@helpdesk.local\r\n"
            f"Subject: Chaos mail {n}: invoice is wrong\r\nMessage-ID: <chaos-{tag}-{n}@example.com>\r\n"
            f"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            f"Hello, the invoice for order {n} charges me twice.\r\n"
        ).encode()
        return channel, "/v1/channels/email/inbound", {"Content-Type": "message/rfc822"}, body, True

    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=100)) as client:

        async def send_twice(n: int) -> None:
            channel, path, headers, body, has_email = delivery(n)
            try:
                answers = await asyncio.gather(
                    *(client.post(f"{stack.intake}{path}", headers=headers, content=body) for _ in range(2))
                )
            except httpx.TransportError as error:
                run.errors[type(error).__name__] += 1
                return
            tickets = {a.json().get("ticket_id") for a in answers if a.status_code in (200, 201)}
            tickets.discard(None)
            outcomes = sorted(
                a.json().get("outcome", str(a.status_code)) if a.status_code < 500 else str(a.status_code)
                for a in answers
            )
            run.extra.setdefault("outcomes", Counter())[f"{channel}:{'+'.join(outcomes)}"] += 1
            if not tickets:
                run.errors[f"{channel}:{'/'.join(str(a.status_code) for a in answers)}"] += 1
                return
            created_by[f"{channel}-{n}"] = tickets
            run.accepted |= tickets
            if has_email:
                run.expects_email |= tickets

        started = time.perf_counter()
        tasks = []
        for n in range(tickets):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send_twice(n)))
            run.sent = n + 1
        await asyncio.gather(*tasks)
    run.extra["deliveries_with_two_tickets"] = sorted(k for k, v in created_by.items() if len(v) > 1)
    run.extra["outcomes"] = dict(run.extra.get("outcomes", {}))


# ---- faults -------------------------------------------------------------------------------------


async def when_sent(run: Run, share: float, total: int) -> None:
    while run.sent < total * share:
        await asyncio.sleep(0.05)


def kill_and_restart(service: str) -> Callable[[Stack, Run, int], Awaitable[None]]:
    async def fault(stack: Stack, run: Run, tickets: int) -> None:
        await when_sent(run, 1 / 3, tickets)
        process = stack.platform.processes[service]
        run.fault_at = time.time()
        process.kill()  # SIGKILL, no chance to commit or flush
        began = time.perf_counter()
        await asyncio.to_thread(process.start)  # polls /readyz with sleeps: keep the load running meanwhile
        run.extra["restart_to_ready_seconds"] = round(time.perf_counter() - began, 2)

    return fault


async def poison_every_topic(stack: Stack, run: Run, tickets: int) -> None:
    """Undecodable records on every topic, keyed so the dead-letter copies can be told apart."""
    await when_sent(run, 1 / 3, tickets)
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
    await producer.start()
    poisoned: dict[str, str] = {}
    try:
        run.fault_at = time.time()
        for topic in Topic:
            if topic is Topic.DEAD_LETTER:
                continue
            key = f"chaos-poison-{topic.value}-{uuid.uuid4().hex[:8]}"
            await producer.send_and_wait(stack.tap.names.name(topic), b"\x00not an event{", key=key.encode())
            poisoned[key] = topic.value
    finally:
        await producer.stop()
    run.extra["poisoned"] = poisoned


def slack_failing(status: int, calls: int) -> Callable[[Stack, Run, int], Awaitable[None]]:
    async def fault(stack: Stack, run: Run, tickets: int) -> None:
        await when_sent(run, 1 / 3, tickets)
        run.fault_at = time.time()
        stack.slack.fail_next(calls, status=status, retry_after=1)

    return fault


async def slack_down(stack: Stack, run: Run, tickets: int) -> None:
    """Slack answering every call with HTTP 500 for a while (longer than a delivery's 10 attempts span,
    75 to 151 s), then answering again."""
    await when_sent(run, 1 / 3, tickets)
    run.fault_at = time.time()
    stack.slack.fail_for(stack.slack_down_seconds, status=500)
    await asyncio.sleep(stack.slack_down_seconds)
    run.extra["slack_back_at"] = time.time()


async def smtp_down(stack: Stack, run: Run, tickets: int) -> None:
    """The SMTP server gone for a while (connections refused), then back on the same port."""
    await when_sent(run, 1 / 3, tickets)
    run.fault_at = time.time()
    stack.smtp.stop()
    try:
        await asyncio.sleep(stack.smtp_down_seconds)
    finally:
        stack.smtp.start()
        run.extra["smtp_back_at"] = time.time()


async def restart_broker(stack: Stack, run: Run, tickets: int) -> None:
    """The broker stopped, down for a while, then started again on the same port. On memory storage it
    comes back empty (no topics, offsets or groups): what it held that a service had not read yet is gone
    with it. On S3 storage (`--durable-broker`) it comes back with everything, as a Kafka broker does, and
    nothing may be lost; so does Apache Kafka (`--apache-kafka`), its container stopped and started
    again. Nothing here tells the services: they must notice and recover by themselves."""
    assert stack.kafka is not None, "restart-broker needs a broker of its own"
    await when_sent(run, 1 / 3, tickets)
    run.extra["pids_before"] = {name: process.pid for name, process in stack.platform.processes.items()}
    run.fault_at = time.time()
    await asyncio.to_thread(stack.kafka.stop)
    # What it acknowledged until its process was gone went with it: a ticket posted before this may have
    # been acknowledged by it (the 201 can come back after it died); one posted after, by its successor.
    run.extra["broker_gone_at"] = time.time()
    try:
        await asyncio.sleep(stack.broker_down_seconds)
    finally:
        await asyncio.to_thread(stack.kafka.start)
        back = run.extra["broker_back_at"] = time.time()
    # Every service ready again, without being restarted (its /readyz checks the broker).
    async with httpx.AsyncClient(timeout=5) as client:
        waiting = set(stack.platform.processes)
        while waiting and time.time() - back < 120:
            for name in sorted(waiting):
                try:
                    if (await client.get(f"{stack.platform.url(name)}/readyz")).status_code == 200:
                        waiting.discard(name)
                except httpx.TransportError:
                    pass
            await asyncio.sleep(0.5)
    run.extra["all_ready_after_seconds"] = None if waiting else round(time.time() - back, 2)
    run.extra["not_ready"] = sorted(waiting)


def broker_kind(broker: EmbeddedKafka | ApacheKafka | None) -> str:
    if isinstance(broker, ApacheKafka):
        return "Apache Kafka"
    return "Tansu on S3 storage" if broker is not None and broker.durable else "Tansu in memory"


async def no_fault(stack: Stack, run: Run, tickets: int) -> None:
    return None


INJECT: dict[str, Callable[[Stack, Run, int], Awaitable[None]]] = {
    "kill-router": kill_and_restart("router"),
    "kill-sla": kill_and_restart("sla"),
    "kill-notifier": kill_and_restart("notifier"),
    # The front door: POSTs while it is down are refused (not accepted, so not owed), and every ticket
    # it answered 201 must come through, whatever its read model had not applied yet.
    "kill-intake": kill_and_restart("intake"),
    "poison": poison_every_topic,
    "slack-500": slack_down,
    "slack-429": slack_failing(429, 20),
    "duplicate-webhooks": no_fault,
    "smtp-down": smtp_down,
    "restart-broker": restart_broker,
}


# ---- one run ------------------------------------------------------------------------------------


# A lost ticket never comes through: this long without one more ticket through, the wait for it ends.
STALLED_SECONDS = 300.0


async def drain(
    stack: Stack, run: Run, timeout: float, tickets: set[str] | None = None, stalled_after: float = STALLED_SECONDS
) -> str | None:
    """Wait until every accepted ticket (or those of `tickets`) is assigned, announced in Slack,
    acknowledged by email (where it has an address), its SLA clock started and its Slack message showing
    that clock's due time (chaos/slack_shown.py): None then, else why
    the wait ended (the timeout, or `stalled_after` seconds without one more ticket through).

    What each hop still owed when the wait began (the load just ended) goes in `run.extra`, so a run
    that drained slowly says which hop was behind."""
    tickets = run.accepted if tickets is None else tickets
    started = time.monotonic()
    through_before, progress_at = -1, started
    while True:
        agents, _ = stack.tap.agents_told(tickets)
        posts, _ = stack.slack_assignment_posts()
        mails = stack.ack_emails()
        clocks = {ticket for ticket, _metric in stack.tap.clocks_started(tickets)}
        owed = {
            "assignment": {t for t in tickets if t not in agents},
            "slack_message": {t for t in tickets if not posts[t]},
            "ack_email": {t for t in tickets if t in run.expects_email and not mails[t]},
            "sla_clock": {t for t in tickets if t not in clocks},
            "slack_update": set(stack.messages_out_of_date(tickets)),
        }
        run.extra.setdefault("behind_when_the_load_ended", {hop: len(owing) for hop, owing in owed.items()})
        through = len(tickets) - len(set().union(*owed.values()))
        now = time.monotonic()
        if through == len(tickets):
            return None
        if through != through_before:
            through_before, progress_at = through, now
        if now - started >= timeout:
            return f"not drained within {timeout:.0f} s"
        if now - progress_at >= stalled_after:
            return f"not drained: {len(tickets) - through} tickets not through, none came in {stalled_after:.0f} s"
        await asyncio.sleep(1)


async def observe(stack: Stack, run: Run) -> Verdict:
    seen = Observed(accepted=set(run.accepted), expects_email=set(run.expects_email))
    seen.agents_told, seen.assigned_events = stack.tap.agents_told(run.accepted)
    posts, _ = stack.slack_assignment_posts()
    seen.slack_assignment_posts = Counter({t: posts[t] for t in run.accepted})
    mails = stack.ack_emails()
    seen.ack_emails = Counter({t: mails[t] for t in run.accepted})
    seen.sla_started = stack.tap.clocks_started(run.accepted)
    # Each clock against what its policy says, on the policies the platform's sla service runs on.
    sla_process = stack.platform.processes["sla"]
    policies = sla_policies_in_force(stack.platform.service_env(), sla_process.log_dir or Path.cwd())
    opened, changes, told = stack.tap.sla_clocks(run.accepted)
    clocks = check_clocks(run.accepted, opened, changes, told, policies)
    seen.sla_metrics_by_ticket = clocks.metrics_at_creation
    seen.sla_starts_expected = clocks.starts_expected
    seen.sla_due_wrong = clocks.wrong
    seen.slack_out_of_date = stack.messages_out_of_date(run.accepted, told)
    seen.read_model_assignee = await read_model_assignees(stack.intake, run.accepted)
    verdict = judge(seen)
    print(
        f"  {run.fault}: SLA clocks of {len(seen.sla_metrics_by_ticket)} tickets, "
        f"{sum(seen.sla_started.values())} sla.started against policies "
        f"{sorted(p.name for p in policies.policies)}: {len(verdict.sla_due_wrong)} tickets wrong",
        flush=True,
    )
    for ticket, why in list(verdict.sla_due_wrong.items())[:3]:
        print(f"  {run.fault}: SLA clock wrong for {ticket}: {why}", flush=True)
    return verdict


async def run_fault(
    stack: Stack, fault: str, tickets: int, rate: float, drain_seconds: float, quiet: float
) -> tuple[dict, Run]:
    run = Run(fault)
    inject = INJECT[fault]
    load = duplicated_webhooks if fault == "duplicate-webhooks" else steady_load
    began = time.time()
    await asyncio.gather(load(stack, run, tickets, rate), inject(stack, run, tickets))
    loaded = time.time()
    # What a broker on memory storage held when it stopped may be gone with it: only the tickets accepted
    # after it stopped must all come through (the others are sorted into "lost with the broker" below).
    broker_forgets = fault == "restart-broker" and stack.kafka is not None and not stack.kafka.durable
    must_complete = (
        {t for t, at in run.posted_at.items() if at > run.extra["broker_gone_at"]}
        if broker_forgets and "broker_gone_at" in run.extra
        else None
    )
    not_drained = await drain(stack, run, drain_seconds, must_complete)
    drained = time.time()
    await asyncio.sleep(quiet)  # a late second copy (a replay, a retried send) shows up in here
    verdict = await observe(stack, run)
    _, post_times = stack.slack_assignment_posts()

    recovery = None
    if run.fault_at is not None:
        if fault in FLOWING_AGAIN:
            hop = FLOWING_AGAIN[fault]
            recovery = recovery_seconds(
                run.fault_at, post_times if hop == "slack" else stack.tap.produced_at[hop]
            )
        elif fault == "poison":
            # Flowing again: the last poison record dead-lettered (every reader skipped past it).
            last = max((stack.tap.dead_letter_at.get(k, 0.0) for k in run.extra["poisoned"]), default=0.0)
            recovery = round(last - run.fault_at, 2) if last else None
        elif fault == "smtp-down":
            # From SMTP back to the first email through: the outage itself is not the notifier's to shorten.
            recovery = recovery_seconds(run.extra["smtp_back_at"], stack.mail_at)
            run.notes.append(f"SMTP down {stack.smtp_down_seconds:.0f} s; recovery counted from its return")
        elif fault == "slack-500":
            # From Slack answering again to the first assignment message through, as for SMTP.
            recovery = recovery_seconds(run.extra["slack_back_at"], post_times)
            run.notes.append(f"Slack down {stack.slack_down_seconds:.0f} s; recovery counted from its return")
        elif fault == "slack-429":
            recovery = recovery_seconds(
                max((c["at"] for c in stack.slack.calls() if c["status"] != 200), default=run.fault_at),
                post_times,
            )
    if fault == "poison":
        gaps = dead_letter_gaps(run.extra["poisoned"], stack.tap.dead_letters)
        run.extra["dead_letter_gaps"] = gaps
        copies = sum(
            stack.tap.dead_letters[(k, g)]
            for k, t in run.extra["poisoned"].items()
            for g in CONSUMER_GROUPS_OF_TOPIC[t]
        )
        run.notes.append(f"dead letters {copies}, missing {len(gaps['missing'])}, extra {len(gaps['extra'])}")
    broker_lost: set[str] = set()
    if fault == "restart-broker" and run.fault_at is not None:
        recovery = recovery_seconds(run.extra["broker_back_at"], post_times)
        before = {t for t, at in run.posted_at.items() if at <= run.extra["broker_gone_at"]}
        lost_tickets = {t for tickets in verdict.lost.values() for t in tickets}
        # Accepted before the broker stopped and not through every hop: a broker on memory storage lost
        # what some service had not read yet. Any other loss is the platform's, and so is every loss
        # with a durable broker.
        if broker_forgets:
            run.at_risk = before
            broker_lost = lost_tickets & before
        run.extra["accepted_before_stop"] = len(before)
        run.extra["lost_with_the_broker"] = len(broker_lost)
        run.extra["lost_with_the_broker_by_check"] = {
            check: len(set(tickets) & broker_lost) for check, tickets in verdict.lost.items()
        }
        pids_after = {name: process.pid for name, process in stack.platform.processes.items()}
        run.extra["services_restarted"] = sorted(
            name for name, pid in run.extra["pids_before"].items() if pids_after.get(name) != pid
        )
        run.notes.append(
            f"down {stack.broker_down_seconds:.0f} s; all services ready "
            f"{run.extra['all_ready_after_seconds']} s after it was back, none restarted"
            if not run.extra["services_restarted"] and not run.extra["not_ready"]
            else f"restarted: {run.extra['services_restarted']}, not ready: {run.extra['not_ready']}"
        )
        run.notes.append(
            f"the broker lost {len(broker_lost)} of the {len(before)} tickets posted before it stopped "
            f"{ {k: v for k, v in run.extra['lost_with_the_broker_by_check'].items() if v} }"
            if broker_forgets
            else f"durable broker ({broker_kind(stack.kafka)}): {len(before)} tickets posted before it "
            "stopped, none to lose"
        )
    if fault == "duplicate-webhooks":
        doubled = run.extra["deliveries_with_two_tickets"]
        run.notes.append(f"{tickets * 2} posts for {tickets} deliveries; {len(doubled)} made two tickets")
    twice = verdict.duplicated.get("ack_email_twice", [])
    if twice:
        # Still counted as duplicated; but the same Message-ID twice is the one window deliverer.py leaves
        # (a crash after the mail server took the email, before the record): mail clients show one message.
        ids = stack.ack_message_ids(set(twice))
        same = sum(1 for ticket in twice if len(ids.get(ticket, ())) == 1)
        run.extra["ack_email_twice_same_message_id"] = same
        run.notes.append(f"{same} of the {len(twice)} acknowledgements sent twice kept their Message-ID")
    if not_drained:
        run.notes.append(not_drained)
    if run.errors:
        run.notes.append(f"refused {sum(run.errors.values())}: {dict(run.errors)}")
    duplicated = verdict.duplicated_count + len(run.extra.get("deliveries_with_two_tickets", []))
    lost = (
        verdict.lost_count
        - len(broker_lost)
        + len(run.extra.get("dead_letter_gaps", {}).get("missing", []))
        + len(run.extra.get("services_restarted", []))
        + len(run.extra.get("not_ready", []))
    )
    examples = {k: v[:5] for k, v in {**verdict.lost, **verdict.duplicated}.items()}
    return {
        "fault": fault,
        "tickets": tickets,
        "accepted": len(run.accepted),
        "lost": lost,
        "duplicated": duplicated,
        "recovery_seconds": recovery,
        "drained": not_drained is None,
        "load_seconds": round(loaded - began, 1),
        # How far behind the load the pipeline finished: the backlog left when the last ticket was posted.
        "drain_seconds": round(drained - loaded, 1),
        "notes": "; ".join(run.notes),
        "lost_by_check": {k: len(v) for k, v in verdict.lost.items()},
        "duplicated_by_check": {k: len(v) for k, v in verdict.duplicated.items()},
        "examples": examples,
        "evidence": await evidence(stack, {t for some in examples.values() for t in some[:3]}),
        "refused": dict(run.errors),
        **{k: v for k, v in run.extra.items() if k != "deliveries_with_two_tickets"},
    }, run


async def evidence(stack: Stack, tickets: set[str]) -> dict[str, dict]:
    """For tickets lost or doubled, what the run leaves no other trace of once the stack is gone: the
    notifier's deliveries of each (`/v1/deliveries`) and the Slack calls naming it."""
    found: dict[str, dict] = {}
    calls = stack.slack.calls()
    async with httpx.AsyncClient(timeout=10) as client:
        for ticket in sorted(tickets):
            try:
                response = await client.get(
                    f"{stack.platform.url('notifier')}/v1/deliveries",
                    params={"ticket_id": ticket, "limit": 50},
                )
                response.raise_for_status()
                deliveries = response.json()["deliveries"]
            except (httpx.HTTPError, KeyError, ValueError) as error:
                found[ticket] = {"error": f"could not read the notifier's deliveries: {error!r}"}
                continue
            found[ticket] = ticket_evidence(ticket, deliveries, calls)
    return found


async def seed_agents(router: str, count: int) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        for n in range(count):
            response = await client.put(
                f"{router}/v1/agents/chaos-{n}",
                json={
                    "name": f"Agent {n}",
                    "email": f"chaos-agent{n}@example.com",
                    "slack_user_id": f"UCHAOS{n}",
                    "skills": ["english"],
                    "capacity": 1_000,
                    "status": "online",
                },
            )
            response.raise_for_status()


async def run(args: argparse.Namespace) -> dict:
    results: dict = {"started_at": datetime.now(UTC).isoformat(), "settings": vars(args), "faults": []}
    logs = RESULTS / "logs-chaos"
    mail_at: list[float] = []
    with (
        EmbeddedS3(log_dir=logs / "logs") if args.durable_broker else nullcontext() as storage,
        # A fixed port: restart-broker starts it again there.
        (
            ApacheKafka(port=free_port())
            if args.apache_kafka
            else EmbeddedKafka(port=free_port(), storage=storage)
        ) as kafka,
        EmbeddedMongo() as mongo,
        EmbeddedRedis() as redis,
        # A fixed port: the smtp-down fault stops the capture and starts it again where the notifier looks.
        SmtpCapture(port=free_port(), on_message=lambda _message: mail_at.append(time.time())) as smtp,
        FakeSlack(token=TOKEN) as slack,
    ):
        platform = Platform(
            kafka_bootstrap_servers=kafka.bootstrap_servers,
            mongodb_url=mongo.url,
            redis_url=redis.url,
            smtp_host=smtp.host,
            smtp_port=smtp.port,
            run_dir=logs,
            ports={name: free_port() for name in SERVICES},
            email_smtp_port=free_port(),
            env={
                "SLACK_API_URL": slack.url,
                "SLACK_BOT_TOKEN": TOKEN,
                "LOG_LEVEL": "WARNING",
                "SOCIAL_WEBHOOK_SECRETS": json.dumps({SOCIAL_NETWORK: SOCIAL_SECRET}),
                "KAFKA_FETCH_MAX_WAIT_MS": str(kafka.fetch_max_wait_ms),
            },
        )
        tap = BrokerTap(kafka.bootstrap_servers, fetch_max_wait_ms=kafka.fetch_max_wait_ms)
        try:
            print("starting the five services ...", flush=True)
            platform.start()
            await seed_agents(platform.url("router"), args.agents)
            await tap.start()
            stack = Stack(
                platform, slack, smtp, tap, kafka.bootstrap_servers, mail_at, args.smtp_down_seconds,
                kafka=kafka, broker_down_seconds=args.broker_down_seconds,
                slack_down_seconds=args.slack_down_seconds,
            )  # fmt: skip
            runs = []
            for fault in args.faults:
                print(f"{fault}: {args.tickets} tickets at {args.rate:g}/s ...", flush=True)
                row, done = await run_fault(
                    stack, fault, args.tickets, args.rate, args.drain_seconds, args.quiet_seconds
                )
                print(
                    f"  lost {row['lost']}, duplicated {row['duplicated']}, "
                    f"recovery {row['recovery_seconds']} s{'; ' + row['notes'] if row['notes'] else ''}",
                    flush=True,
                )
                results["faults"].append(row)
                runs.append(done)
            # Once every fault is over, look again: what a fault's drain time missed but came later was late,
            # not lost; and a duplicate sent late (a replay after a later restart) shows here.
            for row, done in zip(results["faults"], runs, strict=True):
                final = await observe(stack, done)
                final_lost = {t for tickets in final.lost.values() for t in tickets} - done.at_risk
                row["at_end"] = {
                    "lost": len(final_lost),
                    "lost_with_the_broker": final.lost_count - len(final_lost),
                    "duplicated": final.duplicated_count,
                    "lost_by_check": {k: len(v) for k, v in final.lost.items()},
                    "duplicated_by_check": {k: len(v) for k, v in final.duplicated.items()},
                }
                if (len(final_lost), final.duplicated_count) != (row["lost"], row["duplicated"]):
                    row["notes"] = "; ".join(
                        filter(
                            None,
                            [
                                row["notes"],
                                f"at the end of the run: lost "
                                f"{len(final_lost)}, duplicated {final.duplicated_count}",
                            ],
                        )
                    )
        finally:
            await tap.stop()
            platform.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=10_000, help="tickets per fault (the issue's 10,000)")
    parser.add_argument(
        "--rate", type=float, default=5.0, help="tickets offered per second (the pipeline does 5-10)"
    )
    parser.add_argument(
        "--faults",
        type=lambda s: [f.strip() for f in s.split(",") if f.strip()],
        default=list(FAULTS),
        help=f"comma-separated, in order: {','.join(FAULTS)}",
    )
    parser.add_argument(
        "--agents",
        type=int,
        default=50,
        help="online agents, 1,000 open tickets each, one Slack channel each (one message a second): "
        "enough for 10,000 tickets at 8 a second",
    )
    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=None,
        help="how long the pipeline may take to catch up after the load (default: 120 + tickets/2)",
    )
    parser.add_argument("--smtp-down-seconds", type=float, default=60.0, help="how long SMTP stays down")
    parser.add_argument(
        "--slack-down-seconds", type=float, default=180.0, help="how long Slack answers 500 (slack-500)"
    )
    parser.add_argument(
        "--broker-down-seconds", type=float, default=10.0, help="how long the broker stays down"
    )
    brokers = parser.add_mutually_exclusive_group()
    brokers.add_argument(
        "--durable-broker",
        action="store_true",
        help="the broker on S3 storage (moto's S3 server), so that it keeps its log across restart-broker, "
        "as Kafka does: then no ticket may be lost to it (about 60 Kafka records a second: use --rate 1)",
    )
    brokers.add_argument(
        "--apache-kafka",
        action="store_true",
        help="Apache Kafka in a Docker container (testcontainers) instead of the embedded broker: the "
        "production broker, which keeps its log across restart-broker; needs a Docker engine",
    )
    parser.add_argument(
        "--quiet-seconds", type=float, default=5.0, help="wait after draining for late duplicates"
    )
    args = parser.parse_args(argv)
    unknown = [f for f in args.faults if f not in FAULTS]
    if unknown:
        parser.error(f"unknown faults {unknown}; known: {', '.join(FAULTS)}")
    if args.apache_kafka and (reason := docker_unavailable()) is not None:
        parser.error(f"--apache-kafka: {reason}")
    if args.drain_seconds is None:
        args.drain_seconds = 120 + args.tickets / 2
    # The tap's own client would log every failed reconnect while the broker is down: the table says it all.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    interrupt_on_sigterm()
    results = asyncio.run(run(args))
    print()
    print(table(results["faults"]))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"chaos-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nwritten to {path}")
    return 0 if all(row["lost"] == 0 and row["duplicated"] == 0 for row in results["faults"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
