"""`POST /v1/channels/email/inbound`: a raw RFC 822 message in, the ticket it went to out.

For mail gateways that forward by HTTP (an inbound-parse webhook, a relay's pipe to curl). The
answer comes only after Kafka holds the mail's events.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel, Field
from pymongo.errors import PyMongoError

from helpdesk_intake.api import RETRY_AFTER_SECONDS, Problem
from helpdesk_intake.channels.email_intake import EmailIntake
from helpdesk_intake.channels.email_message import EmailParseError
from helpdesk_intake.intake import TicketNotRecorded

RFC822 = "message/rfc822"


def get_email_intake(request: Request) -> EmailIntake:
    return request.app.state.email_intake


EmailIntakeDep = Annotated[EmailIntake, Depends(get_email_intake)]


def require_rfc822(request: Request) -> None:
    content_type = request.headers.get("content-type")
    if (content_type or "").split(";")[0].strip().lower() != RFC822:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail=f"the body must be a raw email with Content-Type {RFC822}, not {content_type or 'none'}",
        )


class EmailReceived(BaseModel):
    outcome: Literal["created", "appended", "duplicate", "ignored"] = Field(
        description="created: a new ticket; appended: a follow-up on ticket_id; duplicate: this "
        "message was received before (same answer as then); ignored: an auto-reply, bounce or loop."
    )
    ticket_id: str | None = Field(
        default=None, description="The ticket the message went to; null when ignored."
    )
    reason: str | None = Field(default=None, description="Why the message was ignored.")


def _problem(description: str) -> dict:
    return {"model": Problem, "description": description}


router = APIRouter(prefix="/v1/channels/email", tags=["email"])

_STATUS = {
    "created": status.HTTP_201_CREATED,
    "appended": status.HTTP_200_OK,
    "duplicate": status.HTTP_200_OK,
    "ignored": status.HTTP_202_ACCEPTED,
}


@router.post(
    "/inbound",
    operation_id="receive_email",
    dependencies=[Depends(require_rfc822)],
    response_model_exclude_none=True,
    status_code=status.HTTP_201_CREATED,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {RFC822: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
    responses={
        200: {
            "model": EmailReceived,
            "description": "A follow-up was added to ticket_id, or a duplicate was recognised.",
        },
        201: {"description": "A new ticket; Kafka holds its ticket.created."},
        202: {
            "model": EmailReceived,
            "description": "Ignored (auto-reply, bounce, loop): recorded, no ticket, no answer.",
        },
        400: _problem("The body is not a usable email (no From, not a message)."),
        413: _problem("The body is larger than the limit."),
        415: _problem("The body is not message/rfc822."),
        503: _problem(
            "Kafka did not acknowledge, or a store is unavailable: retry after Retry-After seconds."
        ),
    },
)
async def receive_email(request: Request, email_intake: EmailIntakeDep, response: Response) -> EmailReceived:
    """Turn one raw email into a ticket or a follow-up (threaded by In-Reply-To/References or `[#ticket id]`)."""
    try:
        outcome = await email_intake.receive(await request.body())
    except EmailParseError as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=f"not a usable email: {error}") from error
    except (TicketNotRecorded, PyMongoError) as error:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"the email was not recorded ({error.__class__.__name__}: {error}); retry later",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from error
    response.status_code = _STATUS[outcome.outcome]
    return EmailReceived(outcome=outcome.outcome, ticket_id=outcome.ticket_id, reason=outcome.reason)
