"""Each ticket event becomes one guarded MongoDB update (applied for real in the integration tests)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from helpdesk_events import (
    AgentStatusChanged,
    Envelope,
    EventPayload,
    Requester,
    TicketAssigned,
    TicketCreated,
    TicketMessageAdded,
    TicketQueued,
    TicketStatusChanged,
    TicketTriaged,
    TicketUnassigned,
    Topic,
    event_classes,
    new_envelope,
)
from helpdesk_intake.projection import PROJECTIONS, UnprojectableEvent, project

AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
STAMP = "2026-11-23T09:30:00.000000+00:00"
EVENT_ID = uuid.UUID(int=42)


def envelope(payload: EventPayload, ticket_id: str | None = "T-1") -> Envelope:
    return new_envelope(payload, source="test", ticket_id=ticket_id, event_id=EVENT_ID, occurred_at=AT)


def guard(**extra: object) -> dict:
    return {"_id": "T-1", "applied_event_ids": {"$nin": [str(EVENT_ID)]}, **extra}


CREATED = TicketCreated(
    subject="Printer on fire",
    body="Smoke.",
    requester=Requester(email="ada@example.com", name="Ada"),
    channel="web",
    message_id="M-1",
    tags=("vip",),
)


def test_every_ticket_event_has_a_projection() -> None:
    ticket_events = {cls for cls in event_classes() if cls.topic is Topic.TICKETS}
    assert set(PROJECTIONS) == ticket_events


def test_created_inserts_the_whole_ticket_once_with_its_first_message() -> None:
    write = project(envelope(CREATED))
    assert (write.ticket_id, write.filter, write.upsert) == ("T-1", {"_id": "T-1"}, True)
    assert list(write.update) == ["$setOnInsert"]  # nothing an existing ticket could lose
    assert write.update["$setOnInsert"] == {
        "subject": "Printer on fire",
        "status": "new",
        "priority": "normal",
        "channel": "web",
        "requester": {"email": "ada@example.com", "name": "Ada"},
        "customer_id": None,
        "assignee_id": None,
        "team": None,
        "category": None,
        "queue": None,
        "tags": ["vip"],
        "messages": [
            {
                "message_id": "M-1",
                "author_kind": "customer",
                "author_id": "ada@example.com",
                "channel": "web",
                "body": "Smoke.",
                "public": True,
                "created_at": STAMP,
            }
        ],
        "message_ids": ["M-1"],
        "applied_event_ids": [str(EVENT_ID)],
        "created_at": STAMP,
        "updated_at": STAMP,
    }


def test_a_message_is_added_only_if_neither_its_event_nor_its_message_id_was_seen() -> None:
    note = TicketMessageAdded(
        message_id="M-2", author_kind="agent", author_id="A-7", channel="web", body="Looking.", public=False
    )
    write = project(envelope(note))
    assert (write.filter, write.upsert) == (guard(message_ids={"$nin": ["M-2"]}), False)
    assert write.update == {
        "$set": {"updated_at": STAMP},
        "$addToSet": {
            "messages": {
                "message_id": "M-2",
                "author_kind": "agent",
                "author_id": "A-7",
                "channel": "web",
                "body": "Looking.",
                "public": False,
                "created_at": STAMP,
            },
            "message_ids": "M-2",
            "applied_event_ids": str(EVENT_ID),
        },
    }


def test_status_changed_sets_the_status() -> None:
    write = project(envelope(TicketStatusChanged(from_status="new", to_status="open", changed_by="router")))
    assert write.filter == guard()
    assert write.update == {
        "$set": {"status": "open", "updated_at": STAMP},
        "$addToSet": {"applied_event_ids": str(EVENT_ID)},
    }


def test_assigned_sets_the_agent_and_team_and_leaves_the_queue() -> None:
    write = project(
        envelope(TicketAssigned(agent_id="A-7", agent_name="Grace", slack_user_id="U0GRACE", team="hardware"))
    )
    assert write.filter == guard()
    assert write.update["$set"] == {
        "assignee_id": "A-7",
        "assignee_slack_user_id": "U0GRACE",
        "queue": None,
        "team": "hardware",
        "updated_at": STAMP,
    }


def test_assigned_without_a_team_keeps_the_team_it_had() -> None:
    write = project(envelope(TicketAssigned(agent_id="A-7", agent_name="Grace")))
    assert "team" not in write.update["$set"]


def test_unassigned_clears_the_agent_only_while_it_is_still_that_agent() -> None:
    write = project(envelope(TicketUnassigned(agent_id="A-7", reason="went away")))
    assert write.filter == guard(assignee_id="A-7")
    assert write.update["$set"] == {"assignee_id": None, "assignee_slack_user_id": None, "updated_at": STAMP}


def test_triaged_sets_priority_and_category_and_adds_its_tags_to_the_requesters() -> None:
    write = project(
        envelope(
            TicketTriaged(priority="urgent", category="hardware", tags=("fire", "vip"), team="facilities")
        )
    )
    assert write.update == {
        "$set": {"priority": "urgent", "category": "hardware", "team": "facilities", "updated_at": STAMP},
        "$addToSet": {"tags": {"$each": ["fire", "vip"]}, "applied_event_ids": str(EVENT_ID)},
    }


def test_triaged_without_tags_or_team_touches_neither() -> None:
    write = project(envelope(TicketTriaged(priority="low")))
    assert write.update == {
        "$set": {"priority": "low", "category": None, "updated_at": STAMP},
        "$addToSet": {"applied_event_ids": str(EVENT_ID)},
    }


def test_queued_records_why_and_where_the_ticket_waits() -> None:
    write = project(envelope(TicketQueued(reason="nobody online", team="billing", required_skills=("de",))))
    assert write.update["$set"] == {
        "queue": {"team": "billing", "reason": "nobody online", "required_skills": ["de"], "since": STAMP},
        "updated_at": STAMP,
    }


def test_projecting_is_deterministic_so_a_redelivery_meets_the_same_guard() -> None:
    event = envelope(TicketAssigned(agent_id="A-7", agent_name="Grace"))
    assert project(event) == project(event)


@pytest.mark.parametrize("payload", [CREATED, TicketStatusChanged(from_status=None, to_status="open")])
def test_an_event_without_a_ticket_cannot_be_projected(payload: EventPayload) -> None:
    with pytest.raises(UnprojectableEvent):
        project(envelope(payload, ticket_id=None))


def test_an_event_of_another_family_cannot_be_projected() -> None:
    with pytest.raises(UnprojectableEvent):
        project(envelope(AgentStatusChanged(agent_id="A-7", from_status=None, to_status="online")))
