"""Delivery keys, the notifier's event ids, and what a replay of a trigger does."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from helpdesk_events import DeliveryChannel, NotificationFailed, NotificationSent
from helpdesk_events.consumer import DeadLetter
from helpdesk_notifier.deliverer import INTERRUPTED_SLACK_POST, Deliverer
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
from helpdesk_notifier.ports import PermanentDeliveryError, Receipt, TransientDeliveryError
from helpdesk_notifier.retry import RetryPolicy

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


@pytest.mark.parametrize("kind", [DeliveryKind.ASSIGNMENT, DeliveryKind.SLA_ALERT, DeliveryKind.SHOUT_OUT])
def test_every_interrupted_slack_post_is_abandoned_whatever_its_kind(kind: DeliveryKind) -> None:
    assert next_step(record(DeliveryChannel.SLACK, kind=kind, in_flight=True)) is Step.ABANDON


def test_an_interrupted_update_of_a_slack_message_is_made_again() -> None:
    update = record(DeliveryChannel.SLACK, kind=DeliveryKind.ASSIGNMENT_UPDATE, in_flight=True)
    assert next_step(update) is Step.SEND


def test_only_an_update_is_repeatable() -> None:
    assert {kind for kind in DeliveryKind if kind.repeatable} == {DeliveryKind.ASSIGNMENT_UPDATE}


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


# -- the deliverer, on in-memory stand-ins of its store, guard and publisher ---------------------------


class MemoryStore:
    """MongoDeliveryStore's contract, in a dict."""

    def __init__(self, *records: Delivery) -> None:
        self.records = {each.key: each for each in records}

    async def get(self, key: str) -> Delivery | None:
        return self.records.get(key)

    async def begin(self, request: DeliveryRequest) -> Delivery:
        current = self.records.get(request.key)
        if current is None:
            current = Delivery(
                key=request.key, ticket_id=request.ticket_id, channel=request.channel, kind=request.kind,
                recipient=request.recipient, status=DeliveryStatus.SENDING,
                trigger_event_id=request.trigger_event_id, trigger_event_type=request.trigger_event_type,
                content=request.content, created_at=NOW, updated_at=NOW,
            )  # fmt: skip
        return self._put(replace(current, status=DeliveryStatus.SENDING, announced=False))

    async def start_attempt(self, key: str) -> Delivery:
        current = self.records[key]
        return self._put(replace(current, attempts=current.attempts + 1, in_flight=True))

    async def attempt_failed(self, key: str, error: str) -> Delivery:
        return self._put(replace(self.records[key], in_flight=False, last_error=error))

    async def settle(self, key: str, status: DeliveryStatus, *, external_id: str | None = None,
                     error: str | None = None, conversation: str | None = None) -> Delivery:  # fmt: skip
        changes: dict[str, Any] = {"status": status, "in_flight": False}
        given = {"external_id": external_id, "last_error": error, "conversation": conversation}
        changes.update({name: value for name, value in given.items() if value is not None})
        return self._put(replace(self.records[key], **changes))

    async def mark_announced(self, key: str) -> Delivery:
        return self._put(replace(self.records[key], announced=True))

    def _put(self, delivery: Delivery) -> Delivery:
        self.records[delivery.key] = delivery
        return delivery


class AlwaysHeld:
    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[bool]:
        yield True


class Announcements:
    def __init__(self) -> None:
        self.emitted: list[NotificationSent | NotificationFailed] = []

    async def emit(self, payload: NotificationSent | NotificationFailed, **_: object) -> None:
        self.emitted.append(payload)


class Slack:
    """Posts and look-ups the deliverer made; look-ups answer from `history` (or raise what is queued)."""

    def __init__(self, history: Receipt | None = None, lookup_errors: tuple[Exception, ...] = ()) -> None:
        self.history = history
        self.lookup_errors = list(lookup_errors)
        self.looked_up: list[Delivery] = []
        self.posted: list[Delivery] = []

    async def find_posted(self, delivery: Delivery) -> Receipt | None:
        self.looked_up.append(delivery)
        if self.lookup_errors:
            raise self.lookup_errors.pop(0)
        return self.history

    async def post(self, delivery: Delivery) -> Receipt:
        self.posted.append(delivery)
        return Receipt(external_id="1700000000.000002", conversation="D0AGENT")


async def no_wait(seconds: float) -> None:
    return None


POST = {"channel": "U1", "text": "T-1 is yours", "blocks": [],
        "metadata": {"event_type": "helpdesk_delivery", "event_payload": {"delivery_key": "k"}}}  # fmt: skip


