"""SLA clocks: started, paused, resumed, warning, breached, met."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import AwareDatetime, Field

from helpdesk_events.envelope import EventPayload
from helpdesk_events.topics import Topic


class SlaMetric(StrEnum):
    FIRST_REPLY = "first_reply"
    NEXT_REPLY = "next_reply"
    RESOLUTION = "resolution"


class _SlaClockEvent(EventPayload):
    topic = Topic.SLA

    policy: str = Field(description="Name of the SLA policy.")
    metric: SlaMetric
    target: timedelta = Field(description="Target in business time, ISO 8601 duration.")
    due_at: AwareDatetime | None = Field(description="When the clock breaches if nothing happens (null while paused).")


class SlaStarted(_SlaClockEvent):
    event_type = "sla.started"
    summary = "A clock started running for a ticket."


class SlaPaused(_SlaClockEvent):
    event_type = "sla.paused"
    summary = "A clock paused (ticket pending on the customer, or on hold by policy)."


class SlaResumed(_SlaClockEvent):
    event_type = "sla.resumed"
    summary = "A paused clock runs again."


class SlaWarning(_SlaClockEvent):
    event_type = "sla.warning"
    summary = "A clock used the warning share of its target and has not been met."

    elapsed_share: float = Field(ge=0, description="Share of the target already used, 0.75 for 75%.")


class SlaBreached(_SlaClockEvent):
    event_type = "sla.breached"
    summary = "A clock passed its target."

    late: bool = Field(default=False, description="True when emitted after the due time (service was down).")


class SlaMet(_SlaClockEvent):
    event_type = "sla.met"
    summary = "A clock stopped before or after its target; `within_target` says which."

    within_target: bool
    elapsed: timedelta = Field(description="Business time the clock ran.")
