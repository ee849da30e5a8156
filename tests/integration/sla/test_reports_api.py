"""Report facts on the real MongoDB server, recorded from ticket and SLA envelopes, and the
response-time report over HTTP and as Prometheus gauges."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from pymongo.asynchronous.database import AsyncDatabase

from helpdesk_events import (
    AuthorKind,
    Channel,
    EventPayload,
    Priority,
    Requester,
    SlaBreached,
    SlaMet,
    SlaMetric,
    TicketAssigned,
    TicketCreated,
    TicketMessageAdded,
    TicketStatus,
    TicketStatusChanged,
    TicketTriaged,
    new_envelope,
)
from helpdesk_events.service import install_error_handlers
from helpdesk_sla.calendar import BusinessCalendar
from helpdesk_sla.fact_handlers import FactsRecorder
from helpdesk_sla.facts_store import MongoFactsBook
from helpdesk_sla.reports_api import refresh_metrics, router
from helpdesk_sla.ticket_facts import TicketFacts

pytestmark = pytest.mark.integration

PARIS = ZoneInfo("Europe/Paris")
HOUR = 3600.0
OFFICE = BusinessCalendar(
    name="office",
    timezone="Europe/Paris",
    weekly={day: (("09:00", "17:00"),) for day in ("mon", "tue", "wed", "thu", "fri")},
)


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in March 2026 in Paris (the 6th is a Friday)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=PARIS)


@pytest.fixture
async def book(db: AsyncDatabase) -> MongoFactsBook:
    facts = MongoFactsBook(db)
    await facts.create_indexes()
    return facts


def event(ticket_id: str, payload: EventPayload, at: datetime):  # type: ignore[no-untyped-def]
    return new_envelope(payload, source="test", ticket_id=ticket_id, occurred_at=at)


def created(ticket_id: str, at: datetime, channel: Channel = Channel.EMAIL):  # type: ignore[no-untyped-def]
    payload = TicketCreated(
        subject="Invoice", body="Charged twice", requester=Requester(email="ann@example.com"),
        channel=channel, message_id=f"m-{ticket_id}",
    )  # fmt: skip
    return event(ticket_id, payload, at)


def assigned(ticket_id: str, agent: str, team: str | None, at: datetime):  # type: ignore[no-untyped-def]
    return event(ticket_id, TicketAssigned(agent_id=agent, agent_name=agent.title(), team=team), at)


def agent_reply(ticket_id: str, at: datetime, public: bool = True):  # type: ignore[no-untyped-def]
    payload = TicketMessageAdded(
        message_id=f"r-{at.isoformat()}", author_kind=AuthorKind.AGENT, author_id="ada",
        channel=Channel.EMAIL, body="Refunded", public=public,
    )  # fmt: skip
    return event(ticket_id, payload, at)


def status(ticket_id: str, before: TicketStatus, to: TicketStatus, at: datetime):  # type: ignore
    return event(ticket_id, TicketStatusChanged(from_status=before, to_status=to), at)


def met(ticket_id: str, metric: SlaMetric, within: bool, at: datetime):  # type: ignore[no-untyped-def]
    payload = SlaMet(policy="standard", metric=metric, target=timedelta(hours=4), due_at=None,
                     within_target=within, elapsed=timedelta(hours=1))  # fmt: skip
    return event(ticket_id, payload, at)


def breached(ticket_id: str, metric: SlaMetric, at: datetime):  # type: ignore[no-untyped-def]
    return event(
        ticket_id, SlaBreached(policy="standard", metric=metric, target=timedelta(hours=4), due_at=at), at
    )


async def test_recorded_facts_survive_a_replay_and_concurrent_writers(
    book: MongoFactsBook, db: AsyncDatabase
) -> None:
    recorder, other = FactsRecorder(book), FactsRecorder(MongoFactsBook(db))  # two SLA instances
    opening = created("T-1", paris(6, 16))
    await recorder.on_ticket_created(opening)
    await recorder.on_ticket_triaged(
        event("T-1", TicketTriaged(priority=Priority.HIGH, team="billing"), paris(6, 16, 1))
    )
    first = agent_reply("T-1", paris(9, 10))
    await recorder.on_message_added(first)
    await other.on_message_added(first)  # redelivered to another instance after a rebalance
    await recorder.on_ticket_created(opening)  # replayed: the creation is not reset
    # Many events of one ticket at once, from both instances: the revision keeps every one.
    notes = [agent_reply("T-1", paris(9, 11, minute)) for minute in range(8)]
    await asyncio.gather(*(
        (recorder if n % 2 else other).on_message_added(note) for n, note in enumerate(notes)
    ))  # fmt: skip
    facts = await book.get("T-1")
    assert facts == TicketFacts(
        "T-1", created_at=paris(6, 16), channel="email", priority="high", team="billing",
        first_agent_reply_at=paris(9, 10), agent_replies=9,
    )  # fmt: skip
    stored = await db.ticket_facts.find_one({"_id": "T-1"})
    assert stored is not None and isinstance(stored["created_at"], float) and stored["revision"] == 11
    assert len(stored["applied"]) == 11


async def test_an_sla_event_ahead_of_the_creation_is_kept_and_the_ticket_reported_once_created(
    book: MongoFactsBook,
) -> None:
    recorder = FactsRecorder(book)
    await recorder.on_sla_breached(breached("T-1", SlaMetric.FIRST_REPLY, paris(9, 13)))
    assert await book.created_between(paris(1, 0), paris(31, 0)) == []  # no creation time yet
    await recorder.on_ticket_created(created("T-1", paris(9, 9)))
    [facts] = await book.created_between(paris(1, 0), paris(31, 0))
    assert facts.breaches == 1 and facts.first_reply_within is False and facts.created_at == paris(9, 9)


async def test_created_between_is_a_half_open_window(book: MongoFactsBook) -> None:
    recorder = FactsRecorder(book)
    for number, at in enumerate([paris(2, 8, 59), paris(2, 9), paris(2, 12, 30), paris(2, 17)]):
        await recorder.on_ticket_created(created(f"T-{number}", at))
    window = await book.created_between(paris(2, 9), paris(2, 17))
    assert [facts.ticket_id for facts in window] == ["T-1", "T-2"]


async def record_a_week(recorder: FactsRecorder) -> None:
    """billing: a Friday-evening ticket answered on Monday, solved in one touch within SLA, and a
    ticket that breached and needed two replies; no team: a chat still waiting."""
    await recorder.on_ticket_created(created("T-1", paris(6, 16)))
    await recorder.on_ticket_assigned(assigned("T-1", "ada", "billing", paris(6, 16, 1)))
    await recorder.on_message_added(agent_reply("T-1", paris(9, 10)))
    await recorder.on_sla_met(met("T-1", SlaMetric.FIRST_REPLY, True, paris(9, 10)))
    await recorder.on_status_changed(status("T-1", TicketStatus.OPEN, TicketStatus.SOLVED, paris(9, 11)))
    await recorder.on_sla_met(met("T-1", SlaMetric.RESOLUTION, True, paris(9, 11)))

    await recorder.on_ticket_created(created("T-2", paris(9, 9)))
    await recorder.on_ticket_assigned(assigned("T-2", "bob", "billing", paris(9, 9, 1)))
    await recorder.on_sla_breached(breached("T-2", SlaMetric.FIRST_REPLY, paris(9, 13)))
    await recorder.on_message_added(agent_reply("T-2", paris(9, 15)))
    await recorder.on_message_added(agent_reply("T-2", paris(9, 15, 30), public=False))
    await recorder.on_message_added(agent_reply("T-2", paris(9, 16)))
    await recorder.on_status_changed(status("T-2", TicketStatus.OPEN, TicketStatus.SOLVED, paris(9, 17)))

    await recorder.on_ticket_created(created("T-3", paris(10, 9), channel=Channel.CHAT))


async def calendars_in_force():  # type: ignore[no-untyped-def]
    return lambda facts: OFFICE


@pytest.fixture
async def client(book: MongoFactsBook) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    app.state.facts = book
    app.state.calendar_of = calendars_in_force
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sla") as http:
        yield http


async def test_the_report_per_team_in_business_and_calendar_hours(
    book: MongoFactsBook, client: httpx.AsyncClient
) -> None:
    await record_a_week(FactsRecorder(book))
    answer = await client.get(
        "/v1/reports/response-times",
        params={"from": "2026-03-06T00:00:00+01:00", "to": "2026-03-11T00:00:00Z", "group_by": "team"},
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["group_by"], report["volume"]) == ("team", 3)
    assert datetime.fromisoformat(report["from"]) == paris(6, 0)
    billing, nobody = report["rows"]
    assert (billing["group"], billing["volume"], billing["replied"], billing["solved"]) == (
        "billing",
        2,
        2,
        2,
    )
    # First replies: T-1 66 h (2 business: Fri 16-17, Mon 9-10), T-2 6 h (6 business); nearest rank.
    assert billing["first_reply_median_business_seconds"] == 2 * HOUR
    assert billing["first_reply_p90_business_seconds"] == 6 * HOUR
    assert billing["first_reply_median_calendar_seconds"] == 6 * HOUR
    assert billing["first_reply_p90_calendar_seconds"] == 66 * HOUR
    # Solves: T-1 67 h (3 business), T-2 8 h (8 business).
    assert billing["resolution_average_business_seconds"] == 5.5 * HOUR
    assert billing["resolution_average_calendar_seconds"] == 37.5 * HOUR
    assert billing["first_contact_resolution_share"] == 0.5
    assert billing["within_sla_share"] == 0.5
    assert billing["breaches"] == 1
    assert nobody["group"] is None and nobody["volume"] == 1
    assert nobody["first_reply_median_business_seconds"] is None and nobody["within_sla_share"] is None

    by_agent = await client.get(
        "/v1/reports/response-times",
        params={"from": "2026-03-06T00:00:00+01:00", "to": "2026-03-10T00:00:00+01:00", "group_by": "agent"},
    )
    assert [(row["group"], row["volume"]) for row in by_agent.json()["rows"]] == [("ada", 1), ("bob", 1)]


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({"to": "2026-03-02T00:00:00Z", "group_by": "team"}, ["from"]),
        ({"from": "yesterday", "to": "2026-03-02T00:00:00Z", "group_by": "team"}, ["from"]),
        ({"from": "2026-03-01T00:00:00", "to": "2026-03-02T00:00:00Z", "group_by": "team"}, ["from"]),
        ({"from": "2026-03-02T00:00:00Z", "to": "2026-03-02T00:00:00Z", "group_by": "team"}, ["to"]),
        ({"from": "2025-03-01T00:00:00Z", "to": "2026-03-03T00:00:00Z", "group_by": "team"}, ["to"]),
        (
            {"from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z", "group_by": "customer"},
            ["group_by"],
        ),
        ({"from": "2026-03-03T00:00:00Z", "to": "2026-03-02T00:00:00Z"}, ["to", "group_by"]),
    ],
)
async def test_a_bad_window_or_grouping_is_refused_with_reasons(
    client: httpx.AsyncClient, params: dict[str, str], fields: list[str]
) -> None:
    answer = await client.get("/v1/reports/response-times", params=params)
    assert answer.status_code == 422
    problems = answer.json()["detail"]["problems"]
    assert sorted(problem["field"] for problem in problems) == sorted(fields)
    assert all(problem["reason"] for problem in problems)


async def test_a_window_of_366_days_is_allowed(client: httpx.AsyncClient) -> None:
    answer = await client.get(
        "/v1/reports/response-times",
        params={"from": "2025-03-02T00:00:00Z", "to": "2026-03-03T00:00:00Z", "group_by": "priority"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["rows"] == []


def gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


async def test_the_gauges_follow_the_last_day_per_team(book: MongoFactsBook) -> None:
    await record_a_week(FactsRecorder(book))
    # The day up to Tuesday 08:00 holds T-2 only (T-1 is older, T-3 later).
    await refresh_metrics(book, calendars_in_force, now=paris(10, 8))
    assert gauge("helpdesk_sla_tickets", team="billing") == 1
    assert gauge("helpdesk_sla_breaches", team="billing") == 1
    assert gauge("helpdesk_sla_within_target_ratio", team="billing") == 0
    q = {"group_by": "team", "group": "billing"}
    assert gauge("helpdesk_sla_first_reply_seconds", **q, quantile="0.5", hours="business") == 6 * HOUR
    assert gauge("helpdesk_sla_first_reply_seconds", **q, quantile="0.9", hours="calendar") == 6 * HOUR
    assert gauge("helpdesk_sla_tickets", team="none") is None

    # A day later only the unanswered chat without a team is left: billing's series go away.
    await refresh_metrics(book, calendars_in_force, now=paris(11, 8))
    assert gauge("helpdesk_sla_tickets", team="billing") is None
    assert gauge("helpdesk_sla_first_reply_seconds", **q, quantile="0.5", hours="business") is None
    assert gauge("helpdesk_sla_tickets", team="none") == 1
    assert gauge("helpdesk_sla_first_reply_seconds", group_by="team", group="none", quantile="0.5",
                 hours="business") is None  # fmt: skip
