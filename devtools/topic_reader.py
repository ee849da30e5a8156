"""Reading whole topics as an onlooker: every partition assigned, no consumer group, nothing committed.

The tests' `EventTap`, `make bench`'s assignment tap and `make chaos`'s broker tap are this reader
with their own handling of each batch of records.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from helpdesk_events.consumer import SHORTENED_LOG_CHECK_SECONDS, ShortenedLogWatch

OnRecords = Callable[[list[ConsumerRecord]], Awaitable[None]]


class TopicReader:
    """Reads `topics` from their beginning (or only what comes after `start`, `from_end=True`) and hands
    each fetched batch to `on_records` until stopped.

    `wait_for_topics` is how long to wait for a topic a service has yet to create; a topic still missing
    then is an error that names it. `follow_broker_restart`: an embedded broker comes back empty, its
    logs start again at 0 behind the positions held here; read them again from their beginning (as the
    services do, helpdesk_events.consumer.ShortenedLogWatch), or what came first after it is skipped.
    """

    def __init__(
        self, bootstrap_servers: str, topics: Sequence[str], on_records: OnRecords, *, from_end: bool = False,
        wait_for_topics: float = 5.0, poll_ms: int = 100, follow_broker_restart: bool = False,
        fetch_max_wait_ms: int = 50,
    ) -> None:  # fmt: skip
        self._bootstrap = bootstrap_servers
        self.topics = list(topics)
        self._on_records = on_records
        self._from_end = from_end
        self._wait_for_topics = wait_for_topics
        self._poll_ms = poll_ms
        self._follow_broker_restart = follow_broker_restart
        self._fetch_max_wait_ms = fetch_max_wait_ms
        self._consumer: AIOKafkaConsumer | None = None
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap, enable_auto_commit=False, fetch_max_wait_ms=self._fetch_max_wait_ms,
            auto_offset_reset="latest" if self._from_end else "earliest",
        )  # fmt: skip
        await consumer.start()
        try:
            partitions = await self._partitions(consumer)
        except BaseException:
            await consumer.stop()
            raise
        consumer.assign(partitions)
        if self._from_end:
            await consumer.seek_to_end(*partitions)
        else:
            await consumer.seek_to_beginning(*partitions)
        self._consumer = consumer
        self._tasks = [asyncio.create_task(self._read())]
        if self._follow_broker_restart:
            self._tasks.append(asyncio.create_task(self._rewind_shortened_logs()))

    async def _partitions(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait_for_topics
        while True:
            found = {topic: consumer.partitions_for_topic(topic) or set() for topic in self.topics}
            missing = [topic for topic, partitions in found.items() if not partitions]
            if not missing:
                return [TopicPartition(topic, p) for topic, partitions in found.items() for p in sorted(partitions)]
            if loop.time() >= deadline:
                raise RuntimeError(f"no topic {', '.join(missing)} on {self._bootstrap}: are the services up?")
            await consumer._client.force_metadata_update()
            await asyncio.sleep(0.1)

    async def _read(self) -> None:
        assert self._consumer is not None
        while True:
            batches = await self._consumer.getmany(timeout_ms=self._poll_ms, max_records=5000)
            records = [record for partition_records in batches.values() for record in partition_records]
            if records:
                await self._on_records(records)

    async def _rewind_shortened_logs(self) -> None:
        assert self._consumer is not None
        shortened = ShortenedLogWatch()
        while True:
            await asyncio.sleep(SHORTENED_LOG_CHECK_SECONDS)
            await shortened.rewind(self._consumer, "topic reader")

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._tasks = []
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
