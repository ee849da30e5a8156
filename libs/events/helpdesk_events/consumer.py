"""Consuming events: validate at the edge, hand to a handler, dead-letter what cannot be processed.

`EventDispatcher` holds the per-record rules and knows nothing of the Kafka client,
so the aiokafka loop below and a faust agent share it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import aiokafka.errors
import pymongo.errors
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from opentelemetry import trace

from helpdesk_events.envelope import Envelope, EventPayload
from helpdesk_events.kafka import KafkaSettings
from helpdesk_events.logs import ticket_context
from helpdesk_events.metrics import (
    CONSUMER_LAG,
    DEAD_LETTERED,
    EVENTS_CONSUMED,
    HANDLE_SECONDS,
    HANDLER_RETRIES,
    GaugeSeries,
    partition_lag,
)
from helpdesk_events.registry import EventDecodeError, decode, peek_type
from helpdesk_events.topics import Topic
from helpdesk_events.tracing import extract_context

log = logging.getLogger(__name__)
tracer = trace.get_tracer("helpdesk_events")

Handler = Callable[[Envelope], Awaitable[None]]

LAG_IDLE_REPORT_SECONDS = 1.0
# How long a stop (SIGTERM) waits for the record in hand before cancelling it, uncommitted. The process
# must exit within 10 s of SIGTERM (Kubernetes kills it 15 s after the stop began, a 3 s preStop pause
# first); leaving the group and closing the clients take the rest.
STOP_TIMEOUT_SECONDS = 6.0
# aiokafka retries a commit that fails with a retriable error for ever, so a commit the broker keeps
# refusing would stall the consumer: each commit is bounded, and a consumer whose commits have all failed
# for a while is replaced by a new one (a new member of the group, which reads again from the last commit).
# Seen on the embedded broker after it restarts empty: the old member's commits are refused as
# "unknown topic or partition" for ever, while a new member's are taken.
COMMIT_TIMEOUT_SECONDS = 10.0
REPLACE_AFTER_FAILING_COMMITS_SECONDS = 30.0
# How often each consumer looks for partitions whose log now ends before its position (ShortenedLogWatch).
SHORTENED_LOG_CHECK_SECONDS = 0.5

# A store or broker that is down says nothing about the event: such failures keep the record
# uncommitted and are retried until the dependency is back, never dead-lettered.
INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    pymongo.errors.ConnectionFailure,
    aiokafka.errors.KafkaConnectionError,
    aiokafka.errors.KafkaTimeoutError,
)


def is_infrastructure_error(
    error: BaseException, known: tuple[type[BaseException], ...] = INFRASTRUCTURE_ERRORS
) -> bool:
    """A failure of a store or broker rather than of the event: the known kinds, and any Kafka error that
    Kafka calls retriable or cannot name (the embedded broker answers UnknownError to produce requests
    for a few seconds after a restart). A Kafka error that is the record's own fault (too large, say)
    is not retriable, so it still dead-letters instead of blocking its partition."""
    if isinstance(error, known):
        return True
    return isinstance(error, aiokafka.errors.KafkaError) and (
        error.retriable or isinstance(error, aiokafka.errors.UnknownError)
    )


class DependencyUnavailable(Exception):
    """A handler kept failing because a store or broker is unreachable; the record must be read again."""


class DeadLetterSink(Protocol):
    """Where records go that cannot be processed (the publisher's `send_raw`)."""

    async def send_raw(
        self, topic: str, value: bytes | None, key: bytes | None, headers: Sequence[tuple[str, bytes]]
    ) -> None: ...


class DeadLetter(Exception):
    """Raised by a handler that knows retrying is pointless: the record goes to the dead-letter topic now."""


def ticket_id_of(envelope: Envelope) -> str:
    """The ticket an event is about; an event about a ticket that names none is poison."""
    if not envelope.ticket_id:
        raise DeadLetter(f"{envelope.type} {envelope.id} has no ticket_id")
    return envelope.ticket_id


class Outcome(StrEnum):
    HANDLED = "handled"
    SKIPPED = "skipped"  # no handler for this type in this service
    DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True)