def interrupted(kind: DeliveryKind = DeliveryKind.ASSIGNMENT) -> Delivery:
    """What a worker killed during its first Slack post left behind."""
    return record(DeliveryChannel.SLACK, kind=kind, content=POST, in_flight=True, attempts=1)


def request_of(delivery: Delivery) -> DeliveryRequest:
    return DeliveryRequest(
        ticket_id=delivery.ticket_id, channel=delivery.channel, kind=delivery.kind,
        recipient=delivery.recipient, trigger_event_id=delivery.trigger_event_id,
        trigger_event_type=delivery.trigger_event_type, content=delivery.content,
    )  # fmt: skip


def deliverer(store: MemoryStore, publisher: Announcements, slack: Slack | None) -> Deliverer:
    return Deliverer(
        store=store,  # type: ignore[arg-type]
        guard=AlwaysHeld(),  # type: ignore[arg-type]
        publisher=publisher,  # type: ignore[arg-type]
        policy=RetryPolicy(max_attempts=3, base_delay=1.0, max_delay=1.0, outage_seconds=0),
        sleep=no_wait,
        rand=lambda: 0.0,
        find_posted=slack.find_posted if slack is not None else None,
    )


async def test_an_interrupted_post_found_in_the_conversation_is_settled_as_sent_not_posted_again() -> None:
    left = interrupted()
    store, publisher = MemoryStore(left), Announcements()
    slack = Slack(history=Receipt(external_id="1700000000.000001", conversation="D0AGENT"))

    delivered = await deliverer(store, publisher, slack).deliver(request_of(left), slack.post)

    assert slack.posted == []
    assert [each.content for each in slack.looked_up] == [POST]
    assert (delivered.status, delivered.external_id, delivered.conversation) == (
        DeliveryStatus.SENT, "1700000000.000001", "D0AGENT")  # fmt: skip
    assert (delivered.in_flight, delivered.announced, delivered.attempts) == (False, True, 1)
    assert [(type(e), e.external_id) for e in publisher.emitted] == [(NotificationSent, "1700000000.000001")]


async def test_an_interrupted_post_missing_from_the_conversation_is_posted() -> None:
    left = interrupted()
    store, publisher, slack = MemoryStore(left), Announcements(), Slack(history=None)

    delivered = await deliverer(store, publisher, slack).deliver(request_of(left), slack.post)

    assert len(slack.looked_up) == 1
    assert [each.content for each in slack.posted] == [POST]
    assert (delivered.status, delivered.external_id, delivered.conversation) == (
        DeliveryStatus.SENT, "1700000000.000002", "D0AGENT")  # fmt: skip
    assert delivered.attempts == 2  # the interrupted attempt and this one
    assert [type(e) for e in publisher.emitted] == [NotificationSent]


async def test_looking_is_retried_through_a_slack_outage() -> None:
    left = interrupted()
    store, publisher = MemoryStore(left), Announcements()
    outage = (TransientDeliveryError("HTTP 503"),)
    slack = Slack(history=Receipt(external_id="1700000000.000001"), lookup_errors=outage)

    delivered = await deliverer(store, publisher, slack).deliver(request_of(left), slack.post)

    assert (len(slack.looked_up), slack.posted) == (2, [])
    assert delivered.status is DeliveryStatus.SENT


async def test_an_interrupted_post_that_cannot_be_looked_for_fails_rather_than_risk_a_second_one() -> None:
    left = interrupted()
    store, publisher = MemoryStore(left), Announcements()
    slack = Slack(lookup_errors=(PermanentDeliveryError("missing_scope: channels:history"),))

    with pytest.raises(DeadLetter):
        await deliverer(store, publisher, slack).deliver(request_of(left), slack.post)

    failed = store.records[left.key]
    assert slack.posted == []
    assert failed.status is DeliveryStatus.FAILED
    assert failed.last_error.startswith(INTERRUPTED_SLACK_POST)
    assert "missing_scope" in failed.last_error
    assert [type(e) for e in publisher.emitted] == [NotificationFailed]


async def test_without_a_way_to_look_an_interrupted_post_fails_as_before() -> None:
    left = interrupted()
    store, publisher, slack = MemoryStore(left), Announcements(), Slack()

    with pytest.raises(DeadLetter):
        await deliverer(store, publisher, None).deliver(request_of(left), slack.post)

    assert slack.posted == []
    assert store.records[left.key].last_error == INTERRUPTED_SLACK_POST


