"""The buttons agents press in Slack, and what a press is: parsed from Slack's block_actions payload.

Pure: the form-encoded body in, a `ButtonPress` out, or UnreadableInteraction with the reason.
The notifier puts these buttons on its assignment message; their ids and value format are shared
(`helpdesk_events.slack_actions`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

from pydantic import BaseModel, ConfigDict, Field

from helpdesk_events import AssignmentAnswer
from helpdesk_events.slack_actions import OPEN_TICKET_LINK, TicketAction, ticket_id_in


class UnreadableInteraction(ValueError):
    """Not a ticket button press this service understands (HTTP 400)."""


class LinkOpened(Exception):
    """A press on a link button: acknowledged, nothing to do."""


@dataclass(frozen=True)
class ButtonPress:
    action: TicketAction
    ticket_id: str
    slack_user_id: str
    action_ts: str | None  # Slack's time of this press: names it, so a redelivery is recognisable


class _SlackUser(BaseModel):
    id: str = Field(min_length=1)


class _Action(BaseModel):
    action_id: str
    value: str | None = None
    action_ts: str | None = None


class _BlockActions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str
    user: _SlackUser
    actions: list[_Action]


def parse_button_press(body: bytes) -> ButtonPress:
    """Slack posts `payload=<JSON>` form-encoded; one press carries one action."""
    try:
        fields = parse_qs(body.decode("utf-8"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as error:
        raise UnreadableInteraction(f"the body is not a URL-encoded form: {error}") from None
    payloads = fields.get("payload")
    if not payloads or len(payloads) != 1:
        raise UnreadableInteraction("the form must hold exactly one 'payload' field")
    try:
        interaction = _BlockActions.model_validate(json.loads(payloads[0]))
    except (ValueError, RecursionError) as error:  # a pydantic ValidationError is a ValueError
        raise UnreadableInteraction(f"the payload is not a Slack interaction: {error}") from None
    if interaction.type != "block_actions":
        raise UnreadableInteraction(f"only block_actions are handled, not {interaction.type!r}")
    if len(interaction.actions) != 1:
        raise UnreadableInteraction(f"expected one action, got {len(interaction.actions)}")
    [action] = interaction.actions
    try:
        ticket_action = TicketAction(action.action_id)
    except ValueError:
        if action.action_id == OPEN_TICKET_LINK:
            # Slack marks the press as failed unless it gets a 200: acknowledged, nothing to do.
            raise LinkOpened(action.value) from None
        raise UnreadableInteraction(f"unknown action_id {action.action_id!r}") from None
    ticket_id = ticket_id_in(action.value)
    if ticket_id is None:
        raise UnreadableInteraction(f"the {action.action_id} button carries no ticket id in its value")
    return ButtonPress(ticket_action, ticket_id, interaction.user.id, action.action_ts)


# The buttons that answer an assignment rather than change the ticket.
ASSIGNMENT_ANSWERS: Mapping[TicketAction, AssignmentAnswer] = {
    TicketAction.ACCEPT: AssignmentAnswer.ACCEPTED,
    TicketAction.DECLINE: AssignmentAnswer.DECLINED,
    TicketAction.REASSIGN: AssignmentAnswer.REASSIGN_REQUESTED,
}