class ConsumedRecord:
    """A Kafka record, independent of the client library that fetched it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = ()


class EventDispatcher:
    """Routes each record to the handler for its payload class.

    Undecodable or invalid records go to the dead-letter topic at once; a handler
    that keeps failing is retried with backoff and then dead-lettered, so one bad
    message never stops a consumer. A handler that keeps failing because a store
    or broker is unreachable raises `DependencyUnavailable` instead, as does a
    dead-letter topic that cannot be written: the caller must not commit the
    offset and reads the record again later, so an outage loses nothing.
    """

    def __init__(
        self,
        *,
        service: str,
        group_id: str,
        handlers: Mapping[type[EventPayload], Handler],
        dead_letters: DeadLetterSink,
        dead_letter_topic: str,
        max_attempts: int = 5,
        retry_backoff_seconds: float = 0.2,
        infrastructure_errors: tuple[type[BaseException], ...] = INFRASTRUCTURE_ERRORS,
    ) -> None:
        self._service = service
        self._group_id = group_id
        self._handlers = {(cls.event_type, cls.event_version): handler for cls, handler in handlers.items()}
        self._dead_letters = dead_letters
        self._dead_letter_topic = dead_letter_topic
        self._max_attempts = max_attempts
        self._backoff = retry_backoff_seconds
        self._infrastructure_errors = infrastructure_errors

    def register(self, handlers: Mapping[type[EventPayload], Handler]) -> None:
        """Add handlers (before consuming starts), e.g. ones that need the runtime's own publisher."""
        for cls, handler in handlers.items():
            self._handlers[(cls.event_type, cls.event_version)] = handler

    def handles(self, event_type: str, version: int) -> bool:
        return (event_type, version) in self._handlers

    async def dispatch(self, record: ConsumedRecord) -> Outcome:
        value = record.value or b""
        try:
            event_type, version = peek_type(value)
        except EventDecodeError as error:
            return await self._dead_letter(record, "undecodable", str(error), "unknown")
        handler = self._handlers.get((event_type, version))
        if handler is None:
            EVENTS_CONSUMED.labels(self._service, record.topic, event_type, Outcome.SKIPPED).inc()
            return Outcome.SKIPPED
        try:
            envelope = decode(value)
        except EventDecodeError as error:
            return await self._dead_letter(record, "invalid", str(error), event_type)

        # The span continues the producer's trace (its `traceparent`), so each service's work on a
        # ticket hangs under the request that started the journey; log lines name the ticket.
        with (
            tracer.start_as_current_span(
                f"handle {event_type}",
                context=extract_context(record.headers),
                kind=trace.SpanKind.CONSUMER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.operation.type": "process",
                    "messaging.destination.name": record.topic,
                    "messaging.destination.partition.id": str(record.partition),
                    "messaging.kafka.message.offset": record.offset,
                    "messaging.consumer.group.name": self._group_id,
                    "helpdesk.service": self._service,
                    "helpdesk.event_id": str(envelope.id),
                    "helpdesk.ticket_id": envelope.ticket_id or "",
                },
            ) as span,
            ticket_context(envelope.ticket_id),
        ):
            for attempt in range(1, self._max_attempts + 1):
                started = time.perf_counter()
                try:
                    await handler(envelope)
                except DeadLetter as error:
                    span.set_status(trace.StatusCode.ERROR, f"dead-lettered: rejected: {error}"[:500])
                    return await self._dead_letter(record, "rejected", str(error), event_type)
                except Exception as error:  # one bad event must not stop the consumer
                    if attempt == self._max_attempts:
                        if is_infrastructure_error(error, self._infrastructure_errors):
                            raise DependencyUnavailable(f"{event_type} {envelope.id}: {error!r}") from error
                        log.exception("handler for %s %s failed %d times", event_type, envelope.id, attempt)
                        span.record_exception(error)
                        span.set_status(trace.StatusCode.ERROR, f"dead-lettered: handler_failed: {error!r}"[:500])
                        return await self._dead_letter(record, "handler_failed", repr(error), event_type)
                    HANDLER_RETRIES.labels(self._service, event_type).inc()
                    log.warning("handler for %s %s failed (attempt %d): %r", event_type, envelope.id, attempt, error)
                    await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
                else:
                    HANDLE_SECONDS.labels(self._service, event_type).observe(time.perf_counter() - started)
                    EVENTS_CONSUMED.labels(self._service, record.topic, event_type, Outcome.HANDLED).inc()
                    return Outcome.HANDLED
        raise AssertionError("unreachable")

    async def _dead_letter(self, record: ConsumedRecord, reason: str, detail: str, event_type: str) -> Outcome:
        headers = [
            *record.headers,
            ("dlq-reason", reason.encode()),
            ("dlq-error", detail[:2000].encode()),
            ("dlq-original-topic", record.topic.encode()),
            ("dlq-original-partition", str(record.partition).encode()),
            ("dlq-original-offset", str(record.offset).encode()),
            ("dlq-consumer-group", self._group_id.encode()),
            ("dlq-service", self._service.encode()),
        ]
        await self._dead_letters.send_raw(self._dead_letter_topic, record.value, record.key, headers)
        log.warning("dead-lettered %s@%d/%d: %s: %s", record.topic, record.partition, record.offset, reason, detail[:300])
        DEAD_LETTERED.labels(self._service, record.topic, reason).inc()
        EVENTS_CONSUMED.labels(self._service, record.topic, event_type, Outcome.DEAD_LETTERED).inc()
        return Outcome.DEAD_LETTERED


