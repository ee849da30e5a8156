"""Consumer lag per partition: the log end offset minus the position, as a gauge that follows the assignment."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable

import aiokafka.errors
import pytest
from aiokafka import TopicPartition
from prometheus_client import REGISTRY

from helpdesk_events.consumer import EventConsumer, EventDispatcher, LagReporter, consumer_lag
from helpdesk_events.kafka import KafkaSettings
from helpdesk_events.metrics import partition_lag
from helpdesk_events.topics import Topic, TopicNames


@pytest.mark.parametrize(
    ("highwater", "position", "lag"),
    [(10, 7, 3), (5, 5, 0), (0, 0, 0), (4, 6, 0), (None, 3, None), (8, None, None)],
)
def test_lag_is_highwater_minus_position_never_negative_and_unknown_without_both(
    highwater: int | None, position: int | None, lag: int | None
) -> None:
    assert partition_lag(highwater, position) == lag


class FakeConsumer:
    """What `consumer_lag` reads of an aiokafka consumer: the assignment, highwaters and positions."""

    def __init__(self, offsets: dict[TopicPartition, tuple[int | None, int | None]]) -> None:
        self.offsets = offsets
        self.position_calls: list[TopicPartition] = []

    def assignment(self) -> set[TopicPartition]:
        return set(self.offsets)

    def highwater(self, partition: TopicPartition) -> int | None:
        return self.offsets[partition][0]

    def position(self, partition: TopicPartition) -> Awaitable[int]:
        self.position_calls.append(partition)

        async def read() -> int:
            position = self.offsets[partition][1]
            if position is None:
                raise aiokafka.errors.IllegalStateError(f"{partition} is not assigned")
            return position

        return read()


async def test_lag_of_each_assigned_partition_and_none_where_not_fetched_yet() -> None:
    t0, t1, t2, t3 = (TopicPartition("p.tickets", n) for n in range(4))
    consumer = FakeConsumer({t0: (10, 7), t1: (5, 5), t2: (None, None), t3: (9, None)})
    lags = await consumer_lag(consumer)
    assert lags == {("p.tickets", 0): 3, ("p.tickets", 1): 0, ("p.tickets", 2): None, ("p.tickets", 3): None}
    assert t2 not in consumer.position_calls  # no highwater: not fetched, so no position to wait for


async def test_lag_from_what_the_consumer_is_done_up_to_where_that_is_not_its_fetch_position() -> None:
    # A consumer that fetched everything into a buffer of its own (faust) but has finished less.
    t0, t1 = (TopicPartition("p.tickets", n) for n in range(2))
    consumer = FakeConsumer({t0: (900, 900), t1: (400, 400)})
    done = {t0: 120, t1: 400}

    async def done_up_to(partition: TopicPartition) -> int:
        return done[partition]

    assert await consumer_lag(consumer) == {("p.tickets", 0): 0, ("p.tickets", 1): 0}
    assert await consumer_lag(consumer, done_up_to=done_up_to) == {("p.tickets", 0): 780, ("p.tickets", 1): 0}

    service = f"lag-{uuid.uuid4().hex[:8]}"
    await LagReporter(service).report(consumer, done_up_to=done_up_to)
    assert (lag_sample(service, 0), lag_sample(service, 1)) == (780, 0)


def lag_sample(service: str, partition: int) -> float | None:
    return REGISTRY.get_sample_value(
        "helpdesk_consumer_lag", {"service": service, "topic": "p.tickets", "partition": str(partition)}
    )


async def test_the_gauge_follows_the_assignment_and_a_cleared_reporter_leaves_no_series() -> None:
    service = f"lag-{uuid.uuid4().hex[:8]}"
    reporter = LagReporter(service)
    t0, t1, t2 = (TopicPartition("p.tickets", n) for n in range(3))
    fake = FakeConsumer({t0: (12, 2), t1: (3, 3), t2: (None, None)})

    await reporter.report(fake)
    assert (lag_sample(service, 0), lag_sample(service, 1), lag_sample(service, 2)) == (10, 0, None)

    fake.offsets = {t1: (7, 4), t2: (6, 6)}  # a rebalance took partition 0 away; 2 is fetched now
    await reporter.report(fake)
    assert (lag_sample(service, 0), lag_sample(service, 1), lag_sample(service, 2)) == (None, 3, 0)

    reporter.clear()
    assert (lag_sample(service, 1), lag_sample(service, 2)) == (None, None)


async def test_a_stopped_event_consumer_leaves_no_lag_series() -> None:
    service = f"lag-{uuid.uuid4().hex[:8]}"
    settings = KafkaSettings(bootstrap_servers="127.0.0.1:1", client_id=service, topics=TopicNames("p."))
    dispatcher = EventDispatcher(
        service=service, group_id="g", handlers={}, dead_letters=None, dead_letter_topic="p.deadletter"  # type: ignore[arg-type]
    )
    consumer = EventConsumer(settings, group_id="g", topics=[Topic.TICKETS], dispatcher=dispatcher, service=service)
    await consumer._lag.report(FakeConsumer({TopicPartition("p.tickets", 0): (5, 1)}))
    assert lag_sample(service, 0) == 4
    await consumer.stop()  # never started: stopping still clears what it reported
    assert lag_sample(service, 0) is None


async def test_a_consumer_that_cannot_say_its_lag_keeps_consuming() -> None:
    service = f"lag-{uuid.uuid4().hex[:8]}"

    class Broken:
        def assignment(self) -> set[TopicPartition]:
            raise RuntimeError("coordinator gone")

    await LagReporter(service).report(Broken())  # does not raise
    assert lag_sample(service, 0) is None
