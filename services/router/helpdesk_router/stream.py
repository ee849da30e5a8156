"""The tickets stream: a faust app whose one agent hands every record to the shared dispatcher, in lanes.

Declared and started inside the FastAPI lifespan (faust's examples/fastapi). faust only
reads here: the router's events go out through the EventPublisher (acks=all) and dead
letters through the dispatcher. No faust tables: the router's state lives in MongoDB, and
the embedded broker's latest-offset bug would make table recovery lossy.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import faust

from helpdesk_events import Topic
from helpdesk_events import consumer as event_consumer
from helpdesk_events.consumer import (
    ConsumedRecord,
    EventDispatcher,
    LagReporter,
    ShortenedLogWatch,
)
from helpdesk_events.lanes import StreamLanes
from helpdesk_router.assignment import SERVICE
from helpdesk_router.faust_transport import RouterApp
from helpdesk_router.settings import Settings

log = logging.getLogger(__name__)

# How often the router reports its consumer lag (faust fetches on its own; the gauge follows it).
LAG_EVERY_SECONDS = 1.0

Sweep = Callable[[], Awaitable[None]]


def consumed_record(message: Any) -> ConsumedRecord:
    """A faust message as the dispatcher's client-neutral record (headers in order, as bytes)."""
    headers = message.headers or ()
    if isinstance(headers, Mapping):
        headers = headers.items()
    return ConsumedRecord(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        headers=tuple(
            (name.decode() if isinstance(name, bytes) else name, value if value is not None else b"")
            for name, value in headers
        ),
    )


