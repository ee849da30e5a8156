"""A worker that died in the middle of a send: email goes again under the same Message-ID; a Slack post
is looked for in the conversation's history and posted only if it is not there."""

from __future__ import annotations

import dataclasses

import pytest
from pymongo import AsyncMongoClient
from slack_sdk.web.async_client import AsyncWebClient

from devtools.fake_slack import FakeSlack
from devtools.servers import SmtpCapture
from helpdesk_events import DeliveryChannel, Envelope
from helpdesk_notifier.deliveries import DeliveryKind, DeliveryRequest
from helpdesk_notifier.delivery_store import MongoDeliveryStore
from helpdesk_notifier.settings import Settings
from helpdesk_notifier.slack_messages import compose_assignment, with_delivery_key
from helpdesk_notifier.ticket_view import TicketView
from tests.conftest import SLACK_TEST_TOKEN
from tests.integration.notifier.events import (
    mail_for,
    new_slack_user_id,
    new_ticket_id,
    ticket_assigned,
    ticket_created,
)

pytestmark = pytest.mark.integration

INTERRUPTED_MESSAGE_ID = "<interrupted-1@helpdesk.test>"


def request_for(envelope: Envelope, channel: DeliveryChannel, kind: DeliveryKind, recipient: str,
                content: dict) -> DeliveryRequest:  # fmt: skip
    return DeliveryRequest(
        ticket_id=envelope.ticket_id or "",
        channel=channel,
        kind=kind,
        recipient=recipient,
        trigger_event_id=envelope.id,
        trigger_event_type=envelope.type,
        content=content,
    )


async def leave_in_flight(settings: Settings, request: DeliveryRequest) -> None:
    """What a worker leaves behind when it dies during its first attempt."""
    client = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    try:
        store = MongoDeliveryStore(client[settings.mongodb_database]["deliveries"])
        await store.begin(request)
        await store.start_attempt(request.key)
    finally:
        await client.close()


async def test_deliveries_left_in_flight_by_a_dead_worker(
    notifier_settings: Settings, run_notifier, smtp_capture: SmtpCapture, fake_slack: FakeSlack
) -> None:
    ticket_id, agent, other_agent = new_ticket_id(), new_slack_user_id(), new_slack_user_id()
    created, assigned = ticket_created(ticket_id), ticket_assigned(ticket_id, agent)
    reassigned = ticket_assigned(ticket_id, other_agent, agent_id="a2")
    requester = created.payload.requester.email
    # An email record as an earlier version wrote it (no per-team sender in it).
    email = {"to": requester, "subject": f"[#{ticket_id}] We received your request: Printer on fire",
             "text": "Thank you.", "html": "<p>Thank you.</p>", "message_id": INTERRUPTED_MESSAGE_ID,
             "in_reply_to": None}  # fmt: skip
    await leave_in_flight(notifier_settings, request_for(
        created, DeliveryChannel.EMAIL, DeliveryKind.ACKNOWLEDGEMENT, requester, email))  # fmt: skip

    # Two interrupted Slack posts: the first reached Slack before the worker died, the second did not.
    view = TicketView(ticket_id, subject="Printer on fire", agent_id="a1")
    reached = request_for(assigned, DeliveryChannel.SLACK, DeliveryKind.ASSIGNMENT, agent, {})
    reached_post = with_delivery_key(compose_assignment(view, for_agent="a1", slack_user_id=agent, link=None),
                                     reached.key)  # fmt: skip
    await leave_in_flight(notifier_settings, dataclasses.replace(reached, content=reached_post.as_content()))
    client = AsyncWebClient(token=SLACK_TEST_TOKEN, base_url=fake_slack.url)
    landed = await client.chat_postMessage(channel=agent, text=reached_post.text, blocks=list(reached_post.blocks),
                                           metadata=reached_post.metadata)  # fmt: skip
    lost = request_for(reassigned, DeliveryChannel.SLACK, DeliveryKind.ASSIGNMENT, other_agent, {})
    lost_post = with_delivery_key(compose_assignment(view, for_agent="a2", slack_user_id=other_agent, link=None),
                                  lost.key)  # fmt: skip
    await leave_in_flight(notifier_settings, dataclasses.replace(lost, content=lost_post.as_content()))

    async with run_notifier(notifier_settings) as notifier:
        await notifier.tickets.publish(created)
        await notifier.tickets.publish(assigned)
        await notifier.tickets.publish(reassigned)
        mail = await smtp_capture.wait_for_async(mail_for(ticket_id), timeout=15)
        # Each assignment post by its trigger and agent: the reassignment also updates the first agent's
        # message ("Reassigned to ..."), announced under the same trigger and often sooner.
        for trigger, recipient in ((assigned, agent), (reassigned, other_agent)):
            await notifier.notifications.wait_for(
                "notification.sent",
                lambda e, trigger=trigger, recipient=recipient: (
                    e.payload.trigger_event_id == trigger.id and e.payload.recipient == recipient
                ),
            )
        deliveries = {(d["kind"], d["recipient"]): d for d in await notifier.deliveries(ticket_id)}

    # The email goes again, as composed the first time: the customer's client shows one message.
    assert mail["Message-ID"] == INTERRUPTED_MESSAGE_ID
    assert mail["From"] == notifier_settings.email_from
    email_delivery = deliveries[("acknowledgement", requester)]
    assert (email_delivery["status"], email_delivery["attempts"], email_delivery["external_id"]) == (
        "sent", 2, INTERRUPTED_MESSAGE_ID,
    )  # fmt: skip

    # The post that reached Slack is found in the conversation's history and not posted again;
    # the one that did not is posted, once.
    posts = [c for c in fake_slack.calls("chat.postMessage") if c["status"] == 200]
    assert len([c for c in posts if c["body"]["channel"] == agent]) == 1  # the one made above, by the "dead worker"
    assert len([c for c in posts if c["body"]["channel"] == other_agent]) == 1
    assert deliveries[("assignment", agent)]["status"] == "sent"
    assert deliveries[("assignment", agent)]["external_id"] == landed["ts"]
    assert deliveries[("assignment", other_agent)]["status"] == "sent"
