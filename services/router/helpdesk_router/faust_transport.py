"""A faust app whose Kafka consumer takes its fetch wait from our settings (KAFKA_FETCH_MAX_WAIT_MS).

faust 0.15 fixes the aiokafka consumer's fetch wait at 1500 ms. Apache Kafka answers a fetch as
soon as data arrives, so there it costs nothing; Tansu (the embedded broker) holds the fetch for
a good part of the wait: measured from ticket.created to ticket.assigned, 457 ms at 1500, 333 ms
at 500, 78 ms at 50. Its commits are also bounded in time (see `_ConsumerThread._commit`), and
count only the records the router finished (see `_Consumer`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from typing import Any

import aiokafka
import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from faust.types.tuples import ack_lock

from helpdesk_events.consumer import COMMIT_TIMEOUT_SECONDS

log = logging.getLogger(__name__)


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka reads this when the consumer starts (it builds its Fetcher then); faust has no setting for it.
        consumer._fetch_max_wait_ms = self.app.fetch_max_wait_ms
        return consumer

    async def _commit(self, offsets: Any) -> bool:
        # aiokafka retries a retriable commit error for ever, and faust waits for it: bound each commit and
        # tell the app since when they fail, so the router can replace a consumer that cannot commit (the
        # same rule as helpdesk_events.consumer; seen on the embedded broker after it restarts empty).
        try:
            committed = await asyncio.wait_for(super()._commit(offsets), COMMIT_TIMEOUT_SECONDS)
        except TimeoutError:
            log.warning("commit of %d partitions did not finish within %.0f s", len(offsets), COMMIT_TIMEOUT_SECONDS)
            committed = False
        if committed:
            self.app.commits_failing_since = None
        elif self.app.commits_failing_since is None:
            self.app.commits_failing_since = time.monotonic()
        return committed


class _Consumer(faust_aiokafka.Consumer):
    """Commits only past records the router finished (`finished`), never past one it has not.

    A 10,000-ticket chaos run lost one ticket.created: the router committed past it without handling
    it, while every record around it was handled (a router restarted while the killed one was still
    in the group). faust's own bookkeeping allows that two ways:
    - a stream acknowledges, even with acks off, each message it skips because it was fetched before
      a rebalance (another generation) or arrived while the flow was stopped; its copy fetched again
      after the rebalance may not have run yet;
    - `_new_offset` lets the first acknowledged offset be one past the committed one (`> 1`, where the
      committed offset is already the next record to read), so a lone missing record at the head is
      committed past.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._finished: defaultdict[TP, set[int]] = defaultdict(set)
        self._log_start: dict[TP, int] = {}  # see done_up_to

    def finished(self, tp: TP, offset: int) -> None:
        """The router is done with this record (its lane acknowledges it next)."""
        self._finished[tp].add(offset)

    def _new_offset(self, tp: TP) -> int | None:
        with ack_lock:
            acked, finished = self._acked[tp], self._finished[tp]
            unfinished = [offset for offset in acked if offset not in finished]
            if unfinished:
                log.warning("faust acknowledged %s records %s the router has not finished", tp, unfinished)
                acked[:] = [offset for offset in acked if offset in finished]
                # Forgotten, so that the copy the router runs can be acknowledged.
                self._acked_index[tp].difference_update(unfinished)
            committed = self._committed_offset[tp]
            head_missing = committed is not None and not self._gap[tp].overlaps(committed)
            if acked and head_missing and min(acked) > committed:
                return None  # the record at the committed offset is not done yet
            offset = super()._new_offset(tp)
            if offset is not None:
                self._finished[tp] = {done for done in finished if done >= offset}
            return offset

    async def done_up_to(self, tp: TP) -> int | None:
        """The offset the router is done up to in `tp`: its committed offset (a commit comes every few
        seconds and never passes a record not finished). Not the fetch position: faust fetches ahead
        into its stream buffers, thousands of records under a backlog, and then stops fetching while it
        works through them, so a lag taken from the position misses those and stands still meanwhile.
        Before the group's first commit there, the log's first offset (where the group began to read),
        asked of the broker once per assignment: a partition nobody writes to is never committed."""
        committed = self._committed_offset.get(tp)
        if committed is not None:
            return committed
        if tp not in self._log_start:
            start = (await self.earliest_offsets(tp)).get(tp)
            if start is None:
                return None
            self._log_start[tp] = start
        return self._log_start[tp]

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        for tp in revoked:
            self._finished.pop(tp, None)
            self._log_start.pop(tp, None)
        await super().on_partitions_revoked(revoked)

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Transport(faust_aiokafka.Transport):
    Consumer = _Consumer


class RouterApp(faust.App):
    """faust.App with the consumer above; everything else is faust's own."""

    def __init__(self, *args: Any, fetch_max_wait_ms: int, **kwargs: Any) -> None:
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.commits_failing_since: float | None = None  # time.monotonic() of the first failed commit in a row
        super().__init__(*args, **kwargs)

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)
