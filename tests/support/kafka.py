"""Watching topics from a test (read every partition from the start, without a consumer group), and
publishing into them as another service would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from devtools.topic_reader import TopicReader
from helpdesk_events import Envelope, EventDecodeError, decode
from helpdesk_events.publisher import EventPublisher
from helpdesk_events.settings import ServiceSettings


class EventTap:
    """Collects the decoded envelopes (and raw records) of one topic as they arrive."""

    def __init__(self, bootstrap_servers: str, topic: str) -> None:
        self.topic = topic
        self.envelopes: list[Envelope] = []
        self.records: list = []
        self._arrived = asyncio.Condition()
        self._reader = TopicReader(bootstrap_servers, [topic], self._take)

    async def __aenter__(self) -> EventTap:
        await self._reader.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._reader.stop()

    async def _take(self, records: list) -> None:
        async with self._arrived:
            for record in records:
                self.records.append(record)
                try:
                    self.envelopes.append(decode(record.value))
                except EventDecodeError:
                    pass  # poison records stay visible in .records
            self._arrived.notify_all()

    async def wait_for(
        self, event_type: str, predicate: Callable[[Envelope], bool] = lambda _: True, timeout: float = 15.0
    ) -> Envelope:
        """The first envelope of that type matching the predicate, waiting for it to arrive."""

        def find() -> Envelope | None:
            return next((e for e in self.envelopes if e.type == event_type and predicate(e)), None)

        async with asyncio.timeout(timeout):
            async with self._arrived:
                await self._arrived.wait_for(lambda: find() is not None)
        found = find()
        assert found is not None
        return found

    async def wait_for_records(self, predicate: Callable[[object], bool], count: int = 1, timeout: float = 15.0) -> list:
        async with asyncio.timeout(timeout):
            async with self._arrived:
                await self._arrived.wait_for(lambda: len([r for r in self.records if predicate(r)]) >= count)
        return [r for r in self.records if predicate(r)]


@asynccontextmanager
async def publishing(settings: ServiceSettings, source: str) -> AsyncIterator[EventPublisher]:
    """A started publisher on the test's topics, speaking as `source` (e.g. "intake" for another service's test)."""
    publisher = EventPublisher(settings.kafka(f"{source}-double"), source=source)
    await publisher.start()
    try:
        yield publisher
    finally:
        await publisher.stop()
