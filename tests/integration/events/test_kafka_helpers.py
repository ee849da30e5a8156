"""Publisher and consumer helpers against the real broker (Tansu, Kafka protocol)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from opentelemetry import trace

from helpdesk_events import Envelope, SlaStarted, TicketStatusChanged, Topic
from helpdesk_events.consumer import EventConsumer
from helpdesk_events.kafka import ensure_topics
from helpdesk_events.runtime import EventRuntime
from helpdesk_events.settings import ServiceSettings
from helpdesk_events.tracing import configure_tracing
from tests.support.graceful import committed_offsets
from tests.support.kafka import EventTap

pytestmark = pytest.mark.integration


def settings(kafka_bootstrap: str, topic_prefix: str) -> ServiceSettings:
    return ServiceSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic_prefix=topic_prefix,
        kafka_topic_partitions=3,
        kafka_session_timeout_ms=3000,
        kafka_heartbeat_interval_ms=500,
        consumer_max_attempts=2,
    )


def status(to: str) -> TicketStatusChanged:
    return TicketStatusChanged(from_status=None, to_status=to, changed_by="test")


async def test_events_of_one_ticket_arrive_in_order_with_their_trace(kafka_bootstrap: str, topic_prefix: str) -> None:
    configure_tracing("test")
    seen: list[tuple[Envelope, str]] = []
    done = asyncio.Event()

    async def handle(envelope: Envelope) -> None:
        trace_id = format(trace.get_current_span().get_span_context().trace_id, "032x")
        seen.append((envelope, trace_id))
        if len(seen) == 20:
            done.set()

    runtime = EventRuntime(
        settings(kafka_bootstrap, topic_prefix), service="test", group_id="g1",
        topics=[Topic.TICKETS], handlers={TicketStatusChanged: handle},
    )
    await runtime.start()
    try:
        statuses = ["open", "pending", "open", "solved", "closed"]
        tracer = trace.get_tracer("test")
        sent_traces = {}
        for ticket in ("T-1", "T-2", "T-3", "T-4"):
            with tracer.start_as_current_span(f"request {ticket}") as span:
                sent_traces[ticket] = format(span.get_span_context().trace_id, "032x")
                for to in statuses:
                    await runtime.publisher.emit(status(to), ticket_id=ticket)
        await asyncio.wait_for(done.wait(), 20)
    finally:
        await runtime.stop()

    for ticket in ("T-1", "T-2", "T-3", "T-4"):
        mine = [(e, t) for e, t in seen if e.ticket_id == ticket]
        assert [e.payload.to_status for e, _ in mine] == statuses
        assert {t for _, t in mine} == {sent_traces[ticket]}  # the handler's span continues the sender's trace


async def test_poison_and_failing_events_are_dead_lettered_and_the_consumer_goes_on(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    handled: list[str] = []

    async def handle(envelope: Envelope) -> None:
        if envelope.payload.to_status == "pending":
            raise RuntimeError("cannot handle pending")
        handled.append(envelope.ticket_id or "")

    config = settings(kafka_bootstrap, topic_prefix)
    runtime = EventRuntime(config, service="test", group_id="g2", topics=[Topic.TICKETS], handlers={TicketStatusChanged: handle})
    await runtime.start()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        async with EventTap(kafka_bootstrap, f"{topic_prefix}deadletter") as dead:
            await producer.send_and_wait(f"{topic_prefix}tickets", b"{not json", key=b"T-bad")
            await runtime.publisher.emit(status("pending"), ticket_id="T-fails")
            await runtime.publisher.emit(status("open"), ticket_id="T-good")
            records = await dead.wait_for_records(lambda r: True, count=2)
            for _ in range(100):
                if "T-good" in handled:
                    break
                await asyncio.sleep(0.1)
    finally:
        await producer.stop()
        await runtime.stop()

    assert handled == ["T-good"]
    reasons = {r.key: dict(r.headers)["dlq-reason"] for r in records}
    assert reasons == {b"T-bad": b"undecodable", b"T-fails": b"handler_failed"}
    poison = next(r for r in records if r.key == b"T-bad")
    assert poison.value == b"{not json"


async def test_committed_offsets_are_honoured_after_a_restart(kafka_bootstrap: str, topic_prefix: str) -> None:
    config = settings(kafka_bootstrap, topic_prefix)
    first: list[str] = []
    second: list[str] = []

    def collector(into: list[str]):
        async def handle(envelope: Envelope) -> None:
            into.append(envelope.ticket_id or "")
        return handle

    runtime = EventRuntime(config, service="test", group_id="g3", topics=[Topic.TICKETS], handlers={TicketStatusChanged: collector(first)})
    await runtime.start()
    for n in range(5):
        await runtime.publisher.emit(status("open"), ticket_id=f"T-{n}")
    for _ in range(100):
        if len(first) == 5:
            break
        await asyncio.sleep(0.1)
    await runtime.stop()
    assert sorted(first) == [f"T-{n}" for n in range(5)]

    restarted = EventRuntime(config, service="test", group_id="g3", topics=[Topic.TICKETS], handlers={TicketStatusChanged: collector(second)})
    await restarted.start()
    try:
        await restarted.publisher.emit(status("open"), ticket_id="T-new")
        for _ in range(100):
            if second:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # give any wrongly re-read record time to show up
    finally:
        await restarted.stop()
    assert second == ["T-new"]


async def test_consumer_stop_is_prompt_when_idle(kafka_bootstrap: str, topic_prefix: str) -> None:
    runtime = EventRuntime(settings(kafka_bootstrap, topic_prefix), service="test", group_id="g4", topics=[Topic.TICKETS])
    await runtime.start()
    assert isinstance(runtime.consumer, EventConsumer) and runtime.consumer.running
    loop = asyncio.get_running_loop()
    started = loop.time()
    await runtime.stop()
    assert not runtime.consumer.running
    assert loop.time() - started < 8  # inside Kubernetes' default grace period with room to spare


async def test_an_outage_longer_than_the_retries_loses_nothing(kafka_bootstrap: str, topic_prefix: str) -> None:
    """The store is 'down' for 5 calls, more than the 2 attempts a record gets: the record is read again
    until the store answers, in order with the events after it, and nothing is dead-lettered."""
    calls = 0
    handled: list[str] = []

    async def store_down_for_a_while(envelope: Envelope) -> None:
        nonlocal calls
        calls += 1
        if calls <= 5:
            raise ConnectionError("mongodb unreachable")
        handled.append(envelope.payload.to_status)

    config = settings(kafka_bootstrap, topic_prefix)
    runtime = EventRuntime(
        config, service="test", group_id="g5", topics=[Topic.TICKETS], handlers={TicketStatusChanged: store_down_for_a_while}
    )
    await runtime.start()
    try:
        async with EventTap(kafka_bootstrap, f"{topic_prefix}deadletter") as dead:
            await runtime.publisher.emit(status("open"), ticket_id="T-1")
            await runtime.publisher.emit(status("solved"), ticket_id="T-1")
            for _ in range(200):
                if len(handled) == 2:
                    break
                await asyncio.sleep(0.1)
            assert dead.records == []
    finally:
        await runtime.stop()
    assert handled == ["open", "solved"]


async def test_a_waiting_ticket_does_not_hold_back_the_other_tickets_of_its_partition(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    """One partition: T-slow's first event waits (a busy Slack channel, a store retrying) until T-fast's
    three, written after it, are handled; then T-slow's events follow in their order. A store down for
    T-down's first event holds back T-down's events only, and nothing is lost or dead-lettered."""
    fast_done = asyncio.Event()
    handled: list[tuple[str, str]] = []
    down_calls = 0

    async def handle(envelope: Envelope) -> None:
        nonlocal down_calls
        ticket = envelope.ticket_id or ""
        if ticket == "T-slow" and envelope.payload.to_status == "open":
            await asyncio.wait_for(fast_done.wait(), 15)
        if ticket == "T-down":
            down_calls += 1
            if down_calls <= 3:
                raise ConnectionError("mongodb unreachable")
        handled.append((ticket, envelope.payload.to_status))
        if [s for t, s in handled if t == "T-fast"] == ["open", "pending", "solved"]:
            fast_done.set()

    config = settings(kafka_bootstrap, topic_prefix).model_copy(update={"kafka_topic_partitions": 1})
    runtime = EventRuntime(config, service="test", group_id="g6", topics=[Topic.TICKETS], handlers={TicketStatusChanged: handle})
    await runtime.start()
    try:
        async with EventTap(kafka_bootstrap, f"{topic_prefix}deadletter") as dead:
            for ticket in ("T-slow", "T-down", "T-fast"):
                for to in ("open", "pending", "solved"):
                    await runtime.publisher.emit(status(to), ticket_id=ticket)
            for _ in range(300):
                if {t for t, s in handled if s == "solved"} == {"T-slow", "T-down", "T-fast"}:
                    break
                await asyncio.sleep(0.1)
            assert dead.records == []
    finally:
        await runtime.stop()

    # After the outage the partition resumes at T-down's first event, so later events of other tickets
    # are handled again (real handlers are idempotent): each ticket's first pass is whole and in order.
    for ticket in ("T-slow", "T-down", "T-fast"):
        assert [s for t, s in handled if t == ticket][:3] == ["open", "pending", "solved"], ticket
    assert handled.index(("T-fast", "solved")) < handled.index(("T-slow", "open"))


async def test_records_fetched_after_a_waiting_one_go_on_and_the_commit_waits_for_it(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    """One partition: T-held's event waits (a Slack post through Slack's outage) while five other tickets'
    events arrive one at a time, each fetched after it. They are handled meanwhile (an acknowledgement
    email goes out while Slack is down), and the partition is committed up to T-held's event only, so
    a crash meanwhile reads it again; once it is done, the commit passes them all."""
    release = asyncio.Event()
    handled: list[str] = []

    async def handle(envelope: Envelope) -> None:
        if envelope.ticket_id == "T-held":
            await asyncio.wait_for(release.wait(), 30)
        handled.append(envelope.ticket_id or "")

    async def committed() -> int | None:
        return (await committed_offsets(kafka_bootstrap, "g9", topic)).get(0)

    async def until(condition: Callable[[], Awaitable[bool]]) -> None:
        for _ in range(150):
            if await condition():
                return
            await asyncio.sleep(0.1)

    async def handled_count(count: int) -> bool:
        return len(handled) >= count

    config = settings(kafka_bootstrap, topic_prefix).model_copy(update={"kafka_topic_partitions": 1})
    topic = f"{topic_prefix}tickets"
    runtime = EventRuntime(config, service="test", group_id="g9", topics=[Topic.TICKETS], handlers={TicketStatusChanged: handle})
    await runtime.start()
    try:
        await runtime.publisher.emit(status("open"), ticket_id="T-held")
        await asyncio.sleep(1.0)  # fetched and in hand
        for n in range(5):
            await runtime.publisher.emit(status("open"), ticket_id=f"T-{n}")
            await until(lambda n=n: handled_count(n + 1))
        while_held, commit_while_held = list(handled), await committed()
        release.set()
        await until(lambda: handled_count(6))

        async def all_committed() -> bool:
            return await committed() == 6

        await until(all_committed)
        commit_after = await committed()
    finally:
        release.set()
        await runtime.stop()

    assert while_held == [f"T-{n}" for n in range(5)]
    assert commit_while_held in (None, 0)  # nothing committed past T-held's event (offset 0)
    assert handled[-1] == "T-held"
    assert commit_after == 6


async def test_topics_are_created_with_the_retention_setting(kafka_bootstrap: str, topic_prefix: str) -> None:
    """Tansu accepts `retention.ms` and reports it back (its memory storage's enforcement is unverified)."""
    kafka = settings(kafka_bootstrap, topic_prefix).model_copy(update={"kafka_topic_retention_ms": 3_600_000})
    created = await ensure_topics(kafka.kafka("retention-test"), [Topic.CUSTOMERS])
    assert created == [f"{topic_prefix}customers"]
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, created[0])])
    finally:
        await admin.close()
    [(_, _, _, _, entries)] = response.resources
    assert ("retention.ms", "3600000") in [(entry[0], entry[1]) for entry in entries]


