"""The Slack ticket buttons: ids pinned (posted messages keep them), and what the notifier renders is what
intake reads back when an agent presses it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from helpdesk_events.slack_actions import OPEN_TICKET_LINK, BlockId, TicketAction, button_value, ticket_id_in
from helpdesk_intake.slack_actions import LinkOpened, parse_button_press
from helpdesk_notifier.slack_messages import compose_assignment, compose_follow_up
from helpdesk_notifier.ticket_view import TicketView
from tests.support.slack_interactions import block_actions, form_body


def view(**changes: object) -> TicketView:
    fields: dict[str, object] = {
        "ticket_id": "T-42/ü",
        "subject": "Printer on fire",
        "requester_email": "ada@example.com",
        "channel": "web",
        "priority": "high",
        "status": "open",
        "agent_id": "a1",
        "slack_user_id": "U123",
        "sla_due": {"first_reply": datetime(2026, 11, 23, 17, 30, tzinfo=UTC)},
        "known": True,
    }
    return TicketView(**{**fields, **changes})  # type: ignore[arg-type]


def test_the_ids_on_the_wire_do_not_change() -> None:
    # Messages already posted keep their buttons: a renamed id would make their presses unreadable.
    assert [action.value for action in TicketAction] == [
        "ticket_accept",
        "ticket_solve",
        "ticket_reassign",
        "ticket_decline",
    ]
    assert OPEN_TICKET_LINK == "ticket_open"
    assert [block.value for block in BlockId] == [
        "ticket_assigned_header",
        "ticket_assigned_subject",
        "ticket_assigned_fields",
        "ticket_assigned_context",
        "ticket_assigned_actions",
    ]
    assert button_value("T-42") == "T-42"
    assert (ticket_id_in("T-42"), ticket_id_in(""), ticket_id_in(None)) == ("T-42", None, None)


@pytest.mark.parametrize("accepted", [False, True])
def test_every_rendered_button_pressed_is_read_as_its_action_on_its_ticket(accepted: bool) -> None:
    message = compose_assignment(view(accepted=accepted), for_agent="a1", slack_user_id="U123", link=None)
    [actions] = [block for block in message.blocks if block.get("block_id") == BlockId.ACTIONS]
    pressed = []
    for button in actions["elements"]:
        assert type(button["action_id"]) is str and type(button["value"]) is str  # plain JSON strings
        press = parse_button_press(form_body(block_actions(button["action_id"], button["value"])))
        assert press.ticket_id == "T-42/ü"
        pressed.append(press.action)
    expected = [TicketAction.SOLVE, TicketAction.REASSIGN] if accepted else list(TicketAction)
    assert pressed == expected


def test_the_open_ticket_link_button_is_only_acknowledged() -> None:
    message = compose_follow_up(
        view(),
        kind="csat",
        score=1,
        comment=None,
        agent_slack_user_id=None,
        reopened=False,
        channel="C1",
        link="https://desk.example.com/tickets/T-42",
    )
    [link_button] = [
        element for block in message.blocks if block["type"] == "actions" for element in block["elements"]
    ]
    assert link_button["action_id"] == OPEN_TICKET_LINK
    with pytest.raises(LinkOpened):
        parse_button_press(form_body(block_actions(link_button["action_id"], None)))
