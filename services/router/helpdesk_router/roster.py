"""The agent roster: who the agents are, what they can do, and how much work they hold."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from helpdesk_events import AgentStatus, Channel
from helpdesk_router.working_hours import WorkingHours

AGENT_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"

_LABEL = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def normalize_label(raw: str) -> str:
    """Skills and teams compare case-insensitively: 'Billing Disputes' is 'billing-disputes'."""
    label = re.sub(r"\s+", "-", raw.strip().lower())
    if not _LABEL.match(label):
        raise ValueError(
            f"{raw!r} must be 1 to 64 letters, digits, '.', '_' or '-' (spaces become '-'), "
            "starting with a letter or digit"
        )
    return label


class AgentProfile(BaseModel):
    """What a PUT says about an agent: everything but the load, which only the router changes."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200, examples=["Grace Hopper"])
    email: EmailStr = Field(examples=["grace@example.com"])
    slack_user_id: str | None = Field(
        default=None, pattern=r"^[UW][A-Z0-9]{1,31}$", description="Slack member id for direct messages."
    )
    skills: tuple[str, ...] = Field(
        max_length=100, description="Normalized to lower case, spaces to '-', sorted, without duplicates."
    )
    capacity: int = Field(ge=0, le=1000, description="Most open tickets the agent holds at once.")
    channel_capacity: dict[Channel, int] = Field(
        default_factory=dict,
        description=(
            "Optional limits per channel within `capacity`, e.g. {\"chat\": 2}: at most two open chats "
            "at once. Channels not named are bounded by `capacity` alone."
        ),
        examples=[{"chat": 2, "voice": 1}],
    )
    status: AgentStatus
    teams: tuple[str, ...] = Field(
        default=(), max_length=20, description="Normalized like skills; order kept: the first is the home team."
    )
    working_hours: WorkingHours | None = Field(
        default=None, description="Tickets are offered only inside these hours; none: at any hour."
    )

    @field_validator("channel_capacity")
    @classmethod
    def _within_capacity(cls, limits: dict[Channel, int]) -> dict[Channel, int]:
        for channel, limit in limits.items():
            if not 0 <= limit <= 1000:
                raise ValueError(f"{channel.value}: a channel limit is between 0 and 1000, not {limit}")
        return dict(sorted(limits.items()))

    @field_validator("skills")
    @classmethod
    def _normalize_skills(cls, skills: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(sorted({normalize_label(skill) for skill in skills}))

    @field_validator("teams")
    @classmethod
    def _normalize_teams(cls, teams: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(normalize_label(team) for team in teams))

    @property
    def home_team(self) -> str | None:
        return self.teams[0] if self.teams else None


@dataclass(frozen=True)
class StatusChange:
    """An availability change still to be told to the other services.

    `sequence` counts the stored status changes of the agent and makes the event id; changes
    made while an earlier one was not yet sent are told as one (from what was last told).
    """

    agent_id: str
    from_status: AgentStatus | None
    to_status: AgentStatus
    sequence: int

    @property
    def is_noop(self) -> bool:
        """The agent went back to the status last told before anyone heard of the change."""
        return self.from_status == self.to_status


@dataclass(frozen=True)
class Agent:
    agent_id: str
    profile: AgentProfile
    load: int = 0
    last_assigned_at: datetime | None = None
    status_changes: int = 0
    announced_status: AgentStatus | None = None
    announced_changes: int = 0
    # Open tickets per channel (values of Channel); they add up to `load`.
    channel_loads: Mapping[str, int] = field(default_factory=dict)

    @property
    def status(self) -> AgentStatus:
        return self.profile.status

    @property
    def has_free_capacity(self) -> bool:
        return self.status is AgentStatus.ONLINE and self.load < self.profile.capacity

    def has_room_for(self, channel: Channel | None) -> bool:
        """A free slot overall and, when the channel has its own limit, a free slot for that channel."""
        if self.load >= self.profile.capacity:
            return False
        limit = self.profile.channel_capacity.get(channel) if channel is not None else None
        return limit is None or self.channel_loads.get(channel.value, 0) < limit  # type: ignore[union-attr]

    def on_shift(self, moment: datetime) -> bool:
        hours = self.profile.working_hours
        return hours is None or hours.contains(moment)

    def unannounced_status_change(self) -> StatusChange | None:
        if self.announced_changes >= self.status_changes:
            return None
        return StatusChange(self.agent_id, self.announced_status, self.status, self.status_changes)
