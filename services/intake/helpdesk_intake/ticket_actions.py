"""Actions on an existing ticket: agent replies and notes, status changes, customer follow-ups and
answers to an assignment, whoever asks (HTTP routes, Slack buttons, the email channel).

Each action reads the ticket from the read model, asks `ticket_rules` what it may do, and records
the resulting events through `TicketIntake.record` (acks=all, then the read model), in the order a
subscriber should see them: the message first, then the status change it caused.

The read model is eventually consistent, so two simultaneous status changes can both be judged
against the same status; one ticket's events stay in order on Kafka, and the later one wins.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.context import Context

from helpdesk_events import (
    AssignmentAnswer,
    AuthorKind,
    Channel,
    TicketAssignmentAnswered,
    TicketMessageAdded,
    TicketStatus,
    TicketStatusChanged,
)
from helpdesk_intake.intake import TicketIntake
from helpdesk_intake.read_model import TicketReadModel
from helpdesk_intake.ticket_rules import (
    StatusChange,
    after_agent_message,
    after_customer_message,
    ensure_answerable,
    status_change,
)
from helpdesk_intake.ticket_view import TicketView

tracer = trace.get_tracer("helpdesk_intake")

_MESSAGE_IDS = uuid.UUID("0b7e4d52-3c1a-4f4e-9a53-6f2d8c1e7b90")  # namespace of idempotent message ids
_EVENT_IDS = uuid.UUID("5f0c2a8e-91d4-4b6f-8e27-c3a9d1f4b652")  # namespace of the events they cause

CUSTOMER = "customer"  # `changed_by` of status changes a customer's message caused


class TicketNotFound(LookupError):
    """The read model knows no such ticket (HTTP 404)."""


class NotTheRequester(PermissionError):
    """Someone other than the ticket's requester wrote as the customer (HTTP 403)."""


@dataclass(frozen=True)
class MessageRecorded:
    ticket_id: str
    message_id: str
    status: TicketStatus


@dataclass(frozen=True)
class StatusRecorded:
    ticket_id: str
    status: TicketStatus
    changed: bool


def message_id_for(ticket_id: str, idempotency_key: str | None) -> str:
    """A fresh id, or, with the client's Idempotency-Key, the same id for every retry of one message."""
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_MESSAGE_IDS, f"{ticket_id}\n{idempotency_key}"))


def caused_event_id(message_id: str, what: str) -> uuid.UUID:
    """Events a message causes carry ids derived from it, so re-sending them is recognisably a replay."""
    return uuid.uuid5(_EVENT_IDS, f"{message_id}\n{what}")


