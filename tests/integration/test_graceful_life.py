"""Graceful life: a service stopped with SIGTERM, and a service that loses Kafka, MongoDB or Redis.

SIGTERM (real processes, `python -m helpdesk_<service>`, as Kubernetes stops a pod): /readyz stops
answering 200 at once (uvicorn closes its listening socket, so it is refused: a failed probe), the
handler in hand finishes, what was finished is committed and nothing else, and the process exits
with 0 within 10 s.

Dependency loss (services in-process, each with its OWN server that the test stops and starts again on
the same port): /readyz answers 503 naming the dependency while it is away, handlers are retried and
their records stay uncommitted, and once it is back the service is ready again and handles what was
published meanwhile (MongoDB, Redis) or what is published next (Kafka), without being restarted.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from prometheus_client import REGISTRY
from pymongo import AsyncMongoClient

from devtools.servers import EmbeddedKafka, EmbeddedMongo, EmbeddedRedis, SmtpCapture, free_port
from helpdesk_events import Envelope, Requester, TicketCreated, Topic, TopicNames, decode, new_envelope
from helpdesk_events.kafka import ensure_topics
from helpdesk_notifier.bootstrap import create_app as create_notifier_app
from helpdesk_notifier.settings import Settings as NotifierSettings
from helpdesk_router.settings import Settings as RouterSettings
from helpdesk_sla.bootstrap import create_app as create_sla_app
from helpdesk_sla.settings import Settings as SlaSettings
from tests.support.apps import drop_database, running_app, settings_for_test
from tests.support.graceful import GatedSmtp, committed_offsets, readyz, service_process
from tests.support.kafka import EventTap, publishing
from tests.support.waiting import until

pytestmark = pytest.mark.integration

# Kubernetes sends SIGKILL 15 s after the pod is told to stop, the preStop pause (3 s) included.
EXIT_WITHIN_SECONDS = 10.0
# EventConsumer's batch: up to this many records of a partition in hand at once.
BATCH = 500
BACKLOG = 3 * BATCH


def ticket_created(ticket_id: str) -> Envelope[TicketCreated]:
    payload = TicketCreated(
        subject="Printer on fire",
        body="It is on fire.",
        requester=Requester(email=f"ada-{ticket_id.lower()}@example.com", name="Ada Lovelace"),
        channel="web",
        message_id=f"m-{ticket_id}",
        priority="high",
    )
    return new_envelope(payload, source="intake", ticket_id=ticket_id)


def new_ticket_id() -> str:
    return f"T-{uuid.uuid4().hex[:10]}"


# -- SIGTERM ---------------------------------------------------------------------------------------------


@pytest.fixture
async def sla_settings(
    kafka_bootstrap: str, mongodb_url: str, topic_prefix: str, mongo_db_prefix: str
) -> AsyncIterator[SlaSettings]:
    settings = settings_for_test(
        SlaSettings, "sla", kafka_bootstrap=kafka_bootstrap, mongodb_url=mongodb_url,
        topic_prefix=topic_prefix, mongo_db_prefix=mongo_db_prefix,
    )  # fmt: skip
    await ensure_topics(settings.kafka("graceful-tests"))
    yield settings
    await drop_database(mongodb_url, settings.mongodb_database)


async def applied_event_ids(mongodb_url: str, database: str, collection: str) -> set[str]:
    """The ids of the events the SLA service applied, as its documents (one per ticket) record them."""
    client: AsyncMongoClient = AsyncMongoClient(mongodb_url)
    try:
        documents = await client[database][collection].find({}, {"applied": 1}).to_list(None)
    finally:
        await client.close()
    return {event_id for document in documents for event_id in document.get("applied") or ()}


async def test_sla_on_sigterm_stops_within_the_batch_and_commits_exactly_what_it_finished(
    sla_settings: SlaSettings, kafka_bootstrap: str, mongodb_url: str, tmp_path: Path
) -> None:
    settings = sla_settings
    tickets_topic = TopicNames(settings.kafka_topic_prefix).name(Topic.TICKETS)
    clocks = lambda: applied_event_ids(mongodb_url, settings.mongodb_database, "clocks")  # noqa: E731
    facts = lambda: applied_event_ids(mongodb_url, settings.mongodb_database, "ticket_facts")  # noqa: E731

    async with publishing(settings, "intake") as intake:
        # A backlog, so the consumer holds full batches (up to BATCH records) when SIGTERM comes ...
        await asyncio.gather(*(intake.publish(ticket_created(new_ticket_id())) for _ in range(BACKLOG)))
        async with (
            service_process("sla", settings, tmp_path) as process,
            httpx.AsyncClient(base_url=process.url) as http,
        ):

            async def flow() -> None:  # ... and events keep coming while it stops.
                while True:
                    await intake.publish(ticket_created(new_ticket_id()))

            flowing = asyncio.create_task(flow())
            try:
                await until(lambda: _at_least(clocks, 20), 30, "20 tickets handled", process.log)
                sent = await asyncio.to_thread(process.sigterm)
                await until(lambda: _not_200(http), 5, "/readyz no longer 200", process.log, every=0.05)
                code, ended = await asyncio.to_thread(process.wait_exit, 30)
            finally:
                flowing.cancel()
                await asyncio.gather(flowing, return_exceptions=True)
    stopped_in = ended - sent
    print(f"sla: SIGTERM to exit {stopped_in:.2f} s")
    assert code == 0, process.log()
    assert stopped_in < EXIT_WITHIN_SECONDS, process.log()

    committed = await committed_offsets(kafka_bootstrap, "sla", tickets_topic)
    committed_ids = await events_below(kafka_bootstrap, tickets_topic, committed)
    done_clocks, done_facts = await clocks(), await facts()
    print(f"sla: {len(committed_ids)} committed, {len(done_clocks)} clocks, {len(done_facts)} facts")
    # Never half-done: an event has both its clock and its report facts, or neither.
    assert done_clocks == done_facts, process.log()
    # Nothing committed that was not finished: a restart resumes at the first event not done. Events of
    # other tickets finished beside it stay uncommitted and are applied again (idempotently) then.
    assert committed_ids and committed_ids <= done_clocks, process.log()
    # It stopped with the records in hand, not after running through the backlog: at most one batch
    # is finished but not committed.
    assert len(done_clocks - committed_ids) < BATCH, process.log()


@pytest.fixture
def gated_smtp() -> Iterator[GatedSmtp]:
    with GatedSmtp() as smtp:
        yield smtp


def notifier_settings(
    kafka_bootstrap: str, mongodb_url: str, redis_url: str, topic_prefix: str, mongo_db_prefix: str,
    smtp: GatedSmtp | SmtpCapture,
) -> NotifierSettings:  # fmt: skip
    """The notifier on this test's topics and database; Slack recorded (no token), mail to `smtp`."""
    return settings_for_test(
        NotifierSettings, "notifier", kafka_bootstrap=kafka_bootstrap, mongodb_url=mongodb_url,
        topic_prefix=topic_prefix, mongo_db_prefix=mongo_db_prefix, kafka_topic_partitions=2,
        redis_url=redis_url, smtp_host=smtp.host, smtp_port=smtp.port, email_domain="helpdesk.test",
    )  # fmt: skip


