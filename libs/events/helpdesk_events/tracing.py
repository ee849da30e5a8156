"""W3C trace context in Kafka headers, so one ticket's journey is one trace; and where the spans go.

Export follows the standard OTEL_* variables, but is off unless asked for:

- `OTEL_TRACES_EXPORTER`: `otlp` (OTLP over HTTP/protobuf), `console` (stdout), `none`, or a comma
  list. Unset, it is `otlp` when an OTLP endpoint is set (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
  `OTEL_EXPORTER_OTLP_ENDPOINT`) and `none` otherwise. The SDK's own default is `otlp` to
  localhost:4318, which would make every laptop run and test log failed exports.
- `OTEL_EXPORTER_OTLP_*` (endpoint, headers, timeout, compression, certificates), `OTEL_BSP_*` and
  `OTEL_TRACES_SAMPLER*` are read by the SDK itself.
- `OTEL_SERVICE_NAME` (or `service.name` in `OTEL_RESOURCE_ATTRIBUTES`) overrides the service's name.

Spans are created and `traceparent` travels in Kafka headers whether or not they are exported.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

KafkaHeaders = list[tuple[str, bytes]]

EXPORTERS = ("otlp", "console")
_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_PROTOCOL_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")


class TracingConfigError(ValueError):
    """OTEL_* variables asking for what this service cannot do; raised at start, not at the first span."""


def trace_exporters(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The exporters the OTEL_* variables ask for (see the module docstring); () means none."""
    named = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if not named:
        wanted = {"otlp"} if any(environ.get(name, "").strip() for name in _ENDPOINT_VARIABLES) else set()
    else:
        wanted = {name.strip() for name in named.split(",") if name.strip()} - {"none"}
        unknown = wanted - set(EXPORTERS)
        if unknown:
            raise TracingConfigError(
                f"OTEL_TRACES_EXPORTER={named!r}: unknown {sorted(unknown)}; use otlp, console or none"
            )
    if "otlp" in wanted:
        protocol = next((environ[name] for name in _PROTOCOL_VARIABLES if environ.get(name, "").strip()), "")
        if protocol.strip().lower() not in ("", "http/protobuf"):
            # Only the HTTP exporter is installed; a gRPC endpoint (port 4317) would fail every export.
            raise TracingConfigError(
                f"OTLP protocol {protocol!r} is not supported: use http/protobuf (a collector's port 4318)"
            )
    return tuple(name for name in EXPORTERS if name in wanted)


def resource_attributes(service_name: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The service's own name, unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES name it: attributes
    given to `Resource.create` would override those variables, and the operator's word wins."""
    if environ.get("OTEL_SERVICE_NAME", "").strip():
        return {}
    for pair in environ.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        key, _, value = pair.partition("=")
        if key.strip() == SERVICE_NAME and value.strip():
            return {}
    return {SERVICE_NAME: service_name}


def _exporter(name: str) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter()
    # Imported only when asked for: it brings requests and protobuf.
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as error:
        raise TracingConfigError("OTLP export asked for, but opentelemetry-exporter-otlp-proto-http is missing") from error

    return OTLPSpanExporter()  # endpoint, headers, timeout, compression from OTEL_EXPORTER_OTLP_*


def configure_tracing(service_name: str, environ: Mapping[str, str] | None = None) -> TracerProvider:
    """Install an SDK tracer provider so spans get real ids that travel in `traceparent`, exporting
    them as the OTEL_* variables say. A process has one provider: a second call (tests run several
    services in one process) keeps the first and returns it."""
    environ = os.environ if environ is None else environ
    exporters = trace_exporters(environ)  # a bad setting stops the service at start
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    provider = TracerProvider(resource=Resource.create(resource_attributes(service_name, environ)))
    for name in exporters:
        # Batched in a background thread; the provider flushes at interpreter exit.
        provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
    trace.set_tracer_provider(provider)
    return provider


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


def current_ids() -> tuple[str, str] | None:
    """The current span's trace and span ids in W3C hex form, None outside a (recording or remote) span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")