class EventConsumer:
    """An aiokafka consumer group that feeds a dispatcher and commits after processing (at least once)."""

    def __init__(
        self,
        settings: KafkaSettings,
        *,
        group_id: str,
        topics: Iterable[Topic],
        dispatcher: EventDispatcher,
        batch_size: int = 500,
        service: str | None = None,
        concurrency: int = 16,
    ) -> None:
        self._settings = settings
        self._group_id = group_id
        self._lag = LagReporter(service or settings.client_id)
        self._topics = [settings.topics.name(topic) for topic in topics]
        self._dispatcher = dispatcher
        self._batch_size = batch_size
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._commits_failing_since: float | None = None
        self._shortened = ShortenedLogWatch()
        # Records handled at once, across partitions and lanes: bounds the load one consumer puts on its
        # stores, whatever the batch holds.
        self._in_flight = asyncio.Semaphore(concurrency)
        self._in_hand = _PartitionsInHand()
        self._log_ends = _LogEndsInHand(self._in_hand)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        consumer = await self._new_consumer()
        self._consumer = consumer
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(consumer), name=f"consumer-{self._group_id}")

    async def _new_consumer(self) -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.bootstrap_servers,
            client_id=f"{self._settings.client_id}-{self._group_id}",
            group_id=self._group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=self._settings.session_timeout_ms,
            heartbeat_interval_ms=self._settings.heartbeat_interval_ms,
            fetch_max_wait_ms=self._settings.fetch_max_wait_ms,
            request_timeout_ms=max(self._settings.request_timeout_ms, self._settings.session_timeout_ms + 5_000),
        )
        # The group waits for each member's rejoin for one session timeout (aiokafka's rebalance timeout):
        # half of it for the batches in hand leaves the rest for the rejoin itself.
        letting_go = _LetGoWhenDone(self._in_hand, wait_seconds=self._settings.session_timeout_ms / 2_000)
        consumer.subscribe(self._topics, listener=letting_go)
        try:
            await consumer.start()
        except BaseException:
            await consumer.stop()
            raise
        self._commits_failing_since = None
        return consumer

    async def _replace(self, consumer: AIOKafkaConsumer) -> AIOKafkaConsumer | None:
        """A new client in place of one whose commits keep failing; the old one's uncommitted records are
        read again by whoever gets their partitions (handlers are idempotent). None: stopped meanwhile."""
        log.error(
            "commits in %s have failed for %.0f s; replacing the consumer",
            self._group_id, REPLACE_AFTER_FAILING_COMMITS_SECONDS,
        )  # fmt: skip
        self._consumer = None
        try:
            await asyncio.wait_for(consumer.stop(), COMMIT_TIMEOUT_SECONDS)
        except Exception:
            log.warning("the old consumer of %s did not stop cleanly", self._group_id, exc_info=True)
        self._lag.clear()
        while not self._stopping.is_set():
            try:
                consumer = await self._new_consumer()
            except Exception:
                log.warning("could not start a new consumer for %s; retrying", self._group_id, exc_info=True)
                await asyncio.sleep(1.0)
                continue
            self._consumer = consumer
            return consumer
        return None

    async def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Finish the record in hand, commit what is done, leave the group."""
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except TimeoutError:
                self._task.cancel()
            except Exception:
                log.exception("consumer %s ended with an error", self._group_id)
            self._task = None
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await consumer.stop()
        self._lag.clear()  # a stopped consumer owns no partitions: no stale lag

    async def _run(self, consumer: AIOKafkaConsumer) -> None:
        watches = [
            asyncio.create_task(self._watch_for_shortened_logs(), name=f"shortened-logs-{self._group_id}"),
            asyncio.create_task(self._watch_log_ends_in_hand(), name=f"log-ends-{self._group_id}"),
        ]
        try:
            await self._consume(consumer)
        finally:
            for watch in watches:
                watch.cancel()

    async def _watch_log_ends_in_hand(self) -> None:
        """Beside the loop too: asking the broker waits on it, and the loop must not."""
        while True:
            await asyncio.sleep(LAG_IDLE_REPORT_SECONDS)
            consumer = self._consumer
            if consumer is None:
                continue
            try:
                await self._log_ends.ask(consumer)
            except Exception:  # a gauge must never stop consuming; the last answer stands meanwhile
                log.debug("could not ask the log ends of %s", self._group_id, exc_info=True)

    async def _watch_for_shortened_logs(self) -> None:
        """Beside the loop, not in it: a batch can wait on a commit for seconds, and a shortened log is only
        seen as such until the new records written there reach the position the consumer had."""
        while True:
            await asyncio.sleep(SHORTENED_LOG_CHECK_SECONDS)
            consumer = self._consumer
            if consumer is None:
                continue
            try:
                await self._shortened.rewind(consumer, self._group_id)
            except Exception:  # a watch must never stop consuming
                log.warning("could not check %s for shortened logs", self._group_id, exc_info=True)

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        loop = asyncio.get_running_loop()
        next_idle_report = 0.0
        in_hand = self._in_hand
        try:
            while not self._stopping.is_set():
                try:
                    batches = await consumer.getmany(timeout_ms=200, max_records=self._batch_size)
                except Exception:
                    log.exception("fetch failed in %s; retrying", self._group_id)
                    await asyncio.sleep(1.0)
                    continue
                # Order matters within a partition (one ticket's events), not across partitions: each
                # partition's batch is handled on its own, the partition paused meanwhile, and the loop
                # fetches on for the others. A record that waits (a Slack channel's turn, a handler
                # retrying) holds back its own partition's next records, not every partition's.
                for partition, records in batches.items():
                    batch = self._process_partition(consumer, partition, records)
                    in_hand.start(consumer, partition, batch, first_offset=records[0].offset)
                # After every fetch, and once a second while idle (a partition fetched meanwhile shows up).
                if batches or loop.time() >= next_idle_report:
                    await self._lag.report(
                        consumer, done_up_to=in_hand.done_up_to(consumer), highwater=self._log_ends.highwater(consumer)
                    )
                    next_idle_report = loop.time() + LAG_IDLE_REPORT_SECONDS
                failing_since = self._commits_failing_since
                if failing_since is not None and loop.time() - failing_since >= REPLACE_AFTER_FAILING_COMMITS_SECONDS:
                    await in_hand.finish()  # their commits go to the old client, or fail: read again
                    replacement = await self._replace(consumer)
                    if replacement is None:
                        return
                    consumer = replacement
            # Stopping: the lanes start no other record; those in hand finish and their partitions commit.
            await in_hand.finish()
        except asyncio.CancelledError:
            in_hand.cancel()  # a stop that ran out of time: what is in hand is read again
            raise

    async def _process_partition(self, consumer: AIOKafkaConsumer, partition: TopicPartition, records: list) -> None:
        # Kafka keeps order per key (one ticket's events), so a partition's records are split into one
        # lane per key: a lane runs in order, lanes side by side. A ticket whose Slack channel is busy, or
        # whose handler retries, then holds back its own events, not every ticket hashed to its partition.
        resume_at = await run_lanes(records, self._dispatch_one, self._stopping, self._in_flight)
        if resume_at is not None:
            # A dependency is down, or not even the dead-letter topic took a record, or the consumer is
            # stopping: everything from the first record not done is read again (handlers are idempotent).
            consumer.seek(partition, resume_at)
            if not self._stopping.is_set():
                await asyncio.sleep(1.0)
        next_offset = resume_at if resume_at is not None else records[-1].offset + 1
        if next_offset > records[0].offset:
            try:
                await asyncio.wait_for(consumer.commit({partition: next_offset}), COMMIT_TIMEOUT_SECONDS)
            except Exception:
                # Lost the partition in a rebalance: its new owner re-reads from the last commit. A commit
                # that keeps failing (or hangs) gets the consumer replaced (see _run).
                log.warning("commit of %s at %d failed", partition, next_offset, exc_info=True)
                if self._commits_failing_since is None:
                    self._commits_failing_since = asyncio.get_running_loop().time()
            else:
                self._commits_failing_since = None

    async def _dispatch_one(self, record: Any) -> bool:
        """True once the record is done (handled, skipped or dead-lettered); False: read it again later."""
        try:
            await self._dispatcher.dispatch(
                ConsumedRecord(
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    key=record.key,
                    value=record.value,
                    headers=tuple(record.headers or ()),
                )
            )
        except Exception as error:
            log.warning(
                "could not process %s[%d]@%d (%r); will retry", record.topic, record.partition, record.offset, error
            )
            return False
        return True


class _PartitionsInHand:
    """The partitions whose batch is being handled, each in a task, each paused in its consumer until
    the task ends, so the consumer's next fetches bring only the other partitions' records."""

    def __init__(self) -> None:
        self._tasks: dict[TopicPartition, asyncio.Task[None]] = {}
        self._first_offsets: dict[TopicPartition, int] = {}  # of the (earliest) batch in hand

    def __contains__(self, partition: TopicPartition) -> bool:
        return partition in self._tasks

    def partitions(self) -> list[TopicPartition]:
        return list(self._tasks)

    def done_up_to(self, consumer: AIOKafkaConsumer) -> Callable[[TopicPartition], Awaitable[int]]:
        """For the lag: a partition in hand is done up to its batch's first record, whatever was fetched
        (the position is past the whole batch as soon as it is handed out); another, up to its position."""

        async def done(partition: TopicPartition) -> int:
            first = self._first_offsets.get(partition)
            return first if first is not None else await consumer.position(partition)

        return done

    def start(
        self,
        consumer: AIOKafkaConsumer,
        partition: TopicPartition,
        batch: Coroutine[Any, Any, None],
        *,
        first_offset: int,
    ) -> None:
        # A partition taken away and given back while its earlier batch is still in hand: the new batch
        # waits for that one, so this process still handles a ticket's events in their order.
        before = self._tasks.get(partition)
        self._first_offsets.setdefault(partition, first_offset)
        try:
            consumer.pause(partition)
        except (aiokafka.errors.IllegalStateError, AssertionError):
            pass  # taken away since the fetch: handled all the same, its commit fails, its new owner reads it
        task = asyncio.create_task(self._after(before, batch), name=f"partition-{partition.topic}-{partition.partition}")
        self._tasks[partition] = task
        task.add_done_callback(lambda done: self._ended(consumer, partition, done))

    @staticmethod
    async def _after(before: asyncio.Task[None] | None, batch: Coroutine[Any, Any, None]) -> None:
        try:
            if before is not None:
                await asyncio.wait({before})
        except BaseException:
            batch.close()  # cancelled before it began: nothing of it ran
            raise
        await batch

    def _ended(self, consumer: AIOKafkaConsumer, partition: TopicPartition, task: asyncio.Task[None]) -> None:
        if self._tasks.get(partition) is not task:
            return  # a later batch of the partition is in hand: it stays paused
        del self._tasks[partition]
        self._first_offsets.pop(partition, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("handling a batch of %s failed", partition, exc_info=task.exception())
        try:
            consumer.resume(partition)
        except (aiokafka.errors.IllegalStateError, AssertionError):
            pass  # no longer assigned here (a rebalance): nothing to resume

    async def finish(
        self, partitions: Iterable[TopicPartition] | None = None, timeout: float | None = None
    ) -> bool:
        """Wait until the batches in hand of `partitions` (default: every partition) have ended, also those
        started meanwhile; at most `timeout` seconds. True when none is left."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        wanted = None if partitions is None else set(partitions)
        while tasks := {t for p, t in self._tasks.items() if wanted is None or p in wanted}:
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            await asyncio.wait(tasks, timeout=remaining)
        return True

    def cancel(self) -> None:
        for task in self._tasks.values():
            task.cancel()


