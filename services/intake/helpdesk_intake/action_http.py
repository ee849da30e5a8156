"""How ticket actions fail over HTTP: one mapping for the agent routes, follow-ups and Slack."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from pymongo.errors import PyMongoError

from helpdesk_intake.api import RETRY_AFTER_SECONDS, Problem
from helpdesk_intake.intake import TicketNotRecorded
from helpdesk_intake.ticket_actions import NotTheRequester, TicketActions, TicketNotFound
from helpdesk_intake.ticket_rules import ActionRefused


def get_ticket_actions(request: Request) -> TicketActions:
    return request.app.state.ticket_actions


TicketActionsDep = Annotated[TicketActions, Depends(get_ticket_actions)]


def failure(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


ACTION_FAILURES: dict[int | str, dict[str, Any]] = {
    404: failure("No such ticket."),
    409: failure("The ticket's status does not allow this (a closed ticket is final, say)."),
    503: failure("Kafka did not acknowledge, or the ticket store is down: retry after Retry-After seconds."),
}


@contextmanager
def action_failures(what: str) -> Iterator[None]:
    """Turns the actions' exceptions into 404, 403, 409 and 503 answers with their reasons."""
    try:
        yield
    except TicketNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from error
    except NotTheRequester as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=str(error)) from error
    except ActionRefused as error:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(error)) from error
    except TicketNotRecorded as error:
        # A producer that timed out may still deliver the event once the broker answers: say so,
        # and point at the Idempotency-Key that makes the retry record it once.
        raise _unavailable(
            f"the {what} was not confirmed ({error}); it may still be recorded: "
            "retry with the same Idempotency-Key to record it exactly once"
        ) from error
    except PyMongoError as error:
        raise _unavailable("the ticket store is unavailable; retry later") from error


def _unavailable(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE, detail=detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
    )