async def dispatch_until_done(
    dispatch: Callable[[ConsumedRecord], Awaitable[object]],
    record: ConsumedRecord,
    *,
    first_wait: float = 0.5,
    longest_wait: float = 30.0,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> None:
    """Dispatch one record, retrying for as long as it takes.

    The dispatcher itself retries handlers and dead-letters poison; it raises only when not even
    the dead-letter topic takes the record. Skipping it would lose it and raising would kill the
    agent, so wait and try the same record again: its offset is not acknowledged meanwhile.
    """
    wait = first_wait
    while True:
        try:
            await dispatch(record)
            return
        except Exception:
            log.exception(
                "could not process or dead-letter %s[%d]@%d; retrying in %.1fs",
                record.topic, record.partition, record.offset, wait,
            )
            await sleep(wait)
            wait = min(wait * 2, longest_wait)


class TicketStream:
    """Builds, starts and stops the faust app; one per lifespan, so an app can be started again."""

    def __init__(
        self,
        settings: Settings,
        dispatcher: EventDispatcher,
        sweep: Sweep | None = None,
        *,
        first_retry_wait: float = 0.5,
    ) -> None:
        self._settings = settings
        self._dispatcher = dispatcher
        self._sweep = sweep
        self._first_retry_wait = first_retry_wait
        self._app: faust.App | None = None
        self._started = False
        self._datadir: tempfile.TemporaryDirectory[str] | None = None
        self._lag = LagReporter(SERVICE)
        self._replacing: asyncio.Task[None] | None = None
        self._shortened = ShortenedLogWatch()

    @property
    def app(self) -> faust.App | None:
        return self._app

    def build(self) -> faust.App:
        kafka = self._settings.kafka(SERVICE)
        session = kafka.session_timeout_ms / 1000
        # faust makes a data directory even with the memory store; keep it out of the working directory.
        self._datadir = tempfile.TemporaryDirectory(prefix="helpdesk-router-faust-")
        app = RouterApp(
            self._settings.router_consumer_group,
            fetch_max_wait_ms=kafka.fetch_max_wait_ms,
            broker=[f"kafka://{server.strip()}" for server in kafka.bootstrap_servers.split(",")],
            broker_client_id=f"{kafka.client_id}-faust",
            autodiscover=False,
            web_enabled=False,
            store="memory://",
            datadir=self._datadir.name,
            consumer_auto_offset_reset="earliest",
            topic_partitions=kafka.partitions,
            topic_replication_factor=kafka.replication_factor,
            # On the embedded broker a group joins after about half the session timeout.
            broker_session_timeout=session,
            broker_heartbeat_interval=kafka.heartbeat_interval_ms / 1000,
            broker_rebalance_timeout=session + 2.0,
            broker_request_timeout=max(kafka.request_timeout_ms / 1000, session + 5.0),
            # Stopping or rebalancing must not wait for a record stuck in retries (dead-letter topic
            # down): it stays unacked, so uncommitted, and is read again by the partition's next owner.
            stream_wait_empty=False,
        )
        tickets = app.topic(kafka.topics.name(Topic.TICKETS), value_serializer="raw", key_serializer="raw")
        app.agent(tickets, name="router.tickets")(self._consume)
        if self._sweep is not None and self._settings.router_sweep_seconds > 0:
            app.timer(self._settings.router_sweep_seconds, name="router.sweep")(self._run_sweep)
        app.timer(LAG_EVERY_SECONDS, name="router.lag")(self._report_lag)
        self._app = app
        return app

    async def start(self) -> None:
        app = self._app or self.build()
        self._started = True  # a start that fails half-way still needs its stop
        await app.start()

    async def stop(self) -> None:
        app, self._app = self._app, None
        if app is not None and self._started:
            self._started = False
            await app.stop()
        self._lag.clear()
        if self._datadir is not None:
            self._datadir.cleanup()
            self._datadir = None

    async def _consume(self, stream: faust.StreamT) -> None:
        # events() rather than values: the dispatcher needs offsets and headers (trace context).
        # Manual acks: faust acks an event in a `finally`, even when a stop cancels the agent in
        # the middle of it; only a record the dispatcher finished may be committed.
        # Lanes: one ticket's events in order, different tickets' side by side (as the other services'
        # consumers); acknowledgements keep each partition's order, so a commit never passes a record
        # in hand. Stopping cancels what is in hand, unacknowledged: the next owner reads it again.
        manual = stream.noack()
        consumer = stream.app.consumer

        async def acknowledge(event: Any) -> None:
            consumer.finished(event.message.tp, event.message.offset)  # only these count for a commit
            await manual.ack(event)

        lanes = StreamLanes(self._dispatch, acknowledge, self._settings.consumer_concurrency)
        try:
            async for event in manual.events():
                await lanes.submit(event.message.tp, event.message.key, event)
        finally:
            await lanes.close()

    async def _dispatch(self, event: Any) -> bool:
        await dispatch_until_done(
            self._dispatcher.dispatch, consumed_record(event.message), first_wait=self._first_retry_wait
        )
        return True  # done: a stop cancels the lanes instead

    async def _report_lag(self) -> None:
        app = self._app
        if app is None:
            return
        # faust's seek also forgets what it had read there, so the records come through again.
        await self._shortened.rewind(
            app.consumer, SERVICE, seek=lambda partition: app.consumer.seek(partition, 0)
        )
        await self._lag.report(app.consumer, done_up_to=app.consumer.done_up_to)
        failing_since = getattr(app, "commits_failing_since", None)
        if (
            failing_since is not None
            and time.monotonic() - failing_since >= event_consumer.REPLACE_AFTER_FAILING_COMMITS_SECONDS
            and self._replacing is None
        ):
            # Not awaited here: stopping the app stops this very timer. The task outlives the old app.
            self._replacing = asyncio.create_task(self._replace(app), name="router-replace-faust-app")

    async def _replace(self, app: faust.App) -> None:
        """A new faust app (a new member of the group) in place of one whose commits keep failing: it reads
        again from the last commit, and the desk's handlers are idempotent."""
        log.error("the router's commits keep failing; replacing its consumer")
        try:
            if self._app is app:
                await self.stop()
                self.build()
                await self.start()
        except Exception:
            log.exception("could not replace the router's consumer; the next lag report tries again")
        finally:
            self._replacing = None

    async def _run_sweep(self) -> None:
        assert self._sweep is not None
        try:
            await self._sweep()
        except Exception:
            log.exception("sweep failed; the next one runs in %.0fs", self._settings.router_sweep_seconds)
