"""The envelope every event travels in, and the base class of every payload."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import ClassVar, Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from helpdesk_events.topics import Topic


class EventPayload(BaseModel):
    """Base of every typed payload.

    Payloads are immutable. Unknown fields are ignored on input so that adding an
    optional field stays compatible with older subscribers; removing, renaming or
    retyping a field is a breaking change and gets a new `event_version`.
    """

    # Serialization-mode schemas mark defaulted fields required: every field is always on the wire.
    model_config = ConfigDict(frozen=True, extra="ignore", json_schema_serialization_defaults_required=True)

    event_type: ClassVar[str]
    event_version: ClassVar[int] = 1
    topic: ClassVar[Topic]
    summary: ClassVar[str] = ""

    def partition_key(self) -> str | None:
        """Key for events that have no ticket (an agent's status, say)."""
        return None


P = TypeVar("P", bound=EventPayload)


class Envelope(BaseModel, Generic[P]):
    """What goes on the wire: metadata around one typed payload."""

    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)

    id: uuid.UUID = Field(description="Unique id of this event; consumers use it to drop redeliveries.")
    type: str = Field(description="Event type, e.g. ticket.created.", examples=["ticket.created"])
    version: int = Field(ge=1, description="Version of the payload schema for this type.")
    occurred_at: AwareDatetime = Field(description="When it happened, UTC.")
    ticket_id: str | None = Field(description="The ticket the event belongs to, where it applies.")
    source: str = Field(description="The service that emitted it.", examples=["intake"])
    payload: P

    @field_validator("occurred_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @property
    def key(self) -> str | None:
        """Kafka record key: the ticket id keeps one ticket's events in order."""
        return self.ticket_id if self.ticket_id is not None else self.payload.partition_key()


def new_envelope(
    payload: P,
    *,
    source: str,
    ticket_id: str | None = None,
    event_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
) -> Envelope[P]:
    """Wrap a payload. Pass a deterministic `event_id` when a replay must emit the same event."""
    return Envelope[type(payload)](  # type: ignore[misc]
        id=event_id or uuid.uuid4(),
        type=payload.event_type,
        version=payload.event_version,
        occurred_at=occurred_at or datetime.now(UTC),
        ticket_id=ticket_id,
        source=source,
        payload=payload,
    )
