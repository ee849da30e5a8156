"""What every channel's inbound endpoint shares: its answer (outcome and status code), a 503 with
Retry-After when Kafka (or a store) did not take the message so the sender retries, 415 for the
wrong media type and 401 for a bad webhook signature."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, HTTPException, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from pymongo.errors import PyMongoError

from helpdesk_intake.api import RETRY_AFTER_SECONDS, Problem
from helpdesk_intake.channels.inbound_once import InboundOutcome
from helpdesk_intake.channels.webhook_signature import BadSignature, verify_body_signature
from helpdesk_intake.intake import TicketNotRecorded

Body = TypeVar("Body", bound=BaseModel)


class InboundReceived(BaseModel):
    outcome: Literal["created", "appended", "duplicate", "ignored"] = Field(
        description="created: a new ticket; appended: a follow-up on ticket_id; duplicate: this "
        "message was received before (same answer as then); ignored: an auto-reply, bounce or loop."
    )
    ticket_id: str | None = Field(
        default=None, description="The ticket the message went to; null when ignored."
    )
    reason: str | None = Field(default=None, description="Why the message was ignored.")


STATUS_OF_OUTCOME = {
    "created": status.HTTP_201_CREATED,
    "appended": status.HTTP_200_OK,
    "duplicate": status.HTTP_200_OK,
    "ignored": status.HTTP_202_ACCEPTED,
}


def problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


INBOUND_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": InboundReceived,
        "description": "A follow-up on ticket_id, or a duplicate (same answer as the first time).",
    },
    201: {"description": "A new ticket; Kafka holds its ticket.created."},
    413: problem("The body is larger than the limit."),
    503: problem("Kafka did not acknowledge, or a store is unavailable: retry after Retry-After seconds."),
}


def answer(outcome: InboundOutcome, response: Response) -> InboundReceived:
    response.status_code = STATUS_OF_OUTCOME[outcome.outcome]
    return InboundReceived(outcome=outcome.outcome, ticket_id=outcome.ticket_id, reason=outcome.reason)


@contextmanager
def unrecorded_is_503(what: str) -> Iterator[None]:
    try:
        yield
    except (TicketNotRecorded, PyMongoError) as error:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"the {what} was not recorded ({error.__class__.__name__}: {error}); retry later",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from error


def require_media_type(content_type: str | None, expected: str, what: str) -> None:
    """415 unless the request's Content-Type is `expected` (parameters such as charset allowed)."""
    if (content_type or "").split(";")[0].strip().lower() != expected:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail=f"the body must be {what} with Content-Type {expected}, not {content_type or 'none'}",
        )


def require_signature(secret: str, header: str, signature: str | None, body: bytes) -> None:
    """401 with the reason unless `signature` is the `sha256=` HMAC of the raw body under `secret`."""
    try:
        verify_body_signature(secret, header, signature, body)
    except BadSignature as error:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=f"bad signature: {error}") from error


def json_body(model: type[Body], body: bytes) -> Body:
    """The raw body as `model`, or 422 with the reasons. The rejected input is left out of the
    answer: it may hold what JSON cannot carry back (`Infinity` parses, but does not serialize)."""
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        raise RequestValidationError(
            error.errors(include_url=False, include_context=False, include_input=False)
        ) from error


def json_request_body(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI for a route that reads its JSON body itself (to verify or bound it first)."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


def inbound_route(
    router: APIRouter,
    path: str,
    *,
    operation_id: str,
    request_body: dict[str, Any],
    responses: dict[int | str, dict[str, Any]],
    **options: Any,
) -> Callable[[Any], Any]:
    """`router.post` for a channel's way in: 201 for a new ticket, the shared answers documented."""
    return router.post(
        path,
        operation_id=operation_id,
        status_code=status.HTTP_201_CREATED,
        response_model_exclude_none=True,
        openapi_extra=request_body,
        responses={**INBOUND_RESPONSES, **responses},
        **options,
    )
