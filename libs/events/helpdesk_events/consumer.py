"""Consuming events: validate at the edge, hand to a handler, dead-letter what cannot be processed.

`EventDispatcher` holds the per-record rules and knows nothing of the Kafka client,
so the aiokafka loop below and a faust agent share it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import aiokafka.errors
import pymongo.errors
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from opentelemetry import trace

from helpdesk_events.envelope import Envelope, EventPayload
from helpdesk_events.in_flight import InFlight, idle_sleep
from helpdesk_events.kafka import KafkaSettings
from helpdesk_events.lanes import StreamLanes
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
# Of which the records being handled get this much to finish, leaving the rest for the commit.
STOP_FINISH_SECONDS = 4.0
# aiokafka retries a commit that fails with a retriable error for ever, so a commit the broker keeps
# refusing would stall the consumer: each commit is bounded, and a consumer whose commits have all failed
# for a while is replaced by a new one (a new member of the group, which reads again from the last commit).
# Seen on the embedded broker after it restarts empty: the old member's commits are refused as
# "unknown topic or partition" for ever, while a new member's are taken.
COMMIT_TIMEOUT_SECONDS = 10.0
REPLACE_AFTER_FAILING_COMMITS_SECONDS = 30.0
# Records done are committed together, at most this often (and when the consumer stops or lets go).
COMMIT_INTERVAL_SECONDS = 0.5
# A record that could not be done (a store or broker down) is tried again after these pauses, doubling.
RETRY_FIRST_PAUSE_SECONDS = 1.0
RETRY_LONGEST_PAUSE_SECONDS = 10.0
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
                    await idle_sleep(self._backoff * 2 ** (attempt - 1))
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
    """An aiokafka consumer group that feeds a dispatcher and commits after processing (at least once).

    Records run in lanes, one per ticket (`lanes.StreamLanes`): one ticket's events in order, other
    tickets' side by side, across partitions. The consumer fetches on while records wait (a Slack
    channel's turn, a delivery retrying through an outage) and holds back only once `max_in_hand` records
    are taken and not done; each partition is committed up to its first record not done. Up to
    `concurrency` records are handled at once (`in_flight.InFlight`); one that only waits does not count.
    """

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
        max_in_hand: int = 5_000,
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
        # stores, whatever is in hand.
        self._in_flight = InFlight(concurrency)
        self._max_in_hand = max_in_hand
        self._in_hand = _RecordsInHand(self._process, limit=max_in_hand + batch_size)
        self._log_ends = _LogEndsInHand(self._in_hand)
        self._late_commits: set[asyncio.Task[None]] = set()  # of records still running when let go

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
        # half of it for the records in hand leaves the rest for the rejoin itself.
        letting_go = _LetGoWhenDone(self._let_go, wait_seconds=self._settings.session_timeout_ms / 2_000)
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
        await self._in_hand.close()  # their commits could only go to the old client: read again
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
        """Finish the records being handled (start no other), commit what is done, leave the group."""
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except TimeoutError:
                self._task.cancel()
                await asyncio.wait({self._task})
            except Exception:
                log.exception("consumer %s ended with an error", self._group_id)
            self._task = None
        for late in list(self._late_commits):
            late.cancel()
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
        await self._watch(LAG_IDLE_REPORT_SECONDS, self._log_ends.ask, "ask the log ends of", logging.DEBUG)

    async def _watch_for_shortened_logs(self) -> None:
        """Beside the loop, not in it: a commit can wait for seconds, and a shortened log is only
        seen as such until the new records written there reach the position the consumer had."""
        await self._watch(
            SHORTENED_LOG_CHECK_SECONDS,
            lambda consumer: self._shortened.rewind(consumer, self._group_id),
            "check for shortened logs",
            logging.WARNING,
        )

    async def _watch(
        self, every: float, look: Callable[[AIOKafkaConsumer], Awaitable[object]], what: str, level: int
    ) -> None:
        """`look` at the current client every `every` seconds; a watch must never stop consuming."""
        while True:
            await asyncio.sleep(every)
            consumer = self._consumer
            if consumer is None:
                continue
            try:
                await look(consumer)
            except Exception:
                log.log(level, "could not %s %s", what, self._group_id, exc_info=True)

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        loop = asyncio.get_running_loop()
        next_idle_report = next_commit = 0.0
        in_hand = self._in_hand
        try:
            while not self._stopping.is_set():
                # Held back once `max_in_hand` records are taken and not done (a long outage of what they
                # wait for): the partitions those records are of are paused until some end; the others
                # go on (an SLA clock waits for no Slack post).
                holding = set(in_hand.partitions()) if len(in_hand) >= self._max_in_hand else set()
                assigned = consumer.assignment()
                with contextlib.suppress(aiokafka.errors.IllegalStateError, AssertionError):
                    consumer.pause(*(assigned & holding))
                    consumer.resume(*(assigned - holding))
                try:
                    batches = await consumer.getmany(timeout_ms=200, max_records=self._batch_size)
                except Exception:
                    log.exception("fetch failed in %s; retrying", self._group_id)
                    await asyncio.sleep(1.0)
                    continue
                for partition, records in batches.items():
                    for record in records:
                        await in_hand.take(partition, record)
                if loop.time() >= next_commit:
                    await self._commit(consumer)
                    next_commit = loop.time() + COMMIT_INTERVAL_SECONDS
                # After every fetch, and once a second while idle (a partition fetched meanwhile shows up).
                if batches or loop.time() >= next_idle_report:
                    await self._lag.report(
                        consumer, done_up_to=in_hand.done_up_to(consumer), highwater=self._log_ends.highwater(consumer)
                    )
                    next_idle_report = loop.time() + LAG_IDLE_REPORT_SECONDS
                failing_since = self._commits_failing_since
                if failing_since is not None and loop.time() - failing_since >= REPLACE_AFTER_FAILING_COMMITS_SECONDS:
                    replacement = await self._replace(consumer)
                    if replacement is None:
                        return
                    consumer = replacement
            # Stopping: the lanes start no other record; those being handled finish (a record waiting out an
            # outage would not: it is given up after a while and read again), and what is done is committed.
            finished = await in_hand.finish(timeout=STOP_FINISH_SECONDS)
            await self._commit(consumer)
            if not finished:
                await in_hand.close()
        except asyncio.CancelledError:
            await asyncio.shield(in_hand.close())  # a stop that ran out of time: what is in hand is read again
            raise

    async def _commit(self, consumer: AIOKafkaConsumer, partitions: Iterable[TopicPartition] | None = None) -> None:
        """Commit each partition (assigned here; of `partitions` where given) up to its first record not done."""
        offsets = self._in_hand.to_commit(consumer.assignment() if partitions is None else partitions)
        if not offsets:
            return
        try:
            await asyncio.wait_for(consumer.commit(offsets), COMMIT_TIMEOUT_SECONDS)
        except Exception:
            # Lost a partition in a rebalance: its new owner re-reads from the last commit. Commits that
            # keep failing (or hang) get the consumer replaced (see _consume).
            log.warning("commit of %s failed", offsets, exc_info=True)
            if self._commits_failing_since is None:
                self._commits_failing_since = asyncio.get_running_loop().time()
        else:
            self._in_hand.committed(offsets)
            self._commits_failing_since = None

    async def _let_go(self, revoked: list[TopicPartition], wait_seconds: float) -> None:
        """Before a rebalance moves `revoked` away: their records not begun yet are left to the next owner,
        those being handled finish, for at most `wait_seconds`, and what is done is committed, so the next
        owner starts past those records instead of handling them at the same time as this process."""
        self._in_hand.let_go(revoked)
        finished = await self._in_hand.finish(revoked, timeout=wait_seconds)
        done = self._in_hand.detach(revoked)
        if finished:
            await self._commit_let_go(revoked, done)
            return
        log.warning("records in hand of %s still running when letting them go", sorted(revoked))
        # The rebalance goes on meanwhile. They commit when they end: the next owner starts past them if
        # it has not fetched them by then, else it handles them again (handlers are idempotent).
        late = asyncio.create_task(
            self._commit_let_go(revoked, done, wait_seconds * 2), name=f"let-go-{self._group_id}"
        )
        self._late_commits.add(late)
        late.add_done_callback(self._late_commits.discard)

    async def _commit_let_go(
        self, revoked: list[TopicPartition], done: Callable[[], dict[TopicPartition, int]], wait_seconds: float = 0.0
    ) -> None:
        if wait_seconds:
            await self._in_hand.finish(revoked, timeout=wait_seconds)
        consumer = self._consumer
        offsets = done()
        if consumer is not None and offsets:
            try:
                await asyncio.wait_for(consumer.commit(offsets), COMMIT_TIMEOUT_SECONDS)
            except Exception as error:  # not a failing broker: the partitions may have changed hands
                log.info("commit of %s as they were let go failed (%r): read again by their next owner", offsets, error)

    async def _process(self, fetched: _Fetched) -> bool:
        """Handle a record until done, trying again after a pause while a dependency is down (or not even
        the dead-letter topic takes it). False: not done, and left to be read again, because the consumer
        is stopping or the record's partition was let go."""
        pause = RETRY_FIRST_PAUSE_SECONDS
        while True:
            async with self._in_flight.slot():
                if self._stopping.is_set() or not self._in_hand.still_ours(fetched):
                    return False
                if await self._dispatch_one(fetched.record):
                    return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), pause)
            pause = min(pause * 2, RETRY_LONGEST_PAUSE_SECONDS)

    async def _dispatch_one(self, record: Any) -> bool:
        """True once the record is done (handled, skipped or dead-lettered); False: try it again later."""
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


