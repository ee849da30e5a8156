"""Delivery keys, the notifier's event ids, and what a replay of a trigger does."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from helpdesk_events import DeliveryChannel
from helpdesk_notifier.deliveries import (
    Delivery,
    DeliveryKind,
    DeliveryRequest,
    DeliveryStatus,
    Step,
    delivery_key,
    failed_event,
    next_step,
    notification_event_id,
    sent_event,
    undeliverable_email,
)

EVENT = uuid.UUID("00000000-0000-0000-0000-0000000000e1")
NOW = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)


def record(channel: DeliveryChannel = DeliveryChannel.SLACK, **changes: object) -> Delivery:
    base = Delivery(
        key=delivery_key(EVENT, channel, "U1"),
        ticket_id="T-1",
        channel=channel,
        kind=DeliveryKind.ASSIGNMENT,
        recipient="U1",
        status=DeliveryStatus.SENDING,
        trigger_event_id=EVENT,
        trigger_event_type="ticket.assigned",
        content={},
        created_at=NOW,
        updated_at=NOW,
        attempts=1,
    )
    return replace(base, **changes)


def test_the_delivery_key_is_event_channel_and_recipient() -> None:
    assert delivery_key(EVENT, DeliveryChannel.EMAIL, "ada@example.com") == f"{EVENT}:email:ada@example.com"
    request = DeliveryRequest(
        ticket_id="T-1", channel=DeliveryChannel.SLACK, kind=DeliveryKind.ASSIGNMENT, recipient="U1",
        trigger_event_id=EVENT, trigger_event_type="ticket.assigned",
    )  # fmt: skip
    assert request.key == f"{EVENT}:slack:U1"


def test_one_trigger_gives_one_key_per_channel_and_recipient() -> None:
    keys = {
        delivery_key(EVENT, DeliveryChannel.SLACK, "U1"),
        delivery_key(EVENT, DeliveryChannel.SLACK, "U2"),
        delivery_key(EVENT, DeliveryChannel.EMAIL, "U1"),
        delivery_key(uuid.uuid4(), DeliveryChannel.SLACK, "U1"),
    }
    assert len(keys) == 4


def test_notification_event_ids_are_deterministic_and_differ_by_outcome() -> None:
    key = delivery_key(EVENT, DeliveryChannel.SLACK, "U1")
    assert notification_event_id(key, "notification.sent") == notification_event_id(key, "notification.sent")
    sent = notification_event_id(key, "notification.sent")
    assert sent != notification_event_id(key, "notification.failed")
    assert notification_event_id(key, "notification.sent").version == 5


def test_a_new_delivery_is_sent() -> None:
    assert next_step(None) is Step.SEND


@pytest.mark.parametrize("status", [DeliveryStatus.SENT, DeliveryStatus.RECORDED, DeliveryStatus.SKIPPED])
def test_a_replay_of_a_settled_and_announced_delivery_does_nothing(status: DeliveryStatus) -> None:
    assert next_step(record(status=status, announced=True)) is Step.NOTHING


def test_a_sent_delivery_whose_announcement_did_not_go_out_is_announced_not_resent() -> None:
    assert next_step(record(status=DeliveryStatus.SENT, announced=False)) is Step.ANNOUNCE
    assert next_step(record(status=DeliveryStatus.RECORDED, announced=False)) is Step.ANNOUNCE
    # A skipped delivery is never announced.
    assert next_step(record(status=DeliveryStatus.SKIPPED, announced=False)) is Step.NOTHING


def test_a_re_driven_failure_is_tried_again() -> None:
    assert next_step(record(status=DeliveryStatus.FAILED, announced=True)) is Step.SEND


def test_a_delivery_whose_attempts_all_ended_in_known_failures_is_sent() -> None:
    assert next_step(record(in_flight=False)) is Step.SEND


def test_an_email_left_in_flight_is_sent_again_and_a_slack_post_is_not() -> None:
    assert next_step(record(DeliveryChannel.EMAIL, in_flight=True)) is Step.SEND
    assert next_step(record(DeliveryChannel.SLACK, in_flight=True)) is Step.ABANDON


def test_outcome_events_describe_the_delivery() -> None:
    sent = sent_event(record(status=DeliveryStatus.SENT, attempts=3, external_id="1700000000.000001"))
    assert (sent.delivery_key, sent.channel, sent.recipient) == (f"{EVENT}:slack:U1", "slack", "U1")
    assert (sent.trigger_event_id, sent.trigger_event_type) == (EVENT, "ticket.assigned")
    assert (sent.attempts, sent.external_id) == (3, "1700000000.000001")

    failed = failed_event(
        record(status=DeliveryStatus.FAILED, attempts=2, last_error="HTTP 500: internal_error")
    )
    assert (failed.attempts, failed.error) == (2, "HTTP 500: internal_error")


@pytest.mark.parametrize(
    ("address", "undeliverable"),
    [
        ("ada@example.com", False),
        ("+33612345678@phone.invalid", True),
        ("facebook-ada@social.INVALID", True),
        ("x@invalid", True),
        ("someone@invalid.example.com", False),
        ("ops@notinvalid", False),
    ],
)
def test_stand_in_addresses_under_invalid_are_not_mailed(address: str, undeliverable: bool) -> None:
    assert undeliverable_email(address) is undeliverable
