"""The aiokafka consumer's partitions in hand: each partition's batch in a task, the partition paused
until it ends, a later batch of the same partition after the earlier one, and the lag counted from the
first record still in hand."""

from __future__ import annotations

import asyncio
import inspect

from aiokafka import TopicPartition

from helpdesk_events.consumer import _PartitionsInHand

P0, P1 = TopicPartition("tickets", 0), TopicPartition("tickets", 1)


class Consumer:
    """What `_PartitionsInHand` asks of aiokafka's consumer, recorded."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def pause(self, partition: TopicPartition) -> None:
        self.calls.append(("pause", partition.partition))

    def resume(self, partition: TopicPartition) -> None:
        self.calls.append(("resume", partition.partition))

    async def position(self, partition: TopicPartition) -> int:
        return 100 + partition.partition


async def test_a_partition_stays_paused_until_its_last_batch_ends_and_its_batches_run_in_order() -> None:
    consumer, in_hand, order = Consumer(), _PartitionsInHand(), []
    first_may_end = asyncio.Event()

    async def batch(name: str, wait: asyncio.Event | None = None) -> None:
        order.append(f"{name} began")
        if wait is not None:
            await wait.wait()
        order.append(f"{name} ended")

    in_hand.start(consumer, P0, batch("first", first_may_end), first_offset=10)  # type: ignore[arg-type]
    in_hand.start(consumer, P1, batch("other"), first_offset=40)  # type: ignore[arg-type]
    # The partition given back after a rebalance while its first batch is still in hand.
    in_hand.start(consumer, P0, batch("second"), first_offset=20)  # type: ignore[arg-type]
    await asyncio.sleep(0.01)
    done_up_to = in_hand.done_up_to(consumer)  # type: ignore[arg-type]

    assert order == ["first began", "other began", "other ended"]  # another partition does not wait
    assert await done_up_to(P0) == 10  # the earliest record still in hand
    assert await done_up_to(P1) == 101  # done: its position
    assert ("resume", 0) not in consumer.calls
    first_may_end.set()
    await in_hand.finish()

    assert order[3:] == ["first ended", "second began", "second ended"]
    assert consumer.calls.count(("resume", 0)) == 1 and consumer.calls[-1] == ("resume", 0)
    assert await done_up_to(P0) == 100


async def test_a_cancelled_stop_leaves_a_waiting_batch_unbegun() -> None:
    consumer, in_hand, began = Consumer(), _PartitionsInHand(), []

    async def batch(name: str, forever: bool = False) -> None:
        began.append(name)
        if forever:
            await asyncio.Event().wait()

    behind = batch("behind it")
    in_hand.start(consumer, P0, batch("stuck", forever=True), first_offset=0)  # type: ignore[arg-type]
    in_hand.start(consumer, P0, behind, first_offset=5)  # type: ignore[arg-type]
    await asyncio.sleep(0.01)
    in_hand.cancel()
    await asyncio.sleep(0.01)

    assert began == ["stuck"]
    # Closed, not left for the garbage collector to warn about ("coroutine was never awaited").
    assert inspect.getcoroutinestate(behind) == inspect.CORO_CLOSED


async def test_letting_partitions_go_waits_for_their_batches_only_and_only_so_long() -> None:
    """What the rebalance listener asks before partitions move: their batches finished, within a bound."""
    consumer, in_hand = Consumer(), _PartitionsInHand()
    p0_may_end, p1_may_end = asyncio.Event(), asyncio.Event()

    async def batch(may_end: asyncio.Event) -> None:
        await may_end.wait()

    in_hand.start(consumer, P0, batch(p0_may_end), first_offset=0)  # type: ignore[arg-type]
    in_hand.start(consumer, P1, batch(p1_may_end), first_offset=0)  # type: ignore[arg-type]

    assert await in_hand.finish([P0], timeout=0.05) is False  # still running when the bound came
    asyncio.get_running_loop().call_later(0.05, p0_may_end.set)
    assert await in_hand.finish([P0], timeout=5) is True  # P1's batch, still running, is not waited for
    assert ("resume", 0) in consumer.calls and ("resume", 1) not in consumer.calls
    p1_may_end.set()
    assert await in_hand.finish(timeout=5) is True
