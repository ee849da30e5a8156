"""Records handled at once: a record whose handler only sleeps lends its slot to another meanwhile."""

from __future__ import annotations

import asyncio

import pytest

from helpdesk_events.in_flight import InFlight, idle_sleep


class Working:
    """Counts the records doing work (between their slot and their sleep, or after it) at once."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0

    def begin(self) -> None:
        self.now += 1
        self.most = max(self.most, self.now)

    def end(self) -> None:
        self.now -= 1


async def test_records_that_sleep_idle_let_others_in_and_never_more_than_the_limit_work_at_once() -> None:
    in_flight = InFlight(2)
    working = Working()
    slept = 0

    async def record() -> None:
        nonlocal slept
        async with in_flight.slot():
            working.begin()
            await asyncio.sleep(0)
            working.end()
            slept += 1
            await idle_sleep(0.2)  # a Slack channel's turn
            working.begin()
            await asyncio.sleep(0)
            working.end()

    started = asyncio.get_running_loop().time()
    await asyncio.wait_for(asyncio.gather(*(record() for _ in range(6))), 5)
    # Six records, two slots: with the slots held through the sleeps they would take three sleeps in a row.
    assert asyncio.get_running_loop().time() - started < 0.5
    assert slept == 6
    assert working.most == 2


async def test_a_plain_sleep_keeps_the_slot() -> None:
    in_flight = InFlight(1)
    order: list[str] = []

    async def first() -> None:
        async with in_flight.slot():
            order.append("first in")
            await asyncio.sleep(0.05)  # handling, not waiting
            order.append("first out")

    async def second() -> None:
        await asyncio.sleep(0.01)
        async with in_flight.slot():
            order.append("second in")

    await asyncio.gather(first(), second())
    assert order == ["first in", "first out", "second in"]


async def test_a_record_back_from_its_sleep_waits_for_a_free_slot() -> None:
    in_flight = InFlight(1)
    order: list[str] = []
    other_in = asyncio.Event()
    release_other = asyncio.Event()

    async def sleeper() -> None:
        async with in_flight.slot():
            await idle_sleep(0.01)
            order.append("sleeper goes on")

    async def other() -> None:
        async with in_flight.slot():
            other_in.set()
            await release_other.wait()
            order.append("other done")

    task = asyncio.gather(sleeper(), other())
    await asyncio.wait_for(other_in.wait(), 1)
    await asyncio.sleep(0.05)  # the sleep is long over: the sleeper still waits for the slot
    assert order == []
    release_other.set()
    await asyncio.wait_for(task, 1)
    assert order == ["other done", "sleeper goes on"]


async def test_a_record_cancelled_while_waiting_for_its_slot_back_gives_back_nothing_it_does_not_hold() -> None:
    in_flight = InFlight(1)
    holder_in = asyncio.Event()
    release_holder = asyncio.Event()

    async def sleeper() -> None:
        async with in_flight.slot():
            await idle_sleep(0.01)

    async def holder() -> None:
        async with in_flight.slot():
            holder_in.set()
            await release_holder.wait()

    sleeping = asyncio.create_task(sleeper())
    await asyncio.sleep(0)  # the sleeper has lent its slot out
    holding = asyncio.create_task(holder())
    await asyncio.wait_for(holder_in.wait(), 1)
    await asyncio.sleep(0.05)  # the sleep is over: the sleeper now waits to take a slot back
    assert not sleeping.done()
    sleeping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleeping
    release_holder.set()
    await holding
    # One slot in all: two records in at once would mean the cancelled one released a slot it did not hold.
    inside = 0
    most = 0

    async def record() -> None:
        nonlocal inside, most
        async with in_flight.slot():
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(record(), record(), record())
    assert most == 1


async def test_outside_a_slot_idle_sleep_is_a_sleep() -> None:
    started = asyncio.get_running_loop().time()
    await idle_sleep(0.02)
    assert asyncio.get_running_loop().time() - started >= 0.02


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        InFlight(0)
