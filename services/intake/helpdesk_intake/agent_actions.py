"""Agent actions over HTTP: replies and internal notes, status changes, answers to an assignment.

Thin: each route parses its body and hands it to `TicketActions`, which Slack buttons use too.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Request, status
from opentelemetry import propagate
from pydantic import BaseModel, ConfigDict, Field

from helpdesk_events import AssignmentAnswer, TicketStatus
from helpdesk_intake.action_http import ACTION_FAILURES, TicketActionsDep, action_failures, failure
from helpdesk_intake.api import require_json
from helpdesk_intake.message_body import MessageBody

MAX_KEY_CHARS = 255

AgentId = Annotated[str, Field(min_length=1, max_length=256, examples=["A-7"])]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=MAX_KEY_CHARS,
        description=(
            "The same key on a retry adds the message once: its message id derives from the key. If the"
            " read model already has that message nothing is sent again; otherwise the same event (same"
            " event id and message id) goes to Kafka again and subscribers drop the repeat."
        ),
    ),
]


class AgentReply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: AgentId
    body: MessageBody = Field(examples=["The new toner is on its way."])
    public: bool = Field(
        default=True, description="False for an internal note, which the customer never sees."
    )


class MessageAccepted(BaseModel):
    ticket_id: str
    message_id: str
    status: TicketStatus = Field(description="The ticket's status after the message.")


class StatusRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["open", "pending", "on_hold", "solved", "closed"]
    agent_id: AgentId


class StatusAnswer(BaseModel):
    ticket_id: str
    status: TicketStatus
    changed: bool = Field(description="False when the ticket already had that status: no event was emitted.")


router = APIRouter(prefix="/v1/tickets", tags=["agent actions"], dependencies=[Depends(require_json)])


@router.post(
    "/{ticket_id}/replies",
    operation_id="add_agent_reply",
    status_code=status.HTTP_201_CREATED,
    responses={
        201: {"description": "Kafka holds the ticket.message_added (and any status change it caused)."},
        415: failure("The body is not JSON."),
        **ACTION_FAILURES,
    },
)
async def add_agent_reply(
    ticket_id: str,
    reply: AgentReply,
    actions: TicketActionsDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> MessageAccepted:
    """An agent's public reply or internal note (`public: false`), as `ticket.message_added` on
    the `api` channel.

    As in Zendesk, the first public reply on a `new` ticket also opens it (`ticket.status_changed`
    new to open, `changed_by` the agent); a note leaves the status alone. A closed ticket takes
    neither (409).
    """
    with action_failures("reply"):
        recorded = await actions.agent_message(
            ticket_id,
            agent_id=reply.agent_id,
            body=reply.body,
            public=reply.public,
            idempotency_key=idempotency_key,
            trace_context=propagate.extract(request.headers),
        )
    return MessageAccepted(ticket_id=ticket_id, message_id=recorded.message_id, status=recorded.status)


@router.post(
    "/{ticket_id}/status",
    operation_id="change_ticket_status",
    responses={
        200: {"description": "Kafka holds the ticket.status_changed, or the ticket already had that status."},
        415: failure("The body is not JSON."),
        **ACTION_FAILURES,
    },
)
async def change_ticket_status(
    ticket_id: str, change: StatusRequest, actions: TicketActionsDep, request: Request
) -> StatusAnswer:
    """Move a ticket to another status, as `ticket.status_changed` (from the read model's status).

    Allowed: any status but `new` to open, pending, on_hold or solved; solved to open (reopen) or
    closed. Refused with 409: anything on a closed ticket (closed is final), back to new, and
    closing a ticket that is not solved. Asking for the status the ticket already has answers 200
    with `changed: false` and emits nothing, so a retried request is harmless.
    """
    with action_failures("status change"):
        recorded = await actions.change_status(
            ticket_id,
            TicketStatus(change.status),
            changed_by=change.agent_id,
            trace_context=propagate.extract(request.headers),
        )
    return StatusAnswer(ticket_id=ticket_id, status=recorded.status, changed=recorded.changed)


class AssignmentAnswerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: AgentId
    answer: AssignmentAnswer


class AssignmentAnswerAccepted(BaseModel):
    ticket_id: str
    answer: AssignmentAnswer


@router.post(
    "/{ticket_id}/assignment-answers",
    operation_id="answer_assignment",
    status_code=status.HTTP_201_CREATED,
    responses={
        201: {"description": "Kafka holds the ticket.assignment_answered."},
        415: failure("The body is not JSON."),
        **ACTION_FAILURES,
    },
)
async def answer_assignment(
    ticket_id: str,
    answer: AssignmentAnswerRequest,
    actions: TicketActionsDep,
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key", max_length=MAX_KEY_CHARS, description="A retry records the answer once."
        ),
    ] = None,
) -> AssignmentAnswerAccepted:
    """The assigned agent accepts the ticket, declines it, or asks for it to be reassigned
    (`ticket.assignment_answered`, channel `api`); the router acts on it. The Slack buttons do the
    same. Only the ticket's current assignee may answer (409 otherwise, or on a closed ticket).
    """
    with action_failures("answer"):
        await actions.answer_assignment(
            ticket_id,
            answer.answer,
            channel="api",
            agent_id=answer.agent_id,
            answer_id=idempotency_key,
            trace_context=propagate.extract(request.headers),
        )
    return AssignmentAnswerAccepted(ticket_id=ticket_id, answer=answer.answer)
