"""The projection's updates applied for real: every event twice gives the document of once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from helpdesk_events import (
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
    new_envelope,
)
from helpdesk_events.consumer import DeadLetter
from helpdesk_intake.handlers import ReadModelProjector
from helpdesk_intake.read_model import TICKETS_COLLECTION, TicketReadModel

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def read_model(db: AsyncDatabase) -> TicketReadModel:
    return TicketReadModel(db[TICKETS_COLLECTION])


class Story:
    """One ticket's events, a minute apart."""

    def __init__(self) -> None:
        self.ticket_id = str(uuid.uuid4())
        self.events: list[Envelope] = []

    def then(self, payload: EventPayload) -> Envelope:
        envelope = new_envelope(
            payload,
            source="test",
            ticket_id=self.ticket_id,
            occurred_at=START + timedelta(minutes=len(self.events)),
        )
        self.events.append(envelope)
        return envelope


def created() -> TicketCreated:
    return TicketCreated(
        subject="Printer on fire",
        body="Smoke.",
        requester=Requester(email="ada@example.com", name="Ada"),
        channel="web",
        message_id="M-1",
        tags=("vip",),
    )


def message(message_id: str, body: str = "More smoke.") -> TicketMessageAdded:
    return TicketMessageAdded(message_id=message_id, author_kind="customer", channel="email", body=body)


async def apply_all(projector: ReadModelProjector, events: list[Envelope]) -> None:
    for envelope in events:
        await projector.on_ticket_event(envelope)


async def test_a_ticket_lifecycle_applied_twice_is_the_lifecycle_applied_once(
    read_model: TicketReadModel,
) -> None:
    projector = ReadModelProjector(read_model)
    story = Story()
    story.then(created())
    story.then(TicketTriaged(priority="high", category="hardware", tags=("fire", "vip"), team="facilities"))
    story.then(TicketQueued(reason="nobody online", team="facilities", required_skills=("printers",)))
    story.then(TicketAssigned(agent_id="A-7", agent_name="Grace"))
    story.then(TicketStatusChanged(from_status="new", to_status="open", changed_by="router"))
    story.then(message("M-2"))
    story.then(
        TicketMessageAdded(
            message_id="M-3", author_kind="agent", author_id="A-7", channel="web", body="Note", public=False
        )
    )
    story.then(TicketUnassigned(agent_id="A-7", reason="went home"))
    story.then(TicketAssigned(agent_id="A-8", agent_name="Alan", team="printers"))

    await apply_all(projector, story.events)
    once = await read_model.get(story.ticket_id)
    await apply_all(projector, story.events)  # every event redelivered, in order
    await apply_all(projector, story.events[2:5])  # and a stale stretch of them out of order
    twice = await read_model.get(story.ticket_id)

    assert twice == once
    assert once is not None
    assert (once.status, once.priority, once.category) == ("open", "high", "hardware")
    assert (once.assignee_id, once.team, once.queue) == ("A-8", "printers", None)
    assert once.tags == ["vip", "fire"]  # triage adds to the requester's tags
    assert [(m.message_id, m.author_kind, m.public) for m in once.messages] == [
        ("M-1", "customer", True),
        ("M-2", "customer", True),
        ("M-3", "agent", False),
    ]
    assert once.created_at == START and once.updated_at == story.events[-1].occurred_at


async def test_queued_shows_where_and_why_the_ticket_waits(read_model: TicketReadModel) -> None:
    projector = ReadModelProjector(read_model)
    story = Story()
    story.then(created())
    queued = story.then(TicketQueued(reason="nobody online", team="billing", required_skills=("de",)))
    await apply_all(projector, story.events)

    ticket = await read_model.get(story.ticket_id)
    assert ticket is not None and ticket.queue is not None
    assert ticket.queue.model_dump() == {
        "team": "billing",
        "reason": "nobody online",
        "required_skills": ["de"],
        "since": queued.occurred_at,
    }


async def test_the_same_message_reported_by_two_events_is_kept_once(read_model: TicketReadModel) -> None:
    projector = ReadModelProjector(read_model)
    story = Story()
    story.then(created())
    story.then(message("M-2"))
    story.then(message("M-2", body="the same mail, fetched again"))
    await apply_all(projector, story.events)

    ticket = await read_model.get(story.ticket_id)
    assert ticket is not None
    assert [(m.message_id, m.body) for m in ticket.messages] == [("M-1", "Smoke."), ("M-2", "More smoke.")]


async def test_a_late_unassignment_does_not_take_the_ticket_from_the_next_agent(
    read_model: TicketReadModel,
) -> None:
    projector = ReadModelProjector(read_model)
    story = Story()
    story.then(created())
    story.then(TicketAssigned(agent_id="A-8", agent_name="Alan"))
    story.then(TicketUnassigned(agent_id="A-7", reason="declined"))
    await apply_all(projector, story.events)

    ticket = await read_model.get(story.ticket_id)
    assert ticket is not None and ticket.assignee_id == "A-8"


async def test_ticket_created_arriving_after_later_events_changes_nothing(
    read_model: TicketReadModel,
) -> None:
    # The POST path and the consumer both apply ticket.created; the consumer may be first.
    projector = ReadModelProjector(read_model)
    story = Story()
    first = story.then(created())
    story.then(TicketStatusChanged(from_status="new", to_status="open"))
    await apply_all(projector, story.events)
    before = await read_model.get(story.ticket_id)

    await projector.on_ticket_event(first)
    assert await read_model.get(story.ticket_id) == before


async def test_an_event_for_a_ticket_it_never_saw_created_is_dead_lettered(
    read_model: TicketReadModel,
) -> None:
    projector = ReadModelProjector(read_model)
    orphan = Story().then(TicketStatusChanged(from_status="new", to_status="open"))
    with pytest.raises(DeadLetter, match="does not know"):
        await projector.on_ticket_event(orphan)
    assert await read_model.get(orphan.ticket_id or "") is None


async def test_an_unknown_ticket_reads_as_none(read_model: TicketReadModel) -> None:
    assert await read_model.get("no-such-ticket") is None
