"""Publishing events: JSON envelope, key, headers with trace context, acks=all."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from opentelemetry import trace

from helpdesk_events.envelope import Envelope, EventPayload, new_envelope
from helpdesk_events.kafka import KafkaSettings
from helpdesk_events.metrics import EVENTS_PRODUCED, PRODUCE_ERRORS, PRODUCE_SECONDS
from helpdesk_events.registry import encode
from helpdesk_events.tracing import KafkaHeaders, inject_headers

tracer = trace.get_tracer("helpdesk_events")


def event_headers(envelope: Envelope) -> KafkaHeaders:
    """Type and version in headers let a subscriber skip events without parsing them."""
    return inject_headers(
        [
            ("content-type", b"application/json"),
            ("event-type", envelope.type.encode()),
            ("event-version", str(envelope.version).encode()),
        ]
    )


class EventPublisher:
    """Sends envelopes and returns only once Kafka has acknowledged them (acks=all).

    Idempotent producers fail on the embedded broker and are not needed: every
    consumer drops redeliveries by event id or by an idempotent write.
    """

    def __init__(self, settings: KafkaSettings, source: str) -> None:
        self._settings = settings
        self._source = source
        self._producer: AIOKafkaProducer | None = None

    @property
    def source(self) -> str:
        return self._source

    async def start(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self._settings.bootstrap_servers,
            client_id=f"{self._settings.client_id}-producer",
            acks="all",
            enable_idempotence=False,
            request_timeout_ms=self._settings.request_timeout_ms,
            max_batch_size=self._settings.max_batch_size,
            linger_ms=self._settings.linger_ms,
        )
        try:
            await producer.start()
        except BaseException:
            await producer.stop()  # releases its connections and buffers
            raise
        self._producer = producer

    async def stop(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()  # flushes what is pending

    async def emit(
        self,
        payload: EventPayload,
        *,
        ticket_id: str | None = None,
        event_id: uuid.UUID | None = None,
    ) -> Envelope:
        envelope = new_envelope(payload, source=self._source, ticket_id=ticket_id, event_id=event_id)
        await self.publish(envelope)
        return envelope

    async def publish(self, envelope: Envelope) -> None:
        topic = self._settings.topics.name(envelope.payload.topic)
        key = envelope.key
        # A producer span under whatever this service is doing (a request, a consumed event, a timer
        # tick, which then starts the trace): its context goes out in `traceparent`, so the
        # consumers' spans become its children.
        with tracer.start_as_current_span(
            f"publish {envelope.type}",
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "send",
                "messaging.destination.name": topic,
                "helpdesk.service": self._source,
                "helpdesk.event_id": str(envelope.id),
                "helpdesk.ticket_id": envelope.ticket_id or "",
            },
        ):
            await self._send(
                topic,
                encode(envelope),
                key.encode() if key is not None else None,
                event_headers(envelope),
                envelope.type,
            )

    async def send_raw(
        self, topic: str, value: bytes | None, key: bytes | None, headers: Sequence[tuple[str, bytes]]
    ) -> None:
        """Forward a record as it is (the dead-letter path)."""
        await self._send(topic, value, key, list(headers), "raw")

    async def _send(
        self, topic: str, value: bytes | None, key: bytes | None, headers: KafkaHeaders, event_type: str
    ) -> None:
        if self._producer is None:
            raise RuntimeError("publisher is not started")
        started = time.perf_counter()
        try:
            await self._producer.send_and_wait(topic, value, key=key, headers=headers)
        except Exception:
            PRODUCE_ERRORS.labels(self._source, topic, event_type).inc()
            raise
        PRODUCE_SECONDS.labels(self._source, topic).observe(time.perf_counter() - started)
        EVENTS_PRODUCED.labels(self._source, topic, event_type).inc()

    async def check(self) -> None:
        """Readiness: the producer can reach a broker and read cluster metadata."""
        if self._producer is None:
            raise RuntimeError("publisher is not started")
        if not await self._producer.client.force_metadata_update():
            raise ConnectionError("Kafka metadata request failed")
