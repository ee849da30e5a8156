"""Agent availability."""

from __future__ import annotations

from enum import StrEnum

from helpdesk_events.envelope import EventPayload
from helpdesk_events.topics import Topic


class AgentStatus(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class AgentStatusChanged(EventPayload):
    event_type = "agent.status_changed"
    topic = Topic.AGENTS
    summary = "An agent came online, went away or went offline."

    agent_id: str
    from_status: AgentStatus | None
    to_status: AgentStatus

    def partition_key(self) -> str:
        return self.agent_id
