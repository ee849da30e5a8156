"""Reopening a solved ticket when the feedback service asks (`feedback.follow_up_requested` with `reopen`).

Intake owns ticket state, so feedback only asks; the reopening is an ordinary `ticket.status_changed`
(solved -> open, `changed_by` "feedback") recorded through `TicketActions` like an agent's, so the
ticket rules and `TicketIntake.record` (acks=all, then the read model) apply to it too.

The decision is pure; `FeedbackReopener` is the consumer's handler around it.
"""

from __future__ import annotations

import logging
import uuid

from helpdesk_events import Envelope, FeedbackFollowUpRequested, TicketStatus
from helpdesk_events.consumer import Handler, ticket_id_of
from helpdesk_events.envelope import EventPayload
from helpdesk_intake.handlers import TicketNotYetProjected
from helpdesk_intake.ticket_actions import TicketActions, TicketNotFound
from helpdesk_intake.ticket_rules import StatusChange, status_change

log = logging.getLogger(__name__)

FEEDBACK = "feedback"  # `changed_by` of the reopenings feedback asks for

_REOPEN_EVENT_IDS = uuid.UUID("efce09c0-648c-4d53-a362-0cf8cf0532aa")  # namespace of their event ids


def reopening_after_feedback(current: TicketStatus) -> StatusChange | None:
    """Only a solved ticket reopens. A closed one is final; any other status means the ticket is
    still being worked on, so an agent already has it and reopening would say nothing new."""
    if current != TicketStatus.SOLVED:
        return None
    return status_change(current, TicketStatus.OPEN)  # the lifecycle's own rules, not a shortcut


def why_left_alone(current: TicketStatus) -> str:
    """For the log: why a follow-up asking to reopen changed nothing."""
    if current == TicketStatus.CLOSED:
        return "it is closed, and a closed ticket is final"
    return f"it is {current.value}, not solved"


def reopen_event_id(follow_up_id: uuid.UUID) -> uuid.UUID:
    """One reopening per follow-up: a redelivered follow-up names the same `ticket.status_changed`."""
    return uuid.uuid5(_REOPEN_EVENT_IDS, str(follow_up_id))


class FeedbackReopener:
    def __init__(self, actions: TicketActions) -> None:
        self._actions = actions

    def handlers(self) -> dict[type[EventPayload], Handler]:
        return {FeedbackFollowUpRequested: self.on_follow_up_requested}

    async def on_follow_up_requested(self, envelope: Envelope[FeedbackFollowUpRequested]) -> None:
        payload = envelope.payload
        if not payload.reopen:
            return  # the team lead is told (by the notifier); the ticket stays as it is
        ticket_id = ticket_id_of(envelope)  # none named: dead-lettered, nothing to reopen
        try:
            recorded = await self._actions.change_status_by_rule(
                ticket_id,
                reopening_after_feedback,
                changed_by=FEEDBACK,
                event_id=reopen_event_id(envelope.id),
            )
        except TicketNotFound as error:
            # The feedback topic is read beside the tickets topic with no order between them, as the
            # sla topic is: retried with backoff, then dead-lettered, like an early SLA clock event.
            log.warning(
                "follow-up %s asks to reopen ticket %s, which the read model does not have (yet)",
                envelope.id,
                ticket_id,
            )
            raise TicketNotYetProjected(
                f"{envelope.type} for ticket {ticket_id}, not in the read model yet"
            ) from error
        if recorded.changed:
            log.info(
                "ticket %s reopened after follow-up %s (survey %s)", ticket_id, envelope.id, payload.survey_id
            )
        else:
            log.info(
                "follow-up %s leaves ticket %s alone: %s",
                envelope.id,
                ticket_id,
                why_left_alone(recorded.status),
            )
