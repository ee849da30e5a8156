"""Opening a ticket from the web form: the ticket exists once Kafka has acknowledged `ticket.created`."""

from __future__ import annotations

import asyncio
import logging
import uuid

from opentelemetry import trace
from opentelemetry.context import Context
from prometheus_client import Counter

from helpdesk_events import Envelope, EventPayload, TicketCreated
from helpdesk_events.publisher import EventPublisher
from helpdesk_intake.customers import CustomerDirectory
from helpdesk_intake.handlers import ReadModelProjector
from helpdesk_intake.identity import email_identity
from helpdesk_intake.web_form import NewTicketForm, new_message_id, new_ticket_id, ticket_created

log = logging.getLogger(__name__)
tracer = trace.get_tracer("helpdesk_intake")

_CREATED_EVENT_IDS = uuid.UUID("6c1d1f0e-4a59-4c38-9d4e-2f7b1f2f8a11")  # namespace of ticket.created ids

TICKETS_CREATED = Counter(
    "helpdesk_intake_tickets_created_total", "Tickets opened (ticket.created acknowledged by Kafka), by channel.",
    ["channel"],
)


class NotAcknowledged(Exception):
    """Kafka did not acknowledge an event in time: what it announces must not be reported as done."""


class TicketNotRecorded(NotAcknowledged):
    """Kafka did not acknowledge a ticket event in time."""


async def publish_acknowledged(
    publisher: EventPublisher,
    payload: EventPayload,
    *,
    timeout: float,
    error: type[NotAcknowledged] = NotAcknowledged,
    ticket_id: str | None = None,
    event_id: uuid.UUID | None = None,
) -> Envelope:
    """Publish and wait at most `timeout` seconds for acks=all; raise `error` otherwise."""
    key = ticket_id or payload.partition_key()
    try:
        return await asyncio.wait_for(publisher.emit(payload, ticket_id=ticket_id, event_id=event_id), timeout)
    except TimeoutError as cause:
        log.error("Kafka did not acknowledge %s of %s within %s s", payload.event_type, key, timeout)
        raise error(f"Kafka did not acknowledge within {timeout:g} s") from cause
    except Exception as cause:
        log.error("Kafka refused %s of %s: %r", payload.event_type, key, cause)
        raise error("Kafka is unavailable") from cause


def created_event_id(ticket_id: str) -> uuid.UUID:
    """One `ticket.created` per ticket: a re-publish of the same ticket carries the same event id."""
    return uuid.uuid5(_CREATED_EVENT_IDS, ticket_id)


class TicketIntake:
    def __init__(
        self,
        publisher: EventPublisher,
        projector: ReadModelProjector,
        publish_timeout: float,
        customers: CustomerDirectory | None = None,
    ) -> None:
        self._publisher = publisher
        self._projector = projector
        self._publish_timeout = publish_timeout
        # Every channel resolves its sender here before `ticket.created` (None: no customer records).
        self.customers = customers

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
            customer = (
                await self.customers.resolve(email_identity(str(form.requester.email)), form.requester.name)
                if self.customers is not None
                else None
            )
            payload = ticket_created(form, message_id=new_message_id(), customer=customer)
            await self.record(payload, ticket_id=ticket_id, event_id=created_event_id(ticket_id))
        return ticket_id

    async def record(
        self,
        payload: EventPayload,
        *,
        ticket_id: str,
        event_id: uuid.UUID | None = None,
        timeout: float | None = None,
    ) -> Envelope:
        """Publish one ticket event and wait for acks=all (at most `timeout`, default the service's
        publish timeout), then apply it to the read model; raises TicketNotRecorded otherwise.

        Every path that reports success to a caller (web form, agent actions, Slack, channels) goes
        through here, so a 2xx always means Kafka holds the event.
        """
        timeout = min(timeout, self._publish_timeout) if timeout is not None else self._publish_timeout
        event_type = payload.event_type
        envelope = await publish_acknowledged(
            self._publisher, payload, timeout=timeout, error=TicketNotRecorded, ticket_id=ticket_id, event_id=event_id
        )
        if isinstance(payload, TicketCreated):
            TICKETS_CREATED.labels(payload.channel.value).inc()

        # Read-your-writes: the caller's next GET should see the event without waiting for our
        # consumer. The consumer applies the same event again later, harmlessly.
        try:
            await self._projector.on_ticket_event(envelope)
        except Exception:
            log.warning(
                "read model not updated with %s of %s; the consumer will catch up",
                event_type,
                ticket_id,
                exc_info=True,
            )
        return envelope
