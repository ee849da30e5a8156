"""One partition's records in lanes, one per key: in order within a ticket, side by side across tickets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from helpdesk_events.consumer import StreamLanes, run_lanes


@dataclass(frozen=True)
class Record:
    offset: int
    key: bytes | None


def records(*keys: bytes | None) -> list[Record]:
    return [Record(offset, key) for offset, key in enumerate(keys, start=100)]


async def test_each_key_keeps_its_order_while_a_slow_key_does_not_hold_back_the_others() -> None:
    batch = records(b"A", b"B", b"A", b"B", b"B", b"A")
    b_done = asyncio.Event()
    order: list[int] = []

    async def process(record: Record) -> bool:
        if record.offset == 100:  # A's first event waits until B's are all handled: B is not queued behind it
            await asyncio.wait_for(b_done.wait(), 2)
        order.append(record.offset)
        if [o for o in order if batch[o - 100].key == b"B"] == [101, 103, 104]:
            b_done.set()
        return True

    assert await run_lanes(batch, process, asyncio.Event(), asyncio.Semaphore(16)) is None
    assert order[:3] == [101, 103, 104]
    assert [o for o in order if batch[o - 100].key == b"A"] == [100, 102, 105]


class Handler:
    """Processes records after a yield to the loop, noting their order and how many were in hand at once."""

    def __init__(self, on_start: Callable[[Handler], None] = lambda handler: None, pause: float = 0) -> None:
        self.processed: list[int] = []
        self.running = 0
        self.most = 0
        self._on_start = on_start
        self._pause = pause

    async def __call__(self, record: Record) -> bool:
        self.running += 1
        self.most = max(self.most, self.running)
        self._on_start(self)
        await asyncio.sleep(self._pause)
        self.processed.append(record.offset)
        self.running -= 1
        return True


async def test_records_without_a_key_share_one_lane_in_order() -> None:
    handler = Handler()
    assert await run_lanes(records(None, None, None), handler, asyncio.Event(), asyncio.Semaphore(16)) is None
    assert handler.processed == [100, 101, 102]
    assert handler.most == 1


async def test_a_record_not_done_stops_its_lane_and_the_partition_resumes_at_the_lowest_such_offset() -> None:
    batch = records(b"A", b"B", b"B", b"A", b"C", b"B")
    processed: list[int] = []

    async def process(record: Record) -> bool:
        if record.offset in (102, 104):  # B's second and C's only event: a store was down
            return False
        processed.append(record.offset)
        return True

    assert await run_lanes(batch, process, asyncio.Event(), asyncio.Semaphore(16)) == 102
    # B's lane stopped at 102 (105 waits behind it); A's went on; everything from 102 is read again.
    assert sorted(processed) == [100, 101, 103]


async def test_a_stop_lets_each_lane_finish_the_record_in_hand_only() -> None:
    batch = records(b"A", b"B", b"A", b"B")
    stopping = asyncio.Event()
    processed: list[int] = []
    in_hand: list[int] = []

    async def process(record: Record) -> bool:
        in_hand.append(record.offset)
        if len(in_hand) == 2:
            stopping.set()  # SIGTERM arrives while both lanes' first records are in hand
        await asyncio.sleep(0)
        processed.append(record.offset)
        return True

    assert await run_lanes(batch, process, stopping, asyncio.Semaphore(16)) == 102
    assert sorted(processed) == [100, 101]


async def test_no_more_records_are_in_hand_than_allowed_and_none_starts_after_a_stop() -> None:
    stopping = asyncio.Event()

    def sigterm_with_two_in_hand(handler: Handler) -> None:  # four more wait for their turn
        if not handler.processed and handler.running == 2:
            stopping.set()

    handler = Handler(sigterm_with_two_in_hand, pause=0.01)
    batch = records(b"A", b"B", b"C", b"D", b"E", b"F")
    assert await run_lanes(batch, handler, stopping, asyncio.Semaphore(2)) == 102
    assert handler.most == 2
    assert sorted(handler.processed) == [100, 101]


async def test_stream_lanes_acknowledge_a_partition_in_order_once_everything_before_is_done() -> None:
    release_first = asyncio.Event()
    handled: list[int] = []
    acknowledged: list[int] = []

    async def process(record: Record) -> None:
        if record.offset == 100:  # A's first event is slow; B's and C's go ahead of it
            await release_first.wait()
        handled.append(record.offset)

    async def acknowledge(record: Record) -> None:
        acknowledged.append(record.offset)

    lanes = StreamLanes(process, acknowledge, limit=16)
    for record in records(b"A", b"B", b"A", b"C"):
        await lanes.submit("tickets-0", record.key, record)
    for _ in range(20):
        await asyncio.sleep(0)
    assert handled == [101, 103]  # A's second waits behind its first
    assert acknowledged == []  # nothing passes the record in hand
    release_first.set()
    for _ in range(20):
        await asyncio.sleep(0)
    assert handled == [101, 103, 100, 102]
    assert acknowledged == [100, 101, 102, 103]
    await lanes.close()


async def test_stream_lanes_hold_the_stream_at_the_limit_and_close_leaves_what_is_in_hand_unacknowledged() -> None:
    never = asyncio.Event()
    acknowledged: list[int] = []

    async def process(record: Record) -> None:
        if record.offset != 101:
            await never.wait()  # stuck (a dependency down, retried for ever)

    async def acknowledge(record: Record) -> None:
        acknowledged.append(record.offset)

    lanes = StreamLanes(process, acknowledge, limit=2)
    batch = records(b"A", b"B", b"C")
    await lanes.submit("tickets-0", b"A", batch[0])
    await lanes.submit("tickets-0", b"B", batch[1])
    third = asyncio.create_task(lanes.submit("tickets-0", b"C", batch[2]))
    await asyncio.sleep(0.05)
    assert third.done()  # B finished, freeing a slot; C now holds it
    fourth = asyncio.create_task(lanes.submit("tickets-1", b"D", Record(7, b"D")))
    await asyncio.sleep(0.05)
    assert not fourth.done()  # A and C in hand: the stream waits
    await lanes.close()
    await asyncio.wait_for(fourth, 1)
    await lanes.close()
    assert acknowledged == []  # B is done, but A before it never was: no commit may pass A
