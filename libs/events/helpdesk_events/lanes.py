"""Records in lanes, one per key: one ticket's events in order, different tickets' side by side.

Kafka keeps order per key (per ticket), so each record runs in its key's lane, behind that key's
earlier records and beside other keys'. A partition's records are acknowledged in the order they came,
each once it and every record before it are done, so a commit never passes a record still in hand.
Both consumers use it: the aiokafka one (`consumer.EventConsumer`) and the router's faust agent.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(eq=False)
class Taken:
    """A record `StreamLanes` took, and whether its lane finished it (`done`) or gave it up (`ended`)."""

    item: Any
    done: bool = False
    ended: bool = False


class StreamLanes:
    """Up to `limit` records taken and not ended, each in its key's lane. `process` returns True once the
    record is done (it retries meanwhile), False to give it up unacknowledged (the consumer is stopping):
    then no later record of its partition is acknowledged either, so all of them are read again. `close`
    cancels what is in hand, unacknowledged, so it is read again."""

    def __init__(
        self,
        process: Callable[[Any], Awaitable[bool]],
        acknowledge: Callable[[Any], Awaitable[object]],
        limit: int,
    ) -> None:
        self._process = process
        self._acknowledge = acknowledge
        self._slots = asyncio.Semaphore(limit)
        self._tails: dict[tuple[Any, Any], asyncio.Task[None]] = {}
        self._running: dict[asyncio.Task[None], Any] = {}  # each record's task, and its partition
        self._taken: dict[Any, deque[Taken]] = {}  # per partition, in the order the stream gave them
        self._acknowledging = asyncio.Lock()  # one lane at a time acknowledges, so always in that order

    def __len__(self) -> int:
        """Records taken and not ended: running, or waiting for their lane or a slot."""
        return len(self._running)

    async def submit(self, partition: Any, key: Any, item: Any) -> None:
        """Start `item` in its lane; waits while `limit` records are in hand (holding the stream back)."""
        await self._slots.acquire()
        taken = Taken(item)
        queue = self._taken.setdefault(partition, deque())
        queue.append(taken)
        lane = (partition, key)
        task = asyncio.create_task(self._run(self._tails.get(lane), partition, queue, taken))
        self._tails[lane] = task
        self._running[task] = partition
        task.add_done_callback(lambda done: self._finished(lane, done))

    def first_in_hand(self, partition: Any) -> Any | None:
        """The earliest record of `partition` not acknowledged yet, if any."""
        taken = self._taken.get(partition)
        return taken[0].item if taken else None

    def partitions(self) -> list[Any]:
        """The partitions with records taken and not ended."""
        return list(set(self._running.values()))

    async def finish(self, partitions: Iterable[Any] | None = None, timeout: float | None = None) -> bool:
        """Wait until the records of `partitions` (default: all) taken so far and since have ended, for at
        most `timeout` seconds. True when none is left."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        wanted = None if partitions is None else set(partitions)
        while tasks := {t for t, p in self._running.items() if wanted is None or p in wanted}:
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            await asyncio.wait(tasks, timeout=remaining)
        return True

    def detach(self, partitions: Iterable[Any]) -> dict[Any, list[Taken]]:
        """Take the records of `partitions` not acknowledged yet out of the order kept for acknowledging
        (the group took the partitions away): those still running end unacknowledged, their `done` telling
        how they ended, and records of these partitions taken from now on are acknowledged on their own."""
        return {partition: list(self._taken.pop(partition, ())) for partition in partitions}

    def _finished(self, lane: tuple[Any, Any], task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        if self._tails.get(lane) is task:
            del self._tails[lane]

    async def _run(
        self, before: asyncio.Task[None] | None, partition: Any, queue: deque[Taken], taken: Taken
    ) -> None:
        try:
            if before is not None:
                await asyncio.wait({before})  # the key's previous record, however it ended
            done = await self._process(taken.item)
        finally:
            taken.ended = True
            self._slots.release()
        if not done:
            return
        taken.done = True
        if self._taken.get(partition) is not queue:
            return  # detached: its partition was taken away meanwhile
        async with self._acknowledging:
            while queue and queue[0].done:
                await self._acknowledge(queue.popleft().item)

    async def close(self) -> None:
        tasks = list(self._running)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tails.clear()
        self._taken.clear()