async def test_a_waiting_record_does_not_hold_back_the_other_partitions(kafka_bootstrap: str, topic_prefix: str) -> None:
    """T-slow's event waits (a busy Slack channel) in the tickets topic's partition; an SLA event
    written after it was read, to another partition, is handled meanwhile: each partition's records
    are in hand on their own, and the consumer fetches on for the others."""
    slow_started = asyncio.Event()
    other_handled = asyncio.Event()
    waited_for_the_other: list[bool] = []

    async def on_status(envelope: Envelope) -> None:
        slow_started.set()
        try:
            await asyncio.wait_for(other_handled.wait(), 8)
        except TimeoutError:
            waited_for_the_other.append(False)
        else:
            waited_for_the_other.append(True)

    async def on_clock(envelope: Envelope) -> None:
        other_handled.set()

    clock = SlaStarted(policy="standard", metric="first_reply", target=timedelta(hours=1), due_at=None)
    config = settings(kafka_bootstrap, topic_prefix).model_copy(update={"kafka_topic_partitions": 1})
    runtime = EventRuntime(
        config, service="test", group_id="g7", topics=[Topic.TICKETS, Topic.SLA],
        handlers={TicketStatusChanged: on_status, SlaStarted: on_clock},
    )  # fmt: skip
    await runtime.start()
    try:
        await runtime.publisher.emit(status("open"), ticket_id="T-slow")
        await asyncio.wait_for(slow_started.wait(), 15)
        await runtime.publisher.emit(clock, ticket_id="T-other")
        for _ in range(150):
            if waited_for_the_other:
                break
            await asyncio.sleep(0.1)
    finally:
        await runtime.stop()

    assert waited_for_the_other == [True]


