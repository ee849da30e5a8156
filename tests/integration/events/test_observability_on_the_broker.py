"""Observability on the real servers: one trace per ticket journey across services, and consumer lag."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY

from devtools.fake_slack import FakeSlack
from devtools.servers import SmtpCapture
from helpdesk_events import Envelope, TicketStatusChanged, Topic
from helpdesk_events.consumer import LAG_IDLE_REPORT_SECONDS, EventConsumer, EventDispatcher
from helpdesk_events.kafka import ensure_topics
from helpdesk_events.publisher import EventPublisher
from helpdesk_events.settings import ServiceSettings
from helpdesk_intake.bootstrap import create_app as create_intake
from helpdesk_notifier.bootstrap import create_app as create_notifier
from helpdesk_notifier.settings import Settings as NotifierSettings
from helpdesk_router.bootstrap import create_app as create_router
from helpdesk_router.settings import Settings as RouterSettings
from helpdesk_router.stream import TicketStream
from tests.conftest import SLACK_TEST_TOKEN
from tests.integration.intake.helpers import FORM, intake_settings
from tests.support.apps import drop_database, running_app, settings_for_test
from tests.support.kafka import publishing
from tests.unit.events.span_capture import ancestors, captured_spans

pytestmark = pytest.mark.integration


def lag_samples(service: str, topic: str | None = None) -> dict[str, float]:
    """helpdesk_consumer_lag of `service` (on `topic`, where given), per partition."""
    return {
        sample.labels["partition"]: sample.value
        for family in REGISTRY.collect()
        if family.name == "helpdesk_consumer_lag"
        for sample in family.samples
        if sample.labels["service"] == service and topic in (None, sample.labels["topic"])
    }


class HeldAt:
    """A status-change handler that notes each status and holds the `nth` record until `release` is set."""

    def __init__(self, nth: int) -> None:
        self.nth = nth
        self.handled: list[str] = []
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def handle(self, envelope: Envelope) -> None:
        self.handled.append(envelope.payload.to_status)
        if len(self.handled) == self.nth:
            self.started.set()
            await self.release.wait()


async def lag_test_settings(kafka_bootstrap: str, topic_prefix: str) -> ServiceSettings:
    """Three partitions, quick sessions and fetches; the topics created."""
    settings = ServiceSettings(
        kafka_bootstrap_servers=kafka_bootstrap, kafka_topic_prefix=topic_prefix, kafka_topic_partitions=3,
        kafka_session_timeout_ms=3000, kafka_heartbeat_interval_ms=500, kafka_fetch_max_wait_ms=50,
    )  # fmt: skip
    await ensure_topics(settings.kafka("lag-test"))
    return settings


async def test_consumer_lag_is_what_a_partition_holds_beyond_the_consumer_s_position(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    service = f"lag-{uuid.uuid4().hex[:8]}"
    settings = await lag_test_settings(kafka_bootstrap, topic_prefix)
    kafka = settings.kafka(service)
    publisher = EventPublisher(kafka, source="intake")
    await publisher.start()
    try:  # five events of one ticket, so one partition, all on the broker before the consumer starts
        for to in ("open", "pending", "open", "solved", "closed"):
            await publisher.emit(TicketStatusChanged(from_status=None, to_status=to, changed_by="t"), ticket_id="T-lag")
    finally:
        await publisher.stop()

    held = HeldAt(2)
    handled, second_started, release, handle = held.handled, held.started, held.release, held.handle

    dispatcher = EventDispatcher(
        service=service, group_id=f"{topic_prefix}lag", handlers={TicketStatusChanged: handle},
        dead_letters=publisher, dead_letter_topic=kafka.topics.name(Topic.DEAD_LETTER),
    )  # fmt: skip
    # One record per batch: the lag is reported after each fetch, and once a second while nothing comes.
    consumer = EventConsumer(
        kafka, group_id=f"{topic_prefix}lag", topics=[Topic.TICKETS], dispatcher=dispatcher, batch_size=1,
        service=service,
    )  # fmt: skip
    await consumer.start()
    try:
        await asyncio.wait_for(second_started.wait(), 30)
        # Reported again while the second record is in hand: the consumer has fetched it (its position is
        # past it) but is not done with it.
        await asyncio.sleep(LAG_IDLE_REPORT_SECONDS * 2)
        while_blocked = lag_samples(service)
        release.set()
        async with asyncio.timeout(30):  # bounds the wait for the last report; asserts nothing by itself
            while len(handled) < 5 or any(lag_samples(service).values()):
                await asyncio.sleep(0.05)
        caught_up = lag_samples(service)
    finally:
        release.set()
        await consumer.stop()

    # Highwater 5, done up to the second record: four records still to process on that partition.
    assert [lag for lag in while_blocked.values() if lag] == [4]  # the other partitions hold nothing
    assert caught_up and set(caught_up.values()) == {0}
    assert handled == ["open", "pending", "open", "solved", "closed"]
    assert lag_samples(service) == {}  # stopped: no stale series


async def test_the_lag_counts_records_that_arrive_while_the_partition_waits_for_its_batch(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    # A partition in hand is paused, so not fetched: its lag was the highwater of its last fetch, which
    # said "1 behind" for as long as a batch waited (Slack down), however many records piled up behind.
    service = f"lag-{uuid.uuid4().hex[:8]}"
    settings = await lag_test_settings(kafka_bootstrap, topic_prefix)
    kafka = settings.kafka(service)
    held = HeldAt(1)
    handled, first_in_hand, release, handle = held.handled, held.started, held.release, held.handle

    def status(to: str) -> TicketStatusChanged:
        return TicketStatusChanged(from_status=None, to_status=to, changed_by="t")

    async with publishing(settings, "intake") as publisher:
        dispatcher = EventDispatcher(
            service=service, group_id=f"{topic_prefix}lag-held", handlers={TicketStatusChanged: handle},
            dead_letters=publisher, dead_letter_topic=kafka.topics.name(Topic.DEAD_LETTER),
        )  # fmt: skip
        consumer = EventConsumer(
            kafka, group_id=f"{topic_prefix}lag-held", topics=[Topic.TICKETS], dispatcher=dispatcher, service=service
        )
        await consumer.start()
        try:
            await publisher.emit(status("open"), ticket_id="T-held")
            await asyncio.wait_for(first_in_hand.wait(), 30)
            for to in ("pending", "open", "solved", "open", "solved", "closed"):  # one record a batch
                await publisher.emit(status(to), ticket_id="T-held")
            # The consumer asks once a second and reports once a second: a few seconds at most.
            deadline = asyncio.get_running_loop().time() + LAG_IDLE_REPORT_SECONDS * 10
            while sum(lag_samples(service).values()) != 7 and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
            while_held = lag_samples(service)
            release.set()
            async with asyncio.timeout(30):
                while len(handled) < 7 or any(lag_samples(service).values()):
                    await asyncio.sleep(0.05)
        finally:
            release.set()
            await consumer.stop()

    assert [lag for lag in while_held.values() if lag] == [7]  # the batch's record and the six behind it
    assert handled == ["open", "pending", "open", "solved", "open", "solved", "closed"]


async def test_the_router_s_lag_counts_what_faust_fetched_ahead_and_the_router_has_not_done(
    kafka_bootstrap: str, mongodb_url: str, topic_prefix: str, mongo_db_prefix: str
) -> None:
    # faust fetches ahead into its own buffers: the fetch position reaches the log's end while the router
    # still works through the records. A lag taken from it said 0 under a backlog of thousands.
    settings = settings_for_test(
        RouterSettings, "router", kafka_bootstrap=kafka_bootstrap, mongodb_url=mongodb_url,
        topic_prefix=topic_prefix, mongo_db_prefix=mongo_db_prefix,
        router_consumer_group=f"{topic_prefix}router-lag",
    )  # fmt: skip
    kafka = settings.kafka("router-lag-test")
    await ensure_topics(kafka)
    tickets_topic = kafka.topics.name(Topic.TICKETS)
    backlog = 200
    async with publishing(settings, "intake") as publisher:  # one ticket: one partition, one lane
        for n in range(backlog):
            opened = TicketStatusChanged(from_status=None, to_status="open", changed_by=f"t{n}")
            await publisher.emit(opened, ticket_id="T-rlag")
        handled: list[str] = []
        second_started, release = asyncio.Event(), asyncio.Event()

        async def handle(envelope: Envelope) -> None:
            handled.append(envelope.payload.changed_by)
            if len(handled) == 2:
                second_started.set()
                await release.wait()

        dispatcher = EventDispatcher(
            service="router", group_id=settings.router_consumer_group, handlers={TicketStatusChanged: handle},
            dead_letters=publisher, dead_letter_topic=kafka.topics.name(Topic.DEAD_LETTER),
        )  # fmt: skip
        stream = TicketStream(settings, dispatcher)
        await stream.start()
        try:
            await asyncio.wait_for(second_started.wait(), 60)
            # The first record done and committed (faust commits every few seconds), the second in hand.
            async with asyncio.timeout(30):
                while sum(lag_samples("router", tickets_topic).values()) != backlog - 1:
                    await asyncio.sleep(0.1)
            while_blocked = lag_samples("router", tickets_topic)
            release.set()
            async with asyncio.timeout(60):  # bounds the wait; asserts nothing by itself
                while len(handled) < backlog or any(lag_samples("router", tickets_topic).values()):
                    await asyncio.sleep(0.1)
            caught_up = lag_samples("router", tickets_topic)
        finally:
            release.set()
            await stream.stop()
        await drop_database(mongodb_url, settings.mongodb_database)

    assert [lag for lag in while_blocked.values() if lag] == [backlog - 1]
    assert caught_up and set(caught_up.values()) == {0}
    assert handled == [f"t{n}" for n in range(backlog)]
    assert lag_samples("router", tickets_topic) == {}  # stopped: no stale series


@pytest.fixture
async def databases(mongodb_url: str, mongo_db_prefix: str) -> AsyncIterator[None]:
    yield
    for service in ("intake", "router", "notifier"):
        await drop_database(mongodb_url, f"{mongo_db_prefix}{service}")


async def until_delivered(notifier: httpx.AsyncClient, ticket_id: str) -> list[dict]:
    """The ticket's deliveries once the Slack message and the email are both sent (bounded wait)."""
    async with asyncio.timeout(45):
        while True:
            response = await notifier.get("/v1/deliveries", params={"ticket_id": ticket_id})
            deliveries = response.json()["deliveries"] if response.status_code == 200 else []
            if {(d["channel"], d["status"]) for d in deliveries} >= {("slack", "sent"), ("email", "sent")}:
                return deliveries
            await asyncio.sleep(0.1)


