"""Handlers of the tickets stream: turn an event into a call on the triage and the desk.

The dispatcher has already decoded and validated the envelope; decisions are the domain's.
"""

from __future__ import annotations

from helpdesk_events import Envelope, EventPayload, TicketCreated, TicketStatusChanged
from helpdesk_events.consumer import DeadLetter, Handler
from helpdesk_router.assignment import CLOSING_STATUSES, Ticket
from helpdesk_router.desk import AssignmentDesk
from helpdesk_router.triage_service import TicketTriage


def _ticket_id(envelope: Envelope) -> str:
    if not envelope.ticket_id:
        raise DeadLetter(f"{envelope.type} {envelope.id} has no ticket_id")
    return envelope.ticket_id


def ticket_handlers(desk: AssignmentDesk, triage: TicketTriage) -> dict[type[EventPayload], Handler]:
    """The router's handlers of the tickets stream."""

    async def on_ticket_created(envelope: Envelope[TicketCreated]) -> None:
        # Triage is told before the assignment, and assignment uses its priority, skills and team.
        ticket_id = _ticket_id(envelope)
        decision = await triage.triage(ticket_id, envelope.payload)
        await desk.ticket_created(
            Ticket(
                ticket_id=ticket_id,
                priority=decision.priority,
                required_skills=frozenset(decision.required_skills),
                team=decision.team,
            )
        )

    async def on_ticket_status_changed(envelope: Envelope[TicketStatusChanged]) -> None:
        if envelope.payload.to_status in CLOSING_STATUSES:
            await desk.ticket_closed(_ticket_id(envelope))

    return {TicketCreated: on_ticket_created, TicketStatusChanged: on_ticket_status_changed}