async def test_an_interrupted_update_is_made_again_without_looking() -> None:
    left = interrupted(DeliveryKind.ASSIGNMENT_UPDATE)
    store, publisher, slack = MemoryStore(left), Announcements(), Slack(history=Receipt(external_id="old"))

    delivered = await deliverer(store, publisher, slack).deliver(request_of(left), slack.post)

    assert (slack.looked_up, len(slack.posted)) == ([], 1)
    assert delivered.external_id == "1700000000.000002"


async def test_a_settled_delivery_is_neither_looked_for_nor_sent_again() -> None:
    done = replace(interrupted(), status=DeliveryStatus.SENT, in_flight=False, announced=True)
    store, publisher, slack = MemoryStore(done), Announcements(), Slack()

    await deliverer(store, publisher, slack).deliver(request_of(done), slack.post)

    assert (slack.looked_up, slack.posted, publisher.emitted) == ([], [], [])


class ScriptedSlack:
    """Slack refusing a delivery's posts with the given errors, in order, then taking it; and the clock's
    waits in between, recorded instead of slept."""

    def __init__(self, refusals: list[Exception], *, forever: bool = False) -> None:
        self.refusals, self.forever = refusals, forever
        self.waits: list[float] = []

    async def post(self, delivery: Delivery) -> Receipt:
        if self.refusals:
            raise self.refusals[0] if self.forever else self.refusals.pop(0)
        return Receipt(external_id="1700000000.000003", conversation="D0AGENT")

    async def wait(self, seconds: float) -> None:
        self.waits.append(seconds)


def sending(slack: ScriptedSlack, policy: RetryPolicy, rand: float) -> tuple[Deliverer, Announcements, Delivery]:
    new = record(DeliveryChannel.SLACK, kind=DeliveryKind.ASSIGNMENT, content=POST)
    publisher = Announcements()
    sender = Deliverer(store=MemoryStore(), guard=AlwaysHeld(), publisher=publisher, policy=policy,  # type: ignore[arg-type]
                       sleep=slack.wait, rand=lambda: rand)  # fmt: skip
    return sender, publisher, new


async def test_a_burst_of_429s_longer_than_the_attempts_delays_the_post_but_loses_nothing() -> None:
    slack = ScriptedSlack([TransientDeliveryError("HTTP 429: ratelimited", retry_after=1) for _ in range(7)])
    policy = RetryPolicy(max_attempts=3, base_delay=1.0, max_delay=1.0, outage_seconds=0)
    sender, publisher, new = sending(slack, policy, rand=0.0)

    delivered = await sender.deliver(request_of(new), slack.post)

    assert delivered.status is DeliveryStatus.SENT and delivered.attempts == 8  # 7 refused, then sent
    assert slack.waits == [1.0] * 7  # each Retry-After honoured
    assert [type(e) for e in publisher.emitted] == [NotificationSent]


async def test_a_slack_outage_longer_than_the_attempts_is_waited_out_and_the_message_sent_once() -> None:
    """Twenty 500s in a row on one delivery with 3 attempts: with an outage budget the delivery keeps
    waiting and sends once Slack answers; without one it would have failed after the third."""
    slack = ScriptedSlack([TransientDeliveryError("HTTP 500: Slack: internal_error") for _ in range(20)])
    policy = RetryPolicy(max_attempts=3, base_delay=1.0, max_delay=2.0, outage_seconds=60)
    sender, publisher, new = sending(slack, policy, rand=1.0)

    delivered = await sender.deliver(request_of(new), slack.post)

    assert delivered.status is DeliveryStatus.SENT and delivered.attempts == 21  # 20 refused, then sent
    assert slack.waits == [1.0] + [2.0] * 19 and sum(slack.waits) < policy.outage_seconds
    assert [type(e) for e in publisher.emitted] == [NotificationSent]


async def test_an_outage_past_its_budget_fails_the_delivery_after_the_attempts_and_the_waiting() -> None:
    slack = ScriptedSlack([TransientDeliveryError("HTTP 500: Slack: internal_error")], forever=True)
    policy = RetryPolicy(max_attempts=3, base_delay=1.0, max_delay=2.0, outage_seconds=10)
    sender, publisher, new = sending(slack, policy, rand=1.0)

    with pytest.raises(DeadLetter):
        await sender.deliver(request_of(new), slack.post)

    assert slack.waits == [1.0, 2.0, 2.0, 2.0, 2.0, 2.0] and sum(slack.waits) >= policy.outage_seconds
    assert [type(e) for e in publisher.emitted] == [NotificationFailed]