def one(spans: list[ReadableSpan], name: str, service: str | None = None) -> ReadableSpan:
    found = [s for s in spans if s.name == name and (service is None or s.attributes.get("helpdesk.service") == service)]
    assert len(found) == 1, f"{name} ({service}): {[s.name for s in spans]}"
    return found[0]


async def test_one_ticket_journey_is_one_trace_from_the_http_request_down_to_slack_and_smtp(
    kafka_bootstrap: str,
    mongodb_url: str,
    redis_url: str,
    topic_prefix: str,
    mongo_db_prefix: str,
    smtp_capture: SmtpCapture,
    fake_slack: FakeSlack,
    databases: None,
) -> None:
    common = {"kafka_bootstrap": kafka_bootstrap, "mongodb_url": mongodb_url, "topic_prefix": topic_prefix,
              "mongo_db_prefix": mongo_db_prefix}  # fmt: skip
    intake = intake_settings(kafka_bootstrap, mongodb_url, topic_prefix, mongo_db_prefix, redis_url=redis_url)
    router = settings_for_test(RouterSettings, "router", router_consumer_group=f"{topic_prefix}router", **common)
    notifier = settings_for_test(
        NotifierSettings, "notifier", redis_url=redis_url, smtp_host=smtp_capture.host, smtp_port=smtp_capture.port,
        email_from="Support <support@helpdesk.test>", email_domain="helpdesk.test",
        slack_bot_token=SLACK_TEST_TOKEN, slack_api_url=fake_slack.url, **common,
    )  # fmt: skip
    await ensure_topics(router.kafka("trace-tests"))  # faust reads, never creates, the tickets topic
    slack_user = f"U{uuid.uuid4().hex[:10].upper()}"

    with captured_spans() as exporter:
        async with (
            running_app(create_router(router), base_url="http://router", startup_timeout=30) as router_http,
            running_app(create_notifier(notifier), base_url="http://notifier", startup_timeout=30) as notifier_http,
            running_app(create_intake(intake), base_url="http://intake", startup_timeout=30) as intake_http,
        ):
            agent = {"name": "Ada", "email": "ada@example.com", "slack_user_id": slack_user, "skills": [],
                     "capacity": 5, "status": "online"}  # fmt: skip
            assert (await router_http.put("/v1/agents/ada", json=agent)).status_code == 201
            created = await intake_http.post("/v1/tickets", json=FORM)
            assert created.status_code == 201, created.text
            ticket_id = created.json()["ticket_id"]
            await until_delivered(notifier_http, ticket_id)
        spans = list(exporter.get_finished_spans())

    request = one(spans, "POST /v1/tickets", "intake")
    journey = [s for s in spans if s.context.trace_id == request.context.trace_id]

    def descends_from_request(span: ReadableSpan) -> bool:
        return request in ancestors(span, journey)

    # intake: the HTTP request's span is the root; intake's own span and its publish hang under it.
    assert request.kind is SpanKind.SERVER and request.parent is None
    published = one(journey, "publish ticket.created", "intake")
    assert published.kind is SpanKind.PRODUCER and descends_from_request(published)
    assert published.attributes["helpdesk.ticket_id"] == ticket_id

    # router: its consumer span is the child of intake's producer span, through traceparent on Kafka.
    triage = one(journey, "handle ticket.created", "router")
    assert triage.kind is SpanKind.CONSUMER and triage.parent.span_id == published.context.span_id
    assert triage.attributes["helpdesk.ticket_id"] == ticket_id
    assigned = one(journey, "publish ticket.assigned", "router")
    assert triage in ancestors(assigned, journey)

    # notifier: the assignment's consumer span under the router's producer span, the Slack call under it.
    told = one(journey, "handle ticket.assigned", "notifier")
    assert told.kind is SpanKind.CONSUMER and told.parent.span_id == assigned.context.span_id
    slack = [s for s in journey if s.name == "slack chat.postMessage"]
    assert slack and all(s.kind is SpanKind.CLIENT and told in ancestors(s, journey) for s in slack)

    # ... and the acknowledgement email, sent on intake's ticket.created, under that event's consumer span.
    acknowledged = one(journey, "handle ticket.created", "notifier")
    assert acknowledged.parent.span_id == published.context.span_id
    smtp = one(journey, "smtp send")
    assert smtp.kind is SpanKind.CLIENT and acknowledged in ancestors(smtp, journey)

    # Every span of the journey descends from the request: one trace, no orphans.
    assert all(descends_from_request(s) for s in journey if s is not request)

    # The same request in the HTTP metrics, under its route template and status.
    assert REGISTRY.get_sample_value(
        "helpdesk_http_requests_total", {"service": "intake", "method": "POST", "route": "/v1/tickets", "status": "201"}
    )