class TicketActions:
    def __init__(self, read_model: TicketReadModel, intake: TicketIntake) -> None:
        self._read_model = read_model
        self._intake = intake

    async def agent_message(
        self,
        ticket_id: str,
        *,
        agent_id: str,
        body: str,
        public: bool,
        idempotency_key: str | None = None,
        trace_context: Context | None = None,
    ) -> MessageRecorded:
        """A public reply (which opens a new ticket) or an internal note (`public=False`)."""
        with self._span("agent message", ticket_id, trace_context):
            ticket = await self._ticket(ticket_id)
            change = after_agent_message(ticket.status, public=public)
            message = TicketMessageAdded(
                message_id=message_id_for(ticket_id, idempotency_key),
                author_kind=AuthorKind.AGENT,
                author_id=agent_id,
                channel=Channel.API,
                body=body,
                public=public,
            )
            return await self._record_message(ticket, message, change, changed_by=agent_id)

    async def customer_message(
        self,
        ticket_id: str,
        *,
        requester_email: str,
        body: str,
        channel: Channel = Channel.WEB,
        idempotency_key: str | None = None,
        trace_context: Context | None = None,
    ) -> MessageRecorded:
        """A follow-up from the ticket's requester, from any channel; reopens a solved or pending ticket."""
        with self._span("customer message", ticket_id, trace_context):
            ticket = await self._ticket(ticket_id)
            if requester_email.casefold() != ticket.requester.email.casefold():
                raise NotTheRequester("only the ticket's requester can add customer messages to it")
            change = after_customer_message(ticket.status)
            message = TicketMessageAdded(
                message_id=message_id_for(ticket_id, idempotency_key),
                author_kind=AuthorKind.CUSTOMER,
                author_id=ticket.requester.email,
                channel=channel,
                body=body,
                public=True,
            )
            return await self._record_message(ticket, message, change, changed_by=CUSTOMER)

    async def change_status(
        self,
        ticket_id: str,
        target: TicketStatus,
        *,
        changed_by: str,
        timeout: float | None = None,
        trace_context: Context | None = None,
    ) -> StatusRecorded:
        """Move the ticket to `target`; asking for the status it already has changes nothing."""
        return await self.change_status_by_rule(
            ticket_id, lambda current: status_change(current, target), changed_by=changed_by,
            timeout=timeout, trace_context=trace_context,
        )  # fmt: skip

    async def change_status_by_rule(
        self,
        ticket_id: str,
        rule: Callable[[TicketStatus], StatusChange | None],
        *,
        changed_by: str,
        event_id: uuid.UUID | None = None,
        timeout: float | None = None,
        trace_context: Context | None = None,
    ) -> StatusRecorded:
        """A status change that `rule` decides from the ticket's current status, None changing nothing
        (an agent's target, or a feedback follow-up's reopening). `event_id` derived from an asking
        event makes a redelivery of it the same `ticket.status_changed`, not a second one."""
        with self._span("change status", ticket_id, trace_context):
            ticket = await self._ticket(ticket_id)
            change = rule(ticket.status)
            if change is None:
                return StatusRecorded(ticket_id, ticket.status, changed=False)
            await self._record_status(ticket_id, change, changed_by=changed_by, event_id=event_id, timeout=timeout)
            return StatusRecorded(ticket_id, change.to_status, changed=True)

    async def answer_assignment(
        self,
        ticket_id: str,
        answer: AssignmentAnswer,
        *,
        channel: str,
        slack_user_id: str | None = None,
        agent_id: str | None = None,
        answer_id: str | None = None,
        timeout: float | None = None,
        trace_context: Context | None = None,
    ) -> None:
        """The assignee's answer to being given the ticket (409 from anyone else); the router acts on it.

        `answer_id` names this one answer (a Slack press's action_ts): a retried delivery of the same
        answer carries the same event id.
        """
        with self._span("answer assignment", ticket_id, trace_context):
            ticket = await self._ticket(ticket_id)
            ensure_answerable(ticket.status, ticket.assignee_id, agent_id)
            event_id = (
                uuid.uuid5(_EVENT_IDS, f"{ticket_id}\n{channel}\n{agent_id}\n{slack_user_id}\n{answer_id}")
                if answer_id is not None
                else None
            )
            payload = TicketAssignmentAnswered(
                answer=answer, agent_id=agent_id, slack_user_id=slack_user_id, channel=channel
            )
            await self._intake.record(payload, ticket_id=ticket_id, event_id=event_id, timeout=timeout)

    async def assignee_on_slack(self, ticket_id: str, slack_user_id: str) -> str | None:
        """The id of the ticket's agent if this Slack user is that agent (known from `ticket.assigned`,
        which carries both): intake names agents by events alone, without the router's roster."""
        return await self._read_model.assignee_with_slack_user(ticket_id, slack_user_id)

    async def _ticket(self, ticket_id: str) -> TicketView:
        ticket = await self._read_model.get(ticket_id)
        if ticket is None:
            raise TicketNotFound(f"no ticket with id {ticket_id!r}")
        return ticket

    async def _record_message(
        self,
        ticket: TicketView,
        message: TicketMessageAdded,
        change: StatusChange | None,
        *,
        changed_by: str,
    ) -> MessageRecorded:
        # A retry with the same Idempotency-Key after the message was recorded does not send it
        # again; the status change still follows if the first attempt failed before it.
        if message.message_id not in {m.message_id for m in ticket.messages}:
            await self._intake.record(
                message, ticket_id=ticket.ticket_id, event_id=caused_event_id(message.message_id, "message")
            )
        if change is None:
            return MessageRecorded(ticket.ticket_id, message.message_id, ticket.status)
        await self._record_status(
            ticket.ticket_id,
            change,
            changed_by=changed_by,
            event_id=caused_event_id(message.message_id, f"status {change.to_status.value}"),
        )
        return MessageRecorded(ticket.ticket_id, message.message_id, change.to_status)

    async def _record_status(
        self,
        ticket_id: str,
        change: StatusChange,
        *,
        changed_by: str,
        event_id: uuid.UUID | None = None,
        timeout: float | None = None,
    ) -> None:
        payload = TicketStatusChanged(
            from_status=change.from_status, to_status=change.to_status, changed_by=changed_by
        )
        await self._intake.record(payload, ticket_id=ticket_id, event_id=event_id, timeout=timeout)

    @contextmanager
    def _span(self, name: str, ticket_id: str, trace_context: Context | None) -> Iterator[None]:
        with tracer.start_as_current_span(
            name,
            context=trace_context,
            kind=trace.SpanKind.SERVER,
            attributes={"helpdesk.ticket_id": ticket_id},
        ):
            yield
