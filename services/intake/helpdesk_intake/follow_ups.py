"""Customer follow-ups on the web/API channel: a new message on the customer's existing ticket."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, status
from opentelemetry import propagate
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from helpdesk_intake.action_http import ACTION_FAILURES, TicketActionsDep, action_failures, failure
from helpdesk_intake.agent_actions import IdempotencyKey, MessageAccepted
from helpdesk_intake.api import require_json
from helpdesk_intake.message_body import MessageBody


class FollowUp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: MessageBody = Field(examples=["It is still smoking."])
    requester_email: EmailStr = Field(
        description="Must be the ticket's requester.", examples=["ada@example.com"]
    )


router = APIRouter(prefix="/v1/tickets", tags=["tickets"], dependencies=[Depends(require_json)])


@router.post(
    "/{ticket_id}/messages",
    operation_id="add_customer_message",
    status_code=status.HTTP_201_CREATED,
    responses={
        201: {"description": "Kafka holds the ticket.message_added (and the reopening, if any)."},
        403: failure("The email is not the ticket's requester."),
        415: failure("The body is not JSON."),
        **ACTION_FAILURES,
    },
)
async def add_customer_message(
    ticket_id: str,
    follow_up: FollowUp,
    actions: TicketActionsDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> MessageAccepted:
    """The requester writes again on the `web` channel (`ticket.message_added`, author customer).

    A message on a solved ticket reopens it, and one on a pending ticket (waiting for the customer)
    makes it open again: `ticket.status_changed` to open with `changed_by` "customer", after the
    message. A closed ticket takes no more messages (409): open a new ticket.
    The email only checks that the writer is the requester; proving who they are is the web
    front end's job (its session), not this API's.
    """
    with action_failures("message"):
        recorded = await actions.customer_message(
            ticket_id,
            requester_email=str(follow_up.requester_email),
            body=follow_up.body,
            idempotency_key=idempotency_key,
            trace_context=propagate.extract(request.headers),
        )
    return MessageAccepted(ticket_id=ticket_id, message_id=recorded.message_id, status=recorded.status)
