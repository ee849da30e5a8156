"""HTTP API of intake: open a ticket from the web form, read a ticket back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from opentelemetry import propagate
from pydantic import BaseModel, Field
from pymongo.errors import PyMongoError

from helpdesk_intake.intake import TicketIntake, TicketNotRecorded
from helpdesk_intake.read_model import TicketReadModel
from helpdesk_intake.ticket_view import TicketView
from helpdesk_intake.web_form import NewTicketForm, TicketAccepted

RETRY_AFTER_SECONDS = 5


def get_intake(request: Request) -> TicketIntake:
    return request.app.state.intake


def get_read_model(request: Request) -> TicketReadModel:
    return request.app.state.read_model


IntakeDep = Annotated[TicketIntake, Depends(get_intake)]
ReadModelDep = Annotated[TicketReadModel, Depends(get_read_model)]


def require_json(request: Request) -> None:
    content_type = request.headers.get("content-type")
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail=f"the body must be JSON with Content-Type application/json, not {content_type or 'none'}",
        )


class Problem(BaseModel):
    detail: str = Field(description="Why the request failed.")


def _reason(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


router = APIRouter(prefix="/v1", tags=["tickets"])  # every intake process: reading tickets back
web_router = APIRouter(prefix="/v1", tags=["tickets"])  # the web channel: opening tickets


@web_router.post(
    "/tickets",
    operation_id="create_ticket",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require_json)],
    responses={
        201: {"description": "Kafka holds the ticket.created event; the ticket is at Location."},
        413: _reason("The body is larger than the limit."),
        415: _reason("The body is not JSON."),
        503: _reason("Kafka did not acknowledge the ticket: retry after Retry-After seconds."),
    },
)
async def create_ticket(
    form: NewTicketForm, intake: IntakeDep, request: Request, response: Response
) -> TicketAccepted:
    """Open a ticket from the web form. Answers only after Kafka has acknowledged `ticket.created`."""
    try:
        ticket_id = await intake.open_web_ticket(form, propagate.extract(request.headers))
    except TicketNotRecorded as error:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"the ticket was not recorded ({error}); retry later",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from error
    except PyMongoError as error:  # the customer record could not be resolved
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="the customer store is unavailable; retry later",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from error
    response.headers["Location"] = f"/v1/tickets/{ticket_id}"
    return TicketAccepted(ticket_id=ticket_id)


@router.get(
    "/tickets/{ticket_id}",
    operation_id="get_ticket",
    responses={404: _reason("No such ticket."), 503: _reason("The ticket store is unavailable.")},
)
async def get_ticket(ticket_id: str, read_model: ReadModelDep) -> TicketView:
    """A ticket as the read model knows it: eventually consistent with the ticket events."""
    try:
        ticket = await read_model.get(ticket_id)
    except PyMongoError as error:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="the ticket store is unavailable; retry later",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from error
    if ticket is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no ticket with id {ticket_id!r}")
    return ticket
