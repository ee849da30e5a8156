"""Prometheus metrics of the event helpers, shared by every service.

Metric objects are process-wide by design of prometheus-client; labels carry the
service so one registry can serve a test process running several services.
"""

import contextlib

from prometheus_client import Counter, Gauge, Histogram

EVENTS_PRODUCED = Counter(
    "helpdesk_events_produced_total",
    "Events acknowledged by Kafka, by topic and type.",
    ["service", "topic", "type"],
)
PRODUCE_ERRORS = Counter(
    "helpdesk_events_produce_errors_total",
    "Events Kafka did not acknowledge.",
    ["service", "topic", "type"],
)
PRODUCE_SECONDS = Histogram(
    "helpdesk_event_produce_seconds",
    "Time from send to Kafka's acknowledgement (acks=all).",
    ["service", "topic"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENTS_CONSUMED = Counter(
    "helpdesk_events_consumed_total",
    "Records consumed, by outcome: handled, skipped (no handler), duplicate, dead_lettered.",
    ["service", "topic", "type", "outcome"],
)
HANDLE_SECONDS = Histogram(
    "helpdesk_event_handle_seconds",
    "Time a handler took to process one event.",
    ["service", "type"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
HANDLER_RETRIES = Counter(
    "helpdesk_event_handler_retries_total",
    "Handler attempts that failed and were retried.",
    ["service", "type"],
)
DEAD_LETTERED = Counter(
    "helpdesk_events_dead_lettered_total",
    "Records sent to the dead-letter topic, by reason.",
    ["service", "topic", "reason"],
)
CONSUMER_LAG = Gauge(
    "helpdesk_consumer_lag",
    "Records of a partition this service's consumer has not processed yet: the log end offset (highwater) "
    "minus the offset it is done up to (the first record of a batch still in hand, else the consumer's position; "
    "the router's committed offset, since faust fetches ahead). A partition not assigned here, or not fetched yet, has no series.",
    ["service", "topic", "partition"],
)
HTTP_REQUESTS = Counter(
    "helpdesk_http_requests_total",
    "HTTP requests answered, by route template (unmatched: no route) and status code.",
    ["service", "method", "route", "status"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "helpdesk_http_request_seconds",
    "Time from a request's arrival to the end of its answer, by route template.",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def partition_lag(highwater: int | None, position: int | None) -> int | None:
    """Records behind the log end (both offsets are of the *next* record); None while either is unknown.
    Never negative: the highwater comes with the last fetch and may trail a position seeked past it."""
    if highwater is None or position is None:
        return None
    return max(0, highwater - position)


class GaugeSeries:
    """The series of a report gauge, recomputed as a whole: a refresh sets the series given and drops
    those gone since the last one, so a team without figures today leaves no stale value behind; a
    figure without data (None) is no series at all."""

    def __init__(self, gauge: Gauge) -> None:
        self._gauge = gauge
        self._shown: set[tuple[str, ...]] = set()

    def show(self, values: dict[tuple[str, ...], float | None]) -> None:
        current = {labels for labels, value in values.items() if value is not None}
        for labels in self._shown - current:
            with contextlib.suppress(KeyError):  # already removed elsewhere
                self._gauge.remove(*labels)
        for labels in current:
            self._gauge.labels(*labels).set(values[labels])  # type: ignore[arg-type]
        self._shown = current
