"""Slack button presses on the real broker: signed presses become ticket events, others nothing."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from helpdesk_events import Envelope, TicketAssigned, TicketAssignmentAnswered, TicketStatusChanged
from helpdesk_events.publisher import EventPublisher
from helpdesk_intake.settings import Settings
from tests.integration.intake.helpers import open_ticket, poll_ticket, running_intake, started
from tests.support.kafka import EventTap
from tests.support.slack_interactions import SIGNING_SECRET, block_actions, form_body, signed_headers

pytestmark = pytest.mark.integration

PATH = "/v1/slack/interactions"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"slack_signing_secret": SecretStr(SIGNING_SECRET)})


async def press(
    client: httpx.AsyncClient,
    action_id: str,
    ticket_id: str,
    slack_user_id: str,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> httpx.Response:
    body = form_body(block_actions(action_id, ticket_id, slack_user_id=slack_user_id))
    return await client.post(
        PATH, content=body, headers=signed_headers(body, secret=secret, timestamp=timestamp)
    )


async def events_until(settings: Settings, ticket_id: str, event_type: str) -> list[Envelope]:
    """The ticket's events on Kafka, in order, up to the first of `event_type`."""
    async with EventTap(settings.kafka_bootstrap_servers, f"{settings.kafka_topic_prefix}tickets") as tap:
        await tap.wait_for(event_type, lambda e: e.ticket_id == ticket_id)
        return [e for e in tap.envelopes if e.ticket_id == ticket_id]


async def test_the_assignees_presses_are_recorded_and_a_forged_one_is_not(settings: Settings) -> None:
    router = EventPublisher(settings.kafka("test-router"), source="router")
    async with running_intake(settings) as client, started(router):
        ticket_id = await open_ticket(client)
        await router.emit(
            TicketAssigned(agent_id="A-7", agent_name="Grace", slack_user_id="U0GRACE"), ticket_id=ticket_id
        )
        await poll_ticket(client, ticket_id, lambda t: t["assignee_id"] == "A-7")

        forged = await press(client, "ticket_solve", ticket_id, "U0GRACE", secret="not-ours")
        declined = await press(client, "ticket_decline", ticket_id, "U0GRACE")
        solved = await press(client, "ticket_solve", ticket_id, "U0GRACE")
        ticket = (await client.get(f"/v1/tickets/{ticket_id}")).json()
        events = await events_until(settings, ticket_id, "ticket.status_changed")

    assert forged.status_code == 401
    assert forged.json()["detail"] == "X-Slack-Signature does not match the body"
    assert (declined.status_code, solved.status_code) == (200, 200)
    assert ticket["status"] == "solved"
    # The forged press came first: had it been recorded, its status change would precede the answer.
    assert [e.type for e in events] == [
        "ticket.created",
        "ticket.assigned",
        "ticket.assignment_answered",
        "ticket.status_changed",
    ]
    assert events[2].payload == TicketAssignmentAnswered(
        answer="declined", agent_id="A-7", slack_user_id="U0GRACE", channel="slack"
    )
    assert events[3].payload == TicketStatusChanged(from_status="new", to_status="solved", changed_by="A-7")


async def test_others_may_solve_but_not_answer_and_bad_presses_get_a_reason(settings: Settings) -> None:
    async with running_intake(settings) as client:
        ticket_id = await open_ticket(client)  # assigned to nobody
        not_theirs = await press(client, "ticket_accept", ticket_id, "U0OTHER")
        stale = await press(client, "ticket_solve", ticket_id, "U0OTHER", timestamp=1531420618)
        unknown = await press(client, "ticket_accept", "no-such-ticket", "U0OTHER")
        unreadable = await press(client, "ticket_delete", ticket_id, "U0OTHER")
        unsigned = await client.post(
            PATH,
            content=form_body(block_actions("ticket_solve", ticket_id)),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        solved = await press(client, "ticket_solve", ticket_id, "U0OTHER")
        events = await events_until(settings, ticket_id, "ticket.status_changed")

    assert not_theirs.status_code == 409 and "only its assignee can answer" in not_theirs.json()["detail"]
    assert stale.status_code == 401 and "more than 300 s from now" in stale.json()["detail"]
    assert unknown.status_code == 404
    assert (
        unreadable.status_code == 400 and "unknown action_id 'ticket_delete'" in unreadable.json()["detail"]
    )
    assert unsigned.status_code == 401 and unsigned.json()["detail"] == "X-Slack-Request-Timestamp is missing"
    assert solved.status_code == 200
    assert [e.type for e in events] == ["ticket.created", "ticket.status_changed"]
    assert events[1].payload.changed_by == "slack:U0OTHER"