class _LogEndsInHand:
    """The log end offsets of the partitions in hand, as the broker last gave them (`ask`). A partition in
    hand is paused, so not fetched, and the highwater of its last fetch stays where it was while records
    pile up behind its batch: the lag of a consumer held up by its batch (Slack down, say) read as small
    as before the outage, for as long as it lasted."""

    def __init__(self, in_hand: _PartitionsInHand) -> None:
        self._in_hand = in_hand
        self._ends: dict[TopicPartition, int] = {}

    async def ask(self, consumer: AIOKafkaConsumer) -> None:
        partitions = self._in_hand.partitions()
        self._ends = await asyncio.wait_for(consumer.end_offsets(partitions), 1.0) if partitions else {}

    def highwater(self, consumer: AIOKafkaConsumer) -> Callable[[TopicPartition], int | None]:
        """For the lag: the later of the last fetch's highwater and the broker's answer while in hand."""

        def of(partition: TopicPartition) -> int | None:
            fetched = consumer.highwater(partition)
            asked = self._ends.get(partition) if partition in self._in_hand else None
            return max((end for end in (fetched, asked) if end is not None), default=None)

        return of


class _LetGoWhenDone(ConsumerRebalanceListener):
    """Before a rebalance moves partitions away, their batches in hand finish and commit, for at most
    `wait_seconds`: the next owner then starts past those records instead of handling them at the same
    time as this process. A batch still running after that goes on, its commit fails, and the next owner
    reads its records again (handlers are idempotent)."""

    def __init__(self, in_hand: _PartitionsInHand, wait_seconds: float) -> None:
        self._in_hand = in_hand
        self._wait_seconds = wait_seconds

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        if not await self._in_hand.finish(revoked, timeout=self._wait_seconds):
            log.warning("batches in hand of %s still running when letting them go", sorted(revoked))

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        pass  # positions come from the group's commits