async def test_a_batch_in_hand_is_committed_before_its_partition_changes_hands(
    kafka_bootstrap: str, topic_prefix: str, kafka_is_embedded: bool
) -> None:
    """A second member joins the group while the first is handling a batch of every partition. The first
    finishes and commits those batches before letting its partitions go, so the second starts past their
    records: none is handled twice, though the partitions were shared out (both handle later records).

    The batch outlasts the start of the rebalance by 3 s: longer than the broker takes to hand the
    partitions over when nothing holds the rebalance back, so without the wait the second member reads
    those records while the first still handles them. Kafka hands them over at once; Tansu answers each
    JoinGroup about 2 s after it (with 3 s sessions, more with longer ones), so there the sessions are
    3 s and the first member holds the rebalance for 1.5 s of the 3; elsewhere they are 10 s (5 s held)."""
    handled: list[tuple[str, str]] = []  # (member, event id)
    revoking = asyncio.Event()

    class RevokingSeen(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            # aiokafka's line as a member with partitions begins a rebalance (a new member logs an empty set)
            if record.getMessage().startswith("Revoking previously assigned partitions") and record.args[0]:
                revoking.set()

    def member(name: str) -> Callable[[Envelope], Awaitable[None]]:
        async def handle(envelope: Envelope) -> None:
            handled.append((name, str(envelope.id)))
            if name == "first":
                # The batch stays in hand until the group starts rebalancing, then a while more (a Slack
                # channel's turn, a handler retrying).
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(revoking.wait(), 20)
                await asyncio.sleep(3.0)

        return handle

    async def handled_at_least(count: int) -> None:
        for _ in range(300):
            if len({event for _, event in handled}) >= count:
                return
            await asyncio.sleep(0.1)

    coordinator = logging.getLogger("aiokafka.consumer.group_coordinator")
    seen, level = RevokingSeen(), coordinator.level
    coordinator.addHandler(seen)
    coordinator.setLevel(logging.INFO)
    session_ms = 3_000 if kafka_is_embedded else 10_000
    config = settings(kafka_bootstrap, topic_prefix).model_copy(update={"kafka_session_timeout_ms": session_ms})
    first, second = (
        EventRuntime(
            config, service="test", group_id="g8", topics=[Topic.TICKETS],
            handlers={TicketStatusChanged: member(name)},
        )  # fmt: skip
        for name in ("first", "second")
    )
    try:
        await first.start()
        for n in range(12):
            await first.publisher.emit(status("open" if n < 6 else "pending"), ticket_id=f"T-{n % 6}")
        await handled_at_least(1)  # the first member's batches are in hand
        await second.start()
        await handled_at_least(12)
        for n in range(12):  # after the rebalance: shared out between the two
            await first.publisher.emit(status("solved"), ticket_id=f"T-{n}")
        await handled_at_least(24)
        await asyncio.sleep(2.0)  # a record handled twice would show up in here
    finally:
        await second.stop()
        await first.stop()
        coordinator.removeHandler(seen)
        coordinator.setLevel(level)

    assert revoking.is_set()
    twice = [event for event, count in Counter(event for _, event in handled).items() if count > 1]
    assert twice == []
    assert len(handled) == 24
    assert {name for name, _ in handled[12:]} == {"first", "second"}
