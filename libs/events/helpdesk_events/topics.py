"""Topics: one per event family, every record keyed by ticket id (or agent id)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Topic(StrEnum):
    """Logical topic names; the physical name adds a deployment prefix."""

    TICKETS = "tickets"
    AGENTS = "agents"
    SLA = "sla"
    FEEDBACK = "feedback"
    NOTIFICATIONS = "notifications"
    CUSTOMERS = "customers"
    DEAD_LETTER = "deadletter"


TOPIC_DESCRIPTIONS: dict[Topic, str] = {
    Topic.TICKETS: "The ticket lifecycle, keyed by ticket_id so one ticket's events stay in order.",
    Topic.AGENTS: "Agent availability, keyed by agent_id.",
    Topic.SLA: "SLA clocks of each ticket, keyed by ticket_id.",
    Topic.FEEDBACK: "Surveys sent and answers received, keyed by ticket_id.",
    Topic.NOTIFICATIONS: "Outcome of every Slack and email delivery, keyed by ticket_id.",
    Topic.CUSTOMERS: (
        "Customer records: erasure requests every service acts on, keyed by customer_id. "
        "Carries personal data (identity keys) until the topic's retention expires."
    ),
    Topic.DEAD_LETTER: (
        "Records a consumer could not process, byte for byte as they arrived, with headers saying "
        "where they came from and why they failed."
    ),
}


@dataclass(frozen=True)
class TopicNames:
    """Physical topic names for one deployment (a prefix keeps environments and tests apart)."""

    prefix: str = "helpdesk."

    def name(self, topic: Topic) -> str:
        return f"{self.prefix}{topic.value}"

    def all(self) -> dict[Topic, str]:
        return {topic: self.name(topic) for topic in Topic}

    def logical(self, physical: str) -> Topic:
        if not physical.startswith(self.prefix):
            raise ValueError(f"topic {physical!r} is not under prefix {self.prefix!r}")
        return Topic(physical[len(self.prefix) :])