def mailed_tickets(messages: list[EmailMessage]) -> Counter[str]:
    return Counter(message["X-Helpdesk-Ticket-Id"] for message in messages)


async def test_notifier_on_sigterm_finishes_the_mail_in_hand_commits_it_and_exits(
    kafka_bootstrap: str, mongodb_url: str, redis_url: str, topic_prefix: str, mongo_db_prefix: str,
    gated_smtp: GatedSmtp, tmp_path: Path,
) -> None:  # fmt: skip
    # Four events in hand at most (tickets side by side), fewer than the eight sent.
    settings = notifier_settings(
        kafka_bootstrap, mongodb_url, redis_url, topic_prefix, mongo_db_prefix, smtp=gated_smtp
    ).model_copy(update={"consumer_concurrency": 4})
    await ensure_topics(settings.kafka("graceful-tests"))
    tickets_topic = TopicNames(settings.kafka_topic_prefix).name(Topic.TICKETS)
    events = [ticket_created(new_ticket_id()) for _ in range(8)]
    try:
        async with (
            service_process("notifier", settings, tmp_path) as process,
            httpx.AsyncClient(base_url=process.url) as http,
            publishing(settings, "intake") as intake,
        ):
            for envelope in events:
                await intake.publish(envelope)
            # An acknowledgement is at the SMTP server's DATA, unanswered: its handler is mid-way.
            await until(gated_smtp.held.is_set, 30, "a mail at the SMTP gate", process.log)
            sent = await asyncio.to_thread(process.sigterm)
            await until(lambda: _not_200(http), 5, "/readyz no longer 200", process.log, every=0.05)
            # Not ready while the handler in hand is still finishing.
            assert process.running(), process.log()
            # The gate opens once the consumer is stopping (HTTP connections are drained first).
            stopping = lambda: "Waiting for application shutdown" in process.log()  # noqa: E731
            await until(stopping, 10, "the lifespan stop", process.log)
            gated_smtp.open()
            code, ended = await asyncio.to_thread(process.wait_exit, 30)
        stopped_in = ended - sent
        print(f"notifier: SIGTERM to exit {stopped_in:.2f} s (mail held until the consumer was stopping)")
        assert code == 0, process.log()
        assert stopped_in < EXIT_WITHIN_SECONDS, process.log()

        committed = await committed_offsets(kafka_bootstrap, "notifier", tickets_topic)
        committed_ids = await events_below(kafka_bootstrap, tickets_topic, committed)
        ticket_of = {str(envelope.id): envelope.ticket_id for envelope in events}
        mailed = mailed_tickets(gated_smtp.messages)
        print(f"notifier: {len(mailed)} of {len(events)} mailed, {len(committed_ids)} committed")
        # The mails in hand went out, once each; no event is committed whose mail did not go out (one that
        # went out above the commit is read again by the next owner, and the delivery record stops a resend).
        assert mailed and set(mailed.values()) == {1}, mailed
        committed_tickets = {ticket_of[event_id] for event_id in committed_ids}
        assert committed_tickets and committed_tickets <= set(mailed), process.log()
        # It stopped taking records: only those in hand were finished, the rest is left, uncommitted,
        # for the next owner.
        assert len(mailed) <= settings.consumer_concurrency < len(events), process.log()
    finally:
        await drop_database(mongodb_url, settings.mongodb_database)


