"""ticket.created through the handlers with in-memory stores: triage told first, then assignment by its skills."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from helpdesk_events import Requester, TicketCreated, TicketTriaged
from helpdesk_events.envelope import new_envelope
from helpdesk_router.assignment import Ticket
from helpdesk_router.handlers import ticket_handlers
from helpdesk_router.triage import parse_rule_set
from helpdesk_router.triage_service import TicketTriage
from tests.unit.router.doubles import InMemoryRuleBook, InMemoryTriageBook
from tests.unit.router.test_desk import Router

REFUNDS = parse_rule_set(
    {
        "rules": [
            {
                "name": "refunds",
                "when": {"keywords": ["refund"]},
                "then": {
                    "priority": "high",
                    "required_skills": ["billing"],
                    "team": "Finance",
                    "category": "billing",
                },
            }
        ]
    }
)


class TriagingRouter(Router):
    def __init__(self) -> None:
        super().__init__()
        self.rules = InMemoryRuleBook()
        self.decisions = InMemoryTriageBook()
        self.triage = TicketTriage(rules=self.rules, decisions=self.decisions, events=self.events)
        self.on_created = ticket_handlers(self.desk, self.triage)[TicketCreated]


def created(ticket_id: str, body: str):  # type: ignore[no-untyped-def]
    payload = TicketCreated(
        subject="Help",
        body=body,
        requester=Requester(email="sam@example.com"),
        channel="email",
        message_id="m1",
    )
    return new_envelope(payload, source="intake", ticket_id=ticket_id)


@pytest.fixture
async def router() -> TriagingRouter:
    router = TriagingRouter()
    await router.triage.seed_rules(REFUNDS)
    return router


async def test_triage_is_told_before_the_assignment_which_uses_its_skills_and_team(
    router: TriagingRouter,
) -> None:
    await router.put("ada", capacity=5)  # less loaded, but no billing skill
    await router.put("bob", capacity=5, skills=("billing",), teams=("finance",))
    await router.roster.reserve(router.roster.by_id["bob"], Ticket("x"), datetime.now(UTC))  # bob is busier

    await router.on_created(created("t1", "Please refund me"))

    types = [payload.event_type for payload, tid, _ in router.events.emitted if tid == "t1"]
    assert types == ["ticket.triaged", "ticket.assigned", "ticket.status_changed"]
    triaged, assigned, _ = (p for p, tid, _ in router.events.emitted if tid == "t1")
    assert triaged == TicketTriaged(
        priority="high",
        category="billing",
        required_skills=("billing",),
        team="finance",
        matched_rules=("refunds",),
    )
    assert (assigned.agent_id, assigned.team) == ("bob", "finance")


async def test_nobody_with_the_skill_queues_the_ticket_with_triage_s_priority_and_skills(
    router: TriagingRouter,
) -> None:
    await router.put("ada", capacity=5, teams=("finance",))
    await router.on_created(created("t1", "refund"))
    [(queued, _, _)] = router.events.of_type("ticket.queued")
    assert (queued.priority, queued.required_skills, queued.team) == ("high", ("billing",), "finance")
    assert queued.reason == "no online agent in team finance has the skills billing"


async def test_a_replay_tells_the_stored_triage_again_even_after_the_rules_changed(
    router: TriagingRouter,
) -> None:
    await router.put("bob", capacity=5, skills=("billing",), teams=("finance",))
    envelope = created("t1", "refund")
    await router.on_created(envelope)
    await router.triage.replace_rules(parse_rule_set({"rules": []}))
    await router.on_created(envelope)

    told = router.events.of_type("ticket.triaged")
    assert len(told) == 2
    assert told[0] == told[1]  # same payload, same ticket, same event id
    assert told[0][0].matched_rules == ("refunds",)
    assert len(router.events.of_type("ticket.assigned")) == 1


async def test_without_rules_a_ticket_keeps_its_priority_and_needs_no_skill() -> None:
    router = TriagingRouter()
    await router.put("ada", capacity=5)
    await router.on_created(created("t1", "refund"))
    [(triaged, _, _)] = router.events.of_type("ticket.triaged")
    assert (triaged.priority, triaged.required_skills, triaged.matched_rules) == ("normal", (), ())
    assert router.assigned_to("t1") == ["ada"]
