"""The Kafka side of a service: its topics, its publisher and its consumer, started and stopped together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping

from helpdesk_events.consumer import INFRASTRUCTURE_ERRORS, EventConsumer, EventDispatcher, Handler
from helpdesk_events.envelope import EventPayload
from helpdesk_events.kafka import ensure_topics
from helpdesk_events.publisher import EventPublisher
from helpdesk_events.settings import ServiceSettings
from helpdesk_events.topics import Topic

log = logging.getLogger(__name__)


class EventRuntime:
    """Creates the topics, starts the publisher, then the consumer group feeding `handlers`.

    Services whose consumer is not an aiokafka group (the router runs faust) use the
    publisher and `dispatcher` from here and their own loop.
    """

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        service: str,
        group_id: str,
        topics: Iterable[Topic] = (),
        handlers: Mapping[type[EventPayload], Handler] | None = None,
        infrastructure_errors: tuple[type[BaseException], ...] = (),
    ) -> None:
        self.settings = settings
        self.kafka = settings.kafka(client_id=service)
        self.publisher = EventPublisher(self.kafka, source=service)
        self.dispatcher = EventDispatcher(
            service=service,
            group_id=group_id,
            handlers=handlers or {},
            dead_letters=self.publisher,
            dead_letter_topic=self.kafka.topics.name(Topic.DEAD_LETTER),
            max_attempts=settings.consumer_max_attempts,
            infrastructure_errors=INFRASTRUCTURE_ERRORS + infrastructure_errors,
        )
        self._topics = list(topics)
        self.consumer = (
            EventConsumer(
                self.kafka,
                group_id=group_id,
                topics=self._topics,
                dispatcher=self.dispatcher,
                service=service,
                concurrency=settings.consumer_concurrency,
                max_in_hand=settings.consumer_max_in_hand,
            )
            if self._topics
            else None
        )

    def subscribe(self, handlers: Mapping[type[EventPayload], Handler]) -> None:
        """Handlers built after the runtime, because they publish through `self.publisher`."""
        self.dispatcher.register(handlers)

    async def start(self, attempts: int = 30, delay: float = 1.0) -> None:
        """Start, waiting for the broker for a while: services may start before Kafka is ready."""
        for attempt in range(1, attempts + 1):
            try:
                if self.settings.kafka_create_topics:
                    await ensure_topics(self.kafka)
                await self.publisher.start()
                break
            except Exception as error:
                await self.publisher.stop()
                if attempt == attempts:
                    raise
                log.warning("Kafka at %s not ready (%r); retrying", self.kafka.bootstrap_servers, error)
                await asyncio.sleep(delay)
        if self.consumer is not None:
            try:
                await self.consumer.start()
            except BaseException:
                await self.publisher.stop()
                raise

    async def stop(self) -> None:
        if self.consumer is not None:
            await self.consumer.stop()
        await self.publisher.stop()
