"""Capturing the spans a test makes, through the process's one SDK tracer provider."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from helpdesk_events.tracing import configure_tracing


class _Capture(SpanProcessor):
    """Hands finished spans to the exporter while the capture lasts; a provider cannot drop a processor."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self.exporter = exporter
        self.active = True

    def on_end(self, span: ReadableSpan) -> None:
        if self.active:
            self.exporter.export((span,))


@contextmanager
def captured_spans() -> Iterator[InMemorySpanExporter]:
    """Every span finished meanwhile, in memory. A process has one provider (tests of several services
    share it), so a processor is added to it for the capture, not a provider swapped in."""
    provider = configure_tracing("tests", environ={})  # environ {}: nothing exported elsewhere
    capture = _Capture(InMemorySpanExporter())
    provider.add_span_processor(capture)
    try:
        yield capture.exporter
    finally:
        capture.active = False


def ancestors(span: ReadableSpan, spans: list[ReadableSpan]) -> list[ReadableSpan]:
    """The span's parent, its parent's parent, ... as far as the captured spans go."""
    by_id = {s.context.span_id: s for s in spans}
    chain: list[ReadableSpan] = []
    current = span
    while current.parent is not None and current.parent.span_id in by_id:
        current = by_id[current.parent.span_id]
        chain.append(current)
    return chain
