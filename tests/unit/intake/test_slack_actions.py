"""Reading a button press out of Slack's block_actions payload."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_intake.slack_actions import ButtonPress, TicketAction, UnreadableInteraction, parse_button_press
from tests.support.slack_interactions import block_actions, form_body


@pytest.mark.parametrize("action", list(TicketAction))
def test_a_button_press_names_the_action_the_ticket_and_the_slack_user(action: TicketAction) -> None:
    press = parse_button_press(form_body(block_actions(action.value, "T-42", slack_user_id="U0GRACE")))
    assert press == ButtonPress(action, "T-42", "U0GRACE", "1763892000.123456")


def test_the_action_ids_are_the_ones_the_buttons_carry() -> None:
    assert {a.value for a in TicketAction} == {
        "ticket_accept",
        "ticket_solve",
        "ticket_reassign",
        "ticket_decline",
    }


def payload_with(**changes: object) -> bytes:
    return form_body({**block_actions("ticket_solve", "T-42"), **changes})


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "exactly one 'payload'"),
        (b"payload", "not a URL-encoded form"),
        (b"\xff\xfe", "not a URL-encoded form"),
        (urlencode({"other": "x"}).encode(), "exactly one 'payload'"),
        (urlencode([("payload", "{}"), ("payload", "{}")]).encode(), "exactly one 'payload'"),
        (urlencode({"payload": "{not json"}).encode(), "not a Slack interaction"),
        (urlencode({"payload": json.dumps({"type": "block_actions"})}).encode(), "not a Slack interaction"),
        (urlencode({"payload": "[" * 100_000}).encode(), "not a Slack interaction"),
        (payload_with(type="view_submission"), "only block_actions"),
        (payload_with(actions=[]), "expected one action, got 0"),
        (form_body(block_actions("ticket_delete", "T-42")), "unknown action_id 'ticket_delete'"),
        (form_body(block_actions("ticket_solve", None)), "no ticket id"),
        (form_body(block_actions("ticket_solve", "")), "no ticket id"),
    ],
)
def test_anything_else_is_unreadable_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(UnreadableInteraction, match=reason):
        parse_button_press(body)


@given(st.binary(max_size=2048))
def test_any_body_is_a_press_or_unreadable_never_a_crash(body: bytes) -> None:
    try:
        parse_button_press(body)
    except UnreadableInteraction:
        pass


def _json_containers(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["type", "user", "id", "actions", "action_id", "value", "action_ts"])
        | st.text(max_size=8),
        children,
        max_size=5,
    )


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20), _json_containers, max_leaves=20
    )
)
def test_any_json_payload_is_a_press_or_unreadable_never_a_crash(payload: object) -> None:
    try:
        parse_button_press(urlencode({"payload": json.dumps(payload)}).encode())
    except UnreadableInteraction:
        pass
