"""The SLA service on the real servers: ticket events in, sla.* events out, with targets of a few
seconds; and a restart while a breach falls due tells it once, marked late."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient

from helpdesk_events import (
    Envelope,
    Requester,
    TicketCreated,
    TicketMessageAdded,
    TicketStatus,
    TicketStatusChanged,
    Topic,
    TopicNames,
    new_envelope,
)
from helpdesk_events.kafka import ensure_topics
from helpdesk_events.publisher import EventPublisher
from helpdesk_sla.bootstrap import create_app
from helpdesk_sla.clock_store import MongoClockBook
from helpdesk_sla.desk import SlaDesk
from helpdesk_sla.policies import SlaConfig, parse_config
from helpdesk_sla.settings import Settings
from tests.support.apps import drop_database, running_app, settings_for_test
from tests.support.kafka import EventTap, publishing
from tests.support.waiting import until

pytestmark = pytest.mark.integration

FAST = {
    "calendars": [],
    "policies": [
        {"name": "fast", "calendar": "24/7", "targets": {"normal": {"first_reply": "PT2S", "resolution": "PT8S"}}}
    ],
    "warning_share": 0.5,
}


@pytest.fixture
async def settings(
    kafka_bootstrap: str, mongodb_url: str, topic_prefix: str, mongo_db_prefix: str
) -> AsyncIterator[Settings]:
    settings = settings_for_test(
        Settings, "sla", kafka_bootstrap=kafka_bootstrap, mongodb_url=mongodb_url, topic_prefix=topic_prefix,
        mongo_db_prefix=mongo_db_prefix, sla_timer_interval_seconds=0.2, sla_late_after_seconds=1.0,
    )  # fmt: skip
    await ensure_topics(settings.kafka("sla-tests"))
    yield settings
    await drop_database(mongodb_url, settings.mongodb_database)


@pytest.fixture
async def intake(settings: Settings) -> AsyncIterator[EventPublisher]:
    async with publishing(settings, "intake") as publisher:
        yield publisher


@pytest.fixture
async def sla_events(settings: Settings, kafka_bootstrap: str) -> AsyncIterator[EventTap]:
    async with EventTap(kafka_bootstrap, TopicNames(settings.kafka_topic_prefix).name(Topic.SLA)) as tap:
        yield tap


def created(ticket_id: str) -> Envelope:
    payload = TicketCreated(subject="Help", body="Please.", requester=Requester(email="sam@example.com"),
                            channel="web", message_id=f"{ticket_id}-m1")  # fmt: skip
    return new_envelope(payload, source="intake", ticket_id=ticket_id)


async def _solved_and_breached(report) -> bool:  # type: ignore[no-untyped-def]
    rows = (await report())["rows"]
    return bool(rows) and rows[0]["breaches"] == 1 and rows[0]["solved"] == 1


def told(tap: EventTap, ticket_id: str) -> list[tuple[str, str]]:
    """(type, metric) of each distinct sla event of the ticket, in order (replays counted once)."""
    seen: dict[object, tuple[str, str]] = {}
    for envelope in tap.envelopes:
        if envelope.ticket_id == ticket_id:
            seen.setdefault(envelope.id, (envelope.type, envelope.payload.metric.value))
    return list(seen.values())


async def test_clocks_start_warn_breach_and_are_met_by_replies_and_the_solve(
    settings: Settings, intake: EventPublisher, sla_events: EventTap
) -> None:
    async with running_app(create_app(settings), startup_timeout=30) as client:
        put = await client.put("/v1/policies", json=FAST)
        assert put.status_code == 200, put.text
        ticket = created("T1")
        await intake.publish(ticket)
        breached = await sla_events.wait_for("sla.breached", lambda e: e.ticket_id == "T1", timeout=20)
        await intake.publish(ticket)  # a replay changes nothing
        reply = TicketMessageAdded(message_id="r1", author_kind="agent", author_id="grace", channel="api", body="Hi")
        await intake.emit(reply, ticket_id="T1")
        met = await sla_events.wait_for("sla.met", lambda e: e.payload.metric == "first_reply", timeout=20)
        solved = TicketStatusChanged(from_status=TicketStatus.OPEN, to_status=TicketStatus.SOLVED)
        await intake.emit(solved, ticket_id="T1")
        resolved = await sla_events.wait_for("sla.met", lambda e: e.payload.metric == "resolution", timeout=20)
        await asyncio.sleep(1.0)  # anything told twice would show up by now

        # The report counts the ticket once its facts (the breach told, the solve) are in.
        today = datetime.now(UTC)
        window = {"from": (today - timedelta(days=1)).isoformat(), "to": (today + timedelta(days=1)).isoformat(),
                  "group_by": "channel"}  # fmt: skip

        async def report() -> dict:
            response = await client.get("/v1/reports/response-times", params=window)
            assert response.status_code == 200, response.text
            return response.json()

        await until(lambda: _solved_and_breached(report), 20, "the report's facts", "sla app (in-process)")
        [row] = (await report())["rows"]

    assert (breached.payload.metric, breached.payload.late, breached.source) == ("first_reply", False, "sla")
    assert breached.payload.due_at is not None
    assert (met.payload.within_target, resolved.payload.within_target) == (False, True)
    assert (row["group"], row["volume"], row["breaches"], row["within_sla_share"]) == ("web", 1, 1, 0.0)
    assert row["first_contact_resolution_share"] == 1.0
    assert row["first_reply_median_calendar_seconds"] > 2.0  # the reply came after the breach
    assert told(sla_events, "T1") == [
        ("sla.started", "first_reply"),
        ("sla.started", "resolution"),
        ("sla.warning", "first_reply"),
        ("sla.breached", "first_reply"),
        ("sla.met", "first_reply"),
        ("sla.met", "resolution"),
    ]


async def test_events_decided_while_the_timer_sweeps_the_untold_are_published_once(
    settings: Settings, sla_events: EventTap, mongodb_url: str
) -> None:
    # The timer tells what a crash left in an outbox; a handler tells what it just decided: in one
    # process they take turns per ticket, or both would publish the same events.
    config = parse_config(FAST)

    async def in_force() -> SlaConfig:
        return config

    client: AsyncMongoClient = AsyncMongoClient(mongodb_url)
    book = MongoClockBook(client[settings.mongodb_database])
    await book.create_indexes()
    tickets = [f"T-sweep-{n}" for n in range(30)]
    try:
        async with publishing(settings, "sla") as publisher:
            desk = SlaDesk(book=book, config=in_force, publisher=publisher, late_after=timedelta(seconds=1))
            handled = asyncio.Event()

            async def sweep() -> None:
                while not handled.is_set():
                    await desk.tick()

            sweeper = asyncio.create_task(sweep())
            for ticket_id in tickets:
                await desk.ticket_created(created(ticket_id))
            handled.set()
            await sweeper
        ours = set(tickets)
        await until(lambda: len({e.id for e in sla_events.envelopes if e.ticket_id in ours}) == 60, 20,
                    "two sla.started per ticket", "the desk (in-process)")  # fmt: skip
        await asyncio.sleep(0.5)  # a second copy would be on the topic by now
    finally:
        await client.close()

    published = [e.id for e in sla_events.envelopes if e.ticket_id in ours]
    assert len(published) == len(set(published)) == 60


async def test_a_breach_that_fell_due_while_the_service_was_down_is_told_once_on_start_marked_late(
    settings: Settings, intake: EventPublisher, sla_events: EventTap
) -> None:
    async with running_app(create_app(settings), startup_timeout=30) as client:
        assert (await client.put("/v1/policies", json=FAST)).status_code == 200
        await intake.publish(created("T2"))
        await sla_events.wait_for("sla.started", lambda e: e.ticket_id == "T2", timeout=20)
    await asyncio.sleep(4.0)  # down past the first-reply target (2 s) and the late margin (1 s)
    async with running_app(create_app(settings), startup_timeout=30):
        breached = await sla_events.wait_for("sla.breached", lambda e: e.ticket_id == "T2", timeout=20)
        await asyncio.sleep(1.0)
    async with running_app(create_app(settings), startup_timeout=30):
        await asyncio.sleep(1.5)  # another restart tells nothing again

    assert breached.payload.late is True
    kinds = told(sla_events, "T2")
    assert kinds.count(("sla.breached", "first_reply")) == 1
    assert ("sla.warning", "first_reply") not in kinds  # both fell due while down: only the breach is told


ESCALATING = {
    "calendars": [],
    "policies": [
        {
            "name": "escalating",
            "calendar": "24/7",
            "escalate_on_breach": True,
            "targets": {"normal": {"first_reply": "PT1S"}, "high": {"first_reply": "PT30S"}},
        }
    ],
}


async def test_a_breach_under_an_escalating_policy_raises_the_priority_and_the_clock_follows(
    settings: Settings, intake: EventPublisher, sla_events: EventTap, kafka_bootstrap: str
) -> None:
    tickets_topic = TopicNames(settings.kafka_topic_prefix).name(Topic.TICKETS)
    async with EventTap(kafka_bootstrap, tickets_topic) as tickets, running_app(create_app(settings)) as client:
        put = await client.put("/v1/policies", json=ESCALATING)
        assert put.status_code == 200, put.text
        assert put.json()["policies"][0]["escalate_on_breach"] is True
        await intake.publish(created("T3"))
        raised = await tickets.wait_for("ticket.priority_changed", lambda e: e.ticket_id == "T3", timeout=20)
        retargeted = await sla_events.wait_for(
            "sla.started", lambda e: e.ticket_id == "T3" and e.payload.target.total_seconds() == 30, timeout=20
        )
        await asyncio.sleep(1.0)

    assert (raised.source, raised.payload.from_priority, raised.payload.to_priority) == ("sla", "normal", "high")
    assert raised.payload.reason == "first_reply breached (policy escalating)"
    assert retargeted.payload.metric == "first_reply"
    # Escalated once: the breach already told is not told again under the new target.
    assert told(sla_events, "T3").count(("sla.breached", "first_reply")) == 1
    # One escalation decided and published once: the tick that decided it tells it, and the desk's own
    # handling of the escalation waits for that telling to end (a second copy would have the same id).
    escalations = [e.id for e in tickets.envelopes if e.type == "ticket.priority_changed" and e.ticket_id == "T3"]
    assert len(escalations) == 1, escalations
