"""Deliveries: one message to one recipient on one channel because of one event. Pure rules.

A delivery is identified by its key, `f"{event_id}:{channel}:{recipient}"`, so a replayed
trigger event finds the delivery it already made and makes no second one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from helpdesk_events import DeliveryChannel, NotificationFailed, NotificationSent

# Fixed namespace of the notifier's deterministic event ids.
NOTIFIER_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "notifier.helpdesk.local")


class DeliveryKind(StrEnum):
    ACKNOWLEDGEMENT = "acknowledgement"  # email to the requester: we got your request
    ASSIGNMENT = "assignment"  # Slack message to the agent: this ticket is yours
    ASSIGNMENT_UPDATE = "assignment_update"  # chat.update of that message (accepted, reassigned, solved)
    SLA_ALERT = "sla_alert"  # Slack message to the team: an SLA clock is about to breach, or did
    SHOUT_OUT = "shout_out"  # Slack message to the team: a customer's kind words
    FOLLOW_UP = "follow_up"  # Slack message to the team lead: a low score needs a person
    AGENT_REPLY = "agent_reply"  # email to the requester: the agent's answer
    SURVEY_INVITATION = "survey_invitation"  # email to the requester: rate us
    STATUS_CHANGE = "status_change"  # email to the requester: solved, or reopened

    @property
    def repeatable(self) -> bool:
        """Sending it twice leaves the recipient with what sending it once would: safe to repeat blind.

        Only an update is: `chat.update` of a given message with given blocks lands on the same message
        and shows the same thing. Every post or email adds one more message for the recipient.
        """
        return self is DeliveryKind.ASSIGNMENT_UPDATE


class DeliveryStatus(StrEnum):
    SENDING = "sending"  # recorded before the first attempt; still so while attempts go on
    SENT = "sent"
    RECORDED = "recorded"  # Slack not configured: kept here instead of posted
    SKIPPED = "skipped"  # nothing to send to (an agent without a Slack user id)
    FAILED = "failed"


# Statuses after which a replay of the trigger event must not send again.
SETTLED = frozenset({DeliveryStatus.SENT, DeliveryStatus.RECORDED, DeliveryStatus.SKIPPED})
# Settled statuses announced on the notifications topic.
ANNOUNCED_AS_SENT = frozenset({DeliveryStatus.SENT, DeliveryStatus.RECORDED})


def delivery_key(event_id: uuid.UUID, channel: DeliveryChannel, recipient: str) -> str:
    return f"{event_id}:{channel.value}:{recipient}"


def notification_event_id(key: str, event_type: str) -> uuid.UUID:
    """Same delivery and outcome, same event id: a replayed announcement is a duplicate subscribers drop.

    The outcome is part of the name because one delivery can fail and, re-driven from the
    dead-letter topic, later succeed: those are two different facts.
    """
    return uuid.uuid5(NOTIFIER_NAMESPACE, f"{key}:{event_type}")


@dataclass(frozen=True)
class DeliveryRequest:
    """What a handler wants delivered, before any attempt."""

    ticket_id: str
    channel: DeliveryChannel
    kind: DeliveryKind
    recipient: str
    trigger_event_id: uuid.UUID
    trigger_event_type: str
    content: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return delivery_key(self.trigger_event_id, self.channel, self.recipient)


@dataclass(frozen=True)
class Delivery:
    """The durable record of a delivery, as stored."""

    key: str
    ticket_id: str
    channel: DeliveryChannel
    kind: DeliveryKind
    recipient: str
    status: DeliveryStatus
    trigger_event_id: uuid.UUID
    trigger_event_type: str
    content: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    attempts: int = 0
    last_error: str | None = None
    reason: str | None = None
    external_id: str | None = None
    # Slack: the conversation the message landed in (a `D...` id for a direct message), for chat.update.
    conversation: str | None = None
    # An attempt started and its outcome was not written down (yet): the send may have happened.
    in_flight: bool = False
    # The outcome went out on the notifications topic.
    announced: bool = False


class Step(StrEnum):
    SEND = "send"  # make an attempt (again)
    NOTHING = "nothing"  # a replay of a settled delivery
    ANNOUNCE = "announce"  # settled, but the notification event did not go out: emit it now
    # An interrupted Slack post: its outcome is unknown. Look for it in the conversation before posting
    # again (the message's metadata names the delivery); fail it when there is no way to look.
    ABANDON = "abandon"


def next_step(record: Delivery | None) -> Step:
    """What to do when the trigger of a delivery arrives, given what is recorded of it.

    The one window left is a worker dying after the provider accepted a message and before
    the outcome was written. `in_flight` narrows it to the call itself: it is set right before
    each attempt and cleared once the attempt's failure is written, so a delivery left in
    "sending" with `in_flight` false only ever failed, and is safely sent again. One left
    in flight is resolved by channel:
    - email is sent again with the SAME Message-ID (kept in the record's content), which
      mail clients show as one message;
    - Slack has no such key: the post is not made again blind (ABANDON). The deliverer first looks
      for it in the conversation by its metadata, which names the delivery: found, the delivery is
      sent; not found, it is posted. Without a way to look, it fails and its trigger goes to the
      dead-letter topic for a person to check and re-drive;
    - a repeatable kind (an update of a message already posted) is simply made again.
    """
    if record is None:
        return Step.SEND
    if record.status in SETTLED:
        if record.status in ANNOUNCED_AS_SENT and not record.announced:
            return Step.ANNOUNCE
        return Step.NOTHING
    if record.status is DeliveryStatus.FAILED:
        return Step.SEND  # a failed delivery's trigger comes back only when someone re-drives it
    if record.in_flight and record.channel is DeliveryChannel.SLACK and not record.kind.repeatable:
        return Step.ABANDON
    return Step.SEND


def sent_event(delivery: Delivery) -> NotificationSent:
    return NotificationSent(**_described(delivery), external_id=delivery.external_id)


def failed_event(delivery: Delivery) -> NotificationFailed:
    return NotificationFailed(**_described(delivery), error=delivery.last_error or "unknown error")


def _described(delivery: Delivery) -> dict[str, Any]:
    """What both outcome events say of the delivery."""
    return {
        "delivery_key": delivery.key,
        "channel": delivery.channel,
        "recipient": delivery.recipient,
        "trigger_event_id": delivery.trigger_event_id,
        "trigger_event_type": delivery.trigger_event_type,
        "attempts": max(1, delivery.attempts),
    }


def undeliverable_email(address: str) -> bool:
    """Intake gives a requester without an email (a caller, a social handle) a stand-in address under
    `.invalid`, the top-level domain reserved never to resolve (RFC 2606): nothing can be sent there."""
    domain = address.rpartition("@")[2].lower().rstrip(".")
    return domain == "invalid" or domain.endswith(".invalid")
