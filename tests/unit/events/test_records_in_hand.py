"""The aiokafka consumer's records in hand, without a broker: what a stop lets finish, what a record that
could not be done does, and how far each partition may be committed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from aiokafka import TopicPartition

from helpdesk_events import consumer as event_consumer
from helpdesk_events.consumer import ConsumedRecord, EventConsumer, Outcome
from helpdesk_events.kafka import KafkaSettings
from helpdesk_events.topics import Topic

P0, P1 = TopicPartition("tickets", 0), TopicPartition("tickets", 1)


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes = b"{}"
    headers: tuple = ()


class Dispatcher:
    """Handles each record after `hold` is set (when given); a key in `down` fails as if its store were down."""

    def __init__(self) -> None:
        self.began: list[int] = []
        self.handled: list[int] = []
        self.hold: asyncio.Event | None = None
        self.down: set[bytes] = set()
        self.tries: dict[int, int] = {}

    async def dispatch(self, record: ConsumedRecord) -> Outcome:
        self.began.append(record.offset)
        self.tries[record.offset] = self.tries.get(record.offset, 0) + 1
        if self.hold is not None:
            await self.hold.wait()
        if record.key in self.down:
            raise ConnectionError("store down")
        self.handled.append(record.offset)
        return Outcome.HANDLED


def consumer_of(dispatcher: Dispatcher, concurrency: int = 16) -> EventConsumer:
    return EventConsumer(
        KafkaSettings(), group_id="test", topics=[Topic.TICKETS], dispatcher=dispatcher,  # type: ignore[arg-type]
        concurrency=concurrency,
    )  # fmt: skip


async def take(consumer: EventConsumer, partition: TopicPartition, offset: int, key: bytes) -> None:
    await consumer._in_hand.take(partition, Record(partition.topic, partition.partition, offset, key))


async def test_a_stop_lets_the_records_being_handled_finish_and_starts_no_other() -> None:
    dispatcher = Dispatcher()
    dispatcher.hold = asyncio.Event()
    consumer = consumer_of(dispatcher, concurrency=2)
    for offset, key in ((10, b"A"), (11, b"B"), (12, b"C"), (13, b"A")):
        await take(consumer, P0, offset, key)
    await asyncio.sleep(0.01)
    assert dispatcher.began == [10, 11]  # two slots: C waits for one, A's second for A's first
    consumer._stopping.set()  # SIGTERM
    dispatcher.hold.set()
    assert await consumer._in_hand.finish(timeout=1)
    assert dispatcher.handled == [10, 11]
    assert consumer._in_hand.to_commit([P0]) == {P0: 12}  # C's and A's second are read again


async def test_a_record_that_could_not_be_done_is_tried_again_in_its_lane_and_holds_back_the_commit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(event_consumer, "RETRY_FIRST_PAUSE_SECONDS", 0.01)
    dispatcher = Dispatcher()
    dispatcher.down = {b"A"}
    consumer = consumer_of(dispatcher)
    for offset, key in ((10, b"A"), (11, b"B"), (12, b"A")):
        await take(consumer, P0, offset, key)
    await take(consumer, P1, 5, b"C")
    await asyncio.sleep(0.1)
    # B and C went on; A's first is tried again and again, its second waits behind it.
    assert sorted(dispatcher.handled) == [5, 11]
    assert dispatcher.tries[10] >= 3 and 12 not in dispatcher.tries
    assert consumer._in_hand.to_commit([P0, P1]) == {P1: 6}
    dispatcher.down.clear()  # the store is back
    assert await consumer._in_hand.finish(timeout=2)
    assert dispatcher.handled[-2:] == [10, 12]
    assert consumer._in_hand.to_commit([P0, P1]) == {P0: 13, P1: 6}


async def test_a_partition_is_committed_only_past_what_is_new() -> None:
    consumer = consumer_of(Dispatcher())
    for offset in (10, 11):
        await take(consumer, P0, offset, b"A")
    assert await consumer._in_hand.finish(timeout=1)
    in_hand = consumer._in_hand
    assert in_hand.to_commit([P0, P1]) == {P0: 12}
    in_hand.committed({P0: 12})
    assert in_hand.to_commit([P0]) == {}
    await take(consumer, P0, 12, b"A")
    assert await in_hand.finish(timeout=1)
    assert in_hand.to_commit([P0]) == {P0: 13}


async def test_a_partition_let_go_is_done_up_to_its_first_record_not_done_and_counts_afresh_when_back() -> None:
    dispatcher = Dispatcher()
    dispatcher.hold = asyncio.Event()
    consumer = consumer_of(dispatcher, concurrency=1)
    in_hand = consumer._in_hand
    await take(consumer, P0, 10, b"A")  # being handled when the rebalance begins
    await take(consumer, P0, 11, b"B")  # waiting for a slot
    await take(consumer, P0, 12, b"A")  # waiting behind A's first
    await take(consumer, P1, 5, b"C")  # of a partition that stays
    await asyncio.sleep(0.01)
    in_hand.let_go([P0])
    dispatcher.hold.set()
    assert await in_hand.finish([P0], timeout=1)
    done = in_hand.detach([P0])
    assert done() == {P0: 11}  # A's first was done; B's and A's second are left to the next owner
    # The same partition given back: read again from the group's commit, committed on its own.
    await take(consumer, P0, 11, b"B")
    await take(consumer, P0, 12, b"A")
    assert await in_hand.finish(timeout=1)
    assert dispatcher.handled == [10, 5, 11, 12]
    assert in_hand.to_commit([P0, P1]) == {P0: 13, P1: 6}

    class Positions:
        async def position(self, partition: TopicPartition) -> int:
            return 13

    # Nothing of it in hand: the lag counts from the position, not from a record given up before.
    assert await in_hand.done_up_to(Positions())(P0) == 13  # type: ignore[arg-type]


async def test_a_record_done_behind_one_that_waits_keeps_only_its_offset() -> None:
    dispatcher = Dispatcher()
    dispatcher.down = {b"A"}  # A's record waits (its store down), B's is done behind it in the partition
    consumer = consumer_of(dispatcher)
    in_hand = consumer._in_hand
    await take(consumer, P0, 10, b"A")
    await take(consumer, P0, 11, b"B")
    await asyncio.sleep(0.05)
    assert dispatcher.handled == [11]
    kept = in_hand._lanes._taken[P0]
    assert [(t.item.offset, t.done) for t in kept] == [(10, False), (11, True)]
    assert kept[0].item.record is not None  # still to be handled
    assert kept[1].item.record is None  # its payload let go: an outage holds thousands such
    dispatcher.down.clear()
    assert await in_hand.finish(timeout=3)
    assert in_hand.to_commit([P0]) == {P0: 12}