@dataclass(slots=True)
class _Fetched:
    """A record taken, where it stands in its partition, and the record itself until its turn ends: after
    that only its offset counts, and it may wait long in its partition's order (done, behind a record that
    is not: a Slack post through an outage), so it keeps no payload meanwhile."""

    partition: TopicPartition
    offset: int
    let_go: int  # how many times its partition had been let go when it was fetched
    record: Any | None


class _RecordsInHand:
    """The records taken from the consumer and not done, in their lanes, and how far each partition is
    done: up to its first record not done (the next offset to commit)."""

    def __init__(self, process: Callable[[_Fetched], Awaitable[bool]], limit: int) -> None:
        self._process = process
        self._lanes = StreamLanes(self._take_turn, self._acknowledge, limit)
        self._done: dict[TopicPartition, int] = {}  # next offset to commit, of the records acknowledged
        self._committed: dict[TopicPartition, int] = {}
        self._times_let_go: Counter[TopicPartition] = Counter()

    def __len__(self) -> int:
        return len(self._lanes)

    def __contains__(self, partition: TopicPartition) -> bool:
        return self._lanes.first_in_hand(partition) is not None

    def partitions(self) -> list[TopicPartition]:
        return self._lanes.partitions()

    async def take(self, partition: TopicPartition, record: Any) -> None:
        fetched = _Fetched(partition, record.offset, self._times_let_go[partition], record)
        await self._lanes.submit(partition, record.key, fetched)

    async def _take_turn(self, fetched: _Fetched) -> bool:
        try:
            return await self._process(fetched)
        finally:
            fetched.record = None

    def still_ours(self, fetched: _Fetched) -> bool:
        """False once the record's partition was let go after it was fetched: its next owner reads it."""
        return fetched.let_go == self._times_let_go[fetched.partition]

    async def _acknowledge(self, fetched: _Fetched) -> None:
        self._done[fetched.partition] = fetched.offset + 1

    def to_commit(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        """The offsets of `partitions` done beyond what was committed."""
        return {
            partition: self._done[partition]
            for partition in partitions
            if partition in self._done and self._done[partition] != self._committed.get(partition)
        }

    def committed(self, offsets: Mapping[TopicPartition, int]) -> None:
        self._committed.update(offsets)

    def let_go(self, partitions: Iterable[TopicPartition]) -> None:
        """A rebalance takes `partitions` away: their records not begun yet will not begin."""
        self._times_let_go.update(partitions)

    def detach(self, partitions: list[TopicPartition]) -> Callable[[], dict[TopicPartition, int]]:
        """Part with `partitions` (let go): records of theirs taken from now on count on their own, from
        the group's commit. Returns how far they are done, to ask once their records still running end:
        up to the first record not done, of those acknowledged before and those detached now."""
        acknowledged = {partition: self._done.pop(partition, None) for partition in partitions}
        for partition in partitions:
            self._committed.pop(partition, None)
        detached = self._lanes.detach(partitions)

        def done() -> dict[TopicPartition, int]:
            offsets = {}
            for partition, taken in detached.items():
                upto = acknowledged[partition]
                for entry in taken:
                    if not entry.done:
                        break
                    upto = entry.item.offset + 1
                if upto is not None:
                    offsets[partition] = upto
            return offsets

        return done

    def done_up_to(self, consumer: AIOKafkaConsumer) -> Callable[[TopicPartition], Awaitable[int]]:
        """For the lag: a partition with records in hand is done up to the first of them; another, up to
        its position (the next record to fetch)."""

        async def done(partition: TopicPartition) -> int:
            first = self._lanes.first_in_hand(partition)
            return first.offset if first is not None else await consumer.position(partition)

        return done

    async def finish(
        self, partitions: Iterable[TopicPartition] | None = None, timeout: float | None = None
    ) -> bool:
        """Wait until the records in hand of `partitions` (default: all) have ended, also those taken
        meanwhile; at most `timeout` seconds. True when none is left."""
        return await self._lanes.finish(partitions, timeout)

    async def close(self) -> None:
        """Cancel what is in hand, unacknowledged (read again), and start afresh."""
        await self._lanes.close()
        self._done.clear()
        self._committed.clear()


class _LogEndsInHand:
    """The log end offsets of the partitions with records in hand, as the broker last gave them (`ask`).
    Partitions held back are not fetched, and the highwater of their last fetch stays where it was while
    records pile up: the lag of a consumer held up (Slack down, say) read as small as before the outage,
    for as long as it lasted."""

    def __init__(self, in_hand: _RecordsInHand) -> None:
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
    """Before a rebalance moves partitions away, `let_go` (EventConsumer._let_go) gets at most
    `wait_seconds` for their records in hand."""

    def __init__(
        self, let_go: Callable[[list[TopicPartition], float], Awaitable[None]], wait_seconds: float
    ) -> None:
        self._let_go = let_go
        self._wait_seconds = wait_seconds

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self._let_go(list(revoked), self._wait_seconds)

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        pass  # positions come from the group's commits


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