async def run_lanes(
    records: Sequence[Any],
    process: Callable[[Any], Awaitable[bool]],
    stopping: asyncio.Event,
    in_flight: asyncio.Semaphore,
) -> int | None:
    """Process one partition's records (in offset order), one lane per record key: a lane in order,
    stopping at its first record that `process` could not finish; lanes concurrently, as many records
    at once as `in_flight` allows. Returns the offset from which the partition must be read again (the
    lowest record not done), or None when all were done. A stop (`stopping` set) lets the records in
    hand finish and starts no other."""
    lanes: dict[bytes | None, list[Any]] = {}
    for record in records:
        lanes.setdefault(record.key, []).append(record)
    not_done: list[int] = []

    async def run(lane: list[Any]) -> None:
        for record in lane:
            async with in_flight:
                if stopping.is_set() or not await process(record):
                    not_done.append(record.offset)
                    return

    await asyncio.gather(*(run(lane) for lane in lanes.values()))
    return min(not_done, default=None)


@dataclass
class _Taken:
    """A record `StreamLanes` took from the stream, and whether its lane finished it."""

    item: Any
    done: bool = False


class StreamLanes:
    """`run_lanes` for a client that hands out records one at a time and commits what was acknowledged
    (faust): each record runs in its key's lane, behind that key's earlier records and beside other
    keys', up to `limit` records taken and not finished. A partition's records are acknowledged in the
    order they came, each once it and every record before it are done, so a commit never passes a
    record still in hand. `process` must not raise (it retries until done): a record that never ends
    holds back its partition's acknowledgements. `close` cancels what is in hand, unacknowledged, so it
    is read again."""

    def __init__(
        self, process: Callable[[Any], Awaitable[None]], acknowledge: Callable[[Any], Awaitable[object]], limit: int
    ) -> None:
        self._process = process
        self._acknowledge = acknowledge
        self._slots = asyncio.Semaphore(limit)
        self._tails: dict[tuple[Any, Any], asyncio.Task[None]] = {}
        self._running: set[asyncio.Task[None]] = set()
        self._taken: dict[Any, deque[_Taken]] = {}  # per partition, in the order the stream gave them
        self._acknowledging = asyncio.Lock()  # one lane at a time acknowledges, so always in that order

    async def submit(self, partition: Any, key: Any, item: Any) -> None:
        """Start `item` in its lane; waits while `limit` records are in hand (holding the stream back)."""
        await self._slots.acquire()
        taken = _Taken(item)
        self._taken.setdefault(partition, deque()).append(taken)
        lane = (partition, key)
        task = asyncio.create_task(self._run(self._tails.get(lane), partition, taken))
        self._tails[lane] = task
        self._running.add(task)
        task.add_done_callback(lambda done: self._finished(lane, done))

    def _finished(self, lane: tuple[Any, Any], task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self._tails.get(lane) is task:
            del self._tails[lane]

    async def _run(self, before: asyncio.Task[None] | None, partition: Any, taken: _Taken) -> None:
        try:
            if before is not None:
                await asyncio.wait({before})  # the key's previous record, however it ended
            await self._process(taken.item)
        finally:
            self._slots.release()
        taken.done = True
        queue = self._taken[partition]
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


async def consumer_lag(
    consumer: Any,
    position_timeout: float = 1.0,
    done_up_to: Callable[[Any], Awaitable[int | None]] | None = None,
    highwater: Callable[[Any], int | None] | None = None,
) -> dict[tuple[str, int], int | None]:
    """Lag of each partition assigned to a consumer, aiokafka's or faust's (`app.consumer`: the same
    `assignment()`, `highwater(tp)` and `await position(tp)`): its highwater (log end offset, known
    from the last fetch, or `highwater(tp)` where given) minus the offset it is done up to. That is
    `done_up_to(tp)` where given, else its position (next record to hand out, which is past every
    record processed once a batch is done). None for a partition not fetched yet, or changing hands."""
    done_up_to = done_up_to or consumer.position
    log_end = highwater or consumer.highwater
    lags: dict[tuple[str, int], int | None] = {}
    for partition in consumer.assignment():
        try:
            highwater_now = log_end(partition)
            # Only a fetched partition has a highwater, and a fetched one has a position at once:
            # the wait bounds a rebalance racing with this read.
            position = (
                await asyncio.wait_for(done_up_to(partition), position_timeout) if highwater_now is not None else None
            )
        except (AssertionError, TimeoutError, aiokafka.errors.IllegalStateError):
            highwater_now = position = None  # revoked meanwhile
        lags[(partition.topic, partition.partition)] = partition_lag(highwater_now, position)
    return lags


class ShortenedLogWatch:
    """Finds assigned partitions whose log now ends before the position the consumer reached.

    The broker lost records there: the embedded broker comes back from a restart empty (and answers a
    fetch past the end with nothing, not with an out-of-range error); on Kafka an unclean leader
    election truncates. Records written since get offsets the consumer has already passed, so it would
    skip them without a word: such a partition must be read again from its beginning (every handler is
    idempotent). A partition counts only when seen so twice in a row (the checks are a second or more
    apart), so a highwater that trails by one fetch is not taken for a loss.
    """

    def __init__(self) -> None:
        self._suspects: set[Any] = set()

    async def check(self, consumer: Any) -> list[Any]:
        """The partitions found shortened (aiokafka's or faust's consumer, as for `consumer_lag`)."""
        now: set[Any] = set()
        for partition in consumer.assignment():
            try:
                highwater = consumer.highwater(partition)
                if highwater is None:
                    continue
                position = await asyncio.wait_for(consumer.position(partition), 1.0)
            except (AssertionError, TimeoutError, aiokafka.errors.IllegalStateError):
                continue  # revoked meanwhile
            if position is not None and position > highwater:
                now.add(partition)
        shortened = sorted(now & self._suspects)
        self._suspects = now - set(shortened)
        return shortened

    async def rewind(
        self, consumer: Any, who: str, seek: Callable[[Any], Awaitable[object]] | None = None
    ) -> list[Any]:
        """`check`, then read each partition found shortened again from its beginning: with the consumer's
        `seek_to_beginning`, or `seek(partition)` where the client keeps more state (faust)."""
        shortened = await self.check(consumer)
        if shortened:
            log.error(
                "%s: the log of %s now ends before the offsets already read (the broker lost records); "
                "reading it again from its beginning",
                who, ", ".join(f"{tp.topic}[{tp.partition}]" for tp in shortened),
            )  # fmt: skip
            if seek is None:
                await consumer.seek_to_beginning(*shortened)
            else:
                for partition in shortened:
                    await seek(partition)
        return shortened


class LagReporter:
    """`helpdesk_consumer_lag` of one consumer: `report` after each batch (or on a timer) sets the series
    of the partitions assigned now and drops those revoked since; `clear` when the consumer stops."""

    def __init__(self, service: str) -> None:
        self._service = service
        self._series = GaugeSeries(CONSUMER_LAG)

    async def report(
        self,
        consumer: Any,
        done_up_to: Callable[[Any], Awaitable[int | None]] | None = None,
        highwater: Callable[[Any], int | None] | None = None,
    ) -> None:
        """`done_up_to` and `highwater` as for `consumer_lag`."""
        try:
            lags = await consumer_lag(consumer, done_up_to=done_up_to, highwater=highwater)
        except Exception:  # a gauge must never stop consuming
            log.debug("could not read the consumer lag of %s", self._service, exc_info=True)
            return
        self._series.show({(self._service, topic, str(partition)): lag for (topic, partition), lag in lags.items()})

    def clear(self) -> None:
        self._series.show({})
