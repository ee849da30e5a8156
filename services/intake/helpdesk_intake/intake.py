"""Opening a ticket from the web form: the ticket exists once Kafka has acknowledged `ticket.created`."""

from __future__ import annotations

import asyncio
import logging
import uuid

from opentelemetry import trace
from opentelemetry.context import Context

from helpdesk_events.publisher import EventPublisher
from helpdesk_intake.handlers import ReadModelProjector
from helpdesk_intake.web_form import NewTicketForm, new_message_id, new_ticket_id, ticket_created

log = logging.getLogger(__name__)
tracer = trace.get_tracer("helpdesk_intake")

_CREATED_EVENT_IDS = uuid.UUID("6c1d1f0e-4a59-4c38-9d4e-2f7b1f2f8a11")  # namespace of ticket.created ids


class TicketNotRecorded(Exception):
    """Kafka did not acknowledge `ticket.created` in time: the ticket must not be reported as created."""


def created_event_id(ticket_id: str) -> uuid.UUID:
    """One `ticket.created` per ticket: a re-publish of the same ticket carries the same event id."""
    return uuid.uuid5(_CREATED_EVENT_IDS, ticket_id)


class TicketIntake:
    def __init__(
        self, publisher: EventPublisher, projector: ReadModelProjector, publish_timeout: float
    ) -> None:
        self._publisher = publisher
        self._projector = projector
        self._publish_timeout = publish_timeout

    async def open_web_ticket(self, form: NewTicketForm, trace_context: Context | None = None) -> str:
        """Publish the ticket and wait for acks=all; returns its id, or raises TicketNotRecorded.

        `trace_context` is the caller's (from its traceparent), so the ticket's journey joins its trace.
        """
        ticket_id = new_ticket_id()
        with tracer.start_as_current_span(
            "open web ticket",
            context=trace_context,
            kind=trace.SpanKind.SERVER,
            attributes={"helpdesk.ticket_id": ticket_id},
        ):
            await self._record(ticket_id, form)
        return ticket_id

    async def _record(self, ticket_id: str, form: NewTicketForm) -> None:
        payload = ticket_created(form, message_id=new_message_id())
        try:
            envelope = await asyncio.wait_for(
                self._publisher.emit(payload, ticket_id=ticket_id, event_id=created_event_id(ticket_id)),
                self._publish_timeout,
            )
        except TimeoutError as error:
            log.error(
                "Kafka did not acknowledge ticket.created of %s within %s s", ticket_id, self._publish_timeout
            )
            raise TicketNotRecorded(
                f"Kafka did not acknowledge within {self._publish_timeout:g} s"
            ) from error
        except Exception as error:
            log.error("Kafka refused ticket.created of %s: %r", ticket_id, error)
            raise TicketNotRecorded("Kafka is unavailable") from error

        # Read-your-writes: the requester's next GET should find the ticket without waiting for our
        # consumer. The consumer applies the same event again later, harmlessly.
        try:
            await self._projector.on_ticket_event(envelope)
        except Exception:
            log.warning(
                "read model not updated for new ticket %s; the consumer will catch up",
                ticket_id,
                exc_info=True,
            )
