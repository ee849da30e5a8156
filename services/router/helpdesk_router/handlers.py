"""Handlers of the tickets stream: turn an event into a call on the triage and the desk.

The dispatcher has already decoded and validated the envelope; decisions are the domain's.
"""

from __future__ import annotations

from helpdesk_events import (
    Envelope,
    EventPayload,
    TicketAssignmentAnswered,
    TicketCreated,
    TicketPriorityChanged,
    TicketStatusChanged,
)
from helpdesk_events.consumer import Handler, ticket_id_of
from helpdesk_router.assignment import CLOSING_STATUSES, Ticket
from helpdesk_router.desk import AssignmentDesk
from helpdesk_router.triage_service import TicketTriage


def ticket_handlers(desk: AssignmentDesk, triage: TicketTriage) -> dict[type[EventPayload], Handler]:
    """The router's handlers of the tickets stream."""

    async def on_ticket_created(envelope: Envelope[TicketCreated]) -> None:
        # Triage is told before the assignment, and assignment uses its priority, skills and team.
        ticket_id = ticket_id_of(envelope)
        decision, first_triage = await triage.triage(ticket_id, envelope.payload)
        await desk.ticket_created(
            Ticket(
                ticket_id=ticket_id,
                priority=decision.priority,
                required_skills=frozenset(decision.required_skills),
                team=decision.team,
                channel=envelope.payload.channel,
                arrived_at=envelope.occurred_at,
            ),
            first_seen=first_triage,
        )

    async def on_ticket_status_changed(envelope: Envelope[TicketStatusChanged]) -> None:
        if envelope.payload.to_status in CLOSING_STATUSES:
            await desk.ticket_closed(ticket_id_of(envelope))

    async def on_assignment_answered(envelope: Envelope[TicketAssignmentAnswered]) -> None:
        answer = envelope.payload
        await desk.assignment_answered(
            ticket_id_of(envelope), answer.answer, agent_id=answer.agent_id, slack_user_id=answer.slack_user_id
        )

    async def on_priority_changed(envelope: Envelope[TicketPriorityChanged]) -> None:
        await desk.priority_changed(ticket_id_of(envelope), envelope.payload.to_priority)

    return {
        TicketCreated: on_ticket_created,
        TicketPriorityChanged: on_priority_changed,
        TicketStatusChanged: on_ticket_status_changed,
        TicketAssignmentAnswered: on_assignment_answered,
    }
