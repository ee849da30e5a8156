"""Structured logs: one JSON object per line, carrying the trace, span and ticket a line is about.

The ticket id lives in a context variable: the event consumer sets it around each handler (the
envelope's `ticket_id`) and the HTTP middleware for routes with a `{ticket_id}` parameter, so every
line logged while working on a ticket names it without each call site passing it along.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from helpdesk_events.tracing import current_ids

TICKET_ID: ContextVar[str | None] = ContextVar("helpdesk_ticket_id", default=None)

LogFormat = Literal["json", "text"]


class LogSettings(BaseSettings):
    """`LOG_FORMAT`: json (default: what log pipelines parse) or text (one readable line, for a terminal)."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    log_format: LogFormat = "json"


@contextmanager
def ticket_context(ticket_id: str | None) -> Iterator[None]:
    """Log lines within name `ticket_id` (None: none, even inside another ticket's context)."""
    token = TICKET_ID.set(ticket_id)
    try:
        yield
    finally:
        TICKET_ID.reset(token)


class JsonLogFormatter(logging.Formatter):
    """`time` (UTC, ISO 8601, milliseconds), `level`, `service`, `logger`, `message`; `trace_id` and
    `span_id` inside a span, `ticket_id` when known; `exception` and `stack` when the record has them."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"
            ),
            "level": record.levelname,
            "service": self._service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        ids = current_ids()
        if ids is not None:
            entry["trace_id"], entry["span_id"] = ids
        ticket_id = TICKET_ID.get()
        if ticket_id:
            entry["ticket_id"] = ticket_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # ensure_ascii off: customers' names and subjects stay readable; default=str: never fail a line.
        return json.dumps(entry, ensure_ascii=False, default=str)


def text_formatter(service: str) -> logging.Formatter:
    return logging.Formatter(f"%(asctime)s %(levelname)s {service} %(name)s: %(message)s")


def log_formatter(service: str, log_format: LogFormat) -> logging.Formatter:
    return JsonLogFormatter(service) if log_format == "json" else text_formatter(service)
