"""The router across a restart, and with a poison record on its topic."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaProducer

from helpdesk_events import Topic, TopicNames
from helpdesk_events.publisher import EventPublisher
from helpdesk_router.settings import Settings
from tests.integration.router.helpers import (
    agent,
    assigned,
    eventually,
    loads,
    new_ticket,
    put_agent,
    running_router,
    solve,
)
from tests.support.kafka import EventTap

pytestmark = pytest.mark.integration


async def test_a_restarted_router_keeps_roster_loads_and_assignments(
    settings: Settings, intake: EventPublisher, tickets: EventTap
) -> None:
    async with running_router(settings) as client:
        await put_agent(client, "ada", agent("ada", capacity=1), expected=201)
        await put_agent(client, "bob", agent("bob", capacity=1), expected=201)
        first = await new_ticket(intake, "T1")
        await new_ticket(intake, "T2")
        before = {t: await assigned(tickets, t) for t in ("T1", "T2")}
        assert sorted(before.values()) == ["ada", "bob"]

    # A second app on the same settings, as after a redeploy.
    async with running_router(settings) as client:
        assert await loads(client) == {"ada": 1, "bob": 1}
        roster = (await client.get("/v1/agents/ada")).json()
        assert (roster["capacity"], roster["status"]) == (1, "online")

        await intake.publish(first)  # a late replay of T1 keeps its agent
        await new_ticket(intake, "T3")
        queued = await tickets.wait_for("ticket.queued", lambda e: e.ticket_id == "T3")
        assert queued.payload.reason == "every online agent is at capacity"

        await solve(intake, "T1")  # after the replay on T1's partition, so handled after it
        assert await assigned(tickets, "T3") == before["T1"]
        told = [(e.ticket_id, e.id) for e in tickets.envelopes if e.type == "ticket.assigned"]
        assert len(told) == len(set(told)) == 3  # T1, T2, T3, each told once
        assert await loads(client) == {"ada": 1, "bob": 1}


async def test_a_poison_record_is_dead_lettered_and_the_next_ticket_still_assigned(
    settings: Settings, kafka_bootstrap: str, intake: EventPublisher, tickets: EventTap, dead_letters: EventTap
) -> None:
    topic = TopicNames(settings.kafka_topic_prefix).name(Topic.TICKETS)
    async with running_router(settings) as client:
        await put_agent(client, "ada", agent("ada", capacity=3), expected=201)

        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        await producer.start()
        try:
            # Same key as the next ticket: same partition, so the router meets the poison first.
            await producer.send_and_wait(topic, b"\x00not json at all", key=b"T1", headers=[("origin", b"test")])
            await producer.send_and_wait(topic, b'{"type": "ticket.created", "version": 1}', key=b"T1")
        finally:
            await producer.stop()
        await new_ticket(intake, "T1")

        assert await assigned(tickets, "T1") == "ada"
        poison = await dead_letters.wait_for_records(lambda r: r.key == b"T1", count=2)
        reasons = sorted(dict(r.headers)["dlq-reason"] for r in poison)
        assert reasons == [b"invalid", b"undecodable"]
        undecodable = next(r for r in poison if dict(r.headers)["dlq-reason"] == b"undecodable")
        assert undecodable.value == b"\x00not json at all"
        headers = dict(undecodable.headers)
        assert headers["origin"] == b"test"
        assert headers["dlq-original-topic"] == topic.encode()
        assert headers["dlq-consumer-group"] == settings.router_consumer_group.encode()
        assert headers["dlq-service"] == b"router"


async def test_a_record_the_dead_letter_topic_cannot_take_is_retried_and_survives_a_stop(
    settings: Settings,
    kafka_bootstrap: str,
    intake: EventPublisher,
    tickets: EventTap,
    dead_letters: EventTap,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The broker stays real; only the dead-letter write is made to fail, as if that topic were down."""
    topic = TopicNames(settings.kafka_topic_prefix).name(Topic.TICKETS)
    real_send_raw = EventPublisher.send_raw
    refused: list[bytes | None] = []

    async def dead_letter_topic_down(self: EventPublisher, topic: str, value: bytes | None, *args: object) -> None:
        refused.append(value)
        raise ConnectionError("dead-letter topic unreachable")

    async def poison_then_ticket(ticket_id: str) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        await producer.start()
        try:  # same key: the ticket waits behind the poison on its partition
            await producer.send_and_wait(topic, f"poison before {ticket_id}".encode(), key=ticket_id.encode())
        finally:
            await producer.stop()
        await new_ticket(intake, ticket_id)

    monkeypatch.setattr(EventPublisher, "send_raw", dead_letter_topic_down)
    async with running_router(settings) as client:
        await put_agent(client, "ada", agent("ada", capacity=3), expected=201)
        await poison_then_ticket("T1")
        await eventually(lambda: len(refused) >= 2)
        monkeypatch.setattr(EventPublisher, "send_raw", real_send_raw)  # the topic is back
        assert await assigned(tickets, "T1") == "ada"  # the agent lived through the failures
        assert set(refused) == {b"poison before T1"}  # and kept retrying that same record

        monkeypatch.setattr(EventPublisher, "send_raw", dead_letter_topic_down)
        await poison_then_ticket("T2")
        await eventually(lambda: len(refused) >= 3)
        # Stopping now must not wait for the stuck record (the lifespan's shutdown is bounded).

    assert not [e for e in tickets.envelopes if e.type == "ticket.assigned" and e.ticket_id == "T2"]
    monkeypatch.setattr(EventPublisher, "send_raw", real_send_raw)
    async with running_router(settings):
        # The stuck record was never committed: the next run reads it again, dead-letters it, goes on.
        assert await assigned(tickets, "T2") == "ada"
    await dead_letters.wait_for_records(lambda r: r.value == b"poison before T2")
    assert [r.value for r in dead_letters.records] == [b"poison before T1", b"poison before T2"]
