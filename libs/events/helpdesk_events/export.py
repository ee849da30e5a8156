"""Export the contract for subscribers: one JSON Schema per event type and version, and an AsyncAPI document.

`python -m helpdesk_events.export docs/events` writes them; a test fails when the
files on disk differ from what the models produce, so a change to a model cannot
reach subscribers unannounced.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from helpdesk_events.envelope import Envelope, EventPayload
from helpdesk_events.registry import event_classes
from helpdesk_events.topics import TOPIC_DESCRIPTIONS, Topic

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
HEADERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "content-type": {"type": "string", "const": "application/json"},
        "event-type": {"type": "string", "description": "Same as the envelope's `type`."},
        "event-version": {"type": "string", "description": "Same as the envelope's `version`, as text."},
        "traceparent": {"type": "string", "description": "W3C trace context of the emitting span."},
        "tracestate": {"type": "string", "description": "W3C trace state, when present."},
    },
    "required": ["content-type", "event-type", "event-version"],
}
DEAD_LETTER_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "The original record's headers, plus these.",
    "properties": {
        "dlq-reason": {"type": "string", "enum": ["undecodable", "invalid", "handler_failed", "rejected"]},
        "dlq-error": {"type": "string"},
        "dlq-original-topic": {"type": "string"},
        "dlq-original-partition": {"type": "string"},
        "dlq-original-offset": {"type": "string"},
        "dlq-consumer-group": {"type": "string"},
        "dlq-service": {"type": "string"},
    },
    "required": ["dlq-reason", "dlq-original-topic", "dlq-original-partition", "dlq-original-offset"],
}


def schema_name(cls: type[EventPayload]) -> str:
    return f"{cls.event_type}.v{cls.event_version}"


def event_schema(cls: type[EventPayload]) -> dict[str, Any]:
    """The JSON Schema of a whole envelope carrying this payload."""
    schema = Envelope[cls].model_json_schema(mode="serialization")  # type: ignore[valid-type]
    schema["properties"]["type"]["const"] = cls.event_type
    schema["properties"]["version"]["const"] = cls.event_version
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"{schema_name(cls)}.schema.json",
        **schema,
        "title": f"{cls.event_type} (version {cls.event_version})",
        "description": cls.summary,
    }


def asyncapi_document() -> dict[str, Any]:
    classes = event_classes()
    messages = {
        _message_id(cls): {
            "name": cls.event_type,
            "title": f"{cls.event_type} v{cls.event_version}",
            "summary": cls.summary,
            "contentType": "application/json",
            "headers": {"$ref": "#/components/schemas/EventHeaders"},
            "payload": {"$ref": f"./schemas/{schema_name(cls)}.schema.json"},
            "bindings": {"kafka": {"key": {"type": "string", "description": _key_description(cls)}}},
        }
        for cls in classes
    }
    messages["deadLetter"] = {
        "name": "dead-letter",
        "title": "Dead-lettered record",
        "summary": "A record a consumer could not process, byte for byte as it arrived.",
        "headers": {"$ref": "#/components/schemas/DeadLetterHeaders"},
        "payload": {"description": "The original record value, which may not be valid JSON."},
    }
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in Topic:
        channel_messages = (
            {"deadLetter": {"$ref": "#/components/messages/deadLetter"}}
            if topic is Topic.DEAD_LETTER
            else {
                _message_id(cls): {"$ref": f"#/components/messages/{_message_id(cls)}"}
                for cls in classes
                if cls.topic is topic
            }
        )
        channels[topic.value] = {
            "address": "{prefix}" + topic.value,
            "description": TOPIC_DESCRIPTIONS[topic],
            "parameters": {"prefix": {"$ref": "#/components/parameters/prefix"}},
            "messages": channel_messages,
        }
        operations[f"consume_{topic.value}"] = {
            "action": "receive",
            "summary": f"Subscribe to {topic.value}.",
            "channel": {"$ref": f"#/channels/{topic.value}"},
            "messages": [{"$ref": f"#/channels/{topic.value}/messages/{name}"} for name in channel_messages],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Help desk ticket event streams",
            "version": "1.0.0",
            "description": (
                "Every event is a JSON envelope (id, type, version, occurred_at, ticket_id, source, payload). "
                "Records are keyed by ticket_id (agent_id on the agents topic), so one ticket's events "
                "arrive in order. Delivery is at least once: drop duplicates by envelope id. A new field "
                "may appear in a payload at any time (ignore what you do not know); anything that would "
                "break a subscriber is published as a new version of the event type."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "kafka": {
                "host": "localhost:9092",
                "protocol": "kafka",
                "description": "The embedded broker of `make up`; production points at its own Kafka.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "parameters": {
                "prefix": {"default": "helpdesk.", "description": "KAFKA_TOPIC_PREFIX of the deployment."}
            },
            "schemas": {"EventHeaders": HEADERS_SCHEMA, "DeadLetterHeaders": DEAD_LETTER_HEADERS},
            "messages": messages,
        },
    }


def rendered_files() -> dict[str, str]:
    """Relative path -> file text, exactly as written to disk."""
    files = {
        f"schemas/{schema_name(cls)}.schema.json": json.dumps(event_schema(cls), indent=2, sort_keys=True) + "\n"
        for cls in event_classes()
    }
    files["asyncapi.yaml"] = yaml.safe_dump(asyncapi_document(), sort_keys=False, width=100, allow_unicode=True)
    return files


def _message_id(cls: type[EventPayload]) -> str:
    return cls.event_type.replace(".", "_") + f"_v{cls.event_version}"


def _key_description(cls: type[EventPayload]) -> str:
    return "agent_id" if cls.topic is Topic.AGENTS else "ticket_id"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, nargs="?", default=Path("docs/events"))
    parser.add_argument("--check", action="store_true", help="exit 1 if the files differ, write nothing")
    args = parser.parse_args(argv)
    stale = []
    for relative, text in rendered_files().items():
        path = args.directory / relative
        if path.exists() and path.read_text() == text:
            continue
        stale.append(relative)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    known = set(rendered_files())
    orphans = [
        str(path.relative_to(args.directory))
        for path in (args.directory / "schemas").glob("*.json")
        if str(path.relative_to(args.directory)) not in known
    ]
    if args.check:
        for name in stale + orphans:
            print(f"out of date: {args.directory / name}", file=sys.stderr)
        return 1 if stale or orphans else 0
    for name in orphans:
        (args.directory / name).unlink()
    print(f"wrote {len(stale)} file(s), removed {len(orphans)} under {args.directory}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