async def test_notifier_on_sigterm_leaves_a_stuck_handler_uncommitted_and_still_exits_in_time(
    kafka_bootstrap: str, mongodb_url: str, redis_url: str, topic_prefix: str, mongo_db_prefix: str,
    gated_smtp: GatedSmtp, tmp_path: Path,
) -> None:  # fmt: skip
    settings = notifier_settings(
        kafka_bootstrap, mongodb_url, redis_url, topic_prefix, mongo_db_prefix, smtp=gated_smtp
    )
    await ensure_topics(settings.kafka("graceful-tests"))
    tickets_topic = TopicNames(settings.kafka_topic_prefix).name(Topic.TICKETS)
    try:
        async with (
            service_process("notifier", settings, tmp_path) as process,
            publishing(settings, "intake") as intake,
        ):
            await intake.publish(ticket_created(new_ticket_id()))
            await until(gated_smtp.held.is_set, 30, "a mail at the SMTP gate", process.log)
            # The gate stays shut: the handler outlasts the consumer's stop timeout (6 s) and is cancelled.
            sent = await asyncio.to_thread(process.sigterm)
            code, ended = await asyncio.to_thread(process.wait_exit, 30)
            stuck_mails = list(gated_smtp.messages)
        stopped_in = ended - sent
        print(f"notifier, handler stuck: SIGTERM to exit {stopped_in:.2f} s")
        assert code == 0, process.log()
        assert stopped_in < EXIT_WITHIN_SECONDS, process.log()
        assert stuck_mails == []
        # Cancelled half-way, so not committed: the next owner of the partition reads it again.
        assert await committed_offsets(kafka_bootstrap, "notifier", tickets_topic) == {}
    finally:
        await drop_database(mongodb_url, settings.mongodb_database)


async def ticket_ids_in(mongodb_url: str, database: str, collection: str) -> set[str]:
    """The router's documents are one per ticket, keyed by its id."""
    client: AsyncMongoClient = AsyncMongoClient(mongodb_url)
    try:
        documents = await client[database][collection].find({}, {"_id": 1}).to_list(None)
    finally:
        await client.close()
    return {document["_id"] for document in documents}


