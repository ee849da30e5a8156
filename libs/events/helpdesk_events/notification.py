"""What the notifier delivered, or failed to."""

from __future__ import annotations

import uuid
from enum import StrEnum

from pydantic import Field

from helpdesk_events.envelope import EventPayload
from helpdesk_events.topics import Topic


class DeliveryChannel(StrEnum):
    SLACK = "slack"
    EMAIL = "email"


class _Delivery(EventPayload):
    topic = Topic.NOTIFICATIONS

    delivery_key: str = Field(description="One per (event, channel, recipient): the no-double-send key.")
    channel: DeliveryChannel
    recipient: str = Field(description="Slack user or channel id, or email address.")
    trigger_event_id: uuid.UUID
    trigger_event_type: str
    attempts: int = Field(ge=1)


class NotificationSent(_Delivery):
    event_type = "notification.sent"
    summary = "A Slack message or email was delivered (or recorded, when Slack is not configured)."

    external_id: str | None = Field(default=None, description="Slack message ts, or the email's Message-ID.")


class NotificationFailed(_Delivery):
    event_type = "notification.failed"
    summary = "A delivery failed after its last retry; the trigger event went to the dead-letter topic."

    error: str
