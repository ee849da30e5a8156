"""Event handlers of intake: every ticket event and every SLA clock event updates the ticket read model."""

from __future__ import annotations

from helpdesk_events import Envelope, EventPayload, TicketCreated
from helpdesk_events.consumer import DeadLetter, Handler
from helpdesk_intake.customers import CustomerDirectory
from helpdesk_intake.projection import PROJECTIONS, SLA_STATES, UnprojectableEvent, project
from helpdesk_intake.read_model import TicketReadModel


class TicketNotYetProjected(LookupError):
    """An SLA clock event (or a feedback follow-up) for a ticket the read model does not have yet:
    worth retrying.

    The sla and feedback topics are read beside the tickets topic with no order between them, so a
    clock can arrive before its `ticket.created` is applied. The consumer retries it with backoff, then
    dead-letters it if the ticket still is not there.
    """


class ReadModelProjector:
    """Applies ticket events to the read model, idempotently, whoever delivers them (consumer or POST)."""

    def __init__(self, read_model: TicketReadModel, customers: CustomerDirectory | None = None) -> None:
        self._read_model = read_model
        self._customers = customers

    def handlers(self) -> dict[type[EventPayload], Handler]:
        return {event_class: self.on_ticket_event for event_class in PROJECTIONS}

    async def on_ticket_event(self, envelope: Envelope) -> None:
        try:
            write = project(envelope)
        except UnprojectableEvent as error:
            raise DeadLetter(str(error)) from error
        applied = await self._read_model.apply(write)
        await self._count_ticket(envelope)
        if applied or write.upsert:
            return
        # Matching nothing is normal for a redelivery; for a ticket never created it is not, and
        # retrying cannot help: one partition keeps a ticket's events in order.
        if not await self._read_model.exists(write.ticket_id):
            if type(envelope.payload) in SLA_STATES:
                raise TicketNotYetProjected(
                    f"{envelope.type} for ticket {write.ticket_id}, not in the read model yet"
                )
            raise DeadLetter(
                f"{envelope.type} for ticket {write.ticket_id}, which the read model does not know"
            )

    async def _count_ticket(self, envelope: Envelope) -> None:
        """A new ticket counts for its customer, once (the count is guarded by the ticket id)."""
        payload = envelope.payload
        if self._customers is not None and isinstance(payload, TicketCreated) and payload.customer_id:
            await self._customers.count_ticket(payload.customer_id, envelope.ticket_id or "")
