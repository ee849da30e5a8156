"""What the router's faust consumer commits: only past records the router finished.

faust keeps, per partition, the offsets acknowledged since the last commit and the committed offset
(the next record to read), and commits the first run of consecutive acknowledged offsets. These tests
set that state as a rebalance leaves it, without a broker.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from faust.types import TP

from helpdesk_router.faust_transport import RouterApp

TICKETS = TP("helpdesk.tickets", 0)


@pytest.fixture
def consumer() -> Iterator[Any]:
    app = RouterApp("unit", fetch_max_wait_ms=50, broker=["kafka://127.0.0.1:9"], autodiscover=False,
                    web_enabled=False, store="memory://")  # fmt: skip
    consumer = app.consumer  # built, never started: no broker is asked anything
    yield consumer
    thread = getattr(consumer, "_thread", None)
    if thread is not None and not thread.thread_loop.is_closed():
        thread.thread_loop.close()


def acknowledged(consumer: Any, *offsets: int) -> None:
    """What faust's ack leaves behind, whoever acknowledged (the router's lanes or faust itself)."""
    consumer._acked[TICKETS].extend(offsets)
    consumer._acked_index[TICKETS].update(offsets)


def finished(consumer: Any, *offsets: int) -> None:
    for offset in offsets:
        consumer.finished(TICKETS, offset)
    acknowledged(consumer, *offsets)


def test_a_run_of_finished_records_from_the_committed_offset_is_committed(consumer: Any) -> None:
    consumer._committed_offset[TICKETS] = 10
    finished(consumer, 10, 11, 12, 14)
    assert consumer._new_offset(TICKETS) == 13  # 13 is not done: 14 waits for it
    assert consumer._finished[TICKETS] == {14}  # what is committed is forgotten


def test_nothing_is_committed_while_the_record_at_the_committed_offset_is_not_done(consumer: Any) -> None:
    # faust's own rule lets the first acknowledged offset be one past the committed one: it would
    # commit 13 here and record 10 would never be read again.
    consumer._committed_offset[TICKETS] = 10
    finished(consumer, 11, 12)
    assert consumer._new_offset(TICKETS) is None
    finished(consumer, 10)
    assert consumer._new_offset(TICKETS) == 13


def test_a_record_faust_acknowledged_without_the_router_finishing_it_holds_the_commit(consumer: Any) -> None:
    # A stream acknowledges a message it skips (fetched before a rebalance), acks off or not; its copy
    # fetched again after the rebalance is the one the router runs.
    consumer._committed_offset[TICKETS] = 10
    acknowledged(consumer, 10)  # skipped by faust
    finished(consumer, 11, 12)
    assert consumer._new_offset(TICKETS) is None
    assert 10 not in consumer._acked_index[TICKETS]  # so the copy's acknowledgement counts
    finished(consumer, 10)  # the copy ran
    assert consumer._new_offset(TICKETS) == 13


def test_offsets_missing_from_the_log_do_not_hold_the_commit(consumer: Any) -> None:
    # faust notes a gap when a fetch jumps over offsets the log does not have (compaction, transaction
    # markers on Apache Kafka): nothing will ever come to finish them.
    consumer._committed_offset[TICKETS] = 10
    consumer._gap[TICKETS].addi(10, 12)
    finished(consumer, 12, 13)
    assert consumer._new_offset(TICKETS) == 14


def test_before_the_first_commit_the_finished_records_are_committed(consumer: Any) -> None:
    finished(consumer, 0, 1, 2)  # a new group: no committed offset yet
    assert consumer._new_offset(TICKETS) == 3


async def test_the_router_is_done_up_to_its_committed_offset_not_to_what_faust_fetched(consumer: Any) -> None:
    # faust fetched up to 5,000 into its buffers (its position); the router has committed 1,200: the lag
    # gauge must count the 3,800 in between, which a restart would read again.
    asked: list[TP] = []

    async def earliest_offsets(*partitions: TP) -> dict[TP, int]:
        asked.extend(partitions)
        return {tp: 40 for tp in partitions}

    async def position(tp: TP) -> int:
        return 5000

    consumer.earliest_offsets, consumer.position = earliest_offsets, position
    assert await consumer.done_up_to(TICKETS) == 40  # no commit yet: where the group began, the log's start
    assert await consumer.done_up_to(TICKETS) == 40
    assert asked == [TICKETS]  # once: a partition nobody writes to is never committed
    consumer._committed_offset[TICKETS] = 1200
    assert await consumer.done_up_to(TICKETS) == 1200
