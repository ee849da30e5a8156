"""Records in lanes, one per key: one ticket's events in order, different tickets' side by side.

Kafka keeps order per key (per ticket), so each record runs in its key's lane, behind that key's
earlier records and beside other keys'. A partition's records are acknowledged in the order they came,
each once it and every record before it are done, so a commit never passes a record still in hand.
Both consumers use it: the aiokafka one (`consumer.EventConsumer`) and the router's faust agent.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

@dataclass(eq=False, slots=True)
class Taken:
    """A record `StreamLanes` took, and whether its lane finished it (`done`) or gave it up (`ended`)."""

    item: Any
    done: bool = False
    ended: bool = False


class StreamLanes:
    """Up to `limit` records taken and not ended, each in its key's lane. `process` returns True once the
    record is done (it retries meanwhile), False to give it up unacknowledged (the consumer is stopping):
    then no later record of its partition is acknowledged either, so all of them are read again. `close`
    cancels what is in hand, unacknowledged, so it is read again.

    A lane that has records runs them one after another in a task of its own; the records behind the
    first wait in the lane as plain entries, not as tasks: through an outage thousands wait so, behind
    the one record of their ticket that waits for it."""

    def __init__(
        self,
        process: Callable[[Any], Awaitable[bool]],
        acknowledge: Callable[[Any], Awaitable[object]],
        limit: int,
    ) -> None:
        self._process = process
        self._acknowledge = acknowledge
        self._slots = asyncio.Semaphore(limit)
        # Per busy lane, its records not ended in order (the first running), each with its partition's queue.
        self._lanes: dict[tuple[Any, Any], deque[tuple[deque[Taken], Taken]]] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self._not_ended: Counter[Any] = Counter()  # per partition
        self._an_end = asyncio.Event()  # set whenever a record ends, for `finish`
        self._taken: dict[Any, deque[Taken]] = {}  # per partition, in the order the stream gave them
        self._acknowledging = asyncio.Lock()  # one lane at a time acknowledges, so always in that order

    def __len__(self) -> int:
        """Records taken and not ended: running, or waiting for their lane or a slot."""
        return self._not_ended.total()

    async def submit(self, partition: Any, key: Any, item: Any) -> None:
        """Start `item` in its lane; waits while `limit` records are in hand (holding the stream back)."""
        await self._slots.acquire()
        taken = Taken(item)
        queue = self._taken.setdefault(partition, deque())
        queue.append(taken)
        self._not_ended[partition] += 1
        lane = (partition, key)
        waiting = self._lanes.get(lane)
        if waiting is not None:  # its worker runs it after those before it
            waiting.append((queue, taken))
            return
        self._lanes[lane] = deque([(queue, taken)])
        worker = asyncio.create_task(self._work(lane))
        self._workers.add(worker)
        worker.add_done_callback(self._workers.discard)

    def first_in_hand(self, partition: Any) -> Any | None:
        """The earliest record of `partition` not acknowledged yet, if any."""
        taken = self._taken.get(partition)
        return taken[0].item if taken else None

    def partitions(self) -> list[Any]:
        """The partitions with records taken and not ended."""
        return list(self._not_ended)

    async def finish(self, partitions: Iterable[Any] | None = None, timeout: float | None = None) -> bool:
        """Wait until the records of `partitions` (default: all) taken so far and since have ended, for at
        most `timeout` seconds. True when none is left."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        wanted = None if partitions is None else set(partitions)
        while len(self) if wanted is None else any(self._not_ended[p] for p in wanted if p in self._not_ended):
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            self._an_end.clear()
            try:
                await asyncio.wait_for(self._an_end.wait(), remaining)
            except TimeoutError:
                pass  # looked at once more above
        return True

    def detach(self, partitions: Iterable[Any]) -> dict[Any, list[Taken]]:
        """Take the records of `partitions` not acknowledged yet out of the order kept for acknowledging
        (the group took the partitions away): those still running end unacknowledged, their `done` telling
        how they ended, and records of these partitions taken from now on are acknowledged on their own."""
        return {partition: list(self._taken.pop(partition, ())) for partition in partitions}

    async def _work(self, lane: tuple[Any, Any]) -> None:
        """Run the lane's records in order, until it has none (then it is gone: the next record starts it
        again). Cancelled (`close`), the records it had not begun end too."""
        partition = lane[0]
        waiting = self._lanes[lane]
        try:
            while waiting:
                queue, taken = waiting[0]
                try:
                    await self._run(partition, queue, taken)
                except Exception:  # ended, not done: its partition is acknowledged no further (read again)
                    log.exception("a record of %s failed in its lane", partition)
                waiting.popleft()
        finally:
            self._forget(lane)

    async def _run(self, partition: Any, queue: deque[Taken], taken: Taken) -> None:
        try:
            done = await self._process(taken.item)
        finally:
            self._end(partition, taken)
        if not done:
            return
        taken.done = True
        if self._taken.get(partition) is not queue:
            return  # detached: its partition was taken away meanwhile
        async with self._acknowledging:
            while queue and queue[0].done:
                await self._acknowledge(queue.popleft().item)

    def _forget(self, lane: tuple[Any, Any]) -> None:
        """The lane has no worker any more: what it had not run ends, not done."""
        for _queue, taken in self._lanes.pop(lane, ()):
            if not taken.ended:
                self._end(lane[0], taken)

    def _end(self, partition: Any, taken: Taken) -> None:
        taken.ended = True
        self._slots.release()
        self._not_ended[partition] -= 1
        if not self._not_ended[partition]:
            del self._not_ended[partition]
        self._an_end.set()

    async def close(self) -> None:
        workers = list(self._workers)
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        for lane in list(self._lanes):  # of workers cancelled before they began
            self._forget(lane)
        self._taken.clear()