async def test_router_on_sigterm_commits_what_it_finished_and_leaves_the_record_in_hand(
    kafka_bootstrap: str, mongodb_url: str, topic_prefix: str, mongo_db_prefix: str, tmp_path: Path
) -> None:
    settings = settings_for_test(
        RouterSettings, "router", kafka_bootstrap=kafka_bootstrap, mongodb_url=mongodb_url,
        topic_prefix=topic_prefix, mongo_db_prefix=mongo_db_prefix,
        router_consumer_group=f"{topic_prefix}router", router_sweep_seconds=0,
    )  # fmt: skip
    await ensure_topics(settings.kafka("graceful-tests"))
    tickets_topic = TopicNames(settings.kafka_topic_prefix).name(Topic.TICKETS)
    queued = lambda: ticket_ids_in(mongodb_url, settings.mongodb_database, "queue")  # noqa: E731
    triaged = lambda: ticket_ids_in(mongodb_url, settings.mongodb_database, "triage")  # noqa: E731
    created = [ticket_created(new_ticket_id()) for _ in range(300)]
    try:
        async with publishing(settings, "intake") as intake:
            await asyncio.gather(*(intake.publish(envelope) for envelope in created))
            async with (
                service_process("router", settings, tmp_path) as process,
                httpx.AsyncClient(base_url=process.url) as http,
            ):
                await until(lambda: _at_least(queued, 20), 30, "20 tickets queued", process.log)
                sent = await asyncio.to_thread(process.sigterm)
                await until(lambda: _not_200(http), 5, "/readyz no longer 200", process.log, every=0.05)
                code, ended = await asyncio.to_thread(process.wait_exit, 30)
        stopped_in = ended - sent
        print(f"router: SIGTERM to exit {stopped_in:.2f} s")
        assert code == 0, process.log()
        assert stopped_in < EXIT_WITHIN_SECONDS, process.log()
        committed = await committed_offsets(kafka_bootstrap, settings.router_consumer_group, tickets_topic)
        committed_ids = await events_below(kafka_bootstrap, tickets_topic, committed)
        ticket_of = {str(envelope.id): envelope.ticket_id for envelope in created}
        committed_tickets = {ticket_of[event_id] for event_id in committed_ids if event_id in ticket_of}
        done_queued, done_triaged = await queued(), await triaged()
        counts = f"{len(committed_tickets)} committed, {len(done_queued)} queued, {len(done_triaged)} triaged"
        print(f"router: {counts}")
        assert committed_tickets, f"nothing committed: {committed}"
        # Every committed ticket was finished: triaged, then queued (nobody is on the roster) ...
        assert committed_tickets <= done_queued <= done_triaged, process.log()
        # ... and every ticket it worked on is committed but those in hand (one per lane, at most
        # CONSUMER_CONCURRENCY): faust cancels its agent at a stop (stream_wait_empty=False), so those
        # records, maybe half-done, are left uncommitted and done again (idempotently) by the next owner.
        assert len(done_triaged - committed_tickets) <= settings.consumer_concurrency, process.log()
        # It stopped consuming: the backlog is not drained.
        assert len(done_triaged) < len(created), process.log()
    finally:
        await drop_database(mongodb_url, settings.mongodb_database)


# -- losing a dependency ---------------------------------------------------------------------------------


def retries(service: str, event_type: str) -> float:
    """Handler attempts that failed and were retried (this process's registry: services run in-process)."""
    labels = {"service": service, "type": event_type}
    return REGISTRY.get_sample_value("helpdesk_event_handler_retries_total", labels) or 0.0


async def ready_or_not(http: httpx.AsyncClient) -> tuple[int, dict[str, str]]:
    response = await http.get("/readyz")
    return response.status_code, response.json()["checks"]


def one_ticket_per_partition(partitions: int) -> list[str]:
    """Ticket ids that the producers' default partitioner (murmur2 of the key) puts one in each partition."""
    choose, every = DefaultPartitioner(), list(range(partitions))
    found: dict[int, str] = {}
    while len(found) < partitions:
        ticket_id = new_ticket_id()
        found.setdefault(choose(ticket_id.encode(), every, every), ticket_id)
    return [found[partition] for partition in every]


