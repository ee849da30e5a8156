"""How the agent's assignment message is kept up to date (chat.update), on the real servers with the
Slack fake: an event that changes nothing the message shows sends nothing; updates that wait for the
channel's turn show the latest state, once; an event seen while the message was on its way still
reaches it.

The Slack turns are the notifier's own Redis keys (`slack_rate.py`): a test takes a channel's turn and
keeps it, as another notifier instance posting there would, so that the notifier's sends wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from pymongo import AsyncMongoClient
from redis.asyncio import Redis

from devtools.fake_slack import FakeSlack
from helpdesk_events import (
    AssignmentAnswer,
    SlaMetric,
    SlaPaused,
    SlaStarted,
    TicketAssignmentAnswered,
    Topic,
    new_envelope,
)
from helpdesk_notifier.handlers import ALREADY_SHOWN
from helpdesk_notifier.settings import Settings
from helpdesk_notifier.slack_messages import NO_SLA
from helpdesk_notifier.slack_rate import KEY_PREFIX
from tests.integration.notifier.events import (
    new_slack_user_id,
    new_ticket_id,
    ticket_assigned,
    ticket_created,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def paced_settings(notifier_settings: Settings) -> Settings:
    return notifier_settings.model_copy(update={"slack_channel_interval_seconds": 0.2})


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@asynccontextmanager
async def channel_taken(redis: Redis, channel: str) -> AsyncIterator[None]:
    """Hold `channel`'s Slack turn until the block ends (renewed, short-lived, so the notifier's
    waiters look again soon after it is let go)."""
    stop = asyncio.Event()

    async def keep() -> None:
        while not stop.is_set():
            await redis.set(KEY_PREFIX + channel, "a test", px=400)
            try:
                await asyncio.wait_for(stop.wait(), 0.1)
            except TimeoutError:
                pass

    keeper = asyncio.create_task(keep())
    try:
        yield
    finally:
        stop.set()
        await keeper
        await redis.delete(KEY_PREFIX + channel)


async def eventually(check: Callable[[], Awaitable[object]], timeout: float = 15) -> object:
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found:
            return found
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def clock(metric: SlaMetric, due: datetime | None) -> dict:
    return {"policy": "standard", "metric": metric, "target": timedelta(hours=1), "due_at": due}


def sla_event(payload, ticket_id: str):  # type: ignore[no-untyped-def]
    return new_envelope(payload, source="sla", ticket_id=ticket_id)


def shown_due(call: dict) -> str:
    return str(call["body"]["blocks"][2]["fields"][3]["text"])


def minute(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


async def assignments_handled(settings: Settings) -> bool:
    labels = {
        "service": "notifier",
        "topic": settings.kafka("test").topics.name(Topic.TICKETS),
        "type": "ticket.assigned",
        "outcome": "handled",
    }
    return bool(REGISTRY.get_sample_value("helpdesk_events_consumed_total", labels))


def updates_of(fake_slack: FakeSlack, ts: str) -> list[dict]:
    return [call for call in fake_slack.calls("chat.update") if call["body"]["ts"] == ts]


async def test_a_clock_that_does_not_move_the_due_time_shown_sends_no_update(
    notifier_settings: Settings, run_notifier, fake_slack: FakeSlack
) -> None:
    ticket_id, agent = new_ticket_id(), new_slack_user_id()
    first_reply_due = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=1)
    resolution_due = first_reply_due + timedelta(hours=4)
    async with run_notifier(notifier_settings) as notifier:
        await notifier.tickets.publish(ticket_created(ticket_id))
        await notifier.tickets.publish(ticket_assigned(ticket_id, agent))
        post = await fake_slack.wait_for_call_async("chat.postMessage", lambda c: ticket_id in str(c["body"]))
        ts = post["response"]["ts"]
        # One ticket's SLA events are read in order: the first reply's clock shows (the earliest due
        # time), the resolution's does not change that, and pausing the first reply's shows the other.
        resolution = sla_event(SlaStarted(**clock(SlaMetric.RESOLUTION, resolution_due)), ticket_id)
        await notifier.tickets.publish(sla_event(SlaStarted(**clock(SlaMetric.FIRST_REPLY, first_reply_due)), ticket_id))
        await notifier.tickets.publish(resolution)
        await notifier.tickets.publish(sla_event(SlaPaused(**clock(SlaMetric.FIRST_REPLY, None)), ticket_id))
        await fake_slack.wait_for_call_async(
            "chat.update", lambda c: c["body"]["ts"] == ts and minute(resolution_due) in shown_due(c)
        )
        deliveries = await notifier.deliveries(ticket_id)

    assert NO_SLA in shown_due(post)
    # Two calls: the first reply's due time, then the resolution's once the first reply's clock paused.
    assert [minute(first_reply_due) in shown_due(c) for c in updates_of(fake_slack, ts)] == [True, False]
    # No delivery was even recorded for the clock that changed nothing.
    assert not [d for d in deliveries if d["trigger_event_id"] == str(resolution.id)]


async def test_updates_waiting_for_the_channel_send_the_latest_state_once(
    paced_settings: Settings, run_notifier, fake_slack: FakeSlack, redis: Redis
) -> None:
    ticket_id, agent = new_ticket_id(), new_slack_user_id()
    due = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=2)
    async with run_notifier(paced_settings) as notifier:
        await notifier.tickets.publish(ticket_created(ticket_id))
        await notifier.tickets.publish(ticket_assigned(ticket_id, agent, agent_id="grace"))
        post = await fake_slack.wait_for_call_async("chat.postMessage", lambda c: ticket_id in str(c["body"]))
        conversation, ts = post["response"]["channel"], post["response"]["ts"]
        # Done with the assignment, including its own look at the message once posted: what follows
        # changes the message only through the two events below.
        await eventually(lambda: assignments_handled(paced_settings))

        accepted = new_envelope(
            TicketAssignmentAnswered(answer=AssignmentAnswer.ACCEPTED, agent_id="grace", channel="slack"),
            source="intake",
            ticket_id=ticket_id,
        )
        started = sla_event(SlaStarted(**clock(SlaMetric.FIRST_REPLY, due)), ticket_id)

        async def both_waiting() -> bool:
            triggers = {d["trigger_event_id"]: d["status"] for d in await notifier.deliveries(ticket_id)}
            return triggers.get(str(accepted.id)) == triggers.get(str(started.id)) == "sending"

        # Two events change the message while its channel is busy: the acceptance (tickets topic) and
        # an SLA clock (sla topic), each read in its own partition, each update waiting for the turn.
        async with channel_taken(redis, conversation):
            await notifier.tickets.publish(accepted)
            await notifier.tickets.publish(started)
            await eventually(both_waiting)

        async def both_settled() -> list[dict]:
            updates = [d for d in await notifier.deliveries(ticket_id) if d["kind"] == "assignment_update"]
            return updates if all(d["status"] in ("sent", "skipped") for d in updates) else []

        updates = await eventually(both_settled)

    assert isinstance(updates, list)
    assert sorted(d["status"] for d in updates) == ["sent", "skipped"]
    assert [d["reason"] for d in updates if d["status"] == "skipped"] == [ALREADY_SHOWN]
    # One call, and it shows both events.
    [update] = updates_of(fake_slack, ts)
    assert minute(due) in shown_due(update)
    assert "Accepted by you" in str(update["body"]["blocks"])


async def test_a_clock_started_while_the_message_was_on_its_way_reaches_it(
    paced_settings: Settings, run_notifier, fake_slack: FakeSlack, redis: Redis, mongodb_url: str
) -> None:
    ticket_id, agent = new_ticket_id(), new_slack_user_id()
    due = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=3)
    mongo: AsyncMongoClient = AsyncMongoClient(mongodb_url)
    tickets = mongo[paced_settings.mongodb_database]["tickets"]
    try:
        async with run_notifier(paced_settings) as notifier:
            await notifier.tickets.publish(ticket_created(ticket_id))

            async def post_waiting() -> bool:
                deliveries = await notifier.deliveries(ticket_id)
                return any(d["kind"] == "assignment" and d["status"] == "sending" for d in deliveries)

            async def clock_seen() -> bool:
                document = await tickets.find_one({"_id": ticket_id})
                return bool(document and (document.get("sla_due") or {}).get("first_reply"))

            # The post is composed and waits for the agent's channel; the clock starts meanwhile, when
            # there is no message yet to update.
            async with channel_taken(redis, agent):
                await notifier.tickets.publish(ticket_assigned(ticket_id, agent))
                await eventually(post_waiting)
                await notifier.tickets.publish(sla_event(SlaStarted(**clock(SlaMetric.FIRST_REPLY, due)), ticket_id))
                await eventually(clock_seen)
            post = await fake_slack.wait_for_call_async("chat.postMessage", lambda c: ticket_id in str(c["body"]))
            update = await fake_slack.wait_for_call_async(
                "chat.update", lambda c: c["body"]["ts"] == post["response"]["ts"]
            )
    finally:
        await mongo.close()

    assert NO_SLA in shown_due(post)  # composed before the clock started
    assert minute(due) in shown_due(update)
