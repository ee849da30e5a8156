"""The event contract: envelopes round-trip, are immutable, and match the exported documents."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest
from pydantic import ValidationError

from helpdesk_events import (
    AgentStatusChanged,
    EventDecodeError,
    TicketCreated,
    TicketStatusChanged,
    UnknownEventType,
    decode,
    encode,
    event_classes,
    new_envelope,
)
from helpdesk_events.export import asyncapi_document, event_schema, rendered_files
from helpdesk_events.topics import Topic, TopicNames
from tests.support.samples import sample_payloads

DOCS = Path(__file__).resolve().parents[3] / "docs" / "events"


def test_every_event_type_of_the_lifecycle_is_defined() -> None:
    types = {cls.event_type for cls in event_classes()}
    assert {
        "ticket.created", "ticket.message_added", "ticket.status_changed", "ticket.triaged",
        "ticket.assigned", "ticket.queued", "ticket.unassigned", "agent.status_changed",
        "sla.started", "sla.paused", "sla.resumed", "sla.warning", "sla.breached", "sla.met",
        "survey.sent", "feedback.received", "notification.sent", "notification.failed",
    } <= types


def test_samples_cover_every_event_class() -> None:
    assert {type(p) for p in sample_payloads()} == set(event_classes())


@pytest.mark.parametrize("payload", sample_payloads(), ids=lambda p: p.event_type)
def test_envelope_round_trips_through_the_wire_format(payload) -> None:
    envelope = new_envelope(payload, source="test", ticket_id="T-1")
    decoded = decode(encode(envelope))
    assert decoded == envelope
    assert type(decoded.payload) is type(payload)
    assert decoded.type == payload.event_type and decoded.version == payload.event_version


@pytest.mark.parametrize("payload", sample_payloads(), ids=lambda p: p.event_type)
def test_wire_format_matches_the_exported_json_schema(payload) -> None:
    envelope = new_envelope(payload, source="test", ticket_id="T-1")
    schema = event_schema(type(payload))
    jsonschema.validate(json.loads(encode(envelope)), schema)
    other = next(cls for cls in event_classes() if cls is not type(payload))
    with pytest.raises(jsonschema.ValidationError):  # the type is pinned per schema
        jsonschema.validate(json.loads(encode(envelope)), event_schema(other))


def test_envelopes_and_payloads_are_immutable() -> None:
    payload = TicketStatusChanged(from_status="new", to_status="open")
    envelope = new_envelope(payload, source="test", ticket_id="T-1")
    with pytest.raises(ValidationError):
        payload.to_status = "solved"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        envelope.ticket_id = "T-2"  # type: ignore[misc]


def test_occurred_at_is_normalised_to_utc_and_must_carry_a_zone() -> None:
    payload = TicketStatusChanged(from_status=None, to_status="open")
    paris = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=1)))
    envelope = new_envelope(payload, source="t", occurred_at=paris)
    assert envelope.occurred_at == paris and envelope.occurred_at.tzinfo == UTC
    document = json.loads(encode(envelope))
    document["occurred_at"] = "2026-03-01T12:00:00"
    with pytest.raises(EventDecodeError, match="timezone"):
        decode(json.dumps(document).encode())


def test_key_is_the_ticket_id_or_the_agent_id() -> None:
    assert new_envelope(TicketStatusChanged(from_status=None, to_status="open"), source="t", ticket_id="T-9").key == "T-9"
    agent = AgentStatusChanged(agent_id="a7", from_status=None, to_status="online")
    assert new_envelope(agent, source="t").key == "a7"


def test_deterministic_event_id_survives_the_round_trip() -> None:
    event_id = uuid.uuid5(uuid.NAMESPACE_URL, "T-1/ticket.assigned/a1")
    envelope = new_envelope(TicketStatusChanged(from_status=None, to_status="open"), source="t", event_id=event_id)
    assert decode(encode(envelope)).id == event_id


def test_unknown_fields_in_a_payload_are_ignored_for_forward_compatibility() -> None:
    envelope = new_envelope(sample_payloads()[0], source="t", ticket_id="T-1")
    document = json.loads(encode(envelope))
    document["payload"]["sentiment"] = "annoyed"  # a field no version of the contract has
    assert decode(json.dumps(document).encode()).payload == envelope.payload


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"type": "ticket.created"}', "integer 'version'"),
        (b'{"type": "ticket.created", "version": 1, "payload": {}}', "invalid ticket.created v1"),
    ],
)
def test_malformed_records_raise_decode_errors(raw: bytes, error: str) -> None:
    with pytest.raises(EventDecodeError, match=error):
        decode(raw)


def test_an_unknown_type_or_version_is_named_in_the_error() -> None:
    envelope = json.loads(encode(new_envelope(sample_payloads()[0], source="t", ticket_id="T")))
    envelope["version"] = 99
    with pytest.raises(UnknownEventType) as caught:
        decode(json.dumps(envelope).encode())
    assert (caught.value.event_type, caught.value.version) == ("ticket.created", 99)


def test_a_payload_with_a_wrong_field_type_is_refused() -> None:
    with pytest.raises(ValidationError):
        TicketCreated(subject="s", body="b", requester={"email": "a@b.c"}, channel="fax", message_id="m")


def test_topic_names_carry_the_deployment_prefix() -> None:
    names = TopicNames("acme.")
    assert names.name(Topic.TICKETS) == "acme.tickets"
    assert names.logical("acme.deadletter") is Topic.DEAD_LETTER
    with pytest.raises(ValueError):
        names.logical("other.tickets")


def test_exported_documents_on_disk_match_the_models() -> None:
    """Regenerate with `make docs` after changing an event model."""
    expected = rendered_files()
    on_disk = {str(p.relative_to(DOCS)): p.read_text() for p in DOCS.rglob("*") if p.is_file()}
    assert sorted(on_disk) == sorted(expected), "files under docs/events differ: run `make docs`"
    for name, text in expected.items():
        assert on_disk[name] == text, f"docs/events/{name} is out of date: run `make docs`"


def test_asyncapi_names_every_topic_and_every_event_on_it() -> None:
    document = asyncapi_document()
    assert set(document["channels"]) == {topic.value for topic in Topic}
    for cls in event_classes():
        channel = document["channels"][cls.topic.value]
        names = [document["components"]["messages"][ref["$ref"].rsplit("/", 1)[1]]["name"]
                 for ref in channel["messages"].values()]
        assert cls.event_type in names
    for operation in document["operations"].values():
        channel_name = operation["channel"]["$ref"].rsplit("/", 1)[1]
        for ref in operation["messages"]:
            assert ref["$ref"].startswith(f"#/channels/{channel_name}/messages/")
