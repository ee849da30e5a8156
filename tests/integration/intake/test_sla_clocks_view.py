"""SLA clocks from the sla topic, shown by GET /v1/tickets/{ticket_id}: real broker, real store."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from helpdesk_events import (
    Envelope,
    EventPayload,
    Requester,
    SlaBreached,
    SlaMet,
    SlaPaused,
    SlaResumed,
    SlaStarted,
    SlaWarning,
    TicketCreated,
    new_envelope,
)
from helpdesk_events.publisher import EventPublisher
from helpdesk_intake.handlers import ReadModelProjector, TicketNotYetProjected
from helpdesk_intake.read_model import TICKETS_COLLECTION, TicketReadModel
from helpdesk_intake.settings import Settings
from tests.integration.intake.helpers import open_ticket, poll_ticket, running_intake, started

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return START + timedelta(minutes=minutes)


def clock_event(ticket_id: str, payload: EventPayload, minutes: int) -> Envelope:
    return new_envelope(payload, source="sla", ticket_id=ticket_id, occurred_at=at(minutes))


def clocks(ticket: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {clock["metric"]: clock for clock in ticket["sla"]}


def first_reply(**fields: Any) -> dict[str, Any]:
    return {"policy": "urgent", "metric": "first_reply", "target": timedelta(seconds=10), **fields}


def resolution(**fields: Any) -> dict[str, Any]:
    return {"policy": "urgent", "metric": "resolution", "target": timedelta(hours=1), **fields}


def next_reply(**fields: Any) -> dict[str, Any]:
    return {"policy": "urgent", "metric": "next_reply", "target": timedelta(minutes=30), **fields}


async def test_the_ticket_shows_its_clocks_in_order_and_stale_or_replayed_events_change_nothing(
    settings: Settings,
) -> None:
    async with (
        running_intake(settings) as client,
        started(EventPublisher(settings.kafka("test-sla"), "sla")) as sla,
    ):
        ticket_id = await open_ticket(client)
        started_first = clock_event(
            ticket_id, SlaStarted(**first_reply(due_at=at(0) + timedelta(seconds=10))), 0
        )
        story = [
            started_first,
            clock_event(ticket_id, SlaStarted(**resolution(due_at=at(60))), 0),
            clock_event(ticket_id, SlaWarning(**first_reply(due_at=at(0)), elapsed_share=0.75), 1),
            clock_event(
                ticket_id, SlaMet(**first_reply(due_at=at(0), within_target=True, elapsed=timedelta(0))), 2
            ),
            clock_event(ticket_id, SlaStarted(**next_reply(due_at=at(33))), 3),
            clock_event(ticket_id, SlaPaused(**resolution(due_at=None)), 4),
        ]
        for envelope in story:
            await sla.publish(envelope)
        shown = await poll_ticket(
            client, ticket_id, lambda t: len(t["sla"]) == 3 and clocks(t)["resolution"]["state"] == "paused"
        )
        assert [clock["metric"] for clock in shown["sla"]] == ["first_reply", "next_reply", "resolution"]
        assert clocks(shown)["first_reply"] == {
            "metric": "first_reply",
            "policy": "urgent",
            "target": "PT10S",
            "due_at": "2026-11-23T09:00:00Z",
            "state": "met",
            "warned": True,
            "within_target": True,
            "updated_at": "2026-11-23T09:02:00Z",
        }
        assert (clocks(shown)["next_reply"]["state"], clocks(shown)["next_reply"]["target"]) == (
            "running",
            "PT30M",
        )
        assert clocks(shown)["resolution"]["due_at"] is None
        assert shown["updated_at"] == shown["created_at"]  # a clock is not a change of the ticket

        # Redelivered (same id), then older than what the clock shows (new ids), around a re-target.
        await sla.publish(started_first)
        await sla.publish(clock_event(ticket_id, SlaPaused(**resolution(due_at=None)), 3))
        retarget = SlaStarted(**resolution(target=timedelta(hours=2), due_at=at(125)))
        await sla.publish(clock_event(ticket_id, retarget, 5))
        await sla.publish(clock_event(ticket_id, SlaResumed(**resolution(due_at=at(61))), 4))
        marker = clock_event(ticket_id, SlaBreached(**next_reply(due_at=at(33))), 40)
        await sla.publish(marker)
        # One ticket's clock events are consumed in order: once the marker shows, the rest were applied.
        after = await poll_ticket(client, ticket_id, lambda t: clocks(t)["next_reply"]["state"] == "breached")

    assert clocks(after)["first_reply"] == clocks(shown)["first_reply"]
    assert clocks(after)["resolution"] == {
        "metric": "resolution",
        "policy": "urgent",
        "target": "PT2H",
        "due_at": "2026-11-23T11:05:00Z",
        "state": "running",
        "warned": False,
        "within_target": None,
        "updated_at": "2026-11-23T09:05:00Z",
    }


@pytest.fixture
def read_model(db: AsyncDatabase) -> TicketReadModel:
    return TicketReadModel(db[TICKETS_COLLECTION])


def created(ticket_id: str) -> Envelope:
    payload = TicketCreated(
        subject="Printer on fire",
        body="Smoke.",
        requester=Requester(email="ada@example.com", name="Ada"),
        channel="web",
        message_id=f"M-{ticket_id}",
    )
    return new_envelope(payload, source="intake", ticket_id=ticket_id, occurred_at=START)


async def test_a_clock_story_replayed_in_any_order_leaves_the_clocks_as_they_were(
    read_model: TicketReadModel,
) -> None:
    projector = ReadModelProjector(read_model)
    ticket_id = str(uuid.uuid4())
    await projector.on_ticket_event(created(ticket_id))
    story = [
        clock_event(ticket_id, SlaStarted(**resolution(due_at=at(60))), 0),
        clock_event(ticket_id, SlaWarning(**resolution(due_at=at(60)), elapsed_share=0.75), 45),
        clock_event(ticket_id, SlaPaused(**resolution(due_at=None)), 50),
        clock_event(ticket_id, SlaResumed(**resolution(due_at=at(80))), 70),
    ]
    for envelope in story:
        await projector.on_ticket_event(envelope)
    once = await read_model.get(ticket_id)
    for envelope in [*reversed(story), *story]:
        await projector.on_ticket_event(envelope)
    again = await read_model.get(ticket_id)

    assert once is not None and again == once
    assert [(c.state, c.warned, c.due_at) for c in once.sla] == [("running", True, at(80))]


async def test_a_clock_for_a_ticket_not_projected_yet_is_retried_and_applies_once_the_ticket_is_there(
    read_model: TicketReadModel,
) -> None:
    projector = ReadModelProjector(read_model)
    ticket_id = str(uuid.uuid4())
    early = clock_event(ticket_id, SlaStarted(**first_reply(due_at=at(1))), 0)
    with pytest.raises(TicketNotYetProjected):  # the consumer retries it, with backoff
        await projector.on_ticket_event(early)
    await projector.on_ticket_event(created(ticket_id))
    await projector.on_ticket_event(early)
    ticket = await read_model.get(ticket_id)
    assert ticket is not None and [(c.metric, c.state) for c in ticket.sla] == [("first_reply", "running")]
