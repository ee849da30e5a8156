"""A faust app whose Kafka consumer takes its fetch wait from our settings (KAFKA_FETCH_MAX_WAIT_MS).

faust 0.15 fixes the aiokafka consumer's fetch wait at 1500 ms. Apache Kafka answers a fetch as
soon as data arrives, so there it costs nothing; Tansu (the embedded broker) holds the fetch for
a good part of the wait: measured from ticket.created to ticket.assigned, 457 ms at 1500, 333 ms
at 500, 78 ms at 50.
"""

from __future__ import annotations

from typing import Any

import aiokafka
import faust
from faust.transport.drivers import aiokafka as faust_aiokafka


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka reads this when the consumer starts (it builds its Fetcher then); faust has no setting for it.
        consumer._fetch_max_wait_ms = self.app.fetch_max_wait_ms
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Transport(faust_aiokafka.Transport):
    Consumer = _Consumer


class RouterApp(faust.App):
    """faust.App with the consumer above; everything else is faust's own."""

    def __init__(self, *args: Any, fetch_max_wait_ms: int, **kwargs: Any) -> None:
        self.fetch_max_wait_ms = fetch_max_wait_ms
        super().__init__(*args, **kwargs)

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)
