"""Every (type, version) the platform knows, and the JSON codec for envelopes."""

from __future__ import annotations

import json
from collections.abc import Iterable

from pydantic import ValidationError

from helpdesk_events import agent, customer, feedback, notification, sla, ticket
from helpdesk_events.envelope import Envelope, EventPayload


class EventDecodeError(ValueError):
    """A record that is not a valid event: a poison message for the dead-letter topic."""


class UnknownEventType(EventDecodeError):
    """A well-formed envelope of a type or version this code does not know."""

    def __init__(self, event_type: str, version: int) -> None:
        super().__init__(f"unknown event type {event_type!r} version {version}")
        self.event_type = event_type
        self.version = version


def _payload_classes(modules: Iterable[object]) -> dict[tuple[str, int], type[EventPayload]]:
    found: dict[tuple[str, int], type[EventPayload]] = {}
    for module in modules:
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, EventPayload)
                and "event_type" in vars(value)
            ):
                key = (value.event_type, value.event_version)
                if key in found and found[key] is not value:
                    raise RuntimeError(f"two payload classes claim {key}")
                found[key] = value
    return found


_REGISTRY = _payload_classes([ticket, agent, sla, feedback, notification, customer])


def event_classes() -> list[type[EventPayload]]:
    """All payload classes, ordered by type then version."""
    return [_REGISTRY[key] for key in sorted(_REGISTRY)]


def payload_class(event_type: str, version: int) -> type[EventPayload]:
    try:
        return _REGISTRY[(event_type, version)]
    except KeyError:
        raise UnknownEventType(event_type, version) from None


def encode(envelope: Envelope) -> bytes:
    return envelope.model_dump_json().encode()


def peek_type(raw: bytes) -> tuple[str, int]:
    """Read only type and version, so a consumer can skip events it does not handle."""
    document = _load(raw)
    event_type, version = document.get("type"), document.get("version")
    if not isinstance(event_type, str) or not isinstance(version, int):
        raise EventDecodeError("envelope has no string 'type' and integer 'version'")
    return event_type, version


def decode(raw: bytes) -> Envelope:
    """Parse and validate a record value into a typed envelope, or raise EventDecodeError."""
    document = _load(raw)
    event_type, version = document.get("type"), document.get("version")
    if not isinstance(event_type, str) or not isinstance(version, int):
        raise EventDecodeError("envelope has no string 'type' and integer 'version'")
    cls = payload_class(event_type, version)
    try:
        return Envelope[cls].model_validate(document)  # type: ignore[valid-type]
    except ValidationError as error:
        raise EventDecodeError(f"invalid {event_type} v{version}: {error}") from error


def _load(raw: bytes) -> dict:
    try:
        document = json.loads(raw)
    except (ValueError, TypeError) as error:
        raise EventDecodeError(f"not JSON: {error}") from error
    if not isinstance(document, dict):
        raise EventDecodeError("envelope is not a JSON object")
    return document
