"""Each ticket event becomes one guarded MongoDB update (applied for real in the integration tests)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from helpdesk_events import (
    AgentStatusChanged,
    Envelope,
    EventPayload,
    Requester,
    SlaBreached,
    SlaMet,
    SlaPaused,
    SlaResumed,
    SlaStarted,
    SlaWarning,
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
from helpdesk_intake.ticket_view import TicketView

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


def test_every_ticket_and_sla_clock_event_has_a_projection() -> None:
    shown_events = {cls for cls in event_classes() if cls.topic in (Topic.TICKETS, Topic.SLA)}
    assert set(PROJECTIONS) == shown_events


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


DUE = datetime(2026, 11, 23, 13, 30, tzinfo=UTC)
CLOCK = {"policy": "urgent-24x7", "metric": "first_reply", "target": timedelta(hours=4), "due_at": DUE}
STAMP_US = 1_795_426_200_000_000  # AT (STAMP) in microseconds since the epoch
FIRST_CLOCK_GUARD = {"sla.first_reply.updated_at_us": {"$exists": False}}
OLDER_CLOCK_GUARD = {"sla.first_reply.updated_at_us": {"$lte": STAMP_US}}


def clock_set(**fields: object) -> dict:
    return {f"sla.first_reply.{name}": value for name, value in fields.items()}


def test_sla_started_sets_a_fresh_running_clock_unless_a_newer_event_was_applied() -> None:
    write = project(envelope(SlaStarted(**CLOCK)))
    assert (write.ticket_id, write.filter, write.upsert) == ("T-1", guard(**FIRST_CLOCK_GUARD), False)
    # No `$or` (nx-27017 reads every ticket for one): a second filter, for a clock already there.
    assert write.else_filter == guard(**OLDER_CLOCK_GUARD)
    assert write.update == {
        "$set": clock_set(
            metric="first_reply",
            policy="urgent-24x7",
            target="PT4H",
            due_at="2026-11-23T13:30:00.000000+00:00",
            state="running",
            updated_at=STAMP,
            warned=False,
            within_target=None,
            updated_at_us=STAMP_US,
        ),
        "$addToSet": {"applied_event_ids": str(EVENT_ID)},
    }


def test_a_clock_event_leaves_the_tickets_own_updated_at_alone() -> None:
    write = project(envelope(SlaBreached(**CLOCK)))
    assert "updated_at" not in write.update["$set"]


@pytest.mark.parametrize(
    ("payload", "state", "extra"),
    [
        (SlaResumed(**CLOCK), "running", {}),
        (SlaWarning(**CLOCK, elapsed_share=0.75), "running", {"warned": True}),
        (SlaBreached(**CLOCK, late=True), "breached", {}),
        (SlaMet(**CLOCK, within_target=False, elapsed=timedelta(hours=5)), "met", {"within_target": False}),
    ],
)
def test_each_clock_event_sets_its_state_and_only_what_it_knows(
    payload: EventPayload, state: str, extra: dict
) -> None:
    changes = project(envelope(payload)).update["$set"]
    assert changes == clock_set(
        metric="first_reply",
        policy="urgent-24x7",
        target="PT4H",
        due_at="2026-11-23T13:30:00.000000+00:00",
        state=state,
        updated_at=STAMP,
        **extra,
        updated_at_us=STAMP_US,
    )


def test_a_paused_clock_has_no_due_time_and_keeps_its_warning() -> None:
    changes = project(envelope(SlaPaused(**{**CLOCK, "due_at": None, "metric": "resolution"}))).update["$set"]
    assert changes["sla.resolution.state"] == "paused"
    assert changes["sla.resolution.due_at"] is None
    assert "sla.resolution.warned" not in changes


def test_a_clock_event_without_a_ticket_cannot_be_projected() -> None:
    with pytest.raises(UnprojectableEvent):
        project(envelope(SlaStarted(**CLOCK), ticket_id=None))


def test_the_view_lists_the_clocks_seen_first_reply_next_reply_then_resolution() -> None:
    def clock(metric: str, state: str) -> dict:
        return {
            "metric": metric,
            "policy": "p",
            "target": "PT10S",
            "due_at": None,
            "state": state,
            "warned": 1,  # nx-27017 gives booleans set in a sub-document back as integers
            "updated_at": STAMP,
        }

    document = {
        "_id": "T-1",
        "subject": "s",
        "status": "open",
        "priority": "normal",
        "channel": "web",
        "requester": {"email": "ada@example.com", "name": "Ada"},
        "assignee_id": None,
        "team": None,
        "category": None,
        "queue": None,
        "tags": [],
        "messages": [],
        "created_at": STAMP,
        "updated_at": STAMP,
        "sla": {"resolution": clock("resolution", "paused"), "first_reply": clock("first_reply", "met")},
    }
    view = TicketView.from_document(document)
    assert [(clock.metric, clock.state, clock.target) for clock in view.sla] == [
        ("first_reply", "met", timedelta(seconds=10)),
        ("resolution", "paused", timedelta(seconds=10)),
    ]
    assert view.model_dump(mode="json")["sla"][0]["target"] == "PT10S"
    assert view.sla[0].warned is True
    assert TicketView.from_document({k: v for k, v in document.items() if k != "sla"}).sla == []
