"""The Mongo adapter on the real server (nx-27017 here, MongoDB through MONGODB_URL): guarded
writes, uniqueness and ordering that the desk relies on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from helpdesk_events import AgentStatus, Priority
from helpdesk_router.assignment import Assignment, AssignmentState, QueueEntry, QueueState, Ticket
from helpdesk_router.roster import StatusChange
from helpdesk_router.store import MongoAssignmentBook, MongoRoster, MongoTicketQueue, create_indexes
from tests.unit.router.doubles import profile

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
async def db(mongodb_url: str, mongo_db_prefix: str) -> AsyncIterator[AsyncDatabase]:
    client: AsyncMongoClient = AsyncMongoClient(mongodb_url, tz_aware=True)
    database = client[f"{mongo_db_prefix}router_store"]
    await create_indexes(database)
    try:
        yield database
    finally:
        await client.drop_database(database.name)
        await client.close()


async def test_saving_an_agent_keeps_its_load_and_counts_status_changes(db: AsyncDatabase) -> None:
    roster = MongoRoster(db)
    created, is_new = await roster.save("ada", profile(name="Ada", capacity=2), NOW)
    assert is_new and created.status_changes == 1 and created.unannounced_status_change() == StatusChange(
        "ada", None, AgentStatus.ONLINE, 1
    )
    assert await roster.reserve("ada", (), NOW)

    same_status, is_new = await roster.save("ada", profile(name="Ada", capacity=3, skills=("billing",)), NOW)
    assert not is_new and same_status.status_changes == 1
    away, _ = await roster.save("ada", profile(name="Ada", capacity=3, status=AgentStatus.AWAY), NOW)
    assert away.status_changes == 2

    stored = await roster.agent("ada")
    assert stored is not None
    assert (stored.load, stored.profile.capacity, stored.status) == (1, 3, AgentStatus.AWAY)

    await roster.mark_status_announced(StatusChange("ada", None, AgentStatus.ONLINE, 1))
    await roster.mark_status_announced(StatusChange("ada", AgentStatus.ONLINE, AgentStatus.AWAY, 2))
    await roster.mark_status_announced(StatusChange("ada", None, AgentStatus.ONLINE, 1))  # late: ignored
    told = await roster.agent("ada")
    assert told is not None and (told.announced_status, told.announced_changes) == (AgentStatus.AWAY, 2)
    assert told.unannounced_status_change() is None


async def test_a_reservation_holds_only_for_an_online_agent_with_a_free_slot_and_the_skills(
    db: AsyncDatabase,
) -> None:
    roster = MongoRoster(db)
    await roster.save("ada", profile(name="Ada", capacity=2, skills=("billing", "refunds")), NOW)
    await roster.save("bob", profile(name="Bob", capacity=2, status=AgentStatus.AWAY), NOW)

    assert not await roster.reserve("ada", ("vip",), NOW)
    assert await roster.reserve("ada", ("billing",), NOW)
    assert await roster.reserve("ada", (), NOW + timedelta(minutes=1))
    assert not await roster.reserve("ada", (), NOW)  # full
    assert not await roster.reserve("bob", (), NOW)  # away
    assert not await roster.reserve("nobody", (), NOW)

    ada = await roster.agent("ada")
    assert ada is not None and ada.load == 2
    assert ada.last_assigned_at == NOW + timedelta(minutes=1)  # a real time, whatever the server stored

    await roster.release("ada")
    await roster.release("ada")
    await roster.release("ada")  # never below zero
    ada = await roster.agent("ada")
    assert ada is not None and ada.load == 0


async def test_a_ticket_is_claimed_once_and_closed_once(db: AsyncDatabase) -> None:
    book = MongoAssignmentBook(db)
    roster = MongoRoster(db)
    ada, _ = await roster.save("ada", profile(name="Ada", teams=("tier-2",)), NOW)
    bob, _ = await roster.save("bob", profile(name="Bob"), NOW)

    assert await book.claim(Assignment.of(Ticket("T1"), ada, NOW))
    assert not await book.claim(Assignment.of(Ticket("T1"), bob, NOW))
    assert await book.claim(Assignment.of(Ticket("T2"), ada, NOW))
    assert await book.claim(Assignment.of(Ticket("T3"), bob, NOW))
    stored = await book.assignment("T1")
    assert stored == Assignment("T1", "ada", "Ada", "ada@example.com", None, "tier-2", NOW)

    await book.mark_announced("T1")
    closed = await book.close("T1", NOW)
    assert closed is not None and closed.state is AssignmentState.CLOSED and closed.announced
    assert await book.close("T1", NOW) is None
    assert await book.open_tickets_by_agent() == {"ada": 1, "bob": 1}

    assert await roster.reconcile_loads({"ada": 1, "bob": 1}) == {"ada": 1, "bob": 1}
    assert await roster.reconcile_loads({"ada": 1, "bob": 1}) == {}


async def test_the_queue_keeps_one_entry_per_ticket_most_urgent_then_oldest_first(db: AsyncDatabase) -> None:
    queue = MongoTicketQueue(db)
    entries = [
        QueueEntry.of(Ticket("low", Priority.LOW), "full", NOW),
        QueueEntry.of(Ticket("old", Priority.NORMAL), "full", NOW + timedelta(seconds=1)),
        QueueEntry.of(Ticket("urgent", Priority.URGENT, frozenset({"vip"})), "full", NOW + timedelta(seconds=2)),
        QueueEntry.of(Ticket("new", Priority.NORMAL), "full", NOW + timedelta(seconds=3)),
    ]
    for entry in entries:
        assert await queue.add(entry) == entry
    assert await queue.add(QueueEntry.of(Ticket("old", Priority.URGENT), "later", NOW)) == entries[1]

    assert [e.ticket_id for e in await queue.waiting(10)] == ["urgent", "old", "new", "low"]
    assert (await queue.waiting(1))[0].required_skills == ("vip",)

    await queue.settle("urgent", QueueState.ASSIGNED)
    await queue.settle("urgent", QueueState.WITHDRAWN)  # only a waiting ticket leaves the queue
    await queue.mark_announced("old")
    assert [(e.ticket_id, e.announced) for e in await queue.waiting(10)] == [("old", True), ("new", False), ("low", False)]
    urgent = await queue.entry("urgent")
    assert urgent is not None and urgent.state is QueueState.ASSIGNED
