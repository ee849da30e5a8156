"""What one ticket.created costs in MongoDB round trips, counted on the real server.

Each round trip costs the server CPU (2-3 ms on nx-27017), so the path of a new ticket is pinned here:
a new round trip on it has to be a decision, not an accident.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from pymongo import AsyncMongoClient, monitoring

from helpdesk_events import Envelope, Requester, TicketCreated
from helpdesk_events.envelope import new_envelope
from helpdesk_events.publisher import EventPublisher
from helpdesk_router.assignment import SERVICE, AssignmentState
from helpdesk_router.desk import AssignmentDesk
from helpdesk_router.handlers import ticket_handlers
from helpdesk_router.settings import Settings
from helpdesk_router.store import MongoAssignmentBook, MongoRoster, MongoTicketQueue, prepare
from helpdesk_router.triage import parse_rule_set
from helpdesk_router.triage_service import TicketTriage
from helpdesk_router.triage_store import MongoRuleBook, MongoTriageBook
from tests.integration.router.helpers import assigned
from tests.support.kafka import EventTap, publishing
from tests.unit.router.doubles import profile

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

BILLING = parse_rule_set(
    {
        "rules": [
            {"name": "billing", "when": {"tags_any": ["billing"]}, "then": {"required_skills": ["billing"]}}
        ]
    }
)


class Commands(monitoring.CommandListener):
    """The commands sent to MongoDB, as (command, collection), while counting."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.counting = False

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.counting:
            target = event.command.get(event.command_name)
            self.sent.append((event.command_name, target if isinstance(target, str) else ""))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@dataclass
class Router:
    commands: Commands
    roster: MongoRoster
    assignments: MongoAssignmentBook
    triage: TicketTriage
    desk: AssignmentDesk
    publisher: EventPublisher

    async def created(self, envelope: Envelope[TicketCreated]) -> list[tuple[str, str]]:
        """Handle one ticket.created; the round trips it took."""
        self.commands.sent.clear()
        self.commands.counting = True
        try:
            await ticket_handlers(self.desk, self.triage)[TicketCreated](envelope)
        finally:
            self.commands.counting = False
        return list(self.commands.sent)


@pytest.fixture
async def router(settings: Settings) -> AsyncIterator[Router]:
    commands = Commands()
    client: AsyncMongoClient = AsyncMongoClient(
        settings.mongodb_url, tz_aware=True, event_listeners=[commands]
    )
    db = client[settings.mongodb_database]
    await prepare(db)
    try:
        async with publishing(settings, SERVICE) as publisher:
            roster, assignments = MongoRoster(db), MongoAssignmentBook(db)
            desk = AssignmentDesk(
                roster=roster, assignments=assignments, queue=MongoTicketQueue(db), events=publisher
            )
            triage = TicketTriage(rules=MongoRuleBook(db), decisions=MongoTriageBook(db), events=publisher)
            await triage.replace_rules(BILLING)
            yield Router(commands, roster, assignments, triage, desk, publisher)
    finally:
        await client.close()


def created(ticket_id: str) -> Envelope[TicketCreated]:
    payload = TicketCreated(
        subject="My invoice",
        body="It is wrong.",
        requester=Requester(email="customer@example.com"),
        channel="web",
        message_id=f"{ticket_id}-m1",
        tags=("billing",),
    )
    return new_envelope(payload, source="intake", ticket_id=ticket_id)


async def test_a_new_ticket_is_triaged_and_assigned_in_six_round_trips(
    router: Router, tickets: EventTap
) -> None:
    for name, skills in (("ada", ("billing",)), ("bob", ()), ("cy", ("billing",))):
        await router.roster.save(name, profile(name=name, capacity=3, skills=skills), NOW)

    sent = await router.created(created("T1"))

    assert await assigned(tickets, "T1") == "ada"
    assert sent == [
        ("find", "rules"),  # the rules' revision: another router may have replaced them
        ("insert", "triage"),  # the decision, unless a delivery before this one stored it
        ("find", "agents"),  # the first candidates, most preferred first
        ("update", "agents"),  # the guarded slot
        ("insert", "assignments"),  # the claim
        ("update", "assignments"),  # told
    ]
    stored = await router.assignments.assignment("T1")
    assert stored is not None and (stored.agent_id, stored.state, stored.announced) == (
        "ada",
        AssignmentState.OPEN,
        True,
    )


async def test_a_replayed_ticket_looks_up_what_it_has_and_reserves_nothing(
    router: Router, tickets: EventTap
) -> None:
    await router.roster.save("ada", profile(name="ada", capacity=3, skills=("billing",)), NOW)
    envelope = created("T1")
    await router.created(envelope)
    assert await assigned(tickets, "T1") == "ada"

    sent = await router.created(envelope)  # redelivered: triage finds its decision, so the desk looks

    assert sent == [
        ("find", "rules"),
        ("insert", "triage"),  # refused: a decision is stored
        ("find", "triage"),
        ("find", "queue"),
        ("find", "assignments"),  # there it is, told already: nothing more to do
    ]
    ada = await router.roster.agent("ada")
    assert ada is not None and ada.load == 1