async def partitions_of(bootstrap_servers: str, topic: str) -> int:
    """How many partitions `topic` has."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    try:
        return len(await producer.partitions_for(topic))
    finally:
        await producer.stop()


async def test_sla_losing_kafka_is_not_ready_then_recovers_by_itself_on_an_empty_broker(
    mongodb_url: str, topic_prefix: str, mongo_db_prefix: str, tmp_path: Path
) -> None:
    broker = EmbeddedKafka(port=free_port(), log_dir=tmp_path / "kafka")  # the port stays across the restart
    await asyncio.to_thread(broker.start)
    # As `make up` runs it (devtools/platform.py): the partition count the broker gives a topic it creates
    # on first use, so a topic comes back the same whoever touches it first after a restart; and one
    # record per produce batch, which the broker numbers right.
    settings = settings_for_test(
        SlaSettings, "sla", kafka_bootstrap=broker.bootstrap_servers, mongodb_url=mongodb_url,
        topic_prefix=topic_prefix, mongo_db_prefix=mongo_db_prefix, kafka_topic_partitions=4,
        kafka_producer_max_batch_bytes=1,
    )  # fmt: skip
    tickets_topic = TopicNames(settings.kafka_topic_prefix).name(Topic.TICKETS)
    clocks = lambda: applied_event_ids(mongodb_url, settings.mongodb_database, "clocks")  # noqa: E731
    try:
        async with running_app(create_sla_app(settings)) as http:
            # Enough before the restart that every partition's position is well past where the new,
            # empty logs start: a consumer that kept its position would skip what comes next.
            before = [ticket_created(new_ticket_id()) for _ in range(40)]
            async with publishing(settings, "intake") as intake:
                for envelope in before:
                    await intake.publish(envelope)
                await until(
                    lambda: _has_all(clocks, {str(e.id) for e in before}), 60, "the tickets handled", ""
                )  # fmt: skip

            await asyncio.to_thread(broker.stop)
            status, checks = await ready_or_not(http)
            assert status == 503 and checks["kafka"] != "ok" and checks["mongodb"] == "ok", checks

            # It comes back empty (the embedded broker keeps nothing): no topics, no groups, no offsets.
            # Nobody tells the service; nobody creates the topics again for it.
            await asyncio.to_thread(broker.start)
            await until(lambda: _ready(http), 30, "/readyz 200 again", "")
            partitions = await partitions_of(broker.bootstrap_servers, tickets_topic)
            assert partitions == settings.kafka_topic_partitions
            after = [ticket_created(ticket_id) for ticket_id in one_ticket_per_partition(partitions)]
            async with publishing(settings, "intake") as intake:
                for envelope in after:
                    await intake.publish(envelope)
            wanted = {str(envelope.id) for envelope in after}
            await until(
                lambda: _has_all(clocks, wanted), 60,
                lambda: f"a ticket in each of the {partitions} partitions handled", "",
            )  # fmt: skip
    finally:
        await asyncio.to_thread(broker.stop)
        await drop_database(mongodb_url, settings.mongodb_database)


async def test_sla_losing_mongodb_is_not_ready_retries_and_loses_nothing(
    kafka_bootstrap: str, topic_prefix: str, mongo_db_prefix: str, tmp_path: Path
) -> None:
    # Its own server, stopped and started again on the same port and data directory.
    mongo = EmbeddedMongo(port=free_port(), data_dir=tmp_path / "mongo-data", log_dir=tmp_path / "mongo")
    await asyncio.to_thread(mongo.start)
    settings = settings_for_test(
        SlaSettings, "sla", kafka_bootstrap=kafka_bootstrap, mongodb_url=mongo.url,
        topic_prefix=topic_prefix, mongo_db_prefix=mongo_db_prefix,
    )  # fmt: skip
    await ensure_topics(settings.kafka("graceful-tests"))
    clocks = lambda: applied_event_ids(mongo.url, settings.mongodb_database, "clocks")  # noqa: E731
    facts = lambda: applied_event_ids(mongo.url, settings.mongodb_database, "ticket_facts")  # noqa: E731
    try:
        async with running_app(create_sla_app(settings)) as http, publishing(settings, "intake") as intake:
            before = ticket_created(new_ticket_id())
            await intake.publish(before)
            await until(lambda: _has(facts, str(before.id)), 30, "a ticket handled", "")  # facts come last

            await asyncio.to_thread(mongo.stop)
            status, checks = await ready_or_not(http)
            assert status == 503 and checks["mongodb"] != "ok" and checks["kafka"] == "ok", checks
            retried = retries("sla", "ticket.created")
            during = [ticket_created(new_ticket_id()) for _ in range(3)]
            for envelope in during:
                await intake.publish(envelope)
            # The handler fails on the store and is tried again; the record stays uncommitted meanwhile.
            await until(lambda: retries("sla", "ticket.created") > retried, 30, "a handler retried", "")

            await asyncio.to_thread(mongo.start)
            await until(lambda: _ready(http), 30, "/readyz 200 again", "")
            wanted = {str(envelope.id) for envelope in during}
            await until(lambda: _has_all(clocks, wanted), 30, "the events of the outage handled", "")
            assert str(before.id) in await clocks()  # kept on disk across the restart
    finally:
        await asyncio.to_thread(mongo.stop)


async def test_notifier_losing_redis_is_not_ready_retries_and_delivers_once_it_is_back(
    kafka_bootstrap: str, mongodb_url: str, topic_prefix: str, mongo_db_prefix: str,
    smtp_capture: SmtpCapture, tmp_path: Path,
) -> None:  # fmt: skip
    # Its own server (the deliveries' guards and Slack's rate limit live there), stopped and started again.
    redis = EmbeddedRedis(port=free_port(), log_dir=tmp_path / "redis")
    await asyncio.to_thread(redis.start)
    settings = notifier_settings(
        kafka_bootstrap, mongodb_url, redis.url, topic_prefix, mongo_db_prefix, smtp=smtp_capture
    )
    await ensure_topics(settings.kafka("graceful-tests"))

    def mails(ticket_id: str) -> int:
        return mailed_tickets(smtp_capture.messages)[ticket_id]

    try:
        async with (
            running_app(create_notifier_app(settings), startup_timeout=30) as http,
            publishing(settings, "intake") as intake,
        ):
            before = ticket_created(new_ticket_id())
            await intake.publish(before)
            is_sent = lambda ticket_id: _statuses(http, ticket_id, ["sent"])  # noqa: E731
            await until(lambda: is_sent(before.ticket_id), 30, "an acknowledgement sent", "")

            await asyncio.to_thread(redis.stop)
            status, checks = await ready_or_not(http)
            assert status == 503 and checks["redis"] != "ok", checks
            assert checks["kafka"] == checks["mongodb"] == "ok", checks
            retried = retries("notifier", "ticket.created")
            during = ticket_created(new_ticket_id())
            await intake.publish(during)
            # No delivery starts without its guard: the handler is tried again, the record left uncommitted.
            await until(lambda: retries("notifier", "ticket.created") > retried, 30, "a handler retried", "")
            assert mails(during.ticket_id) == 0

            await asyncio.to_thread(redis.start)
            await until(lambda: _ready(http), 30, "/readyz 200 again", "")
            # Mailed, then recorded as sent (in that order: wait for the record).
            await until(lambda: is_sent(during.ticket_id), 30, "the outage's acknowledgement sent", "")
            assert mails(during.ticket_id) == mails(before.ticket_id) == 1
    finally:
        await asyncio.to_thread(redis.stop)
        await drop_database(mongodb_url, settings.mongodb_database)


# -- helpers ---------------------------------------------------------------------------------------------


async def events_below(bootstrap_servers: str, topic: str, offsets: dict[int, int]) -> set[str]:
    """The ids of the events in `topic` below the given offset of their partition (what was committed)."""
    below = lambda record: record.offset < offsets.get(record.partition, 0)  # noqa: E731
    async with EventTap(bootstrap_servers, topic) as tap:
        records = await tap.wait_for_records(below, count=sum(offsets.values()))
    return {str(decode(record.value).id) for record in records}


async def _at_least(ids, count: int) -> bool:  # type: ignore[no-untyped-def]
    return len(await ids()) >= count


async def _not_200(http: httpx.AsyncClient) -> bool:
    return await readyz(http) != 200


async def _ready(http: httpx.AsyncClient) -> bool:
    return (await ready_or_not(http))[0] == 200


async def _has_all(ids, wanted: set[str]) -> bool:  # type: ignore[no-untyped-def]
    return wanted <= await ids()


async def _has(ids, event_id: str) -> bool:  # type: ignore[no-untyped-def]
    return event_id in await ids()


async def _statuses(http: httpx.AsyncClient, ticket_id: str, expected: list[str]) -> bool:
    """Whether the ticket's acknowledgement deliveries have exactly these statuses."""
    response = await http.get("/v1/deliveries", params={"ticket_id": ticket_id})
    assert response.status_code == 200, response.text
    return [d["status"] for d in response.json()["deliveries"] if d["kind"] == "acknowledgement"] == expected
