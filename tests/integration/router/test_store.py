"""The Mongo adapter on the real server (nx-27017 here, MongoDB through MONGODB_URL): guarded
writes, uniqueness and ordering that the desk relies on."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from helpdesk_events import AgentStatus, Channel, Priority
from helpdesk_router.assignment import Assignment, AssignmentState, HandBack, QueueEntry, QueueState, Ticket
from helpdesk_router.roster import StatusChange
from helpdesk_router.store import MongoAssignmentBook, MongoRoster, MongoTicketQueue, create_indexes, prepare
from tests.unit.router.doubles import profile

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
async def db(db: AsyncDatabase) -> AsyncDatabase:
    await create_indexes(db)
    return db


async def test_saving_an_agent_keeps_its_load_and_counts_status_changes(db: AsyncDatabase) -> None:
    roster = MongoRoster(db)
    created, is_new = await roster.save("ada", profile(name="Ada", capacity=2), NOW)
    assert is_new and created.status_changes == 1 and created.unannounced_status_change() == StatusChange(
        "ada", None, AgentStatus.ONLINE, 1
    )
    assert await roster.reserve(created, Ticket("T1"), NOW)

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
    ada, _ = await roster.save("ada", profile(name="Ada", capacity=2, skills=("billing", "refunds")), NOW)
    bob, _ = await roster.save("bob", profile(name="Bob", capacity=2, status=AgentStatus.AWAY), NOW)

    assert not await roster.reserve(ada, Ticket("T1", required_skills=frozenset({"vip"})), NOW)
    assert await roster.reserve(ada, Ticket("T1", required_skills=frozenset({"billing"})), NOW)
    assert await roster.reserve(ada, Ticket("T2"), NOW + timedelta(minutes=1))
    assert not await roster.reserve(ada, Ticket("T3"), NOW)  # full
    assert not await roster.reserve(bob, Ticket("T3"), NOW)  # away
    assert not await roster.reserve(dataclasses.replace(ada, agent_id="nobody"), Ticket("T3"), NOW)

    ada = await roster.agent("ada")
    assert ada is not None and ada.load == 2
    assert ada.last_assigned_at == NOW + timedelta(minutes=1)  # a real time, whatever the server stored

    await roster.release("ada", None)
    await roster.release("ada", None)
    await roster.release("ada", None)  # never below zero
    ada = await roster.agent("ada")
    assert ada is not None and ada.load == 0


async def test_a_channel_limit_is_guarded_and_each_channel_counted(db: AsyncDatabase) -> None:
    roster = MongoRoster(db)
    ada, _ = await roster.save("ada", profile(name="Ada", capacity=3, channel_capacity={"chat": 1}), NOW)
    assert await roster.reserve(ada, Ticket("C1", channel=Channel.CHAT), NOW)
    assert not await roster.reserve(ada, Ticket("C2", channel=Channel.CHAT), NOW)
    assert await roster.reserve(ada, Ticket("E1", channel=Channel.EMAIL), NOW)
    stored = await roster.agent("ada")
    assert stored is not None and stored.load == 2
    assert (stored.channel_loads["chat"], stored.channel_loads["email"]) == (1, 1)

    await roster.release("ada", "chat")
    assert await roster.reserve(ada, Ticket("C2", channel=Channel.CHAT), NOW)

    # A recount from open assignments sets both the load and each channel's.
    assert await roster.reconcile_loads({"ada": Counter({"voice": 2, None: 1})}) == {"ada": 3}
    stored = await roster.agent("ada")
    assert stored is not None and stored.load == 3
    assert (stored.channel_loads["voice"], stored.channel_loads["chat"]) == (2, 0)

    # A slot of a channel already at zero frees the load alone; neither goes below zero.
    await roster.release("ada", "chat")
    await roster.release("ada", "voice")
    stored = await roster.agent("ada")
    assert stored is not None and stored.load == 1
    assert (stored.channel_loads["voice"], stored.channel_loads["chat"]) == (1, 0)
    await roster.release("ada", "email")
    await roster.release("ada", "voice")  # the load is at zero already: the channel's still comes down
    stored = await roster.agent("ada")
    assert stored is not None and stored.load == 0
    assert (stored.channel_loads["voice"], stored.channel_loads["email"]) == (0, 0)


async def test_candidates_come_fewest_open_tickets_first_a_page_at_a_time(db: AsyncDatabase) -> None:
    roster = MongoRoster(db)
    for name, capacity, skills in (("ada", 3, ("vip",)), ("bob", 3, ()), ("cy", 3, ("vip",)), ("dee", 0, ("vip",))):
        await roster.save(name, profile(name=name, capacity=capacity, skills=skills), NOW)
    await roster.save("eve", profile(name="eve", capacity=3, status=AgentStatus.OFFLINE), NOW)
    ada = await roster.agent("ada")
    assert ada is not None and await roster.reserve(ada, Ticket("T1"), NOW)

    anyone = Ticket("T2")
    assert [a.agent_id for a in await roster.candidates(anyone, 0, 10)] == ["bob", "cy", "ada"]
    assert [a.agent_id for a in await roster.candidates(anyone, 1, 1)] == ["cy"]
    vip = Ticket("T3", required_skills=frozenset({"vip"}))
    assert [a.agent_id for a in await roster.candidates(vip, 0, 10)] == ["cy", "ada"]
    slack = await roster.agent_by_slack_user("UNKNOWN")
    assert slack is None

    # Only members of the ticket's team, and nobody who declined it, come up.
    await roster.save("cy", profile(name="cy", capacity=3, skills=("vip",), teams=("tier-2", "vip")), NOW)
    await roster.save("bob", profile(name="bob", capacity=3, teams=("vip",)), NOW)
    assert [a.agent_id for a in await roster.candidates(Ticket("T4", team="vip"), 0, 10)] == ["bob", "cy"]
    declined = Ticket("T5", team="vip", declined_by=frozenset({"bob", "ada"}))
    assert [a.agent_id for a in await roster.candidates(declined, 0, 10)] == ["cy"]


async def test_a_profile_changed_by_another_router_is_read_as_changed(db: AsyncDatabase) -> None:
    mine, other = MongoRoster(db), MongoRoster(db)
    await mine.save("ada", profile(name="Ada", capacity=2, skills=("billing",)), NOW)
    assert [a.profile.name for a in await mine.candidates(Ticket("T1"), 0, 10)] == ["Ada"]

    await other.save("ada", profile(name="Ada Lovelace", capacity=3, skills=("refunds",)), NOW)

    [ada] = await mine.candidates(Ticket("T1"), 0, 10)
    assert (ada.profile.name, ada.profile.capacity, ada.profile.skills) == ("Ada Lovelace", 3, ("refunds",))
    assert await mine.candidates(Ticket("T2", required_skills=frozenset({"billing"})), 0, 10) == []


async def test_anyone_free_means_an_online_agent_with_a_free_slot(db: AsyncDatabase) -> None:
    roster = MongoRoster(db)
    assert not await roster.anyone_free()
    ada, _ = await roster.save("ada", profile(name="Ada", capacity=1), NOW)
    await roster.save("bob", profile(name="Bob", capacity=3, status=AgentStatus.AWAY), NOW)
    assert await roster.anyone_free()
    assert await roster.reserve(ada, Ticket("T1"), NOW)
    assert not await roster.anyone_free()  # ada is full, bob is away
    await roster.release("ada", None)
    assert await roster.anyone_free()


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
    assert stored == Assignment("T1", "ada", "Ada", "ada@example.com", None, "tier-2", NOW, arrived_at=NOW)

    await book.mark_announced("T1")
    closed = await book.close("T1", NOW)
    assert closed is not None and closed.state is AssignmentState.OPEN and closed.announced  # as it was
    assert await book.close("T1", NOW) is None
    held = await book.open_tickets_by_agent()
    assert held == {"ada": Counter({None: 1}), "bob": Counter({None: 1})}

    assert await roster.reconcile_loads(held) == {"ada": 1, "bob": 1}
    assert await roster.reconcile_loads(held) == {}


async def test_a_handed_back_ticket_starts_a_new_round_claimed_once(db: AsyncDatabase) -> None:
    book = MongoAssignmentBook(db)
    roster = MongoRoster(db)
    ada, _ = await roster.save("ada", profile(name="Ada"), NOW)
    bob, _ = await roster.save("bob", profile(name="Bob"), NOW)
    cy, _ = await roster.save("cy", profile(name="Cy"), NOW)
    first = Assignment.of(Ticket("T1", channel=Channel.CHAT, team="vip"), ada, NOW)
    assert await book.claim(first)
    assert await book.held_unaccepted("ada") == [first]

    assert not await book.accept("T1", "bob")  # only the holder accepts
    assert await book.accept("T1", "ada")
    assert await book.held_unaccepted("ada") == []

    declined = first.returned(HandBack.DECLINED)
    assert await book.hand_back(declined)
    assert not await book.hand_back(declined)  # once
    [returned] = await book.returned(10)
    assert (returned.state, returned.declined_by, returned.handed_back) == (
        AssignmentState.RETURNED,
        ("ada",),
        HandBack.DECLINED,
    )
    assert returned.ticket == Ticket("T1", team="vip", channel=Channel.CHAT, declined_by=frozenset({"ada"}), arrived_at=NOW)

    second = Assignment.of(returned.ticket, bob, NOW, returned)
    rival = Assignment.of(returned.ticket, cy, NOW, returned)
    assert await book.claim(second)
    assert not await book.claim(rival)  # the round was taken
    stored = await book.assignment("T1")
    assert stored is not None
    assert (stored.agent_id, stored.round, stored.previous_agent_id, stored.accepted) == ("bob", 2, "ada", False)
    assert await book.open_tickets_by_agent() == {"bob": Counter({"chat": 1})}

    closed = await book.close("T1", NOW)
    assert closed is not None and closed.state is AssignmentState.OPEN  # as it was before closing
    assert await book.returned(10) == []


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


async def test_a_handed_back_ticket_queues_again_once_per_round(db: AsyncDatabase) -> None:
    queue = MongoTicketQueue(db)
    first = await queue.add(QueueEntry.of(Ticket("T1", channel=Channel.VOICE), "full", NOW))
    await queue.settle("T1", QueueState.ASSIGNED)

    again = QueueEntry.of(Ticket("T1", declined_by=frozenset({"ada"})), "declined", NOW, round=1)
    assert await queue.requeue(again) == again
    stored = await queue.entry("T1")
    assert stored is not None and (stored.state, stored.round, stored.declined_by) == (QueueState.WAITING, 1, ("ada",))
    assert await queue.requeue(dataclasses.replace(again, reason="later")) == stored  # same round: kept

    assert await queue.requeue(QueueEntry.of(Ticket("T2"), "agent away", NOW, round=1))  # never queued before
    assert [e.ticket_id for e in await queue.waiting(10)] == ["T1", "T2"]
    await queue.settle("T1", QueueState.WITHDRAWN)
    assert await queue.requeue(QueueEntry.of(Ticket("T1"), "late", NOW, round=2)) != first
    withdrawn = await queue.entry("T1")
    assert withdrawn is not None and withdrawn.state is QueueState.WITHDRAWN


async def test_a_handed_back_ticket_waits_in_its_place_by_age(db: AsyncDatabase) -> None:
    # nx-27017 keeps a datetime written by `$set` (a requeue) as text: the order must not mix text and dates.
    queue = MongoTicketQueue(db)
    await queue.add(QueueEntry.of(Ticket("second"), "full", NOW + timedelta(minutes=10)))
    for ticket_id, minutes in (("first", 30), ("last", 40)):
        await queue.add(QueueEntry.of(Ticket(ticket_id), "full", NOW + timedelta(minutes=minutes)))
        await queue.settle(ticket_id, QueueState.ASSIGNED)
    await queue.add(QueueEntry.of(Ticket("third"), "full", NOW + timedelta(minutes=20)))

    # Handed back: each queues again as of when it came in, one older and one newer than those waiting.
    await queue.requeue(QueueEntry.of(Ticket("first"), "declined", NOW, round=1))
    await queue.requeue(QueueEntry.of(Ticket("last"), "declined", NOW + timedelta(minutes=50), round=1))

    assert [e.ticket_id for e in await queue.waiting(10)] == ["first", "second", "third", "last"]
    stored = await queue.entry("first")
    assert stored is not None and stored.queued_at == NOW


async def test_entries_queued_before_the_sort_key_existed_take_their_place_by_age(db: AsyncDatabase) -> None:
    queue = MongoTicketQueue(db)
    await queue.add(QueueEntry.of(Ticket("newer"), "full", NOW + timedelta(minutes=10)))
    # As an earlier router stored them: no `queued_ms`, one time a date and one (nx-27017, rewritten) text.
    for ticket_id, queued_at in (("oldest", NOW), ("newest", str(NOW + timedelta(minutes=20)))):
        await db.queue.insert_one(
            {
                "_id": ticket_id,
                "priority": "normal",
                "priority_rank": 2,
                "queued_at": queued_at,
                "reason": "full",
                "state": "waiting",
                "round": 0,
            }
        )

    await db.queue.create_index([("state", 1), ("priority_rank", 1), ("queued_at", 1)], name="waiting_order")

    await prepare(db)
    await prepare(db)  # a second start (or a second router) changes nothing

    assert [e.ticket_id for e in await queue.waiting(10)] == ["oldest", "newer", "newest"]
    assert "waiting_order" not in await db.queue.index_information()
