"""A worker that died in the middle of a send: email goes again under the same Message-ID, Slack does not."""

from __future__ import annotations

from dataclasses import asdict

import pytest
from pymongo import AsyncMongoClient

from devtools.fake_slack import FakeSlack
from devtools.servers import SmtpCapture
from helpdesk_events import DeliveryChannel, Envelope, encode
from helpdesk_notifier.deliveries import DeliveryKind, DeliveryRequest
from helpdesk_notifier.delivery_store import MongoDeliveryStore
from helpdesk_notifier.messages import compose_acknowledgement, compose_assignment
from helpdesk_notifier.settings import Settings
from tests.integration.notifier.events import (
    mail_for,
    new_slack_user_id,
    new_ticket_id,
    posts_to,
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
    ticket_id, agent = new_ticket_id(), new_slack_user_id()
    created, assigned = ticket_created(ticket_id), ticket_assigned(ticket_id, agent)
    requester = created.payload.requester.email
    email = compose_acknowledgement(ticket_id, created.payload, message_id=INTERRUPTED_MESSAGE_ID)
    await leave_in_flight(notifier_settings, request_for(
        created, DeliveryChannel.EMAIL, DeliveryKind.ACKNOWLEDGEMENT, requester, asdict(email)))  # fmt: skip
    post = compose_assignment(ticket_id, assigned.payload, None, channel=agent)
    await leave_in_flight(notifier_settings, request_for(
        assigned, DeliveryChannel.SLACK, DeliveryKind.ASSIGNMENT, agent, post.as_content()))  # fmt: skip

    async with run_notifier(notifier_settings) as notifier:
        await notifier.tickets.publish(created)
        await notifier.tickets.publish(assigned)
        mail = await smtp_capture.wait_for_async(mail_for(ticket_id), timeout=15)
        failed = await notifier.notifications.wait_for(
            "notification.failed", lambda e: e.payload.trigger_event_id == assigned.id
        )
        await notifier.dead_letters.wait_for_records(lambda r: r.value == encode(assigned))
        slack_delivery, email_delivery = await notifier.deliveries(ticket_id)

    # The email goes again, as composed the first time: the customer's client shows one message.
    assert mail["Message-ID"] == INTERRUPTED_MESSAGE_ID
    assert (email_delivery["status"], email_delivery["attempts"]) == ("sent", 2)
    assert email_delivery["external_id"] == INTERRUPTED_MESSAGE_ID

    # The Slack post may have gone out before the worker died: it is not posted a second time.
    assert [c for c in fake_slack.calls() if posts_to(agent)(c)] == []
    assert slack_delivery["status"] == "failed"
    assert slack_delivery["last_error"].startswith("interrupted during a Slack post")
    assert failed.payload.error == slack_delivery["last_error"]
