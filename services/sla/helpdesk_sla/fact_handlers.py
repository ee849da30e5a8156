"""Ticket and SLA events in, report facts out: the consumer side of the response-time reports.

Each handler turns one envelope into a pure change of the ticket's facts (ticket_facts.py) and
hands it to the store with the event's id, so a redelivered event changes nothing. The service
calls these beside the desk's handlers for the same events (tickets topic) and for sla.breached /
sla.met (SLA topic).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from helpdesk_events import (
    Envelope,
    SlaBreached,
    SlaMet,
    TicketAssigned,
    TicketCreated,
    TicketMessageAdded,
    TicketPriorityChanged,
    TicketStatusChanged,
    TicketTriaged,
)
from helpdesk_events.consumer import ticket_id_of
from helpdesk_sla import ticket_facts as facts
from helpdesk_sla.ticket_facts import TicketFacts


class FactsStore(Protocol):
    async def apply(
        self, ticket_id: str, event_id: str, change: Callable[[TicketFacts | None], TicketFacts | None]
    ) -> TicketFacts | None: ...


class FactsRecorder:
    def __init__(self, store: FactsStore) -> None:
        self._store = store

    async def _record(self, envelope: Envelope, change: Callable[[TicketFacts | None], TicketFacts]) -> None:
        await self._store.apply(ticket_id_of(envelope), str(envelope.id), change)

    async def on_ticket_created(self, envelope: Envelope[TicketCreated]) -> None:
        created, ticket_id = envelope.payload, ticket_id_of(envelope)
        await self._record(envelope, lambda known: facts.ticket_created(
            known, ticket_id=ticket_id, at=envelope.occurred_at, channel=created.channel,
            priority=created.priority,
        ))  # fmt: skip

    async def on_ticket_triaged(self, envelope: Envelope[TicketTriaged]) -> None:
        triaged, ticket_id = envelope.payload, ticket_id_of(envelope)
        await self._record(envelope, lambda known: facts.ticket_triaged(
            known, ticket_id=ticket_id, priority=triaged.priority, team=triaged.team,
        ))  # fmt: skip

    async def on_priority_changed(self, envelope: Envelope[TicketPriorityChanged]) -> None:
        change, ticket_id = envelope.payload, ticket_id_of(envelope)
        await self._record(envelope, lambda known: facts.ticket_triaged(
            known, ticket_id=ticket_id, priority=change.to_priority,
        ))  # fmt: skip

    async def on_ticket_assigned(self, envelope: Envelope[TicketAssigned]) -> None:
        assigned, ticket_id = envelope.payload, ticket_id_of(envelope)
        await self._record(envelope, lambda known: facts.ticket_assigned(
            known, ticket_id=ticket_id, agent_id=assigned.agent_id, team=assigned.team,
        ))  # fmt: skip

    async def on_message_added(self, envelope: Envelope[TicketMessageAdded]) -> None:
        message, ticket_id = envelope.payload, ticket_id_of(envelope)
        await self._record(envelope, lambda known: facts.message_added(
            known, ticket_id=ticket_id, author_kind=message.author_kind, public=message.public,
            at=envelope.occurred_at,
        ))  # fmt: skip

    async def on_status_changed(self, envelope: Envelope[TicketStatusChanged]) -> None:
        change, ticket_id = envelope.payload, ticket_id_of(envelope)
        await self._record(envelope, lambda known: facts.status_changed(
            known, ticket_id=ticket_id, to_status=change.to_status, at=envelope.occurred_at,
        ))  # fmt: skip

    async def on_sla_breached(self, envelope: Envelope[SlaBreached]) -> None:
        breached, ticket_id = envelope.payload, ticket_id_of(envelope)
        await self._record(envelope, lambda known: facts.sla_breached(
            known, ticket_id=ticket_id, metric=breached.metric,
        ))  # fmt: skip

    async def on_sla_met(self, envelope: Envelope[SlaMet]) -> None:
        met, ticket_id = envelope.payload, ticket_id_of(envelope)
        await self._record(envelope, lambda known: facts.sla_met(
            known, ticket_id=ticket_id, metric=met.metric, within_target=met.within_target,
        ))  # fmt: skip
