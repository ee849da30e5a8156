"""W3C trace context in Kafka headers, so one ticket's journey is one trace."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

KafkaHeaders = list[tuple[str, bytes]]


def configure_tracing(service_name: str) -> None:
    """Install an SDK tracer provider so spans get real ids that travel in `traceparent`.

    Exporters are wired by the standard OTEL_* variables in the operations issue;
    without one, spans are still created and propagated, just not exported.
    """
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    trace.set_tracer_provider(TracerProvider(resource=Resource.create({"service.name": service_name})))


def inject_headers(headers: KafkaHeaders | None = None) -> KafkaHeaders:
    """Add the current trace context (traceparent, tracestate) to Kafka headers."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    result = list(headers or [])
    result.extend((name, value.encode()) for name, value in carrier.items())
    return result


def extract_context(headers: Sequence[tuple[str, bytes]] | None) -> otel_context.Context:
    carrier = {name: value.decode("latin-1") for name, value in headers or () if value is not None}
    return propagate.extract(carrier)
