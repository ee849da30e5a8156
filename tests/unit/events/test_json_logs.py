"""The JSON log formatter: one object per line, with the trace, span and ticket a line is about."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime

from opentelemetry.sdk.trace import TracerProvider

from helpdesk_events import Envelope, TicketCreated, encode, new_envelope
from helpdesk_events.consumer import ConsumedRecord, EventDispatcher
from helpdesk_events.logs import JsonLogFormatter, LogSettings, log_formatter, ticket_context
from tests.support.samples import sample_payloads
from tests.unit.events.span_capture import captured_spans


def record(message: str, *args: object, exc_info: object = None, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("helpdesk_router.desk", level, __file__, 42, message, args, exc_info)  # type: ignore[arg-type]


def formatted(rec: logging.LogRecord, service: str = "router") -> dict:
    line = JsonLogFormatter(service).format(rec)
    assert "\n" not in line  # one record, one line, whatever the message holds
    return json.loads(line)


def test_a_line_outside_any_span_or_ticket_has_the_base_fields_only() -> None:
    entry = formatted(record("assigned %s to %s", "T-1", "ada"))
    assert set(entry) == {"time", "level", "service", "logger", "message"}
    assert entry["level"] == "INFO" and entry["service"] == "router" and entry["logger"] == "helpdesk_router.desk"
    assert entry["message"] == "assigned T-1 to ada"
    assert entry["time"].endswith("Z") and datetime.fromisoformat(entry["time"]).utcoffset().total_seconds() == 0


def test_inside_a_span_and_a_ticket_the_line_carries_their_ids() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("handle ticket.created") as span, ticket_context("T-42"):
        entry = formatted(record("triaged"))
    context = span.get_span_context()
    assert entry["trace_id"] == format(context.trace_id, "032x")
    assert entry["span_id"] == format(context.span_id, "016x")
    assert entry["ticket_id"] == "T-42"


def test_the_ticket_context_ends_with_its_block_and_nests() -> None:
    with ticket_context("T-1"):
        with ticket_context(None):
            assert "ticket_id" not in formatted(record("between tickets"))
        assert formatted(record("back"))["ticket_id"] == "T-1"
    assert "ticket_id" not in formatted(record("after"))


def test_exceptions_multiline_and_non_ascii_messages_stay_in_one_object() -> None:
    try:
        raise RuntimeError("Mongo went away")
    except RuntimeError:
        rec = record("could not save\nticket for %s", "Zoë", exc_info=sys.exc_info(), level=logging.ERROR)
    entry = formatted(rec)
    assert entry["level"] == "ERROR"
    assert entry["message"] == "could not save\nticket for Zoë"
    assert "RuntimeError: Mongo went away" in entry["exception"] and "Traceback" in entry["exception"]


def test_values_json_cannot_write_are_written_as_text() -> None:
    class Agent:
        def __str__(self) -> str:
            return "agent ada"

    assert formatted(record("%s", Agent()))["message"] == "agent ada"


def test_log_format_is_json_unless_text_is_asked_for(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    assert LogSettings().log_format == "json"
    monkeypatch.setenv("LOG_FORMAT", "text")
    assert LogSettings().log_format == "text"
    assert isinstance(log_formatter("sla", "json"), JsonLogFormatter)
    text = log_formatter("sla", "text").format(record("tick"))
    assert text.endswith("INFO sla helpdesk_router.desk: tick")


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonLogFormatter("router"))
        self.entries: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.entries.append(json.loads(self.format(record)))


async def test_a_handler_s_lines_name_its_ticket_and_continue_the_producer_s_trace() -> None:
    producer_trace, producer_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    value = encode(new_envelope(sample_payloads()[0], source="intake", ticket_id="T-9"))
    consumed = ConsumedRecord(
        topic="p.tickets", partition=0, offset=3, key=b"T-9", value=value,
        headers=(("traceparent", f"00-{producer_trace}-{producer_span}-01".encode()),),
    )  # fmt: skip
    logger = logging.getLogger(f"test.handler.{producer_span}")
    lines = Lines()
    logger.addHandler(lines)
    logger.setLevel(logging.INFO)

    async def handle(envelope: Envelope) -> None:
        logger.info("triaging %s", envelope.ticket_id)

    dispatcher = EventDispatcher(
        service="router", group_id="g", handlers={TicketCreated: handle}, dead_letters=None,  # type: ignore[arg-type]
        dead_letter_topic="p.deadletter",
    )  # fmt: skip
    try:
        with captured_spans():  # an SDK provider, so the consumer span is a real one
            await dispatcher.dispatch(consumed)
        logger.info("after the event")
    finally:
        logger.removeHandler(lines)

    during, after = lines.entries
    assert during["message"] == "triaging T-9" and during["ticket_id"] == "T-9"
    assert during["trace_id"] == producer_trace and during["span_id"] != producer_span  # the consumer's own span
    assert "ticket_id" not in after and "trace_id" not in after
