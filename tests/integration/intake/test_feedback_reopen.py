"""A low score's follow-up reopens the solved ticket at intake, once: real broker, real store."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from prometheus_client import REGISTRY

from helpdesk_events import Envelope, FeedbackFollowUpRequested, SurveyKind, Topic, new_envelope
from helpdesk_events.publisher import EventPublisher
from helpdesk_intake.feedback_reopen import reopen_event_id
from helpdesk_intake.settings import Settings
from tests.integration.intake.helpers import open_ticket, poll_ticket, running_intake, started
from tests.support.kafka import EventTap

pytestmark = pytest.mark.integration

FOLLOW_UP = "feedback.follow_up_requested"


def follow_up(ticket_id: str, *, reopen: bool) -> Envelope:
    payload = FeedbackFollowUpRequested(
        survey_id=f"S-{ticket_id}",
        kind=SurveyKind.CSAT,
        score=1,
        comment="Still broken.",
        agent_id="A-7",
        team="hardware",
        channel="web",
        reopen=reopen,
    )
    return new_envelope(payload, source="feedback", ticket_id=ticket_id)


def consumed(settings: Settings, outcome: str) -> float:
    """How many follow-ups intake's consumer finished with this outcome, on this test's own topic."""
    labels = {
        "service": "intake",
        "topic": topic(settings, Topic.FEEDBACK),
        "type": FOLLOW_UP,
        "outcome": outcome,
    }
    return REGISTRY.get_sample_value("helpdesk_events_consumed_total", labels) or 0.0


async def until_consumed(settings: Settings, outcome: str, count: int, timeout: float = 20.0) -> None:
    """Wait until the consumer is done with `count` follow-ups (handled, or dead-lettered after retries)."""
    try:
        async with asyncio.timeout(timeout):
            while consumed(settings, outcome) < count:
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(
            f"{count} follow-ups never came out {outcome}: {consumed(settings, outcome)}"
        ) from None


def topic(settings: Settings, which: Topic) -> str:
    return settings.kafka("test").topics.name(which)


async def set_status(client: httpx.AsyncClient, ticket_id: str, status: str) -> None:
    response = await client.post(
        f"/v1/tickets/{ticket_id}/status", json={"status": status, "agent_id": "A-7"}
    )
    assert response.status_code == 200, response.text


def reopenings(tap: EventTap, ticket_id: str) -> list[Envelope]:
    return [
        e
        for e in tap.envelopes
        if e.ticket_id == ticket_id
        and e.type == "ticket.status_changed"
        and e.payload.changed_by == "feedback"
    ]


async def test_a_follow_up_asking_to_reopen_reopens_the_solved_ticket_once_however_often_it_arrives(
    settings: Settings,
) -> None:
    async with (
        running_intake(settings) as client,
        started(EventPublisher(settings.kafka("test-feedback"), "feedback")) as feedback,
        EventTap(settings.kafka_bootstrap_servers, topic(settings, Topic.TICKETS)) as tickets,
    ):
        ticket_id = await open_ticket(client)
        await set_status(client, ticket_id, "solved")
        asked = follow_up(ticket_id, reopen=True)
        await feedback.publish(asked)
        await feedback.publish(asked)  # redelivered: the same record again
        await until_consumed(settings, "handled", 2)
        reopened = await poll_ticket(client, ticket_id, lambda t: t["status"] == "open")
        # A later event of the ticket (same partition): once the tap has it, it has every reopening.
        await set_status(client, ticket_id, "pending")
        await tickets.wait_for("ticket.status_changed", lambda e: e.payload.to_status == "pending")
        ours = reopenings(tickets, ticket_id)

    assert reopened["status"] == "open"
    assert [(e.id, e.payload.from_status, e.payload.to_status) for e in ours] == [
        (reopen_event_id(asked.id), "solved", "open")
    ]
    assert ours[0].source == "intake"  # intake owns the ticket: it, not feedback, records the change


async def test_follow_ups_that_may_not_reopen_change_nothing(settings: Settings) -> None:
    async with (
        running_intake(settings) as client,
        started(EventPublisher(settings.kafka("test-feedback"), "feedback")) as feedback,
        EventTap(settings.kafka_bootstrap_servers, topic(settings, Topic.TICKETS)) as tickets,
        EventTap(settings.kafka_bootstrap_servers, topic(settings, Topic.DEAD_LETTER)) as dead_letters,
    ):
        solved = await open_ticket(client)
        await set_status(client, solved, "solved")
        closed = await open_ticket(client)
        await set_status(client, closed, "solved")
        await set_status(client, closed, "closed")
        still_open = await open_ticket(client)
        await set_status(client, still_open, "open")
        unknown = str(uuid.uuid4())

        await feedback.publish(follow_up(solved, reopen=False))  # the policy only tells the team lead
        await feedback.publish(follow_up(closed, reopen=True))  # closed is final
        await feedback.publish(follow_up(still_open, reopen=True))  # someone already has it
        never_projected = follow_up(unknown, reopen=True)
        await feedback.publish(never_projected)  # retried like an early SLA clock, then dead-lettered
        await until_consumed(settings, "handled", 3)
        await until_consumed(settings, "dead_lettered", 1)
        dead = await dead_letters.wait_for(FOLLOW_UP, lambda e: e.id == never_projected.id)
        states = {
            t: (await client.get(f"/v1/tickets/{t}")).json()["status"] for t in (solved, closed, still_open)
        }
        unknown_answer = await client.get(f"/v1/tickets/{unknown}")
        # Later events of the tickets still open to changes: once the tap has them, it has all before them.
        await set_status(client, solved, "open")
        await set_status(client, still_open, "pending")
        await tickets.wait_for(
            "ticket.status_changed", lambda e: e.ticket_id == solved and e.payload.to_status == "open"
        )
        await tickets.wait_for(
            "ticket.status_changed", lambda e: e.ticket_id == still_open and e.payload.to_status == "pending"
        )
        emitted = [reopenings(tickets, t) for t in (solved, closed, still_open, unknown)]

    assert states == {solved: "solved", closed: "closed", still_open: "open"}
    assert unknown_answer.status_code == 404
    assert emitted == [[], [], [], []]
    record = next(r for r in dead_letters.records if dict(r.headers).get("dlq-service") == b"intake")
    assert dict(record.headers)["dlq-reason"] == b"handler_failed"
    assert b"not in the read model yet" in dict(record.headers)["dlq-error"]
    assert dead.ticket_id == unknown
