"""Slack interactivity: agents' button presses, verified, turned into the same ticket actions as
the HTTP routes.

Slack wants an answer within 3 s or shows the agent an error. The press is recorded before we
answer (a 200 means Kafka holds its event), with Kafka given at most `SLACK_ANSWER_SECONDS`: a
press that cannot be recorded in time answers 503, and the agent sees Slack's error and presses
again, instead of a press that silently vanished.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response, status
from opentelemetry import propagate

from helpdesk_events import TicketStatus
from helpdesk_intake.action_http import ACTION_FAILURES, TicketActionsDep, action_failures, failure
from helpdesk_intake.slack_actions import (
    ASSIGNMENT_ANSWERS,
    ButtonPress,
    LinkOpened,
    TicketAction,
    UnreadableInteraction,
    parse_button_press,
)
from helpdesk_intake.slack_signature import BadSlackSignature, SlackSignatureVerifier
from helpdesk_intake.ticket_actions import TicketActions

log = logging.getLogger(__name__)

SLACK_ANSWER_SECONDS = 2.5  # of Slack's 3 s, leaving room for the read model and the network
FORM = "application/x-www-form-urlencoded"


def get_slack_verifier(request: Request) -> SlackSignatureVerifier:
    verifier: SlackSignatureVerifier | None = request.app.state.slack_verifier
    if verifier is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail="Slack interactivity is not configured"
        )
    return verifier


SlackVerifierDep = Annotated[SlackSignatureVerifier, Depends(get_slack_verifier)]

router = APIRouter(prefix="/v1/slack", tags=["slack"])


@router.post(
    "/interactions",
    operation_id="slack_interaction",
    responses={
        200: {"description": "The press is recorded: Kafka holds its event."},
        400: failure("Not a ticket button press (not block_actions, unknown action_id, no ticket id)."),
        401: failure("Bad, missing or stale Slack signature."),
        415: failure("Not application/x-www-form-urlencoded."),
        **ACTION_FAILURES,
    },
)
async def slack_interaction(
    request: Request,
    verifier: SlackVerifierDep,
    actions: TicketActionsDep,
    x_slack_request_timestamp: Annotated[str | None, Header()] = None,
    x_slack_signature: Annotated[str | None, Header()] = None,
) -> Response:
    """A button on a ticket message in Slack (`block_actions`, form field `payload`), signed with
    Slack's v0 scheme over the raw body and at most 5 minutes old.

    `ticket_solve` solves the ticket (`ticket.status_changed`); `ticket_accept`, `ticket_decline`
    and `ticket_reassign` emit `ticket.assignment_answered` for the router. The button's `value` is
    the ticket id. The ticket's assignee pressing is named by agent id (`changed_by`, `agent_id`),
    known from the Slack user id in `ticket.assigned`; anyone else as "slack:<Slack user id>". Any
    agent may solve; only the assignee may accept, decline or ask for reassignment (409 otherwise,
    e.g. a button on an old message of a ticket that has moved on to another agent).
    """
    body = await request.body()  # the raw bytes: the signature covers exactly them
    try:
        verifier.verify(x_slack_request_timestamp, x_slack_signature, body)
    except BadSlackSignature as error:
        log.warning("refused a Slack interaction: %s", error)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=str(error)) from error
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, detail=f"the body must be {FORM}")
    try:
        press = parse_button_press(body)
    except LinkOpened:
        return Response(status_code=status.HTTP_200_OK)
    except UnreadableInteraction as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=str(error)) from error
    with action_failures(f"{press.action.value} press"):
        await perform(press, actions, request)
    return Response(status_code=status.HTTP_200_OK)


async def perform(press: ButtonPress, actions: TicketActions, request: Request) -> None:
    trace_context = propagate.extract(request.headers)
    # The assignee pressing is named by agent id; anyone else by Slack user id (intake has no roster).
    agent_id = await actions.assignee_on_slack(press.ticket_id, press.slack_user_id)
    if press.action is TicketAction.SOLVE:
        await actions.change_status(
            press.ticket_id,
            TicketStatus.SOLVED,
            changed_by=agent_id or f"slack:{press.slack_user_id}",
            timeout=SLACK_ANSWER_SECONDS,
            trace_context=trace_context,
        )
        return
    await actions.answer_assignment(
        press.ticket_id,
        ASSIGNMENT_ANSWERS[press.action],
        channel="slack",
        slack_user_id=press.slack_user_id,
        agent_id=agent_id,
        answer_id=press.action_ts,
        timeout=SLACK_ANSWER_SECONDS,
        trace_context=trace_context,
    )
