"""`POST /v1/channels/email/inbound`: a raw RFC 822 message in, the ticket it went to out.

For mail gateways that forward by HTTP (an inbound-parse webhook, a relay's pipe to curl). The
answer comes only after Kafka holds the mail's events.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from helpdesk_intake.channels.email_intake import EmailIntake
from helpdesk_intake.channels.email_message import EmailParseError
from helpdesk_intake.channels.inbound_http import (
    INBOUND_RESPONSES,
    InboundReceived,
    answer,
    problem,
    require_media_type,
    unrecorded_is_503,
)

RFC822 = "message/rfc822"


def get_email_intake(request: Request) -> EmailIntake:
    return request.app.state.email_intake


EmailIntakeDep = Annotated[EmailIntake, Depends(get_email_intake)]


def require_rfc822(request: Request) -> None:
    require_media_type(request.headers.get("content-type"), RFC822, "a raw email")


EmailReceived = InboundReceived


router = APIRouter(prefix="/v1/channels/email", tags=["email"])


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
        **INBOUND_RESPONSES,
        202: {
            "model": EmailReceived,
            "description": "Ignored (auto-reply, bounce, loop): recorded, no ticket, no answer.",
        },
        400: problem("The body is not a usable email (no From, not a message)."),
        415: problem("The body is not message/rfc822."),
    },
)
async def receive_email(request: Request, email_intake: EmailIntakeDep, response: Response) -> EmailReceived:
    """Turn one raw email into a ticket or a follow-up (threaded by In-Reply-To/References or `[#ticket id]`)."""
    with unrecorded_is_503("email"):
        try:
            outcome = await email_intake.receive(await request.body())
        except EmailParseError as error:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=f"not a usable email: {error}") from error
    return answer(outcome, response)
