"""Records in lanes, one per key: in order within a ticket, side by side across tickets, acknowledged in
each partition's order."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from helpdesk_events.lanes import StreamLanes


@dataclass(frozen=True)
class Record:
    offset: int
    key: bytes | None


def records(*keys: bytes | None) -> list[Record]:
    return [Record(offset, key) for offset, key in enumerate(keys, start=100)]


class Acknowledged(list):
    async def __call__(self, record: Record) -> None:
        self.append(record.offset)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


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

    acknowledged = Acknowledged()
    lanes = StreamLanes(process, acknowledged, limit=16)
    for record in batch:
        await lanes.submit("tickets-0", record.key, record)
    assert await lanes.finish(timeout=2)
    assert order[:3] == [101, 103, 104]
    assert [o for o in order if batch[o - 100].key == b"A"] == [100, 102, 105]
    assert acknowledged == [100, 101, 102, 103, 104, 105]


async def test_records_without_a_key_share_one_lane_in_order() -> None:
    running, most, order = 0, 0, []

    async def process(record: Record) -> bool:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.001)
        order.append(record.offset)
        running -= 1
        return True

    lanes = StreamLanes(process, Acknowledged(), limit=16)
    for record in records(None, None, None):
        await lanes.submit("tickets-0", None, record)
    assert await lanes.finish(timeout=2)
    assert order == [100, 101, 102]
    assert most == 1


async def test_stream_lanes_acknowledge_a_partition_in_order_once_everything_before_is_done() -> None:
    release_first = asyncio.Event()
    handled: list[int] = []

    async def process(record: Record) -> bool:
        if record.offset == 100:  # A's first event is slow; B's and C's go ahead of it
            await release_first.wait()
        handled.append(record.offset)
        return True

    acknowledged = Acknowledged()
    lanes = StreamLanes(process, acknowledged, limit=16)
    for record in records(b"A", b"B", b"A", b"C"):
        await lanes.submit("tickets-0", record.key, record)
    await settle()
    assert handled == [101, 103]  # A's second waits behind its first
    assert acknowledged == []  # nothing passes the record in hand
    assert lanes.first_in_hand("tickets-0") == Record(100, b"A")
    assert len(lanes) == 2  # A's two; B's and C's ended
    release_first.set()
    await settle()
    assert handled == [101, 103, 100, 102]
    assert acknowledged == [100, 101, 102, 103]
    assert lanes.first_in_hand("tickets-0") is None
    await lanes.close()


async def test_a_record_given_up_holds_back_its_partition_s_acknowledgements_and_no_other_partition_s() -> None:
    # A stop: the record in hand of lane B is given up (False); what came after it in its partition is
    # done but must not be acknowledged, or a commit would pass B's record, which was never handled.
    acknowledged = Acknowledged()

    async def process(record: Record) -> bool:
        return record.key != b"B"

    lanes = StreamLanes(process, acknowledged, limit=16)
    for record in records(b"A", b"B", b"C"):
        await lanes.submit("tickets-0", record.key, record)
    await lanes.submit("tickets-1", b"D", Record(7, b"D"))
    assert await lanes.finish(timeout=2)
    assert acknowledged == [100, 7]
    assert lanes.first_in_hand("tickets-0") == Record(101, b"B")  # the lag counts from it
    assert len(lanes) == 0


async def test_finishing_some_partitions_waits_for_theirs_only_and_only_so_long() -> None:
    release = asyncio.Event()

    async def process(record: Record) -> bool:
        if record.key == b"slow":
            await release.wait()
        return True

    lanes = StreamLanes(process, Acknowledged(), limit=16)
    await lanes.submit("tickets-0", b"slow", Record(1, b"slow"))
    await lanes.submit("tickets-1", b"quick", Record(2, b"quick"))
    assert await lanes.finish(["tickets-1"], timeout=1)
    assert lanes.partitions() == ["tickets-0"]
    assert not await lanes.finish(["tickets-0"], timeout=0.05)
    release.set()
    assert await lanes.finish(timeout=1)
    assert lanes.partitions() == []


async def test_stream_lanes_hold_the_stream_at_the_limit_and_close_leaves_what_is_in_hand_unacknowledged() -> None:
    never = asyncio.Event()
    acknowledged = Acknowledged()

    async def process(record: Record) -> bool:
        if record.offset != 101:
            await never.wait()  # stuck (a dependency down, retried for ever)
        return True

    lanes = StreamLanes(process, acknowledged, limit=2)
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


async def test_records_behind_the_first_of_their_lane_wait_as_entries_not_tasks() -> None:
    release = asyncio.Event()

    async def process(record: Record) -> bool:
        await release.wait()  # the lane's first record waits (a Slack post through an outage)
        return True

    acknowledged = Acknowledged()
    lanes = StreamLanes(process, acknowledged, limit=1_000)
    tasks_before = len(asyncio.all_tasks())
    for offset in range(100, 400):
        await lanes.submit("tickets-0", b"A" if offset % 3 else b"B", Record(offset, None))
    await settle()
    assert len(asyncio.all_tasks()) - tasks_before == 2  # one a lane, whatever waits in it
    assert len(lanes) == 300
    release.set()
    assert await lanes.finish(timeout=2)
    assert acknowledged == list(range(100, 400))


async def test_closing_right_after_a_submit_ends_the_record_and_frees_its_slot() -> None:
    lanes = StreamLanes(lambda record: asyncio.sleep(0, True), Acknowledged(), limit=1)
    await lanes.submit("tickets-0", b"A", Record(100, b"A"))
    await lanes.close()  # its lane's task is cancelled before it ever ran
    assert len(lanes) == 0 and lanes.partitions() == []
    await asyncio.wait_for(lanes.submit("tickets-0", b"A", Record(100, b"A")), 1)  # the slot is free
    assert await lanes.finish(timeout=1)


async def test_a_record_whose_processing_raises_ends_and_the_next_of_its_lane_still_runs() -> None:
    ran: list[int] = []

    async def process(record: Record) -> bool:
        ran.append(record.offset)
        if record.offset == 100:
            raise RuntimeError("a bug in a handler")
        return True

    acknowledged = Acknowledged()
    lanes = StreamLanes(process, acknowledged, limit=16)
    for record in records(b"A", b"A"):
        await lanes.submit("tickets-0", record.key, record)
    assert await lanes.finish(timeout=1)
    assert ran == [100, 101]
    assert acknowledged == []  # 100 never was done: no commit may pass it
    assert lanes.first_in_hand("tickets-0") == Record(100, b"A")
